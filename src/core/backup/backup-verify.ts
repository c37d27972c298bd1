/**
 * `backups verify`: re-reads every part of a backup from its storage and checks it against the
 * manifest, in one pass per part: the stored bytes are hashed (size and sha256) while a copy is
 * decompressed and read — a custom-format dump by `pg_restore --list` where the database lives; a
 * directory dump's tar by a tar parser that keeps its toc.dat for `pg_restore --list` and checks
 * that every table's data file is there and nothing else is; the filestore and log archives by a
 * tar parser that hashes every filestore file and compares it with manifest.filestore.entries
 * (missing, modified and stray entries). Every failure names its part.
 */
import {mkdtemp, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {Writable, PassThrough, type Readable} from 'node:stream';
import {pipeline} from 'node:stream/promises';
import {InterruptedError, NotFoundError} from '../errors.js';
import type {BackupRef, BackupStorage} from '../storage/backup-storage.js';
import {HashSink} from '../storage/hashing-stream.js';
import type {DatabaseHandle} from '../../providers/provider.js';
import {
  DUMP_DIRECTORY_MEMBER, MANIFEST_FILE, validateManifest, type BackupManifest, type BackupPart, type BackupPartName, type FilestoreEntry,
} from './backup-manifest.js';
import {readAll} from './backup-pipeline.js';
import {canonicalJson} from './canonical-json.js';
import {spawnZstd, Tee} from './stream-tee.js';
import {TarIndexer} from './tar-index.js';

export type VerifyProblem =
  | 'missing' | 'size-mismatch' | 'sha256-mismatch' | 'unreadable' | 'differs'
  | 'entry-missing' | 'entry-modified' | 'stray-entry';

export interface VerifyFailure {
  readonly part: BackupPartName | 'manifest';
  readonly problem: VerifyProblem;
  readonly message: string;
  /** The filestore entry concerned, for entry-* and stray-entry. */
  readonly path?: string;
}

export interface VerifiedPart {
  readonly name: BackupPartName;
  readonly file: string;
  readonly ok: boolean;
  readonly sizeBytes: number | null;
  readonly sha256: string | null;
  readonly expectedSizeBytes: number;
  readonly expectedSha256: string;
}

export interface VerifyReport {
  readonly id: string;
  readonly env: string;
  readonly ok: boolean;
  readonly parts: readonly VerifiedPart[];
  /** The failures (at most MAX_LISTED; failureCount has them all). */
  readonly failures: readonly VerifyFailure[];
  readonly failureCount: number;
  readonly filestore: {
    readonly expectedFiles: number; readonly files: number; readonly missing: number; readonly modified: number; readonly stray: number;
  } | null;
  readonly database: {readonly tocEntries: number | null};
}

export const MAX_LISTED = 200;

interface Checker {
  readonly sink: Writable;
  /** Content problems found (empty when fine). */
  readonly result: () => Promise<VerifyFailure[]>;
}

/** Counts TOC entries (non-comment lines) of `pg_restore --list`; with `keep`, keeps those lines too. */
class TocCounter extends Writable {
  entries = 0;
  readonly lines: string[] = [];
  #atLineStart = true;
  #lineStartsWithComment = false;
  #partial = '';
  constructor(private readonly keep = false) {
    super();
  }

  override _write(chunk: Buffer, _e: BufferEncoding, cb: () => void): void {
    if (this.keep) {
      const text = this.#partial + chunk.toString('utf8');
      const lines = text.split('\n');
      this.#partial = lines.pop()!;
      for (const l of lines) if (l && !l.startsWith(';')) this.lines.push(l);
    }
    for (const b of chunk) {
      if (this.#atLineStart) {
        this.#lineStartsWithComment = b === 0x3b; // ';'
        this.#atLineStart = false;
        if (b === 0x0a) {
          this.#atLineStart = true;
          continue;
        }
      }
      if (b === 0x0a) {
        if (!this.#lineStartsWithComment) this.entries++;
        this.#atLineStart = true;
      }
    }
    cb();
  }
}

/** Feeds the dump to `pg_restore --list` (which stops after the table of contents), then drains the rest. */
function dumpChecker(handle: DatabaseHandle, signal: AbortSignal, toc: {entries: number | null}): Checker {
  const feed = new PassThrough({highWaterMark: 1024 * 1024});
  feed.on('error', () => undefined);
  const counter = new TocCounter();
  let stopped = false;
  const waiting = new Set<() => void>();
  const restore = handle.runTool('pg_restore', ['--list'], {stdin: feed, stdout: counter}, signal).finally(() => {
    stopped = true;
    for (const w of waiting) w();
  });
  restore.catch(() => undefined); // awaited by result(); an early failure is not unhandled meanwhile
  const sink = new Writable({
    highWaterMark: 1024 * 1024,
    write(chunk: Buffer, _e, cb) {
      if (stopped || feed.destroyed) return cb();
      if (feed.write(chunk)) return cb();
      const go = () => {
        waiting.delete(go);
        feed.off('drain', go);
        cb();
      };
      waiting.add(go);
      feed.on('drain', go);
    },
    final(cb) {
      if (!stopped && !feed.destroyed) feed.end();
      cb();
    },
  });
  return {
    sink,
    result: async () => {
      try {
        await restore;
        toc.entries = counter.entries;
        if (counter.entries === 0) return [{part: 'database', problem: 'unreadable', message: 'pg_restore --list found no table of contents in the dump'}];
        return [];
      } catch (err) {
        if (signal.aborted) throw err;
        return [{part: 'database', problem: 'unreadable', message: `pg_restore cannot read the dump: ${(err as Error).message}`}];
      }
    },
  };
}

/** TOC entries whose data pg_dump --format=directory writes to `<dump id>.dat[.gz|.lz4|.zst]`. */
const TABLE_DATA_LINE = /^(\d+); \d+ \d+ TABLE DATA /;
/** Large objects: blobs.toc (blobs_<id>.toc from PostgreSQL 17) and one blob_<oid> file each. */
const BLOBS_LINE = /^\d+; \d+ \d+ BLOBS /;
const MAX_TOC_BYTES = 256 * 1024 * 1024;

/**
 * A directory dump stored as a tar: the archive must parse, hold toc.dat (kept in memory and
 * read by `pg_restore --list` from a temp folder, where the database lives), a data file for
 * every TABLE DATA entry of that table of contents, and nothing pg_dump does not write.
 */
function dumpDirectoryChecker(handle: DatabaseHandle, signal: AbortSignal, toc: {entries: number | null}): Checker {
  const indexer = new TarIndexer(undefined, {withSha256: false, capture: {path: 'toc.dat', maxBytes: MAX_TOC_BYTES}});
  const unreadable = (message: string): VerifyFailure => ({part: 'database', problem: 'unreadable', message});
  return {
    sink: indexer,
    result: async () => {
      const failures = indexer.problems.map((p) => unreadable(`database archive: ${p}`));
      for (const o of indexer.others) failures.push(unreadable(`database archive: ${o.path} (${o.type}) is not a file pg_dump writes`));
      const members = [...indexer.fileMap.keys()];
      for (const m of members) if (!DUMP_DIRECTORY_MEMBER.test(m)) failures.push(unreadable(`database archive: ${m} is not a file pg_dump writes`));
      const tocDat = indexer.captured;
      if (!tocDat) return [...failures, unreadable('database archive: no toc.dat (the directory dump\'s table of contents)')];
      const dir = await mkdtemp(join(tmpdir(), 'odoo-sh-verify-'));
      const listing = new TocCounter(true);
      try {
        await writeFile(join(dir, 'toc.dat'), tocDat, {mode: 0o600});
        await handle.runTool('pg_restore', ['--list', dir], {stdout: listing}, signal);
      } catch (err) {
        if (signal.aborted) throw err;
        return [...failures, unreadable(`pg_restore cannot read the dump's toc.dat: ${(err as Error).message}`)];
      } finally {
        await rm(dir, {recursive: true, force: true});
      }
      toc.entries = listing.entries;
      if (listing.entries === 0) return [...failures, unreadable('pg_restore --list found no table of contents in toc.dat')];
      const data = new Set(members.filter((m) => /^\d+\.dat/.test(m)).map((m) => m.slice(0, m.indexOf('.'))));
      const expected = new Set<string>();
      let blobs = false;
      for (const line of listing.lines) {
        const id = TABLE_DATA_LINE.exec(line)?.[1];
        if (id) expected.add(id);
        if (BLOBS_LINE.test(line)) blobs = true;
      }
      const missing = [...expected].filter((id) => !data.has(id));
      const stray = [...data].filter((id) => !expected.has(id));
      if (missing.length) failures.push(unreadable(`database archive: no data file for ${missing.length} table(s) of toc.dat (first: ${missing[0]}.dat)`));
      if (stray.length) failures.push(unreadable(`database archive: ${stray.length} data file(s) not in toc.dat (first: ${stray[0]}.dat)`));
      if (!blobs && members.some((m) => m.startsWith('blob'))) failures.push(unreadable('database archive: large object files but no BLOBS entry in toc.dat'));
      return failures;
    },
  };
}

function filestoreChecker(manifest: BackupManifest, stats: {files: number; missing: number; modified: number; stray: number}): Checker {
  const expected = new Map<string, FilestoreEntry>((manifest.filestore?.entries ?? []).map((e) => [e.path, e]));
  const failures: VerifyFailure[] = [];
  const indexer = new TarIndexer((e) => {
    stats.files++;
    const want = expected.get(e.path);
    if (!want) {
      stats.stray++;
      failures.push({part: 'filestore', problem: 'stray-entry', path: e.path, message: `filestore entry ${e.path} is in the archive but not in the manifest`});
    } else {
      expected.delete(e.path);
      if (want.sha256 !== e.sha256 || want.size !== e.size) {
        stats.modified++;
        failures.push({part: 'filestore', problem: 'entry-modified', path: e.path,
          message: `filestore entry ${e.path}: ${e.size} bytes, sha256 ${e.sha256}; the manifest says ${want.size} bytes, sha256 ${want.sha256}`});
      }
    }
  });
  return {
    sink: indexer,
    result: async () => {
      for (const o of indexer.others) {
        stats.stray++;
        failures.push({part: 'filestore', problem: 'stray-entry', path: o.path, message: `filestore entry ${o.path} (${o.type}) is not a regular file`});
      }
      for (const p of indexer.problems) failures.push({part: 'filestore', problem: 'unreadable', message: `filestore archive: ${p}`});
      for (const e of expected.values()) {
        stats.missing++;
        failures.push({part: 'filestore', problem: 'entry-missing', path: e.path, message: `filestore entry ${e.path} is in the manifest but not in the archive`});
      }
      return failures;
    },
  };
}

function logsChecker(): Checker {
  const indexer = new TarIndexer();
  return {
    sink: indexer,
    result: async () => indexer.problems.map((p) => ({part: 'logs' as const, problem: 'unreadable' as const, message: `logs archive: ${p}`})),
  };
}

/** Reads one part: hash the stored bytes, decompress a copy into the checker. */
async function checkPart(
  storage: BackupStorage, ref: BackupRef, part: BackupPart, checker: Checker, signal: AbortSignal,
): Promise<{sizeBytes: number | null; sha256: string | null; failures: VerifyFailure[]}> {
  let source: Readable;
  try {
    source = await storage.read(ref, part.file, signal);
  } catch (err) {
    if (err instanceof NotFoundError) {
      return {sizeBytes: null, sha256: null, failures: [{part: part.name, problem: 'missing', message: `${part.file} is missing from the storage`}]};
    }
    throw err;
  }
  const ac = new AbortController();
  const inner = AbortSignal.any([signal, ac.signal]);
  const hash = new HashSink();
  let zDone: Promise<Error | undefined>;
  let checked: Promise<Error | undefined>;
  let tee: Tee;
  if (part.compression === 'zstd') {
    const z = spawnZstd(['-d'], inner, `verify ${part.name}`);
    zDone = z.done.then(() => undefined, (err: unknown) => err as Error);
    checked = pipeline(z.stdout, checker.sink).then(() => undefined, (err: unknown) => err as Error);
    tee = new Tee([hash, {stream: z.stdin, tolerant: true}]);
  } else {
    // Stored as is: the checker reads the stored bytes themselves.
    const feed = new PassThrough({highWaterMark: 1024 * 1024});
    zDone = Promise.resolve(undefined);
    checked = pipeline(feed, checker.sink).then(() => undefined, (err: unknown) => err as Error);
    tee = new Tee([hash, {stream: feed, tolerant: true}]);
  }
  const failures: VerifyFailure[] = [];
  try {
    await pipeline(source, tee, {signal});
  } catch (err) {
    ac.abort();
    if (signal.aborted) throw new InterruptedError('verify interrupted', {cause: signal.reason});
    failures.push({part: part.name, problem: 'unreadable', message: `cannot read ${part.file} from the storage: ${(err as Error).message}`});
  }
  const zError = await zDone;
  const sinkError = await checked;
  if (signal.aborted) throw new InterruptedError('verify interrupted', {cause: signal.reason});
  const sizeBytes = failures.length ? null : hash.bytes;
  const sha256 = failures.length ? null : hash.digest();
  if (sizeBytes !== null && sizeBytes !== part.sizeBytes) {
    failures.push({part: part.name, problem: 'size-mismatch', message: `${part.file} is ${sizeBytes} bytes; the manifest says ${part.sizeBytes}`});
  }
  if (sha256 !== null && sha256 !== part.sha256) {
    failures.push({part: part.name, problem: 'sha256-mismatch', message: `${part.file} has sha256 ${sha256}; the manifest says ${part.sha256}`});
  }
  if (zError) failures.push({part: part.name, problem: 'unreadable', message: `${part.file} does not decompress: ${zError.message}`});
  else if (sinkError) failures.push({part: part.name, problem: 'unreadable', message: `${part.file} does not read back: ${sinkError.message}`});
  failures.push(...await checker.result());
  return {sizeBytes, sha256, failures};
}

export interface VerifyDeps {
  readonly storage: BackupStorage;
  /** The database server of the backup's env (pg_restore --list runs there). */
  readonly database: () => Promise<DatabaseHandle>;
}

/** Checks a complete backup; `recorded` is the manifest kept in the state store. */
export async function verifyBackup(deps: VerifyDeps, ref: BackupRef, recorded: BackupManifest, signal: AbortSignal): Promise<VerifyReport> {
  const failures: VerifyFailure[] = [];
  let manifest = recorded;
  try {
    const text = await readAll(await deps.storage.read(ref, MANIFEST_FILE, signal), 512 * 1024 * 1024);
    const stored = validateManifest(JSON.parse(text.toString('utf8')));
    if (canonicalJson(stored) !== canonicalJson(recorded)) {
      failures.push({part: 'manifest', problem: 'differs', message: `${MANIFEST_FILE} in the storage differs from the state store's copy`});
    } else {
      manifest = stored;
    }
  } catch (err) {
    if (signal.aborted) throw new InterruptedError('verify interrupted', {cause: signal.reason});
    failures.push(err instanceof NotFoundError
      ? {part: 'manifest', problem: 'missing', message: `${MANIFEST_FILE} is missing from the storage`}
      : {part: 'manifest', problem: 'unreadable', message: `${MANIFEST_FILE} is unreadable: ${(err as Error).message}`});
  }
  const stats = {files: 0, missing: 0, modified: 0, stray: 0};
  const toc: {entries: number | null} = {entries: null};
  const parts: VerifiedPart[] = [];
  for (const part of manifest.parts) {
    const checker = part.name === 'database'
      ? (manifest.database.format === 'pg_dump-directory+tar' ? dumpDirectoryChecker : dumpChecker)(await deps.database(), signal, toc)
      : part.name === 'filestore' ? filestoreChecker(manifest, stats)
        : logsChecker();
    const r = await checkPart(deps.storage, ref, part, checker, signal);
    failures.push(...r.failures);
    parts.push({
      name: part.name, file: part.file, ok: r.failures.length === 0, sizeBytes: r.sizeBytes, sha256: r.sha256,
      expectedSizeBytes: part.sizeBytes, expectedSha256: part.sha256,
    });
  }
  return {
    id: ref.id,
    env: ref.env,
    ok: failures.length === 0,
    parts,
    failures: failures.slice(0, MAX_LISTED),
    failureCount: failures.length,
    filestore: manifest.filestore ? {expectedFiles: manifest.filestore.files, ...stats} : null,
    database: {tocEntries: toc.entries},
  };
}
