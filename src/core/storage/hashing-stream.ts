/** Streams that hash (sha256) and count the bytes passing through them. */
import {createHash, type Hash} from 'node:crypto';
import {Transform, Writable, type TransformCallback} from 'node:stream';
import {setFlagsFromString} from 'node:v8';
import {runInNewContext} from 'node:vm';

/**
 * Node reads a pipe into a new 64 KiB buffer each time; V8 frees these (external memory) only at
 * a garbage collection, which it schedules by heap growth and an external-memory threshold of
 * tens of MB. Streaming gigabytes through pipes thus keeps 30-70 MB of dead buffers resident. A
 * young-generation collection (a scavenge: well under a millisecond with this small heap) every
 * RELEASE_EVERY_BYTES of streamed data frees them as they die, which keeps a backup's RSS flat
 * and low. A no-op where V8 does not allow it.
 */
const RELEASE_EVERY_BYTES = 8 * 1024 * 1024;
let sinceRelease = 0;
let scavenge: ((opts: {type: 'minor'}) => void) | null | undefined;

function loadScavenge(): ((opts: {type: 'minor'}) => void) | null {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as (opts: {type: 'minor'}) => void) : null;
  } catch {
    return null;
  }
}

/** Counts bytes streamed through this process; frees dead stream buffers every few MB. */
export function releaseStreamBuffers(bytes: number): void {
  sinceRelease += bytes;
  if (sinceRelease < RELEASE_EVERY_BYTES) return;
  sinceRelease = 0;
  scavenge ??= loadScavenge();
  scavenge?.({type: 'minor'});
}

/** A pass-through that hashes and counts; digest() once the stream has ended. */
export class HashingStream extends Transform {
  readonly #hash: Hash = createHash('sha256');
  #bytes = 0;

  constructor() {
    super({highWaterMark: 256 * 1024});
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#hash.update(chunk);
    this.#bytes += chunk.length;
    releaseStreamBuffers(chunk.length);
    callback(null, chunk);
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** The sha256 (hex) of everything that passed; call once, after the end. */
  digest(): string {
    return this.#hash.digest('hex');
  }
}

/** A sink that hashes and counts what is written to it. */
export class HashSink extends Writable {
  readonly #hash: Hash = createHash('sha256');
  #bytes = 0;

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#hash.update(chunk);
    this.#bytes += chunk.length;
    releaseStreamBuffers(chunk.length);
    callback();
  }

  get bytes(): number {
    return this.#bytes;
  }

  digest(): string {
    return this.#hash.digest('hex');
  }
}
