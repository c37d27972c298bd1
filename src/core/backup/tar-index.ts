/**
 * Reads a tar stream and records every regular file with its size and sha256, as the manifest
 * lists the filestore. Directories are skipped; hard links get the hash of the file they link to;
 * anything else (symbolic links, devices...) is recorded apart, since a filestore has none and a
 * restore refuses them.
 *
 * The parser is a small one of its own (ustar, pax `x`/`g` headers, GNU long names, base-256
 * sizes): it only reads headers and hashes file data in place (no copy, no per-entry stream), so
 * indexing keeps up with `tar | zstd -T2` on one core. Optionally (withSha1) it also computes the
 * sha1 of each file, the name Odoo gives attachment files, so a restore can check attachments
 * from the stream it extracts instead of re-reading the filestore.
 */
import {createHash, type Hash} from 'node:crypto';
import {Writable} from 'node:stream';
import {InternalError} from '../errors.js';
import type {FilestoreEntry} from './backup-manifest.js';
import {releaseStreamBuffers} from '../storage/hashing-stream.js';

const BLOCK = 512;
/** Pax and GNU long-name headers larger than this are refused (they hold a name, not data). */
const MAX_META_BYTES = 1 << 20;

/** node-tar's names of the entry types, as reported in `others`. */
const TYPE_NAMES: Readonly<Record<string, string>> = {
  '0': 'File', '\0': 'OldFile', '1': 'Link', '2': 'SymbolicLink', '3': 'CharacterDevice', '4': 'BlockDevice',
  '5': 'Directory', '6': 'FIFO', '7': 'ContiguousFile', 'g': 'GlobalExtendedHeader', 'x': 'ExtendedHeader',
  'A': 'SolarisACL', 'D': 'GNUDumpDir', 'I': 'Inode', 'K': 'NextFileHasLongLinkpath', 'L': 'NextFileHasLongPath',
  'M': 'ContinuationFile', 'N': 'OldGnuLongPath', 'S': 'SparseFile', 'V': 'TapeVolumeHeader', 'X': 'OldExtendedHeader',
};
const FILE_TYPES = new Set(['0', '\0', '7']);
const META_TYPES = new Set(['x', 'g', 'L', 'K']);

/** `./ab/ab12` → `ab/ab12`; `./` → ''. */
export function normalizeTarPath(path: string): string {
  let p = path;
  while (p.startsWith('./')) p = p.slice(2);
  if (p === '.') return '';
  return p.replace(/\/+$/, '');
}

/** A NUL-terminated field. */
function field(block: Buffer, from: number, length: number): string {
  const end = block.indexOf(0, from);
  return block.toString('utf8', from, end === -1 || end > from + length ? from + length : end);
}

/** An octal number field, or GNU base-256 (high bit of the first byte set); NaN when invalid. */
function numberField(block: Buffer, from: number, length: number): number {
  if (block[from]! & 0x80) {
    let n = block[from]! & 0x3f;
    for (let i = from + 1; i < from + length; i++) n = n * 256 + block[i]!;
    return block[from]! & 0x40 ? Number.NaN : n;
  }
  const text = field(block, from, length).trim();
  if (text === '') return 0;
  return /^[0-7]+$/.test(text) ? Number.parseInt(text, 8) : Number.NaN;
}

function checksumValid(block: Buffer): boolean {
  const stored = numberField(block, 148, 8);
  let sum = 8 * 32; // the checksum field counts as spaces
  for (let i = 0; i < BLOCK; i++) if (i < 148 || i >= 156) sum += block[i]!;
  return sum === stored;
}

/** Pax records "<len> key=value\n" → the keys this parser uses. */
function parsePax(body: Buffer): {path?: string; linkpath?: string; size?: number} {
  const out: {path?: string; linkpath?: string; size?: number} = {};
  let at = 0;
  while (at < body.length) {
    const space = body.indexOf(0x20, at);
    if (space === -1) break;
    const len = Number.parseInt(body.toString('ascii', at, space), 10);
    if (!Number.isInteger(len) || len <= 0 || at + len > body.length) break;
    const record = body.toString('utf8', space + 1, at + len - 1);
    const eq = record.indexOf('=');
    if (eq > 0) {
      const key = record.slice(0, eq);
      const value = record.slice(eq + 1);
      if (key === 'path') out.path = value;
      else if (key === 'linkpath') out.linkpath = value;
      else if (key === 'size' && /^\d+$/.test(value)) out.size = Number(value);
    }
    at += len;
  }
  return out;
}

export interface IndexedFile {
  readonly path: string;
  readonly size: number;
  /** sha256 (hex) of the content, unless `withSha256: false`. */
  readonly sha256?: string;
  /** sha1 (hex) of the content, with `withSha1` only. */
  readonly sha1?: string;
}

export interface TarIndexerOptions {
  /** Also compute each file's sha1 (Odoo names attachment files by it). */
  readonly withSha1?: boolean;
  /**
   * Compute each file's sha256 (default true). A restore turns it off: the archive's own sha256
   * (checked against the manifest before anything switches) already proves every byte of every file.
   */
  readonly withSha256?: boolean;
  /** Keeps the content of the file at this path (e.g. a directory dump's toc.dat), up to maxBytes. */
  readonly capture?: {readonly path: string; readonly maxBytes: number};
}

interface Current {
  readonly path: string;
  readonly type: string;
  readonly size: number;
  /** Whether the entry is a file whose digests are recorded. */
  readonly file: boolean;
  readonly hash: Hash | null;
  readonly sha1: Hash | null;
  /** Content kept (options.capture), or null. */
  readonly chunks: Buffer[] | null;
}

export class TarIndexer extends Writable {
  readonly #files = new Map<string, IndexedFile>();
  /** Entries that are neither files nor directories. */
  readonly others: {readonly path: string; readonly type: string}[] = [];
  readonly #problems: string[] = [];
  readonly #withSha1: boolean;
  readonly #withSha256: boolean;
  readonly #capture: TarIndexerOptions['capture'];
  #captured: Buffer | null = null;
  #directories = 0;
  /** Bytes of a header block read so far (a header split across chunks). */
  readonly #header = Buffer.alloc(BLOCK);
  #headerFill = 0;
  /** Data (and padding) bytes of the current entry still to come. */
  #left = 0;
  #padding = 0;
  #current: Current | null = null;
  #meta: {type: string; size: number; chunks: Buffer[]} | null = null;
  #pax: {path?: string; linkpath?: string; size?: number} = {};
  #globalPax: {path?: string; linkpath?: string; size?: number} = {};
  #zeroBlocks = 0;
  #bytes = 0;
  #eof = false;
  #broken = false;

  constructor(private readonly onFile?: (entry: IndexedFile) => void, opts: TarIndexerOptions = {}) {
    super({highWaterMark: 256 * 1024});
    this.#withSha1 = opts.withSha1 ?? false;
    this.#withSha256 = opts.withSha256 ?? true;
    this.#capture = opts.capture;
  }

  /** The content of options.capture's file, once read (null when the archive has no such file). */
  get captured(): Buffer | null {
    return this.#captured;
  }

  /** Archive-level problems (truncation, invalid headers...). An empty archive (zero blocks only) has none. */
  get problems(): string[] {
    const problems = [...this.#problems];
    if (this.writableFinished && !this.#eof && problems.length === 0) {
      // An archive cut at a block boundary reads fine up to there: only its missing end marker tells.
      const midEntry = this.#left > 0 || this.#headerFill > 0 || this.#meta !== null;
      problems.push(midEntry ? 'TAR_BAD_ARCHIVE: Truncated input' : 'TAR_BAD_ARCHIVE: no end-of-archive marker (truncated archive)');
    }
    return problems;
  }

  /** Files in path order, as the manifest lists them (an indexer made with `withSha256: false` has none). */
  get files(): (IndexedFile & FilestoreEntry)[] {
    if (!this.#withSha256) throw new InternalError('TarIndexer.files needs withSha256');
    return [...this.#files.values()]
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)) as (IndexedFile & FilestoreEntry)[];
  }

  /** Files by path (insertion order). */
  get fileMap(): ReadonlyMap<string, IndexedFile> {
    return this.#files;
  }

  get directories(): number {
    return this.#directories;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#consume(chunk);
    callback();
  }

  override _writev(chunks: {chunk: Buffer}[], callback: (error?: Error | null) => void): void {
    for (const c of chunks) this.#consume(c.chunk);
    callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    callback();
  }

  #fail(problem: string): void {
    this.#problems.push(problem);
    this.#broken = true;
  }

  /** Bytes written so far. */
  get bytes(): number {
    return this.#bytes;
  }

  #consume(chunk: Buffer): void {
    this.#bytes += chunk.length;
    releaseStreamBuffers(chunk.length);
    let at = 0;
    while (at < chunk.length && !this.#broken && !this.#eof) {
      if (this.#left > 0) {
        const n = Math.min(this.#left, chunk.length - at);
        this.#data(chunk.subarray(at, at + n));
        at += n;
        this.#left -= n;
        if (this.#left === 0) this.#endData();
      } else if (this.#padding > 0) {
        const n = Math.min(this.#padding, chunk.length - at);
        at += n;
        this.#padding -= n;
      } else if (this.#headerFill === 0 && chunk.length - at >= BLOCK) {
        this.#onHeader(chunk.subarray(at, at + BLOCK));
        at += BLOCK;
      } else {
        const n = Math.min(BLOCK - this.#headerFill, chunk.length - at);
        chunk.copy(this.#header, this.#headerFill, at, at + n);
        this.#headerFill += n;
        at += n;
        if (this.#headerFill === BLOCK) {
          this.#headerFill = 0;
          this.#onHeader(this.#header);
        }
      }
    }
  }

  #data(part: Buffer): void {
    if (this.#meta) {
      this.#meta.chunks.push(Buffer.from(part));
      return;
    }
    this.#current?.hash?.update(part);
    this.#current?.sha1?.update(part);
    this.#current?.chunks?.push(Buffer.from(part));
  }

  /** The entry's data ended: its padding follows. */
  #endData(): void {
    const size = this.#meta ? this.#meta.size : this.#current?.size ?? 0;
    this.#padding = (BLOCK - (size % BLOCK)) % BLOCK;
    if (this.#meta) {
      const m = this.#meta;
      this.#meta = null;
      this.#endMeta(m.type, Buffer.concat(m.chunks));
    } else if (this.#current) {
      this.#finishEntry();
    }
  }

  #endMeta(type: string, body: Buffer): void {
    if (type === 'x') this.#pax = {...this.#pax, ...parsePax(body)};
    else if (type === 'g') this.#globalPax = {...this.#globalPax, ...parsePax(body)};
    else {
      const value = body.toString('utf8').replace(/\0+$/, '');
      this.#pax = {...this.#pax, ...(type === 'L' ? {path: value} : {linkpath: value})};
    }
  }

  #finishEntry(): void {
    const c = this.#current!;
    this.#current = null;
    if (!c.file) return;
    if (c.chunks) this.#captured = Buffer.concat(c.chunks);
    this.#record({path: c.path, size: c.size, ...(c.hash ? {sha256: c.hash.digest('hex')} : {}), ...(c.sha1 ? {sha1: c.sha1.digest('hex')} : {})});
  }

  #onHeader(block: Buffer): void {
    if (block.every((b) => b === 0)) {
      if (++this.#zeroBlocks >= 2) this.#eof = true;
      return;
    }
    this.#zeroBlocks = 0;
    if (!checksumValid(block)) {
      this.#fail(this.#files.size === 0 && this.others.length === 0 && this.#directories === 0
        ? 'TAR_BAD_ARCHIVE: Unrecognized archive format'
        : 'TAR_ENTRY_INVALID: checksum failure');
      return;
    }
    const type = String.fromCharCode(block[156]!);
    const ext = {...this.#globalPax, ...this.#pax};
    const headerSize = numberField(block, 124, 12);
    const size = ext.size ?? headerSize;
    if (!Number.isFinite(size) || size < 0) {
      this.#fail('TAR_ENTRY_INVALID: invalid size field');
      return;
    }
    if (META_TYPES.has(type)) {
      if (size > MAX_META_BYTES) {
        this.#fail(`TAR_ENTRY_INVALID: ${TYPE_NAMES[type]} header of ${size} bytes`);
        return;
      }
      this.#meta = {type, size, chunks: []};
      this.#start(size);
      return;
    }
    this.#pax = {};
    const magic = block.toString('ascii', 257, 262);
    const prefix = magic === 'ustar' ? field(block, 345, 155) : '';
    const name = ext.path ?? (prefix ? `${prefix}/${field(block, 0, 100)}` : field(block, 0, 100));
    const path = normalizeTarPath(name);
    // Directories and links carry no data, whatever their size field says (GNU tar writes 0).
    const dataSize = type === '5' || type === '1' || type === '2' ? 0 : size;
    if (type === '5' || path === '') {
      this.#directories++;
      this.#current = {path, type, size: dataSize, file: false, hash: null, sha1: null, chunks: null};
    } else if (type === '1') {
      const linkpath = ext.linkpath ?? field(block, 157, 100);
      const target = this.#files.get(normalizeTarPath(linkpath));
      if (target) this.#record({...target, path});
      else this.others.push({path, type: `hard link to a missing ${linkpath}`});
      this.#current = {path, type, size: 0, file: false, hash: null, sha1: null, chunks: null};
    } else if (FILE_TYPES.has(type)) {
      const capture = this.#capture?.path === path;
      if (capture && dataSize > this.#capture!.maxBytes) {
        this.#fail(`${path} is ${dataSize} bytes, more than the ${this.#capture!.maxBytes} expected`);
        return;
      }
      this.#current = {
        path, type, size: dataSize, file: true,
        hash: this.#withSha256 ? createHash('sha256') : null, sha1: this.#withSha1 ? createHash('sha1') : null,
        chunks: capture ? [] : null,
      };
    } else {
      this.others.push({path, type: TYPE_NAMES[type] ?? `type ${JSON.stringify(type)}`});
      this.#current = {path, type, size: dataSize, file: false, hash: null, sha1: null, chunks: null};
    }
    this.#start(dataSize);
  }

  /** The entry's data (size bytes) comes next. */
  #start(size: number): void {
    if (size > 0) {
      this.#left = size;
    } else if (this.#meta) {
      const m = this.#meta;
      this.#meta = null;
      this.#endMeta(m.type, Buffer.alloc(0));
    } else if (this.#current) {
      this.#finishEntry();
    }
  }

  #record(e: IndexedFile): void {
    this.#files.set(e.path, e);
    this.onFile?.(e);
  }
}
