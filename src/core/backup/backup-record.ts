/** Backups as the rest of the code sees them (camelCase, times as ISO strings). Pure. */
import {UsageError} from '../errors.js';
import type {BackupManifest, BackupPart} from './backup-manifest.js';

export type BackupStatus = 'pending' | 'complete' | 'failed' | 'deleted';
export type BackupKind = BackupManifest['kind'];
export const BACKUP_KINDS: readonly BackupKind[] = ['daily', 'manual', 'pre-deploy', 'safety'];

export interface Backup {
  readonly id: string;
  readonly projectId: string;
  readonly env: string;
  readonly kind: BackupKind;
  readonly status: BackupStatus;
  readonly runId: string | null;
  /** filesystem or s3 (set when complete). */
  readonly storage: string | null;
  /** Folder path or s3:// URL (set when complete). */
  readonly location: string | null;
  readonly sizeBytes: number | null;
  readonly manifest: BackupManifest | null;
  readonly error: string | null;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly completedAt: string | null;
  readonly verifiedAt: string | null;
  readonly verification: Readonly<Record<string, unknown>> | null;
}

export interface BackupRow {
  id: string;
  project_id: string;
  environment: string;
  kind: BackupKind;
  status: BackupStatus;
  run_id: string | number | null;
  storage: string | null;
  location: string | null;
  manifest: BackupManifest | null;
  size_bytes: string | number | null;
  created_by: string;
  created_at: Date;
  completed_at: Date | null;
  error: string | null;
  verified_at: Date | null;
  verification: Record<string, unknown> | null;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function backupFromRow(r: BackupRow): Backup {
  return {
    id: r.id,
    projectId: r.project_id,
    env: r.environment,
    kind: r.kind,
    status: r.status,
    runId: r.run_id === null ? null : String(r.run_id),
    storage: r.storage,
    location: r.location,
    sizeBytes: r.size_bytes === null ? null : Number(r.size_bytes),
    manifest: r.manifest,
    error: r.error ?? null,
    createdBy: r.created_by,
    createdAt: r.created_at.toISOString(),
    completedAt: iso(r.completed_at),
    verifiedAt: iso(r.verified_at ?? null),
    verification: r.verification ?? null,
  };
}

/** One line of `backups list`. */
export interface BackupSummary {
  readonly id: string;
  readonly env: string;
  readonly kind: BackupKind;
  readonly status: BackupStatus;
  readonly sizeBytes: number | null;
  readonly createdAt: string;
  readonly completedAt: string | null;
  readonly location: string | null;
  readonly parts: readonly BackupPart[];
  readonly verifiedAt: string | null;
  readonly verified: boolean | null;
  readonly error: string | null;
}

export function backupSummary(b: Backup): BackupSummary {
  const ok = b.verification?.['ok'];
  return {
    id: b.id,
    env: b.env,
    kind: b.kind,
    status: b.status,
    sizeBytes: b.sizeBytes,
    createdAt: b.createdAt,
    completedAt: b.completedAt,
    location: b.location,
    parts: b.manifest?.parts ?? [],
    verifiedAt: b.verifiedAt,
    verified: typeof ok === 'boolean' ? ok : null,
    error: b.error,
  };
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const PREFIX_RE = /^[0-9a-f]{6,8}(-[0-9a-f]{0,4}){0,3}$/;

/** A backup id as typed: a full uuid, or a unique prefix of at least 6 hex digits. */
export function parseBackupId(text: string): {readonly id?: string; readonly prefix?: string} {
  const t = text.trim().toLowerCase();
  if (UUID_RE.test(t)) return {id: t};
  if (PREFIX_RE.test(t)) return {prefix: t};
  throw new UsageError(`invalid backup id "${text}": expected a backup uuid (or its first 6+ characters)`, {
    actions: ['odoo-sh-next backups list'],
  });
}

/** Human-readable byte size (1.5 MB). */
export function formatBytes(n: number | null): string {
  if (n === null) return '';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}
