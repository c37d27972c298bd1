/**
 * Stream helpers of the engine client: capturing output, and demultiplexing the engine's
 * multiplexed exec/attach stream with backpressure.
 */
import {Writable} from 'node:stream';

/** A writable collecting what is written into a string. */
export function capture(limit = Number.MAX_SAFE_INTEGER): {sink: Writable; text: () => string} {
  const chunks: Buffer[] = [];
  let size = 0;
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk);
      size += chunk.length;
      while (size > limit && chunks.length > 1) size -= chunks.shift()!.length;
      cb();
    },
  });
  return {sink, text: () => Buffer.concat(chunks).toString('utf8')};
}

/**
 * Parses the engine's multiplexed stream (8-byte frame headers: 1 = stdout, 2 = stderr) into two
 * writables, with backpressure: a chunk is acknowledged once both targets took its frames.
 * Neither target is ended here.
 */
export class Demuxer extends Writable {
  #pending: Buffer = Buffer.alloc(0);

  constructor(private readonly targets: {readonly stdout: Writable[]; readonly stderr: Writable[]}) {
    super();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const waits: Promise<void>[] = [];
    while (this.#pending.length >= 8) {
      const len = this.#pending.readUInt32BE(4);
      if (this.#pending.length < 8 + len) break;
      const payload = this.#pending.subarray(8, 8 + len);
      for (const target of this.#pending[0] === 2 ? this.targets.stderr : this.targets.stdout) {
        if (!target.write(payload)) waits.push(new Promise((resolve) => target.once('drain', resolve)));
      }
      this.#pending = this.#pending.subarray(8 + len);
    }
    if (waits.length === 0) cb();
    else Promise.all(waits).then(() => cb(), cb);
  }
}
