/**
 * Verifies a restored database and filestore before anything switches to them:
 * - an Odoo database: base installed, users present; the installed modules equal the source's
 *   (when the source says which);
 * - every ir_attachment with a store_fname has its file, whose sha1 is the row's checksum;
 * - the filestore equals the source's list of files, when the source has one: by path and sha256
 *   of each file when the files are read back (restore tests), by path and size when they were
 *   indexed while extracted. The latter is enough because a native backup's filestore part is
 *   checked against the manifest's sha256 of the whole archive while it streams (GuardedTar.done
 *   rejects, and the restore fails before verify, let alone the switch): every byte of every file
 *   is then the one backed up, so a second per-file sha256 would prove nothing more.
 */
import {createHash} from 'node:crypto';
import {existsSync} from 'node:fs';
import {lstat, readdir} from 'node:fs/promises';
import {join} from 'node:path';
import {PassThrough, Writable} from 'node:stream';
import {pipeline} from 'node:stream/promises';
import {Parser, type ReadEntry} from 'tar';
import {ProviderError} from '../errors.js';
import type {FilestoreTarget, Provider} from '../../providers/provider.js';
import type {FilestoreEntry} from './backup-manifest.js';
import {copyRows, queryOne} from './restore-database.js';
import {tarGuard} from './safe-extract.js';

export interface FileDigest {
  readonly size: number;
  readonly sha1: string;
  /** Absent for files indexed while extracted (see the module comment). */
  readonly sha256?: string | undefined;
}

/** Reads a filestore through the provider (as a tar) and hashes every file. */
export async function hashFilestore(provider: Provider, target: FilestoreTarget, signal: AbortSignal): Promise<Map<string, FileDigest>> {
  const files = new Map<string, FileDigest>();
  const parser = new Parser({strict: true});
  parser.on('entry', (entry: ReadEntry) => {
    if (entry.type !== 'File' && entry.type !== 'OldFile' && entry.type !== 'ContiguousFile') {
      entry.resume();
      return;
    }
    const path = entry.path.replace(/^(\.\/)+/, '');
    const sha1 = createHash('sha1');
    const sha256 = createHash('sha256');
    let size = 0;
    entry.on('data', (c: Buffer) => {
      sha1.update(c);
      sha256.update(c);
      size += c.length;
    });
    entry.on('end', () => files.set(path, {size, sha1: sha1.digest('hex'), sha256: sha256.digest('hex')}));
  });
  const tar = new PassThrough();
  const parsed = new Promise<void>((resolve, reject) => {
    parser.on('end', resolve);
    parser.on('error', reject);
  });
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      if (parser.write(chunk)) cb();
      else parser.once('drain', () => cb());
    },
    final(cb) {
      parser.end();
      cb();
    },
  });
  await Promise.all([provider.filestore.archive(target, tar, signal), pipeline(tar, tarGuard(), sink), parsed]);
  return files;
}

/** The files of a filestore folder of this machine with their sizes (-1: not a regular file), paths relative to it. */
async function listLocalFiles(dir: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(rel ? join(dir, rel) : dir, {withFileTypes: true});
    await Promise.all(entries.map(async (e) => {
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(path);
      else out.set(path, e.isFile() ? (await lstat(join(dir, path))).size : -1);
    }));
  };
  await walk('');
  return out;
}

/**
 * The digests of a restored filestore: those computed from the stream it was extracted from
 * (`extracted`), checked against what is on disk (the same files, the same sizes), when the
 * provider's folder is local; otherwise every file is read back through the provider.
 */
async function restoredDigests(
  provider: Provider, target: FilestoreTarget, extracted: VerifyInput['extracted'], signal: AbortSignal,
): Promise<{files: Map<string, FileDigest>; problems: string[]}> {
  // Only the local provider's folders are this machine's (others keep them in containers or hosts).
  const dir = provider.name === 'local' ? provider.filestore.location(target).path : undefined;
  if (!extracted || !dir || [...extracted.values()].some((d) => d.sha1 === undefined)) {
    return {files: await hashFilestore(provider, target, signal), problems: []};
  }
  const onDisk = existsSync(dir) ? await listLocalFiles(dir) : new Map<string, number>();
  const problems: string[] = [];
  const absent = [...extracted].filter(([p, d]) => onDisk.get(p) !== d.size).map(([p]) => p);
  const unknown = [...onDisk.keys()].filter((p) => !extracted.has(p));
  if (absent.length) problems.push(`${absent.length} extracted file(s) missing on disk or of another size: ${absent.slice(0, MAX_LISTED).join(', ')}`);
  if (unknown.length) problems.push(`${unknown.length} file(s) on disk that the archive did not hold: ${unknown.slice(0, MAX_LISTED).join(', ')}`);
  const files = new Map<string, FileDigest>();
  for (const [p, d] of extracted) files.set(p, {size: d.size, sha1: d.sha1!, ...(d.sha256 ? {sha256: d.sha256} : {})});
  return {files, problems};
}

export interface RestoredVerifyReport {
  readonly database: string;
  readonly installedModules: number;
  readonly users: number;
  readonly partners: number;
  readonly attachments: number;
  /** Attachments with a store_fname whose file was checked (0 without filestore). */
  readonly attachmentFilesChecked: number;
  readonly filestoreFiles: number;
  readonly filestoreBytes: number;
  /** With --no-filestore: attachments whose file is missing (expected). */
  readonly attachmentsWithoutFile: number;
}

export interface VerifyInput {
  readonly provider: Provider;
  readonly env: string;
  readonly database: string;
  readonly withFilestore: boolean;
  /** Installed modules → latest_version, as the source recorded them. */
  readonly expectedModules: Readonly<Record<string, string>> | null;
  /** The source's filestore files (sha256), when it lists them. */
  readonly expectedFiles: readonly FilestoreEntry[] | null;
  /**
   * Digests of every file computed while the filestore was extracted (GuardedTar.files): with a
   * local folder, the files are then checked on disk by name and size instead of read again.
   */
  readonly extracted?: ReadonlyMap<string, {readonly size: number; readonly sha256?: string | undefined; readonly sha1?: string | undefined}> | undefined;
  readonly signal: AbortSignal;
}

const MAX_LISTED = 20;

export async function verifyRestored(input: VerifyInput): Promise<RestoredVerifyReport> {
  const {provider, database, signal} = input;
  const handle = await provider.database(input.env, signal);
  const problems: string[] = [];
  const tables = await queryOne(handle, database, `select count(*) from pg_tables where schemaname = 'public'
    and tablename in ('ir_module_module', 'res_users', 'res_partner', 'ir_attachment')`, signal);
  if (Number(tables[0]) !== 4) {
    throw new ProviderError(`restore verification failed: ${database} is not an Odoo database (ir_module_module, res_users, res_partner or ir_attachment missing)`);
  }
  // The reads are independent: run at once (each is a psql of its own).
  const modules = new Map<string, string | null>();
  const stored: [string, string | null][] = [];
  const [, counts, , restored] = await Promise.all([
    copyRows(handle, database, `select name, latest_version from ir_module_module where state = 'installed'`, (r) => modules.set(r[0]!, r[1] ?? null), signal),
    queryOne(handle, database, 'select (select count(*) from res_users), (select count(*) from res_partner), (select count(*) from ir_attachment)', signal),
    copyRows(handle, database, `select store_fname, checksum from ir_attachment where store_fname is not null and store_fname <> ''`,
      (r) => stored.push([r[0]!, r[1] ?? null]), signal),
    input.withFilestore ? restoredDigests(provider, {env: input.env, database}, input.extracted, signal) : undefined,
  ]);
  const [users, partners, attachments] = counts.map(Number);
  if (!modules.has('base')) problems.push('module base is not installed');
  if (!users) problems.push('res_users is empty');
  if (input.expectedModules) {
    const diff = [...new Set([...Object.keys(input.expectedModules), ...modules.keys()])]
      .filter((m) => (input.expectedModules![m] ?? '(absent)') !== (modules.has(m) ? modules.get(m) ?? '' : '(absent)'));
    if (diff.length) problems.push(`installed modules differ from the source: ${diff.slice(0, MAX_LISTED).join(', ')}`);
  }

  let files = new Map<string, FileDigest>();
  let checked = 0;
  let withoutFile = 0;
  if (restored) {
    files = restored.files;
    problems.push(...restored.problems);
    const missing: string[] = [];
    const wrong: string[] = [];
    for (const [fname, checksum] of stored) {
      const f = files.get(fname);
      if (!f) missing.push(fname);
      else if (checksum && f.sha1 !== checksum) wrong.push(fname);
      else checked++;
    }
    if (missing.length) problems.push(`${missing.length} attachment(s) without their file: ${missing.slice(0, MAX_LISTED).join(', ')}`);
    if (wrong.length) problems.push(`${wrong.length} attachment file(s) whose sha1 is not the checksum: ${wrong.slice(0, MAX_LISTED).join(', ')}`);
    if (input.expectedFiles) {
      const same = (e: FilestoreEntry, f: FileDigest | undefined) => f !== undefined && f.size === e.size && (f.sha256 === undefined || f.sha256 === e.sha256);
      const bad = input.expectedFiles.filter((e) => !same(e, files.get(e.path))).map((e) => e.path);
      const listed = new Set(input.expectedFiles.map((e) => e.path));
      const extra = [...files.keys()].filter((p) => !listed.has(p));
      if (bad.length) problems.push(`${bad.length} filestore file(s) missing or different from the backup: ${bad.slice(0, MAX_LISTED).join(', ')}`);
      if (extra.length) problems.push(`${extra.length} filestore file(s) not in the backup: ${extra.slice(0, MAX_LISTED).join(', ')}`);
    }
  } else {
    withoutFile = stored.length;
  }
  if (problems.length) {
    throw new ProviderError(`restore verification failed for ${database}: ${problems.join('; ')}`, {
      data: {database, problems},
      actions: ['nothing was switched: the environment still serves its previous data', 'odoo-sh-next backups verify <id>'],
    });
  }
  let bytes = 0;
  for (const f of files.values()) bytes += f.size;
  return {
    database, installedModules: modules.size, users: users ?? 0, partners: partners ?? 0, attachments: attachments ?? 0,
    attachmentFilesChecked: checked, filestoreFiles: files.size, filestoreBytes: bytes, attachmentsWithoutFile: withoutFile,
  };
}
