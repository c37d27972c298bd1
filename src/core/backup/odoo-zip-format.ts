/**
 * A small zip reader (node's zlib: inflate-raw + crc32), enough for Odoo's backup zip (Python
 * zipfile writes it): stored and deflated entries, zip64 sizes and offsets, UTF-8 names, data
 * descriptors. The writer is odoo-zip-writer.ts.
 *
 * Reading is strict (safe-extract's rules): every name is checked before any byte is read;
 * encrypted entries, symlinks and special files, unknown methods, duplicate names, overlapping
 * entries (the classic overlap bomb) and declared ratios over the bound are refused; an entry's
 * inflated bytes may not exceed its declared size and must match its crc32.
 */
import {open, type FileHandle} from 'node:fs/promises';
import {createReadStream} from 'node:fs';
import {Transform, type Readable, type TransformCallback} from 'node:stream';
import {crc32, createInflateRaw} from 'node:zlib';
import {DEFAULT_LIMITS, EntryPolicy, UnsafeArchiveError, type ArchiveLimits} from './safe-extract.js';

export const SIG = {local: 0x04034b50, central: 0x02014b50, eocd: 0x06054b50, eocd64: 0x06064b50, locator64: 0x07064b50, descriptor: 0x08074b50};
export const U32 = 0xffffffff;
export const U16 = 0xffff;

export interface ZipEntry {
  /** Normalised path ('dir/' entries have kind directory). */
  readonly name: string;
  readonly kind: 'file' | 'directory';
  readonly method: 0 | 8;
  readonly crc32: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly localHeaderOffset: number;
}

const bad = (what: string, entry = '(zip)'): never => {
  throw new UnsafeArchiveError(`unreadable or unsafe zip: ${what}`, {data: {entry, reason: what}});
};

const u64 = (b: Buffer, off: number) => Number(b.readBigUInt64LE(off));

/** A zip file opened for reading: its checked central directory. close() when done. */
export class ZipReader {
  private constructor(private readonly fh: FileHandle, readonly path: string, readonly entries: readonly ZipEntry[]) {}

  static async open(path: string, limits: ArchiveLimits = DEFAULT_LIMITS): Promise<ZipReader> {
    const fh = await open(path, 'r');
    try {
      const entries = await readCentralDirectory(fh, limits);
      return new ZipReader(fh, path, entries);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  find(name: string): ZipEntry | undefined {
    return this.entries.find((e) => e.name === name);
  }

  /** The entry's content, inflated and checked (size bound, crc32); errors the stream otherwise. */
  async openEntry(entry: ZipEntry): Promise<Readable> {
    const head = Buffer.alloc(30);
    await this.fh.read(head, 0, 30, entry.localHeaderOffset);
    if (head.readUInt32LE(0) !== SIG.local) bad('local header signature missing', entry.name);
    const start = entry.localHeaderOffset + 30 + head.readUInt16LE(26) + head.readUInt16LE(28);
    const raw = entry.compressedSize === 0
      ? createReadStream('/dev/null')
      : createReadStream(this.path, {start, end: start + entry.compressedSize - 1});
    const check = checkedOutput(entry);
    if (entry.method === 0) return raw.pipe(check);
    const inflate = createInflateRaw();
    raw.on('error', (e) => inflate.destroy(e));
    inflate.on('error', (e) => check.destroy(new UnsafeArchiveError(`zip entry ${JSON.stringify(entry.name)} is corrupt: ${e.message}`, {data: {entry: entry.name}})));
    return raw.pipe(inflate).pipe(check);
  }

  /** The whole (small) entry as a string. */
  async readText(entry: ZipEntry, maxBytes = 16 * 2 ** 20): Promise<string> {
    if (entry.size > maxBytes) bad(`entry larger than ${maxBytes} bytes`, entry.name);
    const chunks: Buffer[] = [];
    for await (const c of await this.openEntry(entry)) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

function checkedOutput(entry: ZipEntry): Transform {
  let n = 0;
  let crc = 0;
  return new Transform({
    transform(chunk: Buffer, _e, cb: TransformCallback) {
      n += chunk.length;
      if (n > entry.size) return cb(new UnsafeArchiveError(`zip entry ${JSON.stringify(entry.name)} expands past its declared ${entry.size} bytes`, {data: {entry: entry.name}}));
      crc = crc32(chunk, crc);
      cb(null, chunk);
    },
    flush(cb: TransformCallback) {
      if (n !== entry.size || crc !== entry.crc32) {
        return cb(new UnsafeArchiveError(`zip entry ${JSON.stringify(entry.name)} is corrupt (size ${n}/${entry.size}, crc ${crc === entry.crc32 ? 'ok' : 'mismatch'})`, {data: {entry: entry.name}}));
      }
      cb();
    },
  });
}

async function readCentralDirectory(fh: FileHandle, limits: ArchiveLimits): Promise<ZipEntry[]> {
  const {size} = await fh.stat();
  const tailLen = Math.min(size, 22 + U16);
  const tail = Buffer.alloc(tailLen);
  await fh.read(tail, 0, tailLen, size - tailLen);
  let eocd = -1;
  for (let i = tailLen - 22; i >= 0; i--) if (tail.readUInt32LE(i) === SIG.eocd) { eocd = i; break; }
  if (eocd < 0) bad('no end of central directory (not a zip file, or truncated)');
  let count = tail.readUInt16LE(eocd + 10);
  let cdSize = tail.readUInt32LE(eocd + 12);
  let cdOffset = tail.readUInt32LE(eocd + 16);
  if (count === U16 || cdSize === U32 || cdOffset === U32) {
    const locAt = eocd - 20;
    if (locAt < 0 || tail.readUInt32LE(locAt) !== SIG.locator64) bad('zip64 locator missing');
    const z = Buffer.alloc(56);
    await fh.read(z, 0, 56, u64(tail, locAt + 8));
    if (z.readUInt32LE(0) !== SIG.eocd64) bad('zip64 end of central directory missing');
    count = u64(z, 32);
    cdSize = u64(z, 40);
    cdOffset = u64(z, 48);
  }
  if (count > limits.maxEntries) bad(`more than ${limits.maxEntries} entries`);
  if (cdOffset + cdSize > size || cdSize > 2 ** 30) bad('central directory out of bounds');
  const cd = Buffer.alloc(cdSize);
  await fh.read(cd, 0, cdSize, cdOffset);
  const policy = new EntryPolicy(limits);
  const names = new Set<string>();
  const entries: ZipEntry[] = [];
  let total = 0;
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== SIG.central) bad('central directory entry malformed');
    const madeBy = cd.readUInt16LE(p + 4);
    const flags = cd.readUInt16LE(p + 8);
    const method = cd.readUInt16LE(p + 10);
    const crc = cd.readUInt32LE(p + 16);
    let csize = cd.readUInt32LE(p + 20);
    let usize = cd.readUInt32LE(p + 24);
    const nameLen = cd.readUInt16LE(p + 28);
    const extraLen = cd.readUInt16LE(p + 30);
    const commentLen = cd.readUInt16LE(p + 32);
    const ext = cd.readUInt32LE(p + 38);
    let offset = cd.readUInt32LE(p + 42);
    const rawName = cd.subarray(p + 46, p + 46 + nameLen).toString(flags & 0x800 ? 'utf8' : 'latin1');
    const extra = cd.subarray(p + 46 + nameLen, p + 46 + nameLen + extraLen);
    for (let q = 0; q + 4 <= extra.length;) {
      const id = extra.readUInt16LE(q);
      const len = extra.readUInt16LE(q + 2);
      if (id === 0x0001) {
        let r = q + 4;
        if (usize === U32) { usize = u64(extra, r); r += 8; }
        if (csize === U32) { csize = u64(extra, r); r += 8; }
        if (offset === U32) { offset = u64(extra, r); }
      }
      q += 4 + len;
    }
    p += 46 + nameLen + extraLen + commentLen;
    if (rawName.includes('\\')) bad('backslash in an entry name', rawName);
    if (flags & 0x1) bad('encrypted entry', rawName);
    const unixType = madeBy >> 8 === 3 ? (ext >>> 16) & 0o170000 : 0;
    const isDir = rawName.endsWith('/') || unixType === 0o040000;
    const kind = unixType === 0o120000 ? 'symlink' : unixType !== 0 && unixType !== 0o100000 && unixType !== 0o040000 ? 'other' : isDir ? 'directory' : 'file';
    const name = policy.check({path: rawName, kind, detail: `unix file type ${unixType.toString(8)}`, linkTarget: ''});
    if (method !== 0 && method !== 8) bad(`compression method ${method}`, rawName);
    if (names.has(name)) bad('duplicate entry name', rawName);
    names.add(name);
    total += usize;
    if (total > limits.maxTotalBytes) bad(`expands past ${limits.maxTotalBytes} bytes`, rawName);
    if (usize > limits.ratioFloorBytes && usize > limits.maxRatio * Math.max(csize, 1)) bad(`declared ratio over ${limits.maxRatio}:1`, rawName);
    if (method === 0 && csize !== usize) bad('stored entry with different sizes', rawName);
    if (offset + 30 + csize > cdOffset) bad('entry data out of bounds', rawName);
    entries.push({name, kind: kind === 'directory' ? 'directory' : 'file', method: method as 0 | 8, crc32: crc, compressedSize: csize, size: usize, localHeaderOffset: offset});
  }
  // Entries may not overlap (the overlap bomb): each starts after the previous one's data.
  const sorted = [...entries].sort((a, b) => a.localHeaderOffset - b.localHeaderOffset);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    if (sorted[i]!.localHeaderOffset < prev.localHeaderOffset + 30 + prev.compressedSize) bad('overlapping entries', sorted[i]!.name);
  }
  return entries;
}

export {ZipWriter} from './odoo-zip-writer.js';
