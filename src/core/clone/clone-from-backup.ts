/**
 * Cloning production from its newest backup (issue 4 point 6: "the newest backup when younger than
 * a configured age"): no load on production at all. The backup is loaded with the restore code
 * (restore-sources.ts opens it, its RestoreSource fetches, loads the database and streams the
 * filestore as a validated tar, restore-verify.ts checks attachments), into the build's database.
 */
import {mkdir, rm} from 'node:fs/promises';
import type {BackupSummary} from '../backup/backup-record.js';
import {ConflictError} from '../errors.js';
import {BackupRepository} from '../backup/backup-repository.js';
import {createEmptyDatabase} from '../backup/restore-database.js';
import {RestoreRepository} from '../backup/restore-repository.js';
import {openBackupSource} from '../backup/restore-sources.js';
import {verifyRestored} from '../backup/restore-verify.js';
import type {BackupStorage} from '../storage/backup-storage.js';
import type {Queryable} from '../store/pool.js';
import type {DatabaseHandle, Provider} from '../../providers/provider.js';

/** What a clone needs to use backups (config backups.cloneFromBackupMaxAge set). */
export interface CloneBackupDeps {
  /** Use the newest backup of the source when younger than this. */
  readonly maxAgeMs: number;
  readonly backups: () => Promise<BackupRepository>;
  readonly restores: () => Promise<RestoreRepository>;
  readonly storage: () => Promise<BackupStorage>;
  /** pg_restore --jobs (default 2). */
  readonly jobs?: number | undefined;
}

/** The deps from the composition root; undefined when config backups.cloneFromBackupMaxAge is unset. */
export function cloneBackupDeps(input: {
  readonly pool: Queryable;
  readonly projectId: string;
  readonly maxAge: {readonly ms: number} | undefined;
  readonly storage: () => Promise<BackupStorage>;
}): CloneBackupDeps | undefined {
  if (!input.maxAge) return undefined;
  return {
    maxAgeMs: input.maxAge.ms,
    backups: async () => new BackupRepository(input.pool, input.projectId),
    restores: async () => new RestoreRepository(input.pool, input.projectId),
    storage: input.storage,
  };
}

export interface CloneBackupCandidate {
  readonly id: string;
  readonly createdAt: string;
  readonly ageMs: number;
}

/** A backup whose last verification failed is not a clone source. Pure. */
function usable(b: BackupSummary): boolean {
  return b.status === 'complete' && b.verified !== false;
}

/** The newest complete (and not failed-verification) backup of env, with its age at `now`. */
export async function newestBackup(deps: CloneBackupDeps, env: string, now: Date): Promise<CloneBackupCandidate | undefined> {
  const list = await (await deps.backups()).summaries({env, statuses: ['complete'], limit: 20});
  const b = list.find(usable);
  if (!b) return undefined;
  return {id: b.id, createdAt: b.createdAt, ageMs: Math.max(0, now.getTime() - new Date(b.createdAt).getTime())};
}

/** Human age: "42 min", "3.5 h". Pure. */
export function formatAge(ms: number): string {
  if (ms < 3600_000) return `${Math.round(ms / 60_000)} min`;
  return `${Math.round(ms / 360_000) / 10} h`;
}

/**
 * Loads backup `backupId` into `database` (created here, empty) and its filestore into the
 * target env's folder for that database, then verifies attachments and modules as a restore does.
 */
export async function loadBackupInto(deps: CloneBackupDeps, input: {
  readonly project: string;
  readonly backupId: string;
  readonly provider: Provider;
  readonly handle: DatabaseHandle;
  readonly env: string;
  readonly database: string;
  readonly work: string;
  readonly signal: AbortSignal;
}): Promise<{readonly attachmentFilesChecked: number}> {
  const {provider, handle, env, database, work, signal} = input;
  const src = await openBackupSource({project: input.project, restores: deps.restores, storage: deps.storage, signal}, input.backupId);
  await mkdir(work, {recursive: true});
  try {
    if (!src.hasFilestore) throw new ConflictError(`backup ${input.backupId} has no filestore: a clone needs one`);
    const ac = new AbortController();
    const loading = AbortSignal.any([signal, ac.signal]);
    const stopOthers = <T>(p: Promise<T>): Promise<T> => p.catch((err: unknown) => {
      if (!ac.signal.aborted) ac.abort(err);
      throw err;
    });
    const db = stopOthers((async () => {
      // Both settle before a failure propagates: a CREATE DATABASE still in flight would otherwise
      // land after the caller's cleanup dropped the database (and the live-copy fallback would collide).
      const settled = await Promise.allSettled([createEmptyDatabase(handle, database, loading), src.fetch(work, loading)]);
      const failed = settled.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
      await src.loadDatabase(handle, database, {jobs: deps.jobs ?? 2}, loading);
    })());
    const fs = stopOthers((async () => {
      const tar = await src.filestoreTar(loading);
      const [restored, read] = await Promise.allSettled([provider.filestore.restore({env, database}, tar.stream, loading), tar.done]);
      if (read.status === 'rejected') throw read.reason;
      if (restored.status === 'rejected') throw restored.reason;
      return tar.files?.();
    })());
    const [loadedDb, loadedFs] = await Promise.allSettled([db, fs]);
    if (loadedDb.status === 'rejected' || loadedFs.status === 'rejected') {
      throw ac.signal.reason ?? (loadedDb.status === 'rejected' ? loadedDb.reason : (loadedFs as PromiseRejectedResult).reason);
    }
    const report = await verifyRestored({
      provider, env, database, withFilestore: true, signal,
      expectedModules: src.expectedModules, expectedFiles: src.expectedFiles, extracted: loadedFs.value,
    });
    return {attachmentFilesChecked: report.attachmentFilesChecked};
  } finally {
    await src.close().catch(() => undefined);
    await rm(work, {recursive: true, force: true});
  }
}
