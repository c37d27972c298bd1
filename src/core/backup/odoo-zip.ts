/**
 * Odoo's own backup zip, written from a live environment (`db export`) or from a native backup
 * (`backups download --format odoo-zip`), so that it loads in Odoo's database manager,
 * `odoo-bin db load`, Odoo.sh's import, or `db import`:
 *   dump.sql        plain SQL, `pg_dump --no-owner` (from a backup: `pg_restore -f - --no-owner`)
 *   manifest.json   odoo_dump "1", db_name, version, version_info, major_version, pg_version, modules
 *   filestore/...   the whole filestore tree (checklist markers included)
 * Streamed end to end (tar → zip entries); written to `<out>.partial-*` and renamed when complete.
 */
import {randomBytes} from 'node:crypto';
import {createWriteStream} from 'node:fs';
import {mkdtemp, rename, rm, stat} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {PassThrough, type Readable} from 'node:stream';
import {pipeline} from 'node:stream/promises';
import {Parser, type ReadEntry} from 'tar';
import {InterruptedError, NotFoundError} from '../errors.js';
import {HashingStream} from '../storage/hashing-stream.js';
import type {BackupRef, BackupStorage} from '../storage/backup-storage.js';
import type {DatabaseHandle, Provider} from '../../providers/provider.js';
import type {BackupManifest} from './backup-manifest.js';
import {seriesOf} from './import-source.js';
import {ZipWriter} from './odoo-zip-format.js';
import {copyRows, queryOne} from './restore-database.js';
import {corruptPart, guardTar, manifestLimits, NativeBackupSource} from './restore-source.js';
import {tarGuard} from './safe-extract.js';

/** Odoo's manifest.json. Pure. */
export function odooZipManifest(input: {
  readonly dbName: string; readonly version: string | null; readonly pgMajor: number; readonly modules: Readonly<Record<string, string>>;
}): Record<string, unknown> {
  const series = input.version ?? seriesOf(input.modules['base']) ?? '0.0';
  const [major, minor] = series.split('.').map(Number);
  return {
    odoo_dump: '1',
    db_name: input.dbName,
    version: series,
    version_info: [major ?? 0, minor ?? 0, 0, 'final', 0, ''],
    major_version: series,
    pg_version: `${input.pgMajor}.0`,
    modules: input.modules,
  };
}

/** Adds every regular file of a (plain, unchecked) tar stream to the zip under prefix; returns the count. */
async function tarIntoZip(tar: Readable, zip: ZipWriter, prefix: string): Promise<number> {
  const parser = new Parser({strict: true});
  let chain: Promise<void> = Promise.resolve();
  let count = 0;
  const failed = new Promise<never>((_resolve, reject) => {
    parser.on('entry', (entry: ReadEntry) => {
      if (!['File', 'OldFile', 'ContiguousFile'].includes(entry.type)) {
        entry.resume();
        return;
      }
      const name = `${prefix}${entry.path.replace(/^(\.\/)+/, '')}`;
      chain = chain.then(async () => {
        await zip.addFile(name, entry as unknown as Readable, {...(entry.mtime ? {mtime: entry.mtime} : {})});
        count++;
      });
      chain.catch(reject);
    });
    parser.on('error', reject);
  });
  failed.catch(() => undefined);
  await Promise.race([pipeline(tar, tarGuard(), parser as unknown as NodeJS.WritableStream), failed]);
  await Promise.race([chain, failed]);
  return count;
}

async function writeAtomically(out: string, signal: AbortSignal, fill: (zip: ZipWriter) => Promise<void>): Promise<{bytes: number; entries: number}> {
  const tmp = `${out}.partial-${randomBytes(4).toString('hex')}`;
  const file = createWriteStream(tmp, {flags: 'wx'});
  const zip = new ZipWriter(file);
  try {
    await fill(zip);
    const {entries} = await zip.finish();
    if (signal.aborted) throw new InterruptedError('export interrupted', {cause: signal.reason});
    await rename(tmp, out);
    return {bytes: (await stat(out)).size, entries};
  } catch (err) {
    file.destroy();
    await rm(tmp, {force: true});
    throw err;
  }
}

/** dump.sql from a tool writing SQL on stdout, added while it runs. */
async function addDump(zip: ZipWriter, handle: DatabaseHandle, tool: 'pg_dump' | 'pg_restore', argv: readonly string[], signal: AbortSignal): Promise<void> {
  const sql = new PassThrough();
  await Promise.all([handle.runTool(tool, argv, {stdout: sql}, signal), zip.addFile('dump.sql', sql)]);
}

/** A live environment's database and filestore (the database read as one pg_dump snapshot). */
export interface LiveOdooZipInput {
  readonly provider: Provider;
  readonly env: string;
  readonly database: string;
  readonly out: string;
  readonly signal: AbortSignal;
}

/** A native backup (the contract of backup-service.ts's download). */
export interface BackupOdooZipInput {
  readonly manifest: BackupManifest;
  readonly ref: BackupRef;
  readonly storage: BackupStorage;
  readonly provider: Provider;
  readonly out: string;
  readonly signal: AbortSignal;
}

export async function exportLiveOdooZip(input: LiveOdooZipInput): Promise<{readonly bytes: number; readonly entries: number}> {
  const {provider, env, database, signal} = input;
  const handle = await provider.database(env, signal);
  if (!(await handle.databaseExists(database, signal))) throw new NotFoundError(`database ${database} of ${env} does not exist`);
  return writeAtomically(input.out, signal, async (zip) => {
    await addDump(zip, handle, 'pg_dump', ['--no-owner', '-d', database], signal);
    const modules: Record<string, string> = {};
    await copyRows(handle, database, `select name, latest_version from ir_module_module where state = 'installed' order by name`,
      (r) => (modules[r[0]!] = r[1] ?? ''), signal);
    const pgNum = Number((await queryOne(handle, database, 'select current_setting(\'server_version_num\')', signal))[0]);
    const manifest = odooZipManifest({dbName: database, version: null, pgMajor: Math.floor(pgNum / 10000), modules});
    await zip.addFile('manifest.json', Buffer.from(JSON.stringify(manifest, null, 4)));
    const tar = new PassThrough();
    await Promise.all([provider.filestore.archive({env, database}, tar, signal), tarIntoZip(tar, zip, 'filestore/')]);
  });
}

export async function exportBackupOdooZip(input: BackupOdooZipInput): Promise<{readonly bytes: number; readonly entries: number}> {
  const {manifest, ref, storage, provider, signal} = input;
  const source = new NativeBackupSource(manifest, {open: (file, s) => storage.read(ref, file, s)}, 'backup', {}, ref.id);
  const work = await mkdtemp(join(tmpdir(), 'odoo-sh-zip-'));
  try {
    await source.fetch(work, signal);
    const handle = await provider.database(ref.env, signal);
    return await writeAtomically(input.out, signal, async (zip) => {
      await addDump(zip, handle, 'pg_restore', ['-f', '-', '--no-owner', source.dumpFile!], signal);
      const pgMajor = Number(/^(\d+)/.exec(manifest.database.pgVersion)?.[1] ?? 0);
      await zip.addFile('manifest.json', Buffer.from(JSON.stringify(odooZipManifest({
        dbName: manifest.database.name, version: manifest.odoo.version, pgMajor, modules: manifest.odoo.modules,
      }), null, 4)));
      if (!source.hasFilestore) return;
      const part = manifest.parts.find((p) => p.name === 'filestore')!;
      const hash = new HashingStream();
      const guarded = guardTar(await storage.read(ref, part.file, signal), {zstd: true, hash, limits: manifestLimits(manifest), signal});
      await Promise.all([tarIntoZip(guarded.stream, zip, 'filestore/'), guarded.done]);
      if (hash.bytes !== part.sizeBytes || hash.digest() !== part.sha256) throw corruptPart('filestore', 'sha256/size differ from the manifest', ref.id);
    });
  } finally {
    await rm(work, {recursive: true, force: true});
  }
}

/**
 * The entry point backup-service.ts loads (`backups download --format odoo-zip`), also taking a
 * live environment (`db export`).
 */
export async function exportOdooZip(input: BackupOdooZipInput | LiveOdooZipInput): Promise<{readonly bytes: number; readonly entries: number}> {
  return 'manifest' in input ? exportBackupOdooZip(input) : exportLiveOdooZip(input);
}


