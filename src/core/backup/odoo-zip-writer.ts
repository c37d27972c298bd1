/**
 * A streaming zip writer (never seeks): deflated entries with data descriptors, zip64 sizes and
 * offsets when needed, UTF-8 names. Python zipfile (Odoo), Info-ZIP and odoo-zip-format.ts read it.
 */
import type {Readable, Writable} from 'node:stream';
import {constants as zc, crc32, createDeflateRaw} from 'node:zlib';
import {SIG, U16, U32} from './odoo-zip-format.js';

function dosDateTime(d: Date): {time: number; date: number} {
  const y = Math.max(1980, d.getFullYear());
  return {
    time: (d.getHours() << 11) | (d.getMinutes() << 5) | Math.floor(d.getSeconds() / 2),
    date: ((y - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate(),
  };
}

interface Written {
  name: Buffer;
  crc: number;
  csize: number;
  usize: number;
  offset: number;
  time: number;
  date: number;
}

/** Streams a zip to `out` (never seeks): entries one after another, then finish(). */
export class ZipWriter {
  readonly #entries: Written[] = [];
  #offset = 0;
  #busy = false;

  constructor(private readonly out: Writable, private readonly opts: {readonly level?: number} = {}) {}

  async #write(buf: Buffer): Promise<void> {
    this.#offset += buf.length;
    if (!this.out.write(buf)) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = () => { this.out.off('error', onError); resolve(); };
        const onError = (e: Error) => { this.out.off('drain', onDrain); reject(e); };
        this.out.once('drain', onDrain);
        this.out.once('error', onError);
      });
    }
  }

  /** Adds a file (deflated) from a stream; entries are written one at a time. */
  async addFile(name: string, source: Readable | Buffer, opts: {readonly mtime?: Date} = {}): Promise<void> {
    if (this.#busy) throw new Error('ZipWriter.addFile: one entry at a time');
    this.#busy = true;
    try {
      const nameBuf = Buffer.from(name, 'utf8');
      const {time, date} = dosDateTime(opts.mtime ?? new Date());
      const offset = this.#offset;
      // Sizes are unknown up front: zip64 extra with zeros, sizes and crc in the data descriptor.
      const local = Buffer.alloc(30 + nameBuf.length + 20);
      local.writeUInt32LE(SIG.local, 0);
      local.writeUInt16LE(45, 4);
      local.writeUInt16LE(0x0808, 6);
      local.writeUInt16LE(8, 8);
      local.writeUInt16LE(time, 10);
      local.writeUInt16LE(date, 12);
      local.writeUInt32LE(U32, 18);
      local.writeUInt32LE(U32, 22);
      local.writeUInt16LE(nameBuf.length, 26);
      local.writeUInt16LE(20, 28);
      nameBuf.copy(local, 30);
      local.writeUInt16LE(0x0001, 30 + nameBuf.length);
      local.writeUInt16LE(16, 32 + nameBuf.length);
      await this.#write(local);
      let crc = 0;
      let usize = 0;
      let csize = 0;
      const deflate = createDeflateRaw({level: this.opts.level ?? 6, flush: zc.Z_NO_FLUSH});
      const feed = (async () => {
        const chunks: AsyncIterable<Buffer> | Buffer[] = Buffer.isBuffer(source) ? [source] : (source as AsyncIterable<Buffer>);
        for await (const chunk of chunks) {
          crc = crc32(chunk, crc);
          usize += chunk.length;
          if (!deflate.write(chunk)) await new Promise((r) => deflate.once('drain', r));
        }
        deflate.end();
      })();
      feed.catch((e: unknown) => deflate.destroy(e as Error));
      for await (const c of deflate) {
        csize += (c as Buffer).length;
        await this.#write(c as Buffer);
      }
      await feed;
      const desc = Buffer.alloc(24);
      desc.writeUInt32LE(SIG.descriptor, 0);
      desc.writeUInt32LE(crc, 4);
      desc.writeBigUInt64LE(BigInt(csize), 8);
      desc.writeBigUInt64LE(BigInt(usize), 16);
      await this.#write(desc);
      this.#entries.push({name: nameBuf, crc, csize, usize, offset, time, date});
    } finally {
      this.#busy = false;
    }
  }

  /** Writes the central directory and ends `out`. */
  async finish(): Promise<{readonly entries: number; readonly bytes: number}> {
    const cdStart = this.#offset;
    for (const e of this.#entries) {
      const z64 = [e.usize, e.csize, e.offset].some((v) => v >= U32);
      const extraLen = z64 ? 4 + 24 : 0;
      const h = Buffer.alloc(46 + e.name.length + extraLen);
      h.writeUInt32LE(SIG.central, 0);
      h.writeUInt16LE((3 << 8) | 45, 4);
      h.writeUInt16LE(45, 6);
      h.writeUInt16LE(0x0808, 8);
      h.writeUInt16LE(8, 10);
      h.writeUInt16LE(e.time, 12);
      h.writeUInt16LE(e.date, 14);
      h.writeUInt32LE(e.crc, 16);
      h.writeUInt32LE(z64 ? U32 : e.csize, 20);
      h.writeUInt32LE(z64 ? U32 : e.usize, 24);
      h.writeUInt16LE(e.name.length, 28);
      h.writeUInt16LE(extraLen, 30);
      h.writeUInt32LE((0o100644 << 16) >>> 0, 38);
      h.writeUInt32LE(z64 ? U32 : e.offset, 42);
      e.name.copy(h, 46);
      if (z64) {
        const x = 46 + e.name.length;
        h.writeUInt16LE(0x0001, x);
        h.writeUInt16LE(24, x + 2);
        h.writeBigUInt64LE(BigInt(e.usize), x + 4);
        h.writeBigUInt64LE(BigInt(e.csize), x + 12);
        h.writeBigUInt64LE(BigInt(e.offset), x + 20);
      }
      await this.#write(h);
    }
    const cdSize = this.#offset - cdStart;
    const n = this.#entries.length;
    if (n >= U16 || cdStart >= U32 || cdSize >= U32) {
      const at = this.#offset;
      const z = Buffer.alloc(56 + 20);
      z.writeUInt32LE(SIG.eocd64, 0);
      z.writeBigUInt64LE(44n, 4);
      z.writeUInt16LE(45, 12);
      z.writeUInt16LE(45, 14);
      z.writeBigUInt64LE(BigInt(n), 24);
      z.writeBigUInt64LE(BigInt(n), 32);
      z.writeBigUInt64LE(BigInt(cdSize), 40);
      z.writeBigUInt64LE(BigInt(cdStart), 48);
      z.writeUInt32LE(SIG.locator64, 56);
      z.writeBigUInt64LE(BigInt(at), 64);
      z.writeUInt32LE(1, 72);
      await this.#write(z);
    }
    const end = Buffer.alloc(22);
    end.writeUInt32LE(SIG.eocd, 0);
    end.writeUInt16LE(Math.min(n, U16), 8);
    end.writeUInt16LE(Math.min(n, U16), 10);
    end.writeUInt32LE(Math.min(cdSize, U32), 12);
    end.writeUInt32LE(Math.min(cdStart, U32), 16);
    await this.#write(end);
    await new Promise<void>((resolve, reject) => {
      this.out.once('error', reject);
      this.out.end(() => resolve());
    });
    return {entries: n, bytes: this.#offset};
  }
}
