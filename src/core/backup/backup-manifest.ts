/**
 * The native backup format (version 1). A backup is a folder (filesystem) or key prefix (S3):
 *
 *   <prefix>/<project>/<env>/<backup id>/
 *     database.dump.zst    pg_dump --format=custom --compress=0, zstd-compressed (restore: decompress
 *                          to a file, then pg_restore --jobs N: custom format allows parallel restore)
 *     filestore.tar.zst    the env's filestore tree at the archive root (./ab/ab12…, ./checklist/…)
 *     logs.tar.zst         the env's Odoo logs
 *     manifest.json        written LAST, then re-read: a backup without a readable manifest is not complete
 *
 * Pure: types and validation only.
 */
import {UsageError} from '../errors.js';

export const BACKUP_FORMAT_VERSION = 1;

export type BackupPartName = 'database' | 'filestore' | 'logs';

export const PART_FILES: Readonly<Record<BackupPartName, string>> = {
  database: 'database.dump.zst',
  filestore: 'filestore.tar.zst',
  logs: 'logs.tar.zst',
};
export const MANIFEST_FILE = 'manifest.json';

export interface BackupPart {
  readonly name: BackupPartName;
  readonly file: string;
  /** Bytes stored (compressed). */
  readonly sizeBytes: number;
  /** sha256 (hex) of the stored bytes. */
  readonly sha256: string;
  readonly compression: 'zstd';
}

export interface FilestoreEntry {
  /** Path inside the filestore, e.g. "ab/ab12…" (no leading "./"). */
  readonly path: string;
  readonly size: number;
  /** sha256 (hex) of the file's content. */
  readonly sha256: string;
}

export interface BackupManifest {
  readonly formatVersion: typeof BACKUP_FORMAT_VERSION;
  readonly id: string;
  readonly project: string;
  readonly env: string;
  readonly kind: 'daily' | 'manual' | 'pre-deploy' | 'safety';
  /** The release the environment ran (commit sha or release id), when known. */
  readonly release: string | null;
  readonly odoo: {
    /** Series, e.g. "17.0", from ir_module_module.latest_version of base. */
    readonly version: string | null;
    /** Installed modules → latest_version. */
    readonly modules: Readonly<Record<string, string>>;
  };
  readonly database: {
    readonly name: string;
    readonly sizeBytes: number;
    /** server_version of the source PostgreSQL. */
    readonly pgVersion: string;
    readonly format: 'pg_dump-custom+zstd';
  };
  readonly parts: readonly BackupPart[];
  /** Every filestore file with its sha256; null when the backup was made without filestore. */
  readonly filestore: {readonly files: number; readonly bytes: number; readonly entries: readonly FilestoreEntry[]} | null;
  readonly tools: Readonly<Record<string, string>>;
  readonly createdAt: string;
  readonly completedAt: string;
}

const HEX64 = /^[0-9a-f]{64}$/;

/** Checks a parsed manifest.json; throws UsageError naming the first problem. */
export function validateManifest(value: unknown): BackupManifest {
  const m = value as Partial<BackupManifest> | null;
  const fail = (what: string) => {
    throw new UsageError(`invalid backup manifest: ${what}`);
  };
  if (!m || typeof m !== 'object') return fail('not a JSON object');
  if (m.formatVersion !== BACKUP_FORMAT_VERSION) fail(`formatVersion ${String(m.formatVersion)} (this release reads ${BACKUP_FORMAT_VERSION})`);
  for (const k of ['id', 'project', 'env', 'createdAt', 'completedAt'] as const) if (typeof m[k] !== 'string') fail(`${k} missing`);
  if (!Array.isArray(m.parts) || m.parts.length === 0) fail('no parts');
  for (const p of m.parts ?? []) {
    if (!PART_FILES[p.name] || p.file !== PART_FILES[p.name]) fail(`unknown part ${JSON.stringify(p.name)}`);
    if (!HEX64.test(p.sha256) || !Number.isInteger(p.sizeBytes) || p.sizeBytes < 0) fail(`part ${p.name} has no valid sha256/size`);
  }
  if (!m.parts?.some((p) => p.name === 'database')) fail('no database part');
  if (m.filestore) {
    for (const e of m.filestore.entries) {
      if (typeof e.path !== 'string' || e.path.startsWith('/') || e.path.split('/').includes('..') || !HEX64.test(e.sha256)) {
        fail(`filestore entry ${JSON.stringify(e.path)} is not a safe relative path with a sha256`);
      }
    }
  }
  return m as BackupManifest;
}
