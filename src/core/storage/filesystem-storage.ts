/**
 * Backups in a local folder (default `.odoo-sh-next/backups/`): `<root>/<project>/<env>/<id>/`.
 * A backup is written into `<id>.partial/` (each file flushed to disk), then renamed to `<id>/`
 * once complete, so a crash never leaves a folder that looks complete. Deleting renames the folder
 * back to `<id>.partial/` first, so an interrupted delete is an incomplete backup too.
 */
import {createHash} from 'node:crypto';
import {createReadStream, createWriteStream, existsSync} from 'node:fs';
import {mkdir, open, readdir, rename, rm, stat} from 'node:fs/promises';
import {dirname, join} from 'node:path';
import type {Readable} from 'node:stream';
import {pipeline} from 'node:stream/promises';
import {ConflictError, InternalError, InterruptedError, NotFoundError, ProviderError} from '../errors.js';
import {MANIFEST_FILE} from '../backup/backup-manifest.js';
import {
  checkFileName, checkRef, isBackupId, isEnvSegment,
  type BackupRef, type BackupStorage, type BackupWriter, type IncompleteBackup, type StorageFileInfo, type StoredFile,
} from './backup-storage.js';
import {HashingStream} from './hashing-stream.js';

const PARTIAL = '.partial';
const WRITE_BUFFER_BYTES = 1024 * 1024;
const READ_CHUNK_BYTES = 1024 * 1024;

function ioError(what: string, err: unknown, signal?: AbortSignal): Error {
  if (signal?.aborted) return new InterruptedError(`${what}: interrupted`, {cause: signal.reason});
  if (err instanceof InterruptedError || err instanceof ProviderError) return err;
  return new ProviderError(`${what}: ${(err as Error).message}`, {cause: err});
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export class FilesystemBackupStorage implements BackupStorage {
  readonly type = 'filesystem' as const;

  constructor(readonly root: string) {}

  dir(ref: BackupRef): string {
    checkRef(ref);
    return join(this.root, ref.project, ref.env, ref.id);
  }

  location(ref: BackupRef): string {
    return this.dir(ref);
  }

  async create(ref: BackupRef, signal: AbortSignal): Promise<BackupWriter> {
    const final = this.dir(ref);
    const partial = `${final}${PARTIAL}`;
    if (existsSync(final) || existsSync(partial)) throw new ConflictError(`backup ${ref.id} already exists in ${dirname(final)}`);
    if (signal.aborted) throw new InterruptedError('interrupted', {cause: signal.reason});
    try {
      await mkdir(partial, {recursive: true, mode: 0o700});
    } catch (err) {
      throw ioError(`cannot create backup folder ${partial}`, err);
    }
    return new FilesystemWriter(ref, partial, final);
  }

  async read(ref: BackupRef, file: string, signal: AbortSignal): Promise<Readable> {
    const path = join(this.dir(ref), checkFileName(file));
    const stream = createReadStream(path, {signal, highWaterMark: READ_CHUNK_BYTES});
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', (err: NodeJS.ErrnoException) => {
        reject(err.code === 'ENOENT'
          ? new NotFoundError(`backup ${ref.id} has no ${file} (${path})`, {data: {backup: ref.id, file}})
          : ioError(`cannot read ${path}`, err, signal));
      });
    });
    return stream;
  }

  async list(ref: BackupRef, signal: AbortSignal): Promise<readonly StorageFileInfo[]> {
    const dir = this.dir(ref);
    if (signal.aborted) throw new InterruptedError('interrupted', {cause: signal.reason});
    if (!existsSync(dir)) return [];
    const out: StorageFileInfo[] = [];
    for (const file of (await readdir(dir)).sort()) {
      const s = await stat(join(dir, file));
      if (s.isFile()) out.push({file, sizeBytes: s.size});
    }
    return out;
  }

  async remove(ref: BackupRef, signal: AbortSignal): Promise<{readonly removed: boolean}> {
    const final = this.dir(ref);
    const partial = `${final}${PARTIAL}`;
    if (signal.aborted) throw new InterruptedError('interrupted', {cause: signal.reason});
    const had = existsSync(final) || existsSync(partial);
    try {
      if (existsSync(final)) {
        await rm(partial, {recursive: true, force: true});
        await rename(final, partial); // from here on it is an incomplete backup, whatever happens next
      }
      await rm(partial, {recursive: true, force: true});
    } catch (err) {
      throw ioError(`cannot delete backup ${final}`, err);
    }
    return {removed: had};
  }

  async listIncomplete(project: string, signal: AbortSignal): Promise<readonly IncompleteBackup[]> {
    const base = join(this.root, project);
    if (!isEnvSegment(project) || !existsSync(base)) return [];
    const out: IncompleteBackup[] = [];
    for (const env of await readdir(base)) {
      if (signal.aborted) throw new InterruptedError('interrupted', {cause: signal.reason});
      if (!isEnvSegment(env)) continue;
      const envDir = join(base, env);
      if (!(await stat(envDir)).isDirectory()) continue;
      for (const name of await readdir(envDir)) {
        if (!name.endsWith(PARTIAL) || !isBackupId(name.slice(0, -PARTIAL.length))) continue;
        const where = join(envDir, name);
        out.push({project, env, id: name.slice(0, -PARTIAL.length), kind: 'partial-folder', where, modifiedAt: await lastWrite(where)});
      }
    }
    return out;
  }

  async removeIncomplete(item: IncompleteBackup, signal: AbortSignal): Promise<void> {
    if (signal.aborted) throw new InterruptedError('interrupted', {cause: signal.reason});
    const expected = `${this.dir(item)}${PARTIAL}`;
    if (item.kind !== 'partial-folder' || item.where !== expected) throw new InternalError(`not an incomplete backup of this storage: ${item.where}`);
    await rm(expected, {recursive: true, force: true});
  }
}

/** The newest mtime of a folder and the files in it (a file being written does not touch the folder's). */
async function lastWrite(dir: string): Promise<Date> {
  let newest = (await stat(dir)).mtimeMs;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const s = await stat(join(dir, name)).catch(() => undefined);
    if (s && s.mtimeMs > newest) newest = s.mtimeMs;
  }
  return new Date(newest);
}

/** While another program writes a file: flush what it wrote every this many bytes (see followAndFlush). */
const FLUSH_EVERY_BYTES = 64 * 1024 * 1024;
/** How long the follower waits for more bytes when it caught up with the writer. */
const FOLLOW_POLL_MS = 5;

const pause = (ms: number, until: Promise<unknown>): Promise<unknown> =>
  Promise.race([new Promise((resolve) => setTimeout(resolve, ms)), until]);

/**
 * sha256 and size of a file another program is writing (appending only, as `zstd -o` does),
 * computed while it writes: the follower reads what is there through one reused buffer (memory
 * stays flat; the bytes are still in the page cache), waits a moment when it catches up, and
 * reads to the end once `written` settles. Every FLUSH_EVERY_BYTES it starts an fdatasync, so
 * the disk writes go on while the writer runs instead of all at the end; the file is then chmod
 * 0600 and fsynced like the files put() writes. Hashing after the write instead (reading the file
 * back) put ~1 s of reading and ~0.6 s of flushing per GB after the writer ended.
 */
async function followAndFlush(
  path: string, written: Promise<unknown>, state: {readonly done: boolean}, signal: AbortSignal,
): Promise<{sizeBytes: number; sha256: string}> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  while (!handle) {
    if (signal.aborted) throw new InterruptedError('interrupted', {cause: signal.reason});
    const finished = state.done;
    try {
      handle = await open(path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || finished) throw err;
      await pause(FOLLOW_POLL_MS, written);
    }
  }
  try {
    const hash = createHash('sha256');
    const buf = Buffer.allocUnsafe(READ_CHUNK_BYTES);
    let sizeBytes = 0;
    let flushedTo = 0;
    let flushing: Promise<void> | null = null;
    let flushError: unknown;
    for (;;) {
      if (signal.aborted) throw new InterruptedError('interrupted', {cause: signal.reason});
      const finished = state.done; // taken before the read: an empty read after it is the end
      const {bytesRead} = await handle.read(buf, 0, buf.length, sizeBytes);
      if (bytesRead > 0) {
        hash.update(buf.subarray(0, bytesRead));
        sizeBytes += bytesRead;
        if (!flushing && sizeBytes - flushedTo >= FLUSH_EVERY_BYTES) {
          flushedTo = sizeBytes;
          const h = handle;
          flushing = h.datasync().catch((err: unknown) => {
            flushError ??= err; // reported below: a flush nobody awaits must not reject unhandled
          }).finally(() => {
            flushing = null;
          });
        }
        continue;
      }
      if (finished) break;
      await pause(FOLLOW_POLL_MS, written);
    }
    await flushing;
    if (flushError !== undefined) throw flushError;
    const {size} = await handle.stat();
    if (size !== sizeBytes) throw new ProviderError(`${path} changed while it was read (${size} bytes, ${sizeBytes} read)`);
    await handle.chmod(0o600); // as put() creates its files (the folder is 0700 meanwhile)
    await handle.sync();
    return {sizeBytes, sha256: hash.digest('hex')};
  } finally {
    await handle.close();
  }
}

class FilesystemWriter implements BackupWriter {
  #manifestPut = false;
  #committed = false;

  constructor(readonly ref: BackupRef, private readonly partial: string, private readonly final: string) {}

  async put(file: string, source: Readable, signal: AbortSignal): Promise<StoredFile> {
    checkFileName(file);
    if (this.#committed || this.#manifestPut) throw new InternalError(`cannot write ${file}: ${MANIFEST_FILE} was already written`);
    const hasher = new HashingStream();
    const path = join(this.partial, file);
    try {
      // A large buffer lets the file writes (writev) overlap reading the source: with the 16 KiB
      // default, every chunk waits for its own write and the producer (zstd) stalls.
      await pipeline(source, hasher, createWriteStream(path, {flags: 'wx', flush: true, mode: 0o600, highWaterMark: WRITE_BUFFER_BYTES}), {signal});
    } catch (err) {
      source.destroy();
      throw ioError(`cannot write ${path}`, err, signal);
    }
    if (file === MANIFEST_FILE) this.#manifestPut = true;
    return {file, sizeBytes: hasher.bytes, sha256: hasher.digest()};
  }

  async putWritten(file: string, write: (path: string) => Promise<void>, signal: AbortSignal): Promise<StoredFile> {
    checkFileName(file);
    if (this.#committed || this.#manifestPut || file === MANIFEST_FILE) throw new InternalError(`cannot write ${file} here`);
    const path = join(this.partial, file);
    if (existsSync(path)) throw new InternalError(`${path} already exists`);
    const state = {done: false};
    const stop = new AbortController();
    const writing = write(path).finally(() => {
      state.done = true;
    });
    // A failed write stops the follower (it may be waiting for a file that never comes).
    writing.catch((err: unknown) => stop.abort(err));
    const following = followAndFlush(path, writing.catch(() => undefined), state, AbortSignal.any([signal, stop.signal]));
    const [w, f] = await Promise.allSettled([writing, following]);
    if (w.status === 'rejected') throw w.reason;
    if (f.status === 'rejected') throw ioError(`cannot read back ${path}`, f.reason, signal);
    return {file, ...f.value};
  }

  async commit(signal: AbortSignal): Promise<void> {
    if (this.#committed) return;
    if (!this.#manifestPut) throw new InternalError(`cannot complete backup ${this.ref.id}: ${MANIFEST_FILE} was not written`);
    if (signal.aborted) throw new InterruptedError('interrupted', {cause: signal.reason});
    try {
      await fsyncDir(this.partial);
      await rename(this.partial, this.final);
      await fsyncDir(dirname(this.final));
    } catch (err) {
      throw ioError(`cannot complete backup folder ${this.final}`, err);
    }
    this.#committed = true;
  }

  async abort(): Promise<void> {
    if (this.#committed) return;
    await rm(this.partial, {recursive: true, force: true}).catch(() => undefined);
  }
}
