import {Writable} from 'node:stream';

/** A writable stream that hands every complete line (UTF-8, without its newline) to `line()`. */
export abstract class LineWritable extends Writable {
  #rest = '';

  protected abstract line(line: string): void;

  override _write(chunk: Buffer, _encoding: BufferEncoding, cb: (e?: Error | null) => void): void {
    const lines = (this.#rest + chunk.toString('utf8')).split('\n');
    this.#rest = lines.pop() ?? '';
    for (const l of lines) this.line(l);
    cb();
  }

  override _final(cb: (e?: Error | null) => void): void {
    if (this.#rest) this.line(this.#rest);
    cb();
  }
}
