/**
 * Writes one native backup (backup-manifest.ts) into a storage, streaming end to end:
 *
 *   database   pg_dump --format=directory --jobs N --compress=1 into the backup's scratch folder
 *              (tables dumped in parallel, one gzip file each; docker-local copies the folder out
 *              of its PostgreSQL container), then stored as one tar (a parallel restore reads the
 *              folder); other providers: pg_dump --format=custom --compress=0 where the database
 *              is → zstd -T2 → storage
 *   filestore  provider.filestore.archive (tar) → zstd -T2 → storage, the tar parsed on a tee to
 *              record every file's path, size and sha256 (one read of each file); a storage with
 *              local files has zstd write the part file itself (hashed when read back once)
 *              (database and filestore run at the same time: two pipelines, two cores)
 *   logs       the env's Odoo logs (spooled to a temp folder) → tar → zstd → storage
 *   manifest   written last, then read back and checked; only then is the backup committed
 *
 * Anything failing or interrupted removes what was written (the next run's cleanup catches what a
 * killed process leaves). The caller records the backup as complete only after this returns.
 */
import {execa} from 'execa';
import {mkdir, readdir, rm} from 'node:fs/promises';
import {availableParallelism, tmpdir} from 'node:os';
import {join} from 'node:path';
import {Readable, type Writable} from 'node:stream';
import {pipeline} from 'node:stream/promises';
import {create as createTar} from 'tar';
import type {Clock} from '../clock.js';
import {InterruptedError, ProviderError} from '../errors.js';
import type {EventLevel} from '../events.js';
import type {BackupRef, BackupStorage, BackupWriter, StoredFile} from '../storage/backup-storage.js';
import type {DatabaseHandle, Provider} from '../../providers/provider.js';
import {
  BACKUP_FORMAT_VERSION, DATABASE_FORMATS, MANIFEST_FILE, PART_FILES, validateManifest,
  type BackupManifest, type BackupPart, type BackupPartName, type DatabaseFormat,
} from './backup-manifest.js';
import {formatBytes, type BackupKind} from './backup-record.js';
import {readOdooFacts, spoolLogs, toolVersions} from './backup-sources.js';
import {ZSTD_COMPRESS_ARGS, zstdPipeline} from './stream-tee.js';
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
  /** manifest.json as stored (the state store gets the same text: it is not serialised twice). */
  readonly manifestJson: string;
  readonly location: string;
  /** Bytes stored: every part plus the manifest. */
  readonly sizeBytes: number;
}

export interface WriteBackupDeps {
  readonly provider: Provider;
  readonly storage: BackupStorage;
  readonly clock: Clock;
  /**
   * Where the backup's own scratch folder (`backup-<id>`) is made: the directory dump, the logs.
   * Removed when the backup ends; the next backup's cleanup removes what a killed one left.
   * Default: the system's temp folder.
   */
  readonly scratchDir?: string | undefined;
  /** Default: directory format where the provider's pg_dump can hand a folder back (DIRECTORY_DUMP_PROVIDERS), custom elsewhere. */
  readonly databaseFormat?: DatabaseFormat | undefined;
  /** pg_dump --jobs of a directory dump (default: the CPUs, at most 4). */
  readonly jobs?: number | undefined;
  /**
   * A full garbage collection, run once the parts are stored and before the manifest (the
   * largest allocation) is built: the streams' buffers are garbage by then (peak memory).
   */
  readonly collectGarbage?: (() => void) | undefined;
}

/**
 * Providers whose pg_dump can write a directory we get back: the local one (its tools run here)
 * and docker-local (the folder is copied out of the PostgreSQL container, 1/8 of the custom
 * dump's size, and a restore copies that folder in instead of a decompressed custom dump).
 */
const DIRECTORY_DUMP_PROVIDERS: ReadonlySet<string> = new Set(['local', 'docker-local']);

/** The scratch folder of one backup inside scratchDir (what cleanup looks for). */
export const backupScratchName = (id: string): string => `backup-${id}`;

/** Members of a directory dump in the stored tar's order: toc.dat first (verify reads it), then by name. */
export function dumpMemberOrder(a: string, b: string): number {
  if (a === b) return 0;
  if (a === 'toc.dat') return -1;
  if (b === 'toc.dat') return 1;
  return a < b ? -1 : 1;
}

const PART_ORDER: readonly BackupPartName[] = ['database', 'filestore', 'logs'];

/**
 * produce → [tap] → zstd → storage. A storage with local files has zstd write the part file
 * itself (`zstd -o`: the compressed bytes do not come back through this process, which halves
 * what it copies) and hashes it when reading it back; others get zstd's output as a stream.
 */
async function storePart(
  writer: BackupWriter, name: BackupPartName, produce: (sink: Writable, signal: AbortSignal) => Promise<unknown>,
  signal: AbortSignal, tap?: Writable,
): Promise<BackupPart> {
  const file = PART_FILES[name];
  const common = {mode: 'compress', label: `backup ${name}`, produce, tap, signal} as const;
  const stored: StoredFile = writer.putWritten
    ? await writer.putWritten(file, async (outputFile) => {
      await zstdPipeline({...common, outputFile});
    }, signal)
    : await zstdPipeline({...common, consume: (compressed, s) => writer.put(file, compressed, s)});
  return {name, file: stored.file, sizeBytes: stored.sizeBytes, sha256: stored.sha256, compression: 'zstd'};
}

/**
 * The dump part in directory format (`scratch` is this machine's: the provider's tool bridge
 * copies a folder written elsewhere back into it): pg_dump
 * --jobs N writes one gzip file per table into a folder (as fast as a dump gets: `pg_dump -Fd -j2
 * -Z1`), which is stored as one tar, toc.dat first. The tar is not compressed again.
 */
async function storeDirectoryDump(
  writer: BackupWriter, handle: DatabaseHandle, database: string, scratch: string, jobs: number, signal: AbortSignal,
): Promise<BackupPart> {
  const dir = join(scratch, 'database.dir');
  // --no-sync: the folder is scratch; the storage flushes what it stores.
  await handle.runTool('pg_dump', [
    '--format=directory', `--jobs=${jobs}`, '--compress=1', '--no-sync', `--file=${dir}`, `--dbname=${database}`,
  ], {}, signal);
  const names = (await readdir(dir)).sort(dumpMemberOrder);
  if (names[0] !== 'toc.dat') throw new ProviderError(`backup database: pg_dump wrote no toc.dat into ${dir}`);
  const {file, compression} = DATABASE_FORMATS['pg_dump-directory+tar'];
  const tar = Readable.from(createTar({cwd: dir, portable: true, maxReadSize: 256 * 1024}, names));
  const stored = await writer.put(file, tar, signal);
  await rm(dir, {recursive: true, force: true}); // stored: the scratch space goes back at once
  return {name: 'database', file: stored.file, sizeBytes: stored.sizeBytes, sha256: stored.sha256, compression};
}

/**
 * The dump part in custom format when pg_dump runs on this machine: pg_dump writes into a FIFO
 * that zstd reads, so the uncompressed dump never passes through this process (half the bytes it
 * would otherwise copy, and the CPU that goes with them); only zstd's output is hashed and stored.
 */
async function storeLocalDump(writer: BackupWriter, handle: DatabaseHandle, argv: readonly string[], scratch: string, signal: AbortSignal): Promise<BackupPart> {
  const fifo = join(scratch, 'database.fifo');
  const ac = new AbortController();
  const inner = AbortSignal.any([signal, ac.signal]);
  try {
    await execa('mkfifo', ['-m', '600', '--', fifo], {cancelSignal: signal});
    const zstd = execa('zstd', [...ZSTD_COMPRESS_ARGS, '-q', '-c', '--', fifo], {
      stdin: 'ignore', stdout: 'pipe', stderr: 'pipe', buffer: {stdout: false, stderr: true}, maxBuffer: {stderr: 64 * 1024},
      cancelSignal: inner, forceKillAfterDelay: 2000, reject: false,
    });
    const compressed = zstd.then((r) => {
      if (r.isCanceled) throw new InterruptedError('backup database: interrupted', {cause: inner.reason});
      if (r.exitCode !== 0) {
        const stderr = typeof r.stderr === 'string' ? r.stderr.trim().split('\n').slice(-3).join('; ') : '';
        throw new ProviderError(`backup database: zstd exited with status ${r.exitCode ?? r.shortMessage}${stderr ? `: ${stderr}` : ''}`);
      }
    });
    // A pg_dump that fails before opening the FIFO leaves zstd waiting on it: the abort stops zstd.
    // --no-sync: a FIFO cannot be fsynced (the storage flushes what it stores).
    const dumped = handle.runTool('pg_dump', [...argv, '--no-sync', `--file=${fifo}`], {}, inner);
    const stored = writer.put(PART_FILES.database, zstd.stdout, inner);
    const tasks: Promise<unknown>[] = [dumped, compressed, stored];
    for (const t of tasks) t.catch((err: unknown) => ac.abort(err));
    await Promise.allSettled(tasks);
    if (signal.aborted) throw new InterruptedError('backup database: interrupted', {cause: signal.reason});
    if (ac.signal.aborted) throw ac.signal.reason;
    const file = await stored;
    return {name: 'database', file: file.file, sizeBytes: file.sizeBytes, sha256: file.sha256, compression: 'zstd'};
  } finally {
    if (!ac.signal.aborted) ac.abort();
    await rm(fifo, {force: true});
  }
}

/** Reads source to its end and fails (ProviderError naming `what`) unless it holds exactly `expected`. */
export async function expectSameBytes(source: Readable, expected: Buffer, what: string): Promise<void> {
  let at = 0;
  for await (const chunk of source) {
    const c = chunk as Buffer;
    if (at + c.length > expected.length || !c.equals(expected.subarray(at, at + c.length))) {
      source.destroy();
      throw new ProviderError(`${what} differs from what was written (from byte ${at})`);
    }
    at += c.length;
  }
  if (at !== expected.length) throw new ProviderError(`${what} differs from what was written (${at} of ${expected.length} bytes)`);
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
  const [facts, tools] = await Promise.all([readOdooFacts(handle, database, signal), toolVersions(handle, signal)]);
  const format: DatabaseFormat = deps.databaseFormat ?? (DIRECTORY_DUMP_PROVIDERS.has(provider.name) ? 'pg_dump-directory+tar' : 'pg_dump-custom+zstd');
  const scratch = join(deps.scratchDir ?? tmpdir(), backupScratchName(ref.id));
  const writer = await storage.create(ref, signal);
  let committed = false;
  try {
    await rm(scratch, {recursive: true, force: true});
    await mkdir(scratch, {recursive: true, mode: 0o700});
    const parts: BackupPart[] = [];
    const report = async (part: BackupPart, extra: Record<string, unknown> = {}) => {
      parts.push(part);
      await progress.event('info', `${part.name}: ${formatBytes(part.sizeBytes)} stored as ${part.file}`, {
        part: part.name, sizeBytes: part.sizeBytes, sha256: part.sha256, ...extra,
      });
    };

    // The dump and the filestore archive run at once (each with its own zstd -T2): one waits on
    // PostgreSQL while the other reads files. The first failure stops the other.
    const ac = new AbortController();
    const both = AbortSignal.any([signal, ac.signal]);
    const stopOthers = <T>(p: Promise<T>): Promise<T> => p.catch((err: unknown) => {
      if (!ac.signal.aborted) ac.abort(err);
      throw err;
    });
    const dumpPhase = stopOthers(progress.phase('database', async () => {
      const argv = ['--format=custom', '--compress=0', `--dbname=${database}`];
      const jobs = Math.max(1, Math.min(4, deps.jobs ?? availableParallelism()));
      const part = format === 'pg_dump-directory+tar'
        ? await storeDirectoryDump(writer, handle, database, scratch, jobs, both)
        : provider.name === 'local'
          ? await storeLocalDump(writer, handle, argv, scratch, both)
          : await storePart(writer, 'database', (sink, s) => handle.runTool('pg_dump', argv, {stdout: sink}, s), both);
      await report(part, {databaseBytes: facts.sizeBytes});
      return part;
    }));

    const filestorePhase = stopOthers(progress.phase('filestore', async () => {
      const indexer = new TarIndexer();
      const part = await storePart(writer, 'filestore', (sink, s) => provider.filestore.archive({env: ref.env, database}, sink, s), both, indexer);
      if (indexer.problems.length > 0) throw new ProviderError(`the filestore archive is unreadable: ${indexer.problems.join('; ')}`);
      if (indexer.others.length > 0) {
        const o = indexer.others[0]!;
        throw new ProviderError(`the filestore holds ${indexer.others.length} entr${indexer.others.length === 1 ? 'y' : 'ies'} that ${indexer.others.length === 1 ? 'is' : 'are'} not a regular file (first: ${o.path}, ${o.type}): a filestore holds files only`);
      }
      const entries = indexer.files;
      let bytes = 0;
      for (const e of entries) bytes += e.size;
      await report(part, {files: entries.length, filesBytes: bytes});
      return {files: entries.length, bytes, entries};
    }));
    const [dumped, archived] = await Promise.allSettled([dumpPhase, filestorePhase]);
    if (signal.aborted) throw new InterruptedError('backup interrupted', {cause: signal.reason});
    // The error that came first (the other one is usually the abort it caused).
    if (dumped.status === 'rejected' || archived.status === 'rejected') {
      throw ac.signal.reason ?? (dumped.status === 'rejected' ? dumped.reason : (archived as PromiseRejectedResult).reason);
    }
    const filestore = archived.value;
    // Parts in the manifest's usual order, whichever finished first.
    parts.sort((a, b) => PART_ORDER.indexOf(a.name) - PART_ORDER.indexOf(b.name));

    await progress.phase('logs', async () => {
      const dir = join(scratch, 'logs');
      await mkdir(dir, {mode: 0o700});
      try {
        const files = await spoolLogs(provider, ref.env, dir, signal);
        // An env without instances gets an empty archive (two zero blocks): the part is always there.
        const produce = async (sink: Writable) => {
          await pipeline(files.length ? Readable.from(createTar({cwd: dir, portable: true, maxReadSize: 256 * 1024}, files)) : Readable.from([Buffer.alloc(1024)]), sink);
        };
        await report(await storePart(writer, 'logs', produce, signal), {instances: files.length});
      } finally {
        await rm(dir, {recursive: true, force: true});
      }
    });

    return await progress.phase('manifest', async () => {
      deps.collectGarbage?.();
      const manifest: BackupManifest = {
        formatVersion: BACKUP_FORMAT_VERSION,
        id: ref.id,
        project: ref.project,
        env: ref.env,
        kind: input.kind,
        release: input.release,
        odoo: {version: facts.version, modules: facts.modules},
        database: {name: database, sizeBytes: facts.sizeBytes, pgVersion: facts.pgVersion, format},
        parts,
        filestore,
        tools,
        createdAt: input.createdAt.toISOString(),
        completedAt: deps.clock.now().toISOString(),
      };
      validateManifest(manifest);
      const manifestJson = JSON.stringify(manifest);
      // One buffer for the file (megabytes at 20,000 files): no joined string copied again.
      const text = Buffer.allocUnsafe(Buffer.byteLength(manifestJson) + 1);
      text[text.write(manifestJson)] = 0x0a;
      const stored = await writer.put(MANIFEST_FILE, Readable.from([text]), signal);
      await writer.commit(signal);
      committed = true;
      // Read back what a restore will read and check it is byte for byte what was written (so it
      // parses to this validated manifest). Compared as it streams: a manifest lists every
      // filestore file, and parsing a copy of it again would make the backup's peak memory grow
      // with the number of files.
      await expectSameBytes(await storage.read(ref, MANIFEST_FILE, signal), text, `backup ${ref.id}: ${MANIFEST_FILE} read back`);
      const listed = new Map((await storage.list(ref, signal)).map((f) => [f.file, f.sizeBytes]));
      for (const p of [...parts, {file: MANIFEST_FILE, sizeBytes: stored.sizeBytes}]) {
        if (listed.get(p.file) !== p.sizeBytes) {
          throw new ProviderError(`backup ${ref.id}: ${p.file} is ${listed.get(p.file) ?? 'missing'} bytes in storage, ${p.sizeBytes} written`);
        }
      }
      const sizeBytes = parts.reduce((n, p) => n + p.sizeBytes, 0) + stored.sizeBytes;
      await progress.event('info', `manifest written and read back: ${formatBytes(sizeBytes)} in ${storage.location(ref)}`, {sizeBytes});
      return {manifest, manifestJson, location: storage.location(ref), sizeBytes};
    });
  } catch (err) {
    if (committed) await storage.remove(ref, AbortSignal.timeout(60_000)).catch(() => undefined);
    else await writer.abort();
    throw err;
  } finally {
    await rm(scratch, {recursive: true, force: true}).catch(() => undefined);
  }
}
