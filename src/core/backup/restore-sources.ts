/** Opens the RestoreSource a restore run names: a backup in storage, or a file to import. */
import {ConflictError, UsageError} from '../errors.js';
import type {BackupStorage} from '../storage/backup-storage.js';
import {MANIFEST_FILE, validateManifest, type BackupManifest} from './backup-manifest.js';
import {openImportSource} from './import-source.js';
import type {BackupRow, RestoreRepository} from './restore-repository.js';
import {NativeBackupSource, type RestoreSource} from './restore-source.js';

export type RestoreSourceSpec =
  | {readonly kind: 'backup'; readonly backupId: string}
  | {readonly kind: 'file'; readonly path: string};

export interface OpenSourceDeps {
  readonly project: string;
  readonly restores: () => Promise<RestoreRepository>;
  readonly storage: () => Promise<BackupStorage>;
  readonly work: string;
  readonly signal: AbortSignal;
}

async function readText(stream: AsyncIterable<unknown>, max = 64 * 2 ** 20): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of stream) {
    n += (c as Buffer).length;
    if (n > max) throw new UsageError(`manifest larger than ${max} bytes`);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A complete backup's row and manifest (re-read from storage and checked against the row). */
export async function loadBackup(deps: Omit<OpenSourceDeps, 'work'>, backupId: string): Promise<{row: BackupRow; manifest: BackupManifest}> {
  const row = await (await deps.restores()).backup(backupId);
  if (row.status !== 'complete') {
    throw new ConflictError(`backup ${backupId} is ${row.status}, not complete: it cannot be read`, {actions: ['odoo-sh-next backups list']});
  }
  const storage = await deps.storage();
  const ref = {project: deps.project, env: row.env, id: row.id};
  const manifest = validateManifest(JSON.parse(await readText(await storage.read(ref, MANIFEST_FILE, deps.signal))));
  if (manifest.id !== row.id || manifest.env !== row.env) {
    throw new ConflictError(`backup ${backupId}: its manifest names backup ${manifest.id} of ${manifest.env}`, {data: {part: 'manifest'}});
  }
  return {row, manifest};
}

export async function openBackupSource(deps: Omit<OpenSourceDeps, 'work'>, backupId: string): Promise<NativeBackupSource> {
  const {row, manifest} = await loadBackup(deps, backupId);
  const storage = await deps.storage();
  const ref = {project: deps.project, env: row.env, id: row.id};
  return new NativeBackupSource(manifest, {open: (file, signal) => storage.read(ref, file, signal)}, 'backup',
    {kind: 'backup', backup: row.id, env: row.env, backupKind: row.kind, createdAt: row.createdAt}, row.id);
}

export async function openRestoreSource(spec: RestoreSourceSpec, deps: OpenSourceDeps): Promise<RestoreSource> {
  if (spec.kind === 'backup') return openBackupSource(deps, spec.backupId);
  return openImportSource(spec.path, deps.work, deps.signal);
}
