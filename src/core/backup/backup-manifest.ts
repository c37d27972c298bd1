/**
 * The native backup format (version 1). A backup is a folder (filesystem) or key prefix (S3):
 *
 *   <prefix>/<project>/<env>/<backup id>/
 *     database.dir.tar     database.format 'pg_dump-directory+tar': `pg_dump --format=directory
 *                          --jobs N --compress=1` (one gzip file per table, dumped in parallel),
 *                          stored as one plain tar (toc.dat first). Restore: extract, then
 *                          `pg_restore --jobs N` straight from the folder. Written where the tools
 *                          see a folder of this process (the local provider).
 *     database.dump.zst    database.format 'pg_dump-custom+zstd': `pg_dump --format=custom
 *                          --compress=0` piped through zstd (backups made before directory dumps;
 *                          providers whose tools cannot hand a folder back). Restore: decompress
 *                          to a file, then `pg_restore --jobs N`. Either format restores everywhere.
 *     filestore.tar.zst    the env's filestore tree at the archive root (./ab/ab12…, ./checklist/…)
 *     logs.tar.zst         the env's Odoo logs
 *     manifest.json        written LAST, then re-read: a backup without a readable manifest is not complete
 *
 * Pure: types and validation only.
 */
import {UsageError} from '../errors.js';

export const BACKUP_FORMAT_VERSION = 1;

export type BackupPartName = 'database' | 'filestore' | 'logs';

export type DatabaseFormat = 'pg_dump-directory+tar' | 'pg_dump-custom+zstd';

/** The file of each database format, and how that file itself is compressed. */
export const DATABASE_FORMATS: Readonly<Record<DatabaseFormat, {readonly file: string; readonly compression: PartCompression}>> = {
  // The tar is not compressed again: its members are pg_dump's gzip files.
  'pg_dump-directory+tar': {file: 'database.dir.tar', compression: 'none'},
  'pg_dump-custom+zstd': {file: 'database.dump.zst', compression: 'zstd'},
};

/** The file of each part (the database's is that of its format; this one is the custom format's). */
export const PART_FILES: Readonly<Record<BackupPartName, string>> = {
  database: DATABASE_FORMATS['pg_dump-custom+zstd'].file,
  filestore: 'filestore.tar.zst',
  logs: 'logs.tar.zst',
};
export const MANIFEST_FILE = 'manifest.json';

/** The files pg_dump --format=directory writes (PostgreSQL 12-17): a directory dump holds nothing else. */
export const DUMP_DIRECTORY_MEMBER = /^(?:toc\.dat|blobs(?:_\d+)?\.toc|\d+\.dat(?:\.gz|\.lz4|\.zst)?|blob_\d+\.dat(?:\.gz|\.lz4|\.zst)?)$/;

/** 'none': the stored file is the tar itself. */
export type PartCompression = 'zstd' | 'none';

/** The file a part is stored as, in a backup whose database has `format`. */
export function partFile(name: BackupPartName, format: DatabaseFormat): string {
  return name === 'database' ? DATABASE_FORMATS[format].file : PART_FILES[name];
}

export interface BackupPart {
  readonly name: BackupPartName;
  readonly file: string;
  /** Bytes stored (compressed). */
  readonly sizeBytes: number;
  /** sha256 (hex) of the stored bytes. */
  readonly sha256: string;
  readonly compression: PartCompression;
}

export interface FilestoreEntry {
  /** Path inside the filestore, e.g. "ab/ab12…" (no leading "./"). */
  readonly path: string;
  readonly size: number;
  /** sha256 (hex) of the file's content. */
  readonly sha256: string;
}

export interface BackupManifest {
  readonly formatVersion: typeof BACKUP_FORMAT_VERSION;
  readonly id: string;
  readonly project: string;
  readonly env: string;
  readonly kind: 'daily' | 'manual' | 'pre-deploy' | 'safety';
  /** The release the environment ran (commit sha or release id), when known. */
  readonly release: string | null;
  readonly odoo: {
    /** Series, e.g. "17.0", from ir_module_module.latest_version of base. */
    readonly version: string | null;
    /** Installed modules → latest_version. */
    readonly modules: Readonly<Record<string, string>>;
  };
  readonly database: {
    readonly name: string;
    readonly sizeBytes: number;
    /** server_version of the source PostgreSQL. */
    readonly pgVersion: string;
    readonly format: DatabaseFormat;
  };
  readonly parts: readonly BackupPart[];
  /** Every filestore file with its sha256; null when the backup was made without filestore. */
  readonly filestore: {readonly files: number; readonly bytes: number; readonly entries: readonly FilestoreEntry[]} | null;
  readonly tools: Readonly<Record<string, string>>;
  readonly createdAt: string;
  readonly completedAt: string;
}

const HEX64 = /^[0-9a-f]{64}$/;

/** Checks a parsed manifest.json; throws UsageError naming the first problem. */
export function validateManifest(value: unknown): BackupManifest {
  const m = value as Partial<BackupManifest> | null;
  const fail = (what: string) => {
    throw new UsageError(`invalid backup manifest: ${what}`);
  };
  if (!m || typeof m !== 'object') return fail('not a JSON object');
  if (m.formatVersion !== BACKUP_FORMAT_VERSION) fail(`formatVersion ${String(m.formatVersion)} (this release reads ${BACKUP_FORMAT_VERSION})`);
  for (const k of ['id', 'project', 'env', 'createdAt', 'completedAt'] as const) if (typeof m[k] !== 'string') fail(`${k} missing`);
  const format = m.database?.format;
  if (typeof format !== 'string' || !Object.hasOwn(DATABASE_FORMATS, format)) {
    fail(`database.format ${JSON.stringify(format)} (this release reads ${Object.keys(DATABASE_FORMATS).join(', ')})`);
  }
  if (!Array.isArray(m.parts) || m.parts.length === 0) fail('no parts');
  for (const p of m.parts ?? []) {
    if (!Object.hasOwn(PART_FILES, p.name) || p.file !== partFile(p.name, format!)) fail(`unknown part ${JSON.stringify(p.name)} (file ${JSON.stringify(p.file)})`);
    const compression = p.name === 'database' ? DATABASE_FORMATS[format!].compression : 'zstd';
    if (p.compression !== compression) fail(`part ${p.name} has compression ${JSON.stringify(p.compression)}, not ${compression}`);
    if (!HEX64.test(p.sha256) || !Number.isInteger(p.sizeBytes) || p.sizeBytes < 0) fail(`part ${p.name} has no valid sha256/size`);
  }
  if (!m.parts?.some((p) => p.name === 'database')) fail('no database part');
  if (m.filestore) {
    for (const e of m.filestore.entries) {
      if (typeof e.path !== 'string' || e.path.startsWith('/') || e.path.split('/').includes('..') || !HEX64.test(e.sha256)) {
        fail(`filestore entry ${JSON.stringify(e.path)} is not a safe relative path with a sha256`);
      }
    }
  }
  return m as BackupManifest;
}
