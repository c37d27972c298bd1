/**
 * Files `db import` accepts, as RestoreSources:
 * - Odoo's backup zip (the database manager's, `odoo-bin db dump`, an Odoo.sh download, `db
 *   export`): dump.sql (plain SQL), manifest.json, filestore/;
 * - a custom-format pg_dump file (Odoo's "dump" format, `.dump`): no filestore (--no-filestore);
 * - this tool's native backup as a tar (`backups download --format native`), plain or zstd:
 *   manifest.json + parts, at the root or in one folder.
 * Every archive is read with safe-extract's rules.
 */
import {createReadStream, existsSync} from 'node:fs';
import {open, readdir, readFile} from 'node:fs/promises';
import {basename, join} from 'node:path';
import {Readable} from 'node:stream';
import {createZstdDecompress} from 'node:zlib';
import {Header, Parser, Pax, type ReadEntry} from 'tar';
import {ProviderError, UsageError} from '../errors.js';
import type {DatabaseHandle} from '../../providers/provider.js';
import {MANIFEST_FILE, validateManifest} from './backup-manifest.js';
import {ZipReader, type ZipEntry} from './odoo-zip-format.js';
import {pgRestoreFile, psqlLoad} from './restore-database.js';
import {guardTar, NativeBackupSource, type GuardedTar, type RestoreSource} from './restore-source.js';
import {DEFAULT_LIMITS, ExpansionMeter, extractTarSafely, tarGuard, type ArchiveLimits} from './safe-extract.js';

export type ImportFormat = 'odoo-zip' | 'pg-dump' | 'native-tar' | 'native-tar-zst';

/** The format of a file, from its first bytes. */
export async function detectImportFormat(path: string): Promise<ImportFormat> {
  if (!existsSync(path)) throw new UsageError(`file not found: ${path}`);
  const fh = await open(path, 'r');
  const head = Buffer.alloc(512);
  try {
    await fh.read(head, 0, 512, 0);
  } finally {
    await fh.close();
  }
  if (head.readUInt32LE(0) === 0x04034b50 || head.readUInt32LE(0) === 0x06054b50) return 'odoo-zip';
  if (head.subarray(0, 5).toString('latin1') === 'PGDMP') return 'pg-dump';
  if (head.readUInt32LE(0) === 0xfd2fb528) return 'native-tar-zst';
  if (head.subarray(257, 262).toString('latin1') === 'ustar') return 'native-tar';
  throw new UsageError(`${path}: not a format db import reads`, {
    actions: ['give an Odoo backup zip (dump.sql + filestore/), a pg_dump custom-format .dump, or a native backup tar (backups download --format native)'],
  });
}

/** The series ("17.0") of a module version like "17.0.1.3". */
export const seriesOf = (version: string | null | undefined): string | null => {
  const m = /^(\d+)\.(\d+)/.exec(version ?? '');
  return m ? `${m[1]}.${m[2]}` : null;
};

/** Odoo's zip as a RestoreSource. */
export class OdooZipSource implements RestoreSource {
  readonly kind = 'odoo-zip' as const;
  readonly backupId = null;
  readonly sourceEnv = null;
  readonly expectedFiles = null;
  readonly description: Readonly<Record<string, unknown>>;
  readonly hasFilestore: boolean;
  readonly odooVersion: string | null;
  readonly expectedModules: Readonly<Record<string, string>> | null;

  private constructor(private readonly zip: ZipReader, private readonly dump: ZipEntry, manifest: Record<string, unknown> | null) {
    this.hasFilestore = zip.entries.some((e) => e.kind === 'file' && e.name.startsWith('filestore/'));
    const modules = manifest?.['modules'];
    this.expectedModules = modules && typeof modules === 'object' ? (modules as Record<string, string>) : null;
    this.odooVersion = typeof manifest?.['version'] === 'string' ? manifest['version'] : null;
    this.description = {kind: 'odoo-zip', file: basename(zip.path), dbName: manifest?.['db_name'] ?? null, version: this.odooVersion};
  }

  static async open(path: string, limits: ArchiveLimits = DEFAULT_LIMITS): Promise<OdooZipSource> {
    const zip = await ZipReader.open(path, limits);
    try {
      const dump = zip.find('dump.sql');
      if (!dump) throw new UsageError(`${path}: no dump.sql in the zip (is it an Odoo backup zip?)`);
      const m = zip.find('manifest.json');
      let manifest: Record<string, unknown> | null = null;
      if (m) {
        try {
          manifest = JSON.parse(await zip.readText(m)) as Record<string, unknown>;
        } catch (err) {
          throw new UsageError(`${path}: manifest.json is not valid JSON: ${(err as Error).message}`);
        }
      }
      return new OdooZipSource(zip, dump, manifest);
    } catch (err) {
      await zip.close();
      throw err;
    }
  }

  async fetch(): Promise<void> {}

  async loadDatabase(handle: DatabaseHandle, database: string, _opts: {readonly jobs: number}, signal: AbortSignal): Promise<void> {
    await psqlLoad(handle, database, await this.zip.openEntry(this.dump), signal);
  }

  /** filestore/<path> entries as a tar (paths already checked by the zip reader), through tarGuard. */
  async filestoreTar(signal: AbortSignal): Promise<GuardedTar> {
    const entries = this.zip.entries.filter((e) => e.kind === 'file' && e.name.startsWith('filestore/') && e.name.length > 'filestore/'.length);
    const zip = this.zip;
    async function* tar(): AsyncGenerator<Buffer> {
      for (const e of entries) {
        const path = e.name.slice('filestore/'.length);
        const mtime = new Date(0);
        if (Buffer.byteLength(path) > 99) yield new Pax({path, mtime}).encode();
        const h = Buffer.alloc(512);
        new Header({path: Buffer.byteLength(path) > 99 ? path.slice(0, 99) : path, type: 'File', size: e.size, mode: 0o644, mtime, uid: 0, gid: 0}).encode(h, 0);
        yield h;
        for await (const c of await zip.openEntry(e)) yield c as Buffer;
        if (e.size % 512) yield Buffer.alloc(512 - (e.size % 512));
      }
      yield Buffer.alloc(1024);
    }
    return guardTar(Readable.from(tar()), {zstd: false, signal});
  }

  async close(): Promise<void> {
    await this.zip.close();
  }
}

/** A custom-format pg_dump file (no filestore). */
export class PgDumpSource implements RestoreSource {
  readonly kind = 'pg-dump' as const;
  readonly backupId = null;
  readonly sourceEnv = null;
  readonly hasFilestore = false;
  readonly odooVersion = null;
  readonly expectedModules = null;
  readonly expectedFiles = null;
  readonly description: Readonly<Record<string, unknown>>;
  constructor(readonly dumpFile: string) {
    this.description = {kind: 'pg-dump', file: basename(dumpFile)};
  }
  async fetch(): Promise<void> {}
  async loadDatabase(handle: DatabaseHandle, database: string, opts: {readonly jobs: number}, signal: AbortSignal): Promise<void> {
    await pgRestoreFile(handle, database, this.dumpFile, opts, signal);
  }
  async filestoreTar(): Promise<GuardedTar> {
    throw new UsageError('a pg_dump file has no filestore: use --no-filestore');
  }
  async close(): Promise<void> {}
}

/**
 * A native backup tar, unpacked (safely) into `work` at open time: manifest.json and the parts
 * at the root or in a single folder. The parts are then checked against the manifest like a
 * backup read from storage.
 */
export async function openNativeTar(path: string, work: string, opts: {readonly zstd: boolean; readonly signal: AbortSignal}): Promise<NativeBackupSource> {
  const meter = new ExpansionMeter(DEFAULT_LIMITS);
  const raw = createReadStream(path);
  const source = opts.zstd ? raw.pipe(meter.counter()).pipe(createZstdDecompress()) : raw;
  const root = join(work, 'native');
  await extractTarSafely(source as Readable, root, {meter, signal: opts.signal});
  let dir = root;
  if (!existsSync(join(dir, MANIFEST_FILE))) {
    const inner = await readdir(root, {withFileTypes: true});
    const folder = inner.length === 1 && inner[0]!.isDirectory() ? join(root, inner[0]!.name) : null;
    if (!folder || !existsSync(join(folder, MANIFEST_FILE))) throw new UsageError(`${path}: no ${MANIFEST_FILE} in the backup archive`);
    dir = folder;
  }
  let manifest;
  try {
    manifest = validateManifest(JSON.parse(await readFile(join(dir, MANIFEST_FILE), 'utf8')));
  } catch (err) {
    throw new UsageError(`${path}: ${(err as Error).message}`);
  }
  const parts = {
    open: async (file: string) => {
      const full = join(dir, file);
      if (!existsSync(full)) throw new ProviderError(`${path}: ${file} is missing from the backup archive`, {data: {file}});
      return createReadStream(full);
    },
  };
  return new NativeBackupSource(manifest, parts, 'native-file', {kind: 'native-file', file: basename(path), backup: manifest.id, env: manifest.env}, null);
}

/** Opens any importable file as a RestoreSource (`work`: a private temp folder, removed by the caller). */
export async function openImportSource(path: string, work: string, signal: AbortSignal): Promise<RestoreSource> {
  const format = await detectImportFormat(path);
  switch (format) {
    case 'odoo-zip':
      return OdooZipSource.open(path);
    case 'pg-dump':
      return new PgDumpSource(path);
    case 'native-tar':
    case 'native-tar-zst':
      return openNativeTar(path, work, {zstd: format === 'native-tar-zst', signal});
  }
}

export interface ImportFileFacts {
  readonly format: ImportFormat;
  readonly hasFilestore: boolean;
  /** The environment the data comes from, when the file says (native backups). */
  readonly sourceEnv: string | null;
  readonly description: Readonly<Record<string, unknown>>;
}

/** Reads the manifest.json of a native backup tar without unpacking anything (one pass, guarded). */
async function nativeTarManifest(path: string, zstd: boolean, signal: AbortSignal): Promise<unknown> {
  const meter = new ExpansionMeter(DEFAULT_LIMITS);
  const raw = createReadStream(path);
  const plain = zstd ? raw.pipe(meter.counter()).pipe(createZstdDecompress()) : raw;
  let manifest: Buffer | null = null;
  const parser = new Parser({strict: true});
  parser.on('entry', (e: ReadEntry) => {
    const name = e.path.replace(/^(\.\/)+/, '');
    if (name === MANIFEST_FILE || name.endsWith(`/${MANIFEST_FILE}`) && name.split('/').length === 2) {
      const chunks: Buffer[] = [];
      e.on('data', (c: Buffer) => chunks.push(c));
      e.on('end', () => (manifest = Buffer.concat(chunks)));
    } else e.resume();
  });
  await new Promise<void>((resolve, reject) => {
    const guard = tarGuard({meter});
    for (const s of [raw, plain, guard, parser]) (s as NodeJS.EventEmitter).on('error', reject);
    signal.addEventListener('abort', () => reject(signal.reason), {once: true});
    parser.on('end', resolve);
    (plain as Readable).pipe(guard).pipe(parser as unknown as NodeJS.WritableStream);
  });
  if (!manifest) throw new UsageError(`${path}: no ${MANIFEST_FILE} in the backup archive`);
  try {
    return JSON.parse((manifest as Buffer).toString('utf8'));
  } catch (err) {
    throw new UsageError(`${path}: ${MANIFEST_FILE} is not valid JSON: ${(err as Error).message}`);
  }
}

/** What a file holds, read cheaply (zip: central directory; tar: one pass for the manifest). */
export async function inspectImportFile(path: string, signal: AbortSignal): Promise<ImportFileFacts> {
  const format = await detectImportFormat(path);
  if (format === 'odoo-zip') {
    const src = await OdooZipSource.open(path);
    await src.close();
    return {format, hasFilestore: src.hasFilestore, sourceEnv: null, description: src.description};
  }
  if (format === 'pg-dump') return {format, hasFilestore: false, sourceEnv: null, description: {kind: 'pg-dump', file: basename(path)}};
  const manifest = validateManifest(await nativeTarManifest(path, format === 'native-tar-zst', signal));
  return {
    format,
    hasFilestore: manifest.filestore !== null && manifest.parts.some((p) => p.name === 'filestore'),
    sourceEnv: manifest.env,
    description: {kind: 'native-file', file: basename(path), backup: manifest.id, env: manifest.env},
  };
}
