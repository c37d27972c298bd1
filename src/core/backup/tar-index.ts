/**
 * Reads a tar stream (node-tar's Parser) and records every regular file with its size and
 * sha256, as the manifest lists the filestore. Directories are skipped; hard links get the hash
 * of the file they link to; anything else (symbolic links, devices...) is recorded apart, since a
 * filestore has none and a restore refuses them.
 */
import {createHash} from 'node:crypto';
import {Writable} from 'node:stream';
import {Parser, type ReadEntry} from 'tar';
import type {FilestoreEntry} from './backup-manifest.js';

const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);

/** `./ab/ab12` → `ab/ab12`; `./` → ''. */
export function normalizeTarPath(path: string): string {
  let p = path;
  while (p.startsWith('./')) p = p.slice(2);
  if (p === '.') return '';
  return p.replace(/\/+$/, '');
}

export class TarIndexer extends Writable {
  readonly #files = new Map<string, FilestoreEntry>();
  /** Entries that are neither files nor directories. */
  readonly others: {readonly path: string; readonly type: string}[] = [];
  readonly #problems: string[] = [];
  readonly #parser: Parser;
  #directories = 0;
  #bytes = 0;
  #sawData = false;
  #sawEof = false;

  constructor(private readonly onFile?: (entry: FilestoreEntry) => void) {
    super({highWaterMark: 256 * 1024});
    this.#parser = new Parser({
      strict: false,
      onwarn: (code: string, message: string | Error) => {
        this.#problems.push(`${code}: ${typeof message === 'string' ? message : message.message}`);
      },
    });
    this.#parser.on('entry', (entry: ReadEntry) => this.#entry(entry));
    this.#parser.on('eof', () => (this.#sawEof = true));
    this.#parser.on('error', (err: Error) => this.destroy(err));
  }

  /** Archive-level problems (truncation, invalid headers...). An empty archive (zero blocks only) has none. */
  get problems(): string[] {
    const empty = !this.#sawData && this.#bytes >= 1024 && this.#bytes % 512 === 0;
    const problems = empty ? this.#problems.filter((p) => !p.includes('Unrecognized archive format')) : [...this.#problems];
    // An archive cut at a block boundary reads fine up to there: only its missing end marker tells.
    if (this.writableFinished && !this.#sawEof && problems.length === 0) problems.push('TAR_BAD_ARCHIVE: no end-of-archive marker (truncated archive)');
    return problems;
  }

  /** Files in path order. */
  get files(): FilestoreEntry[] {
    return [...this.#files.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  get directories(): number {
    return this.#directories;
  }

  #entry(entry: ReadEntry): void {
    const path = normalizeTarPath(entry.path);
    if (entry.type === 'Directory' || path === '') {
      this.#directories++;
      entry.resume();
      return;
    }
    if (entry.type === 'Link' && entry.linkpath !== undefined) {
      const target = this.#files.get(normalizeTarPath(entry.linkpath));
      entry.resume();
      if (target) this.#record({path, size: target.size, sha256: target.sha256});
      else this.others.push({path, type: `hard link to a missing ${entry.linkpath}`});
      return;
    }
    if (!FILE_TYPES.has(entry.type)) {
      this.others.push({path, type: entry.type});
      entry.resume();
      return;
    }
    const hash = createHash('sha256');
    let size = 0;
    entry.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      size += chunk.length;
    });
    entry.on('end', () => this.#record({path, size, sha256: hash.digest('hex')}));
  }

  #record(e: FilestoreEntry): void {
    this.#files.set(e.path, e);
    this.onFile?.(e);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#bytes += chunk.length;
    if (!this.#sawData && chunk.some((b) => b !== 0)) this.#sawData = true;
    if (this.#parser.write(chunk)) callback();
    else this.#parser.once('drain', () => callback());
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#parser.once('end', () => callback());
    this.#parser.end();
  }
}
