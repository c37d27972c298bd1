/**
 * A small deterministic tar (POSIX ustar, PAX records for long paths) writer. Pure: it turns
 * entries (dockerfile-plan.ts `TarEntry`) into header bytes; the builder (IO) appends each file's
 * content and padding. Same entries and contents → byte-identical tar: no user or group names, no
 * atime/ctime, fixed field formats, two zero blocks at the end and no extra record padding.
 */
import {InternalError} from '../errors.js';

export const TAR_BLOCK = 512;

export interface TarHeaderEntry {
  readonly type: 'dir' | 'file';
  /** Relative, no leading "/" (directories without a trailing "/"). */
  readonly path: string;
  readonly mode: number;
  readonly mtime: number;
  readonly uid: number;
  readonly gid: number;
}

function octal(value: number, width: number): string {
  if (!Number.isInteger(value) || value < 0 || value >= 8 ** (width - 1)) {
    throw new InternalError(`tar: ${value} does not fit an octal field of ${width} bytes`);
  }
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function header(name: string, prefix: string, typeflag: string, fields: {mode: number; uid: number; gid: number; size: number; mtime: number}): Buffer {
  const block = Buffer.alloc(TAR_BLOCK, 0);
  const put = (text: string, offset: number, length: number): void => {
    const bytes = Buffer.from(text, 'utf8');
    if (bytes.length > length) throw new InternalError(`tar: field ${JSON.stringify(text)} longer than ${length} bytes`);
    bytes.copy(block, offset);
  };
  put(name, 0, 100);
  put(octal(fields.mode, 8), 100, 8);
  put(octal(fields.uid, 8), 108, 8);
  put(octal(fields.gid, 8), 116, 8);
  put(octal(fields.size, 12), 124, 12);
  put(octal(fields.mtime, 12), 136, 12);
  put('        ', 148, 8); // POSIX ustar: the checksum field counts as eight spaces while the header is summed
  put(typeflag, 156, 1);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  put(prefix, 345, 155);
  let sum = 0;
  for (const byte of block) sum += byte;
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  return block;
}

/** Splits a path into ustar prefix + name, or null when it does not fit. */
function splitUstar(path: string): {prefix: string; name: string} | null {
  if (Buffer.byteLength(path) <= 100) return {prefix: '', name: path};
  for (let i = path.indexOf('/'); i >= 0; i = path.indexOf('/', i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100 && name !== '') return {prefix, name};
  }
  return null;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body) + 1;
  while (String(length).length + Buffer.byteLength(body) !== length) length = String(length).length + Buffer.byteLength(body);
  return `${length}${body}`;
}

/** Zero bytes that pad `size` content bytes to a whole block. */
export function tarPadding(size: number): Buffer {
  return Buffer.alloc((TAR_BLOCK - (size % TAR_BLOCK)) % TAR_BLOCK, 0);
}

/** The end of an archive: two zero blocks. */
export function tarEnd(): Buffer {
  return Buffer.alloc(2 * TAR_BLOCK, 0);
}

/**
 * The header block(s) of an entry: one ustar header, preceded by a PAX extended header when the
 * path does not fit ustar's name/prefix fields. `size` is the content length (0 for directories).
 */
export function tarHeader(entry: TarHeaderEntry, size: number): Buffer {
  if (entry.path === '' || entry.path.startsWith('/') || entry.path.endsWith('/')) throw new InternalError(`tar: bad entry path ${JSON.stringify(entry.path)}`);
  if (entry.type === 'dir' && size !== 0) throw new InternalError('tar: a directory has no content');
  const path = entry.type === 'dir' ? `${entry.path}/` : entry.path;
  const fields = {mode: entry.mode, uid: entry.uid, gid: entry.gid, size, mtime: entry.mtime};
  const typeflag = entry.type === 'dir' ? '5' : '0';
  const split = splitUstar(path);
  if (split !== null) return header(split.name, split.prefix, typeflag, fields);
  const pax = Buffer.from(paxRecord('path', path), 'utf8');
  const paxName = `PaxHeaders/${path.slice(-80).replace(/^\/+/, '')}`.slice(0, 100);
  const short = path.slice(0, 99);
  return Buffer.concat([
    header(paxName, '', 'x', {mode: 0o644, uid: 0, gid: 0, size: pax.length, mtime: entry.mtime}),
    pax,
    tarPadding(pax.length),
    header(short, '', typeflag, fields),
  ]);
}

/** A whole in-memory tar of small entries (e.g. a build context: Dockerfile + layer tar). */
export function tarOf(entries: readonly {readonly entry: TarHeaderEntry; readonly content?: Buffer | undefined}[]): Buffer {
  const parts: Buffer[] = [];
  for (const {entry, content} of entries) {
    const data = content ?? Buffer.alloc(0);
    parts.push(tarHeader(entry, data.length), data, tarPadding(data.length));
  }
  parts.push(tarEnd());
  return Buffer.concat(parts);
}
