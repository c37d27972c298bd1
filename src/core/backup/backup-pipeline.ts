/**
 * Writes one native backup (backup-manifest.ts) into a storage, streaming end to end:
 *
 *   database   pg_dump --format=custom --compress=0, run where the database is → zstd → storage
 *   filestore  provider.filestore.archive (tar) → zstd → storage, the tar parsed on a tee to record
 *              every file's path, size and sha256
 *   logs       the env's Odoo logs (spooled to a temp folder) → tar → zstd → storage
 *   manifest   written last, then read back and checked; only then is the backup committed
 *
 * Anything failing or interrupted removes what was written (the next run's cleanup catches what a
 * killed process leaves). The caller records the backup as complete only after this returns.
 */
import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {Readable, type Writable} from 'node:stream';
import {pipeline} from 'node:stream/promises';
import {create as createTar} from 'tar';
import type {Clock} from '../clock.js';
import {ProviderError} from '../errors.js';
import type {EventLevel} from '../events.js';
import type {BackupRef, BackupStorage, BackupWriter, StoredFile} from '../storage/backup-storage.js';
import type {Provider} from '../../providers/provider.js';
import {
  BACKUP_FORMAT_VERSION, MANIFEST_FILE, PART_FILES, validateManifest,
  type BackupManifest, type BackupPart, type BackupPartName,
} from './backup-manifest.js';
import {formatBytes, type BackupKind} from './backup-record.js';
import {readOdooFacts, spoolLogs, toolVersions} from './backup-sources.js';
import {canonicalJson} from './canonical-json.js';
import {zstdPipeline} from './stream-tee.js';
import {TarIndexer} from './tar-index.js';

/** Where progress goes: a run's phases and events (RunContext satisfies it). */
export interface BackupProgress {
  phase<T>(name: string, fn: () => Promise<T>): Promise<T>;
  event(level: EventLevel, message: string, payload?: Readonly<Record<string, unknown>>): Promise<void>;
}

export interface WriteBackupInput {
  readonly ref: BackupRef;
  readonly kind: BackupKind;
  readonly database: string;
  readonly release: string | null;
  readonly createdAt: Date;
}

export interface WrittenBackup {
  readonly manifest: BackupManifest;
  readonly location: string;
  /** Bytes stored: every part plus the manifest. */
  readonly sizeBytes: number;
}

export interface WriteBackupDeps {
  readonly provider: Provider;
  readonly storage: BackupStorage;
  readonly clock: Clock;
}

const MAX_MANIFEST_BYTES = 512 * 1024 * 1024;

async function storePart(
  writer: BackupWriter, name: BackupPartName, produce: (sink: Writable, signal: AbortSignal) => Promise<unknown>,
  signal: AbortSignal, tap?: Writable,
): Promise<BackupPart> {
  const stored: StoredFile = await zstdPipeline({
    mode: 'compress',
    label: `backup ${name}`,
    produce,
    consume: (compressed, s) => writer.put(PART_FILES[name], compressed, s),
    tap,
    signal,
  });
  return {name, file: stored.file, sizeBytes: stored.sizeBytes, sha256: stored.sha256, compression: 'zstd'};
}

/** Reads a (small) stored file to a buffer, refusing anything over maxBytes. */
export async function readAll(source: Readable, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of source) {
    total += (chunk as Buffer).length;
    if (total > maxBytes) {
      source.destroy();
      throw new ProviderError(`file larger than ${maxBytes} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export async function writeBackup(deps: WriteBackupDeps, input: WriteBackupInput, progress: BackupProgress, signal: AbortSignal): Promise<WrittenBackup> {
  const {provider, storage} = deps;
  const {ref, database} = input;
  const handle = await provider.database(ref.env, signal);
  const facts = await readOdooFacts(handle, database, signal);
  const tools = await toolVersions(handle, signal);
  const writer = await storage.create(ref, signal);
  let committed = false;
  try {
    const parts: BackupPart[] = [];
    const report = async (part: BackupPart, extra: Record<string, unknown> = {}) => {
      parts.push(part);
      await progress.event('info', `${part.name}: ${formatBytes(part.sizeBytes)} stored as ${part.file}`, {
        part: part.name, sizeBytes: part.sizeBytes, sha256: part.sha256, ...extra,
      });
    };

    await progress.phase('database', async () => {
      const argv = ['--format=custom', '--compress=0', `--dbname=${database}`];
      await report(await storePart(writer, 'database', (sink, s) => handle.runTool('pg_dump', argv, {stdout: sink}, s), signal),
        {databaseBytes: facts.sizeBytes});
    });

    const filestore = await progress.phase('filestore', async () => {
      const indexer = new TarIndexer();
      const part = await storePart(writer, 'filestore', (sink, s) => provider.filestore.archive({env: ref.env, database}, sink, s), signal, indexer);
      if (indexer.problems.length > 0) throw new ProviderError(`the filestore archive is unreadable: ${indexer.problems.join('; ')}`);
      if (indexer.others.length > 0) {
        const o = indexer.others[0]!;
        throw new ProviderError(`the filestore holds ${indexer.others.length} entr${indexer.others.length === 1 ? 'y' : 'ies'} that ${indexer.others.length === 1 ? 'is' : 'are'} not a regular file (first: ${o.path}, ${o.type}): a filestore holds files only`);
      }
      const entries = indexer.files;
      const bytes = entries.reduce((n, e) => n + e.size, 0);
      await report(part, {files: entries.length, filesBytes: bytes});
      return {files: entries.length, bytes, entries};
    });

    await progress.phase('logs', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'odoo-sh-logs-'));
      try {
        const files = await spoolLogs(provider, ref.env, dir, signal);
        // An env without instances gets an empty archive (two zero blocks): the part is always there.
        const produce = async (sink: Writable) => {
          await pipeline(files.length ? Readable.from(createTar({cwd: dir, portable: true}, files)) : Readable.from([Buffer.alloc(1024)]), sink);
        };
        await report(await storePart(writer, 'logs', produce, signal), {instances: files.length});
      } finally {
        await rm(dir, {recursive: true, force: true});
      }
    });

    return await progress.phase('manifest', async () => {
      const manifest: BackupManifest = {
        formatVersion: BACKUP_FORMAT_VERSION,
        id: ref.id,
        project: ref.project,
        env: ref.env,
        kind: input.kind,
        release: input.release,
        odoo: {version: facts.version, modules: facts.modules},
        database: {name: database, sizeBytes: facts.sizeBytes, pgVersion: facts.pgVersion, format: 'pg_dump-custom+zstd'},
        parts,
        filestore,
        tools,
        createdAt: input.createdAt.toISOString(),
        completedAt: deps.clock.now().toISOString(),
      };
      validateManifest(manifest);
      const text = Buffer.from(`${JSON.stringify(manifest)}\n`);
      const stored = await writer.put(MANIFEST_FILE, Readable.from([text]), signal);
      await writer.commit(signal);
      committed = true;
      // Read back what a restore will read, and check it is what was written.
      const back = await readAll(await storage.read(ref, MANIFEST_FILE, signal), MAX_MANIFEST_BYTES);
      const reread = validateManifest(JSON.parse(back.toString('utf8')));
      if (!back.equals(text) || canonicalJson(reread) !== canonicalJson(manifest)) {
        throw new ProviderError(`backup ${ref.id}: ${MANIFEST_FILE} read back differs from what was written`);
      }
      const listed = new Map((await storage.list(ref, signal)).map((f) => [f.file, f.sizeBytes]));
      for (const p of [...parts, {file: MANIFEST_FILE, sizeBytes: stored.sizeBytes}]) {
        if (listed.get(p.file) !== p.sizeBytes) {
          throw new ProviderError(`backup ${ref.id}: ${p.file} is ${listed.get(p.file) ?? 'missing'} bytes in storage, ${p.sizeBytes} written`);
        }
      }
      const sizeBytes = parts.reduce((n, p) => n + p.sizeBytes, 0) + stored.sizeBytes;
      await progress.event('info', `manifest written and read back: ${formatBytes(sizeBytes)} in ${storage.location(ref)}`, {sizeBytes});
      return {manifest, location: storage.location(ref), sizeBytes};
    });
  } catch (err) {
    if (committed) await storage.remove(ref, AbortSignal.timeout(60_000)).catch(() => undefined);
    else await writer.abort();
    throw err;
  }
}
