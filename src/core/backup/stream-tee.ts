/**
 * Stream plumbing for backups: a tee writing every chunk to several sinks with backpressure, and
 * zstd as a child process (argv only, never a shell) between a producer and a consumer, all three
 * running at once so nothing is ever held in memory beyond the streams' buffers.
 */
import {execa} from 'execa';
import {Readable, Writable} from 'node:stream';
import {InterruptedError, ProviderError} from '../errors.js';

interface TeeTarget {
  readonly stream: Writable;
  /** A tolerant target that fails is dropped (its error kept); any other failure fails the tee. */
  readonly tolerant: boolean;
  dead: boolean;
  error?: Error;
}

/** Bytes a tee lets queue in a target before it waits for it. */
const TEE_BUFFER_BYTES = 1024 * 1024;

/** Writes each chunk to every target and waits for all of them (the slowest sets the pace). */
export class Tee extends Writable {
  readonly #targets: TeeTarget[];

  constructor(targets: readonly (Writable | {readonly stream: Writable; readonly tolerant?: boolean})[]) {
    super({highWaterMark: 256 * 1024});
    this.#targets = targets.map((t) => ('stream' in t && !(t instanceof Writable) ? {stream: t.stream, tolerant: t.tolerant ?? false, dead: false} : {stream: t as Writable, tolerant: false, dead: false}));
    for (const t of this.#targets) {
      t.stream.on('error', (err: Error) => {
        t.dead = true;
        t.error ??= err;
        if (!t.tolerant) this.destroy(err);
      });
    }
  }

  /** Errors of tolerant targets that were dropped. */
  get droppedErrors(): Error[] {
    return this.#targets.filter((t) => t.tolerant && t.error).map((t) => t.error!);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    Promise.all(this.#targets.map((t) => this.#writeTo(t, chunk))).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    Promise.all(this.#targets.map(async (t) => {
      if (t.dead || t.stream.destroyed) {
        t.dead = true;
        this.#check(t);
        return;
      }
      if (t.stream.writableFinished) return;
      await new Promise<void>((resolve) => {
        const done = () => resolve();
        t.stream.once('finish', done);
        t.stream.once('close', done);
        t.stream.once('error', done);
        t.stream.end();
      });
      this.#check(t);
    })).then(() => callback(), callback);
  }

  async #writeTo(t: TeeTarget, chunk: Buffer): Promise<void> {
    if (t.dead || t.stream.destroyed) {
      t.dead = true;
      this.#check(t);
      return;
    }
    // Pipes to child processes have small buffers (16 KiB): waiting for 'drain' after each chunk
    // turns the stream into a ping-pong. Up to TEE_BUFFER_BYTES stay queued per target instead.
    if (!t.stream.write(chunk) && t.stream.writableLength > TEE_BUFFER_BYTES) {
      await new Promise<void>((resolve) => {
        const done = () => {
          t.stream.off('drain', done);
          t.stream.off('close', done);
          t.stream.off('error', done);
          resolve();
        };
        t.stream.on('drain', done);
        t.stream.on('close', done);
        t.stream.on('error', done);
      });
    }
    this.#check(t);
  }

  #check(t: TeeTarget): void {
    if (t.error && !t.tolerant) throw t.error;
    if (t.dead && !t.tolerant && !t.error) throw new ProviderError('a stream closed before the end of the data');
  }
}

export interface ZstdChild {
  readonly stdin: Writable;
  readonly stdout: Readable;
  /** Resolves when zstd exits with status 0; ProviderError (with its stderr) otherwise. */
  readonly done: Promise<void>;
}

/** Starts zstd with argv: stdin → stdout (`-c`), or stdin → `outputFile` (a new file; stdout is then empty). */
export function spawnZstd(args: readonly string[], signal: AbortSignal, label: string, outputFile?: string): ZstdChild {
  const child = execa('zstd', [...args, '-q', ...(outputFile === undefined ? ['-c'] : ['-o', outputFile])], {
    stdin: 'pipe',
    stdout: outputFile === undefined ? 'pipe' : 'ignore',
    stderr: 'pipe',
    buffer: {stdout: false, stderr: true},
    maxBuffer: {stderr: 64 * 1024},
    cancelSignal: signal,
    forceKillAfterDelay: 2000,
    reject: false,
  });
  child.stdin.on('error', () => undefined); // EPIPE when zstd stops first: its exit status says why
  const done = child.then((r) => {
    if (r.isCanceled) throw new InterruptedError(`${label}: interrupted`, {cause: signal.reason});
    if (r.exitCode === undefined) {
      throw new ProviderError(`${label}: cannot run zstd: ${r.shortMessage}`, {actions: ['install zstd (e.g. apt-get install zstd)']});
    }
    if (r.exitCode !== 0) {
      const stderr = typeof r.stderr === 'string' ? r.stderr.trim().split('\n').slice(-5).join('; ') : '';
      throw new ProviderError(`${label}: zstd exited with status ${r.exitCode}${stderr ? `: ${stderr}` : ''}`);
    }
  });
  return {stdin: child.stdin, stdout: child.stdout ?? Readable.from([]), done};
}

export interface ZstdPipelineOptions<T> {
  readonly mode: 'compress' | 'decompress';
  readonly label: string;
  /** Writes the input into sink and ends it. */
  readonly produce: (sink: Writable, signal: AbortSignal) => Promise<unknown>;
  /** Reads zstd's output to its end (unless outputFile). */
  readonly consume?: ((output: Readable, signal: AbortSignal) => Promise<T>) | undefined;
  /** zstd writes its output into this new file itself (then consume is not called and the result is undefined). */
  readonly outputFile?: string | undefined;
  /** Gets every input byte too; its failure fails the pipeline. */
  readonly tap?: Writable | undefined;
  readonly signal: AbortSignal;
}

/** How long the parts of an aborted pipeline may take to stop before it gives up waiting for them. */
const ABORT_GRACE_MS = 5000;

/** zstd -3 -T2 (compress) or -d (decompress); tuned for backups: fast, multi-threaded, streamable. */
export const ZSTD_COMPRESS_ARGS = ['-3', '-T2'] as const;

/**
 * producer → [tap] → zstd → consumer, all at once. The first failure aborts the others and is
 * the one thrown (InterruptedError when the caller's signal fired).
 */
export async function zstdPipeline<T>(opts: ZstdPipelineOptions<T> & {readonly consume: NonNullable<ZstdPipelineOptions<T>['consume']>}): Promise<T>;
export async function zstdPipeline(opts: ZstdPipelineOptions<never> & {readonly outputFile: string}): Promise<undefined>;
export async function zstdPipeline<T>(opts: ZstdPipelineOptions<T>): Promise<T | undefined> {
  const ac = new AbortController();
  const signal = AbortSignal.any([opts.signal, ac.signal]);
  let first: unknown;
  const fail = (err: unknown) => {
    first ??= err;
    if (!ac.signal.aborted) ac.abort(err);
  };
  const z = spawnZstd(opts.mode === 'compress' ? [...ZSTD_COMPRESS_ARGS] : ['-d'], signal, opts.label, opts.outputFile);
  // The tee ends the tap and waits for it, so the producer settles after the tap; its errors fail all.
  opts.tap?.once('error', fail);
  const sink = opts.tap ? new Tee([z.stdin, opts.tap]) : z.stdin;
  const produced = opts.produce(sink, signal);
  const consumed = opts.consume && opts.outputFile === undefined ? opts.consume(z.stdout, signal) : Promise.resolve(undefined);
  const tasks: Promise<unknown>[] = [z.done, consumed, produced];
  for (const t of tasks) t.catch(fail);
  // Once aborted, every part stops on its own; a part that would not is not waited for forever.
  const settled = Promise.allSettled(tasks);
  const grace = new Promise<void>((resolve) => {
    const later = () => setTimeout(resolve, ABORT_GRACE_MS).unref();
    if (signal.aborted) later();
    else signal.addEventListener('abort', later, {once: true});
  });
  await Promise.race([settled, grace]);
  if (first !== undefined || opts.signal.aborted) {
    if (opts.signal.aborted) throw new InterruptedError(`${opts.label}: interrupted`, {cause: opts.signal.reason});
    throw first;
  }
  return consumed;
}
