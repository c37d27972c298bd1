/** Streams that hash (sha256) and count the bytes passing through them. */
import {createHash, type Hash} from 'node:crypto';
import {Transform, Writable, type TransformCallback} from 'node:stream';

/** A pass-through that hashes and counts; digest() once the stream has ended. */
export class HashingStream extends Transform {
  readonly #hash: Hash = createHash('sha256');
  #bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#hash.update(chunk);
    this.#bytes += chunk.length;
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
    callback();
  }

  get bytes(): number {
    return this.#bytes;
  }

  digest(): string {
    return this.#hash.digest('hex');
  }
}
