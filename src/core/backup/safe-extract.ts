/**
 * Safe reading of archives (every tar and zip this tool reads goes through here).
 *
 * - Entry paths: relative, no `..` component, no NUL; `./a//b` is normalised to `a/b`.
 * - Links: a symlink or hardlink target must stay inside the extraction root (checked
 *   lexically), and no entry path nor link target may pass THROUGH an earlier symlink (so the
 *   lexical check is exact: `sub/up -> ..` then `sub/up/../x` cannot escape).
 * - Device files, FIFOs, sparse/volume/multi-volume entries: refused.
 * - Size: the expanded bytes may not exceed a total cap, nor `maxRatio` x the compressed bytes
 *   read so far once past a floor (small archives cannot be bombs).
 *
 * A refusal fails the WHOLE extraction with UnsafeArchiveError naming the entry. tarGuard()
 * validates a tar stream in flight and holds each header back until it is validated, so a
 * consumer (GNU tar, node-tar) never sees a refused entry: nothing outside the root is written.
 */
import {mkdir} from 'node:fs/promises';
import {Transform, type Readable, type TransformCallback} from 'node:stream';
import {pipeline} from 'node:stream/promises';
import {Header, Pax, x as tarExtract, type HeaderData} from 'tar';
import {UsageError} from '../errors.js';

export class UnsafeArchiveError extends UsageError {}

export interface ArchiveLimits {
  /** Expanded bytes allowed in total (default 1 TiB). */
  readonly maxTotalBytes: number;
  /** Expanded / compressed bytes allowed once past ratioFloorBytes (default 200). */
  readonly maxRatio: number;
  /** Below this many expanded bytes the ratio is not checked (default 64 MiB). */
  readonly ratioFloorBytes: number;
  /** Entries allowed (default 10 million). */
  readonly maxEntries: number;
}

export const DEFAULT_LIMITS: ArchiveLimits = {
  maxTotalBytes: 2 ** 40,
  maxRatio: 200,
  ratioFloorBytes: 64 * 2 ** 20,
  maxEntries: 10_000_000,
};

export type EntryKind = 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';

export interface ArchiveEntry {
  readonly path: string;
  readonly kind: EntryKind;
  /** What `other` is (device, fifo...), for the error message. */
  readonly detail?: string;
  readonly linkTarget?: string;
}

const refuse = (entry: string, reason: string): never => {
  throw new UnsafeArchiveError(`unsafe archive: entry ${JSON.stringify(entry)} refused: ${reason}`, {
    data: {entry, reason},
    actions: ['check where the archive comes from; nothing was restored'],
  });
};

/** Normalises a relative entry path ('' is the root) or throws UnsafeArchiveError. */
export function safeEntryPath(raw: string): string {
  if (raw.includes('\0')) refuse(raw, 'NUL byte in the name');
  if (raw.startsWith('/')) refuse(raw, 'absolute path');
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) refuse(raw, '".." in the path');
  return parts.join('/');
}

/**
 * Resolves a link target against the entry's folder: null when it leaves the root, 'via-link'
 * when any step of the walk is a symbolic link of the archive.
 */
function resolveInside(fromDir: string, target: string, isSymlink: (p: string) => boolean): string | null | 'via-link' {
  if (target.startsWith('/') || target.includes('\0')) return null;
  const out = fromDir === '' ? [] : fromDir.split('/');
  for (const p of target.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') {
      if (out.length === 0) return null;
      out.pop();
    } else {
      out.push(p);
      if (isSymlink(out.join('/'))) return 'via-link';
    }
  }
  return out.join('/');
}

/** Counts expanded vs compressed bytes and enforces the limits. */
export class ExpansionMeter {
  compressed = 0;
  expanded = 0;
  constructor(readonly limits: ArchiveLimits = DEFAULT_LIMITS) {}

  /** A pass-through to put BEFORE decompression: it counts the compressed bytes. */
  counter(): Transform {
    return new Transform({
      transform: (chunk: Buffer, _enc, cb) => {
        this.compressed += chunk.length;
        cb(null, chunk);
      },
    });
  }

  add(bytes: number, entry: string): void {
    this.expanded += bytes;
    if (this.expanded > this.limits.maxTotalBytes) refuse(entry, `the archive expands past ${this.limits.maxTotalBytes} bytes`);
    if (this.expanded > this.limits.ratioFloorBytes && this.compressed > 0 && this.expanded > this.limits.maxRatio * this.compressed) {
      refuse(entry, `decompression ratio over ${this.limits.maxRatio}:1 (${this.expanded} bytes from ${this.compressed})`);
    }
  }
}

/** The per-archive entry policy: paths, links, kinds, entry count. */
export class EntryPolicy {
  readonly #symlinks = new Set<string>();
  readonly #seen = new Set<string>();
  #count = 0;
  constructor(private readonly limits: ArchiveLimits = DEFAULT_LIMITS, private readonly opts: {readonly allowLinks?: boolean} = {}) {}

  #throughSymlink(path: string): boolean {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) if (this.#symlinks.has(parts.slice(0, i).join('/'))) return true;
    return false;
  }

  /** Checks one entry; returns its normalised path. */
  check(entry: ArchiveEntry): string {
    if (++this.#count > this.limits.maxEntries) refuse(entry.path, `more than ${this.limits.maxEntries} entries`);
    const path = safeEntryPath(entry.path);
    if (this.#throughSymlink(path)) refuse(entry.path, 'its path goes through a symbolic link of the archive');
    if (entry.kind === 'other') refuse(entry.path, `${entry.detail ?? 'special file'} entries are not allowed`);
    if (entry.kind === 'symlink' || entry.kind === 'hardlink') {
      if (!this.opts.allowLinks) refuse(entry.path, `${entry.kind === 'symlink' ? 'symbolic' : 'hard'} links are not allowed here`);
      if (path === '') refuse(entry.path, 'a link at the archive root');
      const target = entry.linkTarget ?? '';
      const dir = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '';
      // Hardlink targets are archive paths (from the root); symlink targets are relative to the link.
      const isLink = (p: string) => this.#symlinks.has(p);
      const resolved = resolveInside(entry.kind === 'hardlink' ? '' : dir, target, isLink);
      if (resolved === null || (resolved === '' && entry.kind === 'hardlink')) refuse(entry.path, `link target ${JSON.stringify(target)} leaves the extraction root`);
      if (resolved === 'via-link') refuse(entry.path, `link target ${JSON.stringify(target)} goes through a symbolic link`);
      if (entry.kind === 'hardlink' && !this.#seen.has(resolved as string)) refuse(entry.path, `hard link to ${JSON.stringify(target)}, which is not an earlier file of the archive`);
      if (entry.kind === 'symlink') this.#symlinks.add(path);
    } else if (this.#symlinks.has(path)) {
      refuse(entry.path, 'replaces a symbolic link of the archive');
    }
    this.#seen.add(path);
    return path;
  }
}

const KIND: Readonly<Record<string, EntryKind>> = {
  File: 'file', OldFile: 'file', ContiguousFile: 'file', Directory: 'directory', SymbolicLink: 'symlink', Link: 'hardlink',
};
const META = new Set(['ExtendedHeader', 'GlobalExtendedHeader', 'NextFileHasLongPath', 'NextFileHasLongLinkpath']);
const MAX_META_BYTES = 1 << 20;
const BLOCK = 512;

export interface TarGuardOptions {
  readonly limits?: ArchiveLimits;
  /** Shared with a counter() placed before decompression, for the ratio check. */
  readonly meter?: ExpansionMeter;
  readonly allowLinks?: boolean;
  /** Called for every checked entry (normalised path), in order. */
  readonly onEntry?: (entry: ArchiveEntry & {readonly size: number}) => void;
}

/**
 * A Transform validating a tar stream in flight (see the module comment). A refused or
 * malformed archive errors the stream with UnsafeArchiveError; a truncated one too, at its end.
 */
export function tarGuard(opts: TarGuardOptions = {}): Transform & {readonly entries: number} {
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const meter = opts.meter ?? new ExpansionMeter(limits);
  const policy = new EntryPolicy(limits, {allowLinks: opts.allowLinks ?? false});
  let pending: Buffer = Buffer.alloc(0);
  let dataLeft = 0; // bytes of entry data (with padding) still to pass
  let meta: {type: string; size: number; chunks: Buffer[]; got: number} | null = null;
  let ex: HeaderData | undefined;
  let gex: HeaderData | undefined;
  let zeroBlocks = 0;
  let ended = false;
  let current = '';
  let entries = 0;

  const header = (block: Buffer): void => {
    if (block.every((b) => b === 0)) {
      if (++zeroBlocks >= 2) ended = true;
      return;
    }
    zeroBlocks = 0;
    const h = new Header(block, 0, ex, gex);
    const name = h.path ?? '';
    if (!h.cksumValid) refuse(name, 'bad header checksum (not a tar archive, or corrupt)');
    const size = h.size ?? 0;
    const type = h.type;
    if (META.has(type)) {
      if (size > MAX_META_BYTES) refuse(name, `${type} header of ${size} bytes`);
      meta = {type, size, chunks: [], got: 0};
    } else {
      const kind = KIND[type] ?? 'other';
      const entry: ArchiveEntry = {path: name, kind, detail: type, ...(h.linkpath ? {linkTarget: h.linkpath} : {})};
      const path = policy.check(entry);
      current = path;
      entries++;
      opts.onEntry?.({...entry, path, size: kind === 'file' ? size : 0});
      ex = undefined;
    }
    dataLeft = Math.ceil(size / BLOCK) * BLOCK;
    meter.add(BLOCK, name);
  };

  const endMeta = (): void => {
    const m = meta!;
    const body = Buffer.concat(m.chunks).subarray(0, m.size);
    meta = null;
    if (m.type === 'ExtendedHeader') ex = {...ex, ...Pax.parse(body.toString('utf8'), ex, false)};
    else if (m.type === 'GlobalExtendedHeader') {
      const g = Pax.parse(body.toString('utf8'), gex, true);
      if (g.path !== undefined || g.linkpath !== undefined || g.size !== undefined) refuse(g.path ?? '(global header)', 'a global pax header setting path, linkpath or size');
      gex = {...gex, ...g};
    } else {
      const value = body.toString('utf8').replace(/\0+$/, '');
      ex = {...ex, ...(m.type === 'NextFileHasLongPath' ? {path: value} : {linkpath: value})};
    }
  };

  // Bytes are passed on as slices of the chunks they came in (no copy): only a header block split
  // across two chunks is joined (512 bytes). A chunk is passed on only once all of its headers are
  // validated, so a refused header (and whatever came with it in its chunk) is never passed on.
  const guard = new Transform({
    highWaterMark: 256 * 1024,
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      try {
        let buf = chunk;
        let at = 0;
        if (pending.length > 0) {
          // The rest of a split header block: validated on its own, before the chunk's other bytes.
          const need = BLOCK - pending.length;
          if (chunk.length < need) {
            pending = Buffer.concat([pending, chunk]);
            return cb();
          }
          const block = Buffer.concat([pending, chunk.subarray(0, need)]);
          pending = Buffer.alloc(0);
          header(block); // throws before the block is passed on
          this.push(block);
          if (dataLeft === 0 && meta) endMeta();
          buf = chunk.subarray(need);
        }
        while (at < buf.length) {
          if (ended) {
            at = buf.length;
          } else if (dataLeft > 0) {
            const n = Math.min(dataLeft, buf.length - at);
            if (meta) {
              const m = meta as {chunks: Buffer[]; got: number};
              m.chunks.push(Buffer.from(buf.subarray(at, at + n)));
              m.got += n;
            }
            at += n;
            dataLeft -= n;
            meter.add(n, current);
            if (dataLeft === 0 && meta) endMeta();
          } else if (buf.length - at >= BLOCK) {
            header(buf.subarray(at, at + BLOCK)); // throws before anything of this chunk is passed on
            at += BLOCK;
            if (dataLeft === 0 && meta) endMeta();
          } else {
            pending = Buffer.from(buf.subarray(at));
            break;
          }
        }
        const end = buf.length - pending.length;
        if (end > 0) this.push(buf.subarray(0, end));
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
    flush(cb: TransformCallback) {
      if (ended || (zeroBlocks > 0 && pending.length === 0 && dataLeft === 0 && !meta)) return cb();
      if (entries === 0 && pending.length === 0 && dataLeft === 0 && !meta) return cb(); // an empty stream
      cb(new UnsafeArchiveError(`truncated tar archive${current ? ` (in or after entry ${JSON.stringify(current)})` : ''}`, {
        data: {entry: current, reason: 'truncated'},
      }));
    },
  });
  return Object.defineProperty(guard, 'entries', {get: () => entries}) as Transform & {readonly entries: number};
}

/**
 * Extracts a (plain) tar stream into root, which must exist and be empty or new: the archive is
 * validated by tarGuard and written by node-tar. Put meter.counter() before any decompression.
 */
export async function extractTarSafely(
  source: Readable,
  root: string,
  opts: TarGuardOptions & {readonly signal?: AbortSignal} = {},
): Promise<{readonly entries: number}> {
  await mkdir(root, {recursive: true});
  const guard = tarGuard(opts);
  const sink = tarExtract({cwd: root, strict: true, preservePaths: false, preserveOwner: false, noMtime: false});
  await pipeline(source, guard, sink as unknown as NodeJS.WritableStream, ...(opts.signal ? [{signal: opts.signal}] : []));
  return {entries: guard.entries};
}
