/**
 * What a restore reads: a RestoreSource hides where the data comes from (a native backup in
 * storage, a native backup file, Odoo's zip, a pg_dump file) behind the steps of a restore:
 * fetch (download and check), load the database, stream the filestore as a validated tar.
 */
import {execa} from 'execa';
import {existsSync} from 'node:fs';
import {mkdir} from 'node:fs/promises';
import {join} from 'node:path';
import {PassThrough, Writable, type Readable, type Transform} from 'node:stream';
import {pipeline} from 'node:stream/promises';
import zlib from 'node:zlib';
import {InterruptedError, ProviderError} from '../errors.js';
import {HashingStream} from '../storage/hashing-stream.js';
import type {DatabaseHandle} from '../../providers/provider.js';
import {DUMP_DIRECTORY_MEMBER, PART_FILES, partFile, type BackupManifest, type BackupPartName, type FilestoreEntry} from './backup-manifest.js';
import {pgRestoreFile} from './restore-database.js';
import {DEFAULT_LIMITS, ExpansionMeter, tarGuard, UnsafeArchiveError, type ArchiveLimits} from './safe-extract.js';
import {spawnZstd} from './stream-tee.js';
import {TarIndexer, type IndexedFile} from './tar-index.js';

export type RestoreSourceKind = 'backup' | 'native-file' | 'odoo-zip' | 'pg-dump';

/** A plain tar stream of a filestore; `done` settles once it was read to the end (rejects when refused or corrupt). */
export interface GuardedTar {
  readonly stream: Readable;
  readonly done: Promise<void>;
  /**
   * The files the stream carried (size and sha1 of each), once done resolved: read from the
   * very bytes handed to the extraction, so a restore checks attachments without re-reading them.
   */
  readonly files?: () => ReadonlyMap<string, IndexedFile>;
}

export interface RestoreSource {
  readonly kind: RestoreSourceKind;
  /** Recorded in ops.restores.source (no secrets). */
  readonly description: Readonly<Record<string, unknown>>;
  readonly backupId: string | null;
  /** The environment the data comes from, when known. */
  readonly sourceEnv: string | null;
  readonly hasFilestore: boolean;
  readonly odooVersion: string | null;
  readonly expectedModules: Readonly<Record<string, string>> | null;
  readonly expectedFiles: readonly FilestoreEntry[] | null;
  /** Downloads and checks what loading needs into `work` (a private temp folder). */
  fetch(work: string, signal: AbortSignal): Promise<void>;
  loadDatabase(handle: DatabaseHandle, database: string, opts: {readonly jobs: number}, signal: AbortSignal): Promise<void>;
  filestoreTar(signal: AbortSignal): Promise<GuardedTar>;
  /** The dump pg_restore reads (a custom-format file or a directory-format folder), after fetch (native and pg_dump sources). */
  readonly dumpFile?: string | undefined;
  close(): Promise<void>;
}

export class CorruptBackupError extends ProviderError {}

export const corruptPart = (part: BackupPartName, detail: string, backup: string, file = PART_FILES[part]): CorruptBackupError =>
  new CorruptBackupError(`backup ${backup}: part ${part} (${file}) is corrupt: ${detail}`, {
    data: {part, file, backup},
    actions: [`odoo-sh-next backups verify ${backup}`, 'restore another backup'],
  });

/**
 * zlib's zstd decoder (Node >= 22.15), or null. It decodes on libuv's thread pool (another core),
 * and saves the two pipe hops (to and from a `zstd -d` child) that each byte would otherwise take.
 */
function nodeZstdDecompress(): (Transform & {readonly bytesWritten: number}) | null {
  const create = (zlib as unknown as {createZstdDecompress?: (o: {chunkSize: number}) => Transform & {readonly bytesWritten: number}}).createZstdDecompress;
  return typeof create === 'function' ? create({chunkSize: 256 * 1024}) : null;
}

/**
 * Pipes raw (optionally zstd-compressed) tar bytes through the ratio meter and tarGuard; the
 * returned stream is plain tar. onEnd runs after the last byte (e.g. checks a part's sha256).
 * Decompression runs in zlib's zstd decoder (on the thread pool), else in the zstd binary (a
 * child process); with `index`, every file of the validated stream gets its sha1 on the way
 * (what attachments are checked against; the part's sha256, checked by onEnd, covers every byte).
 */
export function guardTar(raw: Readable, opts: {
  readonly zstd: boolean;
  readonly limits?: ArchiveLimits;
  readonly hash?: HashingStream;
  readonly onEnd?: () => void;
  readonly index?: boolean;
  readonly signal: AbortSignal;
}): GuardedTar {
  const meter = new ExpansionMeter(opts.limits ?? DEFAULT_LIMITS);
  const ac = new AbortController();
  const signal = AbortSignal.any([opts.signal, ac.signal]);
  // sha1 only: attachments are checked by it; every byte's integrity is the archive sha256's job.
  const indexer = opts.index ? new TarIndexer(undefined, {withSha1: true, withSha256: false}) : null;
  const out = new PassThrough({highWaterMark: 256 * 1024});
  // The consumer (e.g. GNU tar) may stop reading after the end-of-archive blocks: the source is
  // still read to its end (its sha256 covers every byte), what the consumer no longer wants is dropped.
  const forward = new Writable({
    highWaterMark: 256 * 1024,
    write(chunk: Buffer, _e, cb) {
      indexer?.write(chunk);
      if (out.destroyed || out.writableEnded) return cb();
      if (out.write(chunk)) return cb();
      const onDrain = () => {
        out.off('close', onClose);
        cb();
      };
      const onClose = () => {
        out.off('drain', onDrain);
        cb();
      };
      out.once('drain', onDrain);
      out.once('close', onClose);
    },
    final(cb) {
      if (!out.destroyed) out.end();
      if (indexer) indexer.end(cb);
      else cb();
    },
  });
  const front: NodeJS.ReadWriteStream[] = [...(opts.hash ? [opts.hash] : []), meter.counter()];
  // As in zstdToFile: failures travel through the pipeline promises, never as unhandled 'error' events.
  for (const s of [raw, ...front]) s.on('error', () => undefined);
  const run = pipeline as (...a: unknown[]) => Promise<void>;
  let done: Promise<void>;
  const inProcess = opts.zstd ? nodeZstdDecompress() : null;
  if (inProcess) {
    // One frame, as `zstd` writes it: bytes after it would be ignored by the decoder, so they fail.
    const checkConsumed = () => {
      if (inProcess.bytesWritten !== meter.compressed) {
        throw new ProviderError(`filestore archive: ${meter.compressed - inProcess.bytesWritten} byte(s) after the end of its zstd frame`);
      }
    };
    done = run(raw, ...front, inProcess, tarGuard({meter}), forward, {signal}).then(checkConsumed);
  } else if (opts.zstd) {
    const z = spawnZstd(['-d'], signal, 'filestore archive');
    const fed = run(raw, ...front, z.stdin, {signal});
    const read = run(z.stdout, tarGuard({meter}), forward, {signal});
    const all = [fed, read, z.done];
    for (const t of all) t.catch((err: unknown) => ac.abort(err));
    done = Promise.allSettled(all).then((results) => {
      // The first failure (what aborted the others) is the one that tells.
      if (ac.signal.aborted) throw ac.signal.reason;
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
    });
  } else {
    done = run(raw, ...front, tarGuard({meter}), forward, {signal});
  }
  done = done.then(() => {
    if (indexer && indexer.bytes > 0 && indexer.problems.length > 0) throw new ProviderError(`filestore archive: ${indexer.problems.join('; ')}`);
    opts.onEnd?.();
  });
  // The consumer sees the failure; the caller awaits done. A consumer not attached yet (still
  // preparing its target when an abort comes) must not turn it into an uncaught 'error' event.
  out.on('error', () => undefined);
  done.catch((err: Error) => out.destroy(err));
  return {stream: out, done, ...(indexer ? {files: () => indexer.fileMap} : {})};
}

/** Limits for a filestore whose size the manifest states: its bytes plus tar overhead. */
export function manifestLimits(manifest: BackupManifest): ArchiveLimits {
  const fs = manifest.filestore;
  if (!fs) return DEFAULT_LIMITS;
  return {...DEFAULT_LIMITS, maxTotalBytes: fs.bytes + (fs.files + 8) * 3 * 512 + 16 * 2 ** 20, maxEntries: fs.files * 4 + 1000};
}

/**
 * Decompresses source (zstd) into file with the zstd binary (`-o`: the decompressed bytes never
 * pass through this process); hash sees every compressed byte.
 */
async function zstdToFile(source: Readable, hash: HashingStream, file: string, signal: AbortSignal): Promise<void> {
  const ac = new AbortController();
  const inner = AbortSignal.any([signal, ac.signal]);
  const child = execa('zstd', ['-d', '-q', '-f', '-o', file], {
    stdin: 'pipe', stdout: 'ignore', stderr: 'pipe', buffer: {stderr: true}, maxBuffer: {stderr: 64 * 1024},
    cancelSignal: inner, forceKillAfterDelay: 2000, reject: false,
  });
  child.stdin.on('error', () => undefined); // EPIPE when zstd stops first: its exit status says why
  // An abort destroys these with AbortError, possibly after pipeline() let go of them: the
  // pipeline's promise carries the failure, a late 'error' event must not crash the process.
  for (const s of [source, hash]) s.on('error', () => undefined);
  const fed = pipeline(source, hash, child.stdin, {signal: inner}).catch((err: unknown) => {
    ac.abort(err);
    throw err;
  });
  const [r, f] = await Promise.allSettled([child, fed]);
  if (signal.aborted) throw new InterruptedError('interrupted', {cause: signal.reason});
  const result = r.status === 'fulfilled' ? r.value : undefined;
  if (result && result.exitCode !== 0) {
    const stderr = typeof result.stderr === 'string' ? result.stderr.trim().split('\n').slice(-3).join('; ') : '';
    if (result.exitCode === undefined) throw new ProviderError(`cannot run zstd: ${result.shortMessage}`, {actions: ['install zstd (e.g. apt-get install zstd)']});
    throw new ProviderError(`zstd exited with status ${result.exitCode}${stderr ? `: ${stderr}` : ''}`);
  }
  if (f.status === 'rejected') throw f.reason;
}

/**
 * Extracts a stored directory dump (a plain tar) into `dir`, hashing every byte read: entries
 * are refused unless they are regular files at the root named as pg_dump names them, and the
 * extracted bytes cannot exceed the stored ones. The validated stream is written by GNU tar
 * (its pipe gives backpressure: memory stays flat whatever the size of a table's file).
 */
async function extractDumpDirectory(raw: Readable, hash: HashingStream, dir: string, storedBytes: number, signal: AbortSignal): Promise<void> {
  const limits: ArchiveLimits = {...DEFAULT_LIMITS, maxTotalBytes: storedBytes, maxEntries: 1_000_000};
  const guard = tarGuard({
    limits,
    onEntry: (entry) => {
      if (entry.kind === 'directory' && entry.path === '') return;
      if (entry.kind !== 'file' || !DUMP_DIRECTORY_MEMBER.test(entry.path)) {
        throw new UnsafeArchiveError(`directory dump entry ${JSON.stringify(entry.path)} (${entry.kind}) is not a file pg_dump writes`);
      }
    },
  });
  await mkdir(dir, {recursive: true, mode: 0o700});
  const ac = new AbortController();
  const inner = AbortSignal.any([signal, ac.signal]);
  const tar = execa('tar', ['--extract', '--file=-', '--no-same-owner', '--no-same-permissions', '--directory', dir], {
    stdin: 'pipe', stdout: 'ignore', stderr: 'pipe', buffer: {stderr: true}, maxBuffer: {stderr: 64 * 1024},
    env: {LC_ALL: 'C'}, cancelSignal: inner, forceKillAfterDelay: 2000, reject: false,
  });
  tar.stdin.on('error', () => undefined); // EPIPE when tar stops first: its exit status says why
  for (const s of [raw, hash, guard]) s.on('error', () => undefined);
  const fed = pipeline(raw, hash, guard, tar.stdin, {signal: inner}).catch((err: unknown) => {
    ac.abort(err);
    throw err;
  });
  const [r, f] = await Promise.allSettled([tar, fed]);
  if (signal.aborted) throw new InterruptedError('interrupted', {cause: signal.reason});
  if (f.status === 'rejected') throw f.reason;
  const result = r.status === 'fulfilled' ? r.value : undefined;
  if (!result || result.exitCode !== 0) {
    const stderr = typeof result?.stderr === 'string' ? result.stderr.trim().split('\n').slice(-3).join('; ') : '';
    throw new ProviderError(`tar (extract the database dump) exited with status ${result?.exitCode ?? '?'}${stderr ? `: ${stderr}` : ''}`);
  }
}

export interface PartReader {
  open(file: string, signal: AbortSignal): Promise<Readable>;
}

/** A native backup (manifest + parts), read from storage or from an unpacked backup file. */
export class NativeBackupSource implements RestoreSource {
  readonly hasFilestore: boolean;
  readonly odooVersion: string | null;
  readonly expectedModules: Readonly<Record<string, string>>;
  readonly expectedFiles: readonly FilestoreEntry[] | null;
  dumpFile: string | undefined;

  constructor(
    readonly manifest: BackupManifest,
    private readonly parts: PartReader,
    readonly kind: 'backup' | 'native-file',
    readonly description: Readonly<Record<string, unknown>>,
    readonly backupId: string | null,
  ) {
    this.hasFilestore = manifest.filestore !== null && manifest.parts.some((p) => p.name === 'filestore');
    this.odooVersion = manifest.odoo.version;
    this.expectedModules = manifest.odoo.modules;
    this.expectedFiles = manifest.filestore?.entries ?? null;
  }

  get sourceEnv(): string {
    return this.manifest.env;
  }

  #part(name: BackupPartName) {
    const part = this.manifest.parts.find((p) => p.name === name);
    if (!part) throw corruptPart(name, 'not in the manifest', this.manifest.id, partFile(name, this.manifest.database.format));
    return part;
  }

  /**
   * Custom format: decompresses the dump into `work/database.dump`. Directory format: extracts
   * the tar into `work/database.dir` (flat, only the file names pg_dump writes), from which
   * pg_restore --jobs N reads. Either way every stored byte is hashed against the manifest.
   */
  async fetch(work: string, signal: AbortSignal): Promise<void> {
    const part = this.#part('database');
    const hash = new HashingStream();
    const directory = this.manifest.database.format === 'pg_dump-directory+tar';
    const target = join(work, directory ? 'database.dir' : 'database.dump');
    const corrupt = (detail: string) => corruptPart('database', detail, this.manifest.id, part.file);
    try {
      const raw = await this.parts.open(part.file, signal);
      if (directory) await extractDumpDirectory(raw, hash, target, part.sizeBytes, signal);
      else await zstdToFile(raw, hash, target, signal);
    } catch (err) {
      if (signal.aborted) throw err;
      throw corrupt((err as Error).message);
    }
    if (hash.bytes !== part.sizeBytes || hash.digest() !== part.sha256) {
      throw corrupt(`sha256/size differ from the manifest (${hash.bytes} bytes read, ${part.sizeBytes} expected)`);
    }
    if (directory && !existsSync(join(target, 'toc.dat'))) throw corrupt('the directory dump has no toc.dat');
    this.dumpFile = target;
  }

  async loadDatabase(handle: DatabaseHandle, database: string, opts: {readonly jobs: number}, signal: AbortSignal): Promise<void> {
    if (!this.dumpFile) throw new ProviderError('internal: loadDatabase before fetch');
    await pgRestoreFile(handle, database, this.dumpFile, opts, signal);
  }

  async filestoreTar(signal: AbortSignal): Promise<GuardedTar> {
    const part = this.#part('filestore');
    const hash = new HashingStream();
    const raw = await this.parts.open(part.file, signal);
    const guarded = guardTar(raw, {
      zstd: true, hash, limits: manifestLimits(this.manifest), index: true, signal,
      onEnd: () => {
        if (hash.bytes !== part.sizeBytes || hash.digest() !== part.sha256) {
          throw corruptPart('filestore', `sha256/size differ from the manifest (${hash.bytes} bytes read, ${part.sizeBytes} expected)`, this.manifest.id, part.file);
        }
      },
    });
    return {...guarded, done: guarded.done.catch((err: unknown) => {
      if (signal.aborted || (err as {data?: {part?: string}}).data?.part) throw err;
      throw corruptPart('filestore', (err as Error).message, this.manifest.id, part.file);
    })};
  }

  async close(): Promise<void> {}
}
