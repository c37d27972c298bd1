/**
 * Where backups are kept: one interface, two backends (filesystem-storage.ts, s3-storage.ts).
 *
 * A backup is a folder or key prefix `<root>/<project>/<env>/<backup id>/` holding the files of
 * backup-manifest.ts. Writes are never visible half-done: the filesystem backend writes
 * `<id>.partial/` and renames it when complete; the S3 backend uploads each file (multipart for
 * large ones) under the backup's prefix and writes manifest.json last, so a prefix without a
 * manifest is incomplete. Every byte stored or read is streamed: memory stays flat whatever the
 * size (S3 multipart buffers at most a few parts in flight).
 *
 * Crashes leave incomplete data behind (a `.partial` folder, objects without a manifest, open
 * multipart uploads): listIncomplete() finds it and removeIncomplete() deletes it; the backup
 * service decides what is safe to remove from the state store (a backup still being written is not).
 */
import type {Readable} from 'node:stream';
import {InternalError} from '../errors.js';

/** Names one backup inside a storage. */
export interface BackupRef {
  readonly project: string;
  readonly env: string;
  /** The ops.backups uuid. */
  readonly id: string;
}

export interface StoredFile {
  readonly file: string;
  /** Bytes stored. */
  readonly sizeBytes: number;
  /** sha256 (hex) of the bytes stored, computed while streaming. */
  readonly sha256: string;
}

export interface StorageFileInfo {
  readonly file: string;
  readonly sizeBytes: number;
}

/** Data an interrupted backup (or delete) left behind. */
export interface IncompleteBackup {
  readonly project: string;
  readonly env: string;
  readonly id: string;
  /** partial-folder: filesystem temp folder; unfinished: S3 objects without manifest; multipart-upload: an open upload. */
  readonly kind: 'partial-folder' | 'unfinished' | 'multipart-upload';
  /** Folder path, key prefix or object key (for people). */
  readonly where: string;
  /** When it was last written to (upload initiation time for multipart uploads). */
  readonly modifiedAt: Date;
  /** Backend-specific handle (e.g. the upload id). */
  readonly handle?: string;
}

export interface CleanupReport {
  readonly removed: readonly IncompleteBackup[];
  readonly kept: readonly IncompleteBackup[];
}

/** Writes one backup; nothing is visible to read() or list() before commit(). */
export interface BackupWriter {
  readonly ref: BackupRef;
  /** Stores a file from a stream (read to its end); returns its size and sha256. */
  put(file: string, source: Readable, signal: AbortSignal): Promise<StoredFile>;
  /**
   * Storages with local files (filesystem) only: `write` has a program create the file itself at
   * the path given (a new file, only appended to; e.g. `zstd -o path`), so its bytes never pass
   * through this process; the storage hashes and flushes it while it is written (reading what the
   * program wrote so far) and once more to its end after `write` settles.
   */
  putWritten?(file: string, write: (path: string) => Promise<void>, signal: AbortSignal): Promise<StoredFile>;
  /**
   * Makes the backup complete and visible. Requires manifest.json to have been put, last
   * (S3: writing the manifest is what completes it; filesystem: the folder is renamed).
   */
  commit(signal: AbortSignal): Promise<void>;
  /** Removes what was written so far (best effort, never throws); a no-op after commit(). */
  abort(): Promise<void>;
}

export interface BackupStorage {
  readonly type: 'filesystem' | 's3';
  /** Where a backup lives, for people and the state store: a folder path or s3://bucket/prefix/. */
  location(ref: BackupRef): string;
  /** Starts writing a new backup (ConflictError when it already exists). */
  create(ref: BackupRef, signal: AbortSignal): Promise<BackupWriter>;
  /** Reads one file of a complete backup; NotFoundError when it is missing. */
  read(ref: BackupRef, file: string, signal: AbortSignal): Promise<Readable>;
  /** The files of a complete backup (empty when the backup does not exist). */
  list(ref: BackupRef, signal: AbortSignal): Promise<readonly StorageFileInfo[]>;
  /** Deletes a backup, complete or not; removed: false when nothing was there. */
  remove(ref: BackupRef, signal: AbortSignal): Promise<{readonly removed: boolean}>;
  /** Incomplete backups of a project (temp folders, prefixes without manifest, open multipart uploads). */
  listIncomplete(project: string, signal: AbortSignal): Promise<readonly IncompleteBackup[]>;
  /** Deletes one incomplete backup's leftovers (aborts the multipart upload). */
  removeIncomplete(item: IncompleteBackup, signal: AbortSignal): Promise<void>;
}

export interface CleanupOptions {
  /** Leftovers last written before this are removed (unless kept). */
  readonly olderThan: Date;
  /** Backup ids never removed here (being written right now). */
  readonly keep?: ReadonlySet<string>;
  /** Backup ids removed whatever their age (known to be dead: failed, deleted). */
  readonly remove?: ReadonlySet<string>;
}

/**
 * Removes orphaned temp folders, objects without manifest and open multipart uploads: those of
 * backups known dead, and any other older than the bound, except the ones kept.
 */
export async function cleanupIncomplete(storage: BackupStorage, project: string, opts: CleanupOptions, signal: AbortSignal): Promise<CleanupReport> {
  const removed: IncompleteBackup[] = [];
  const kept: IncompleteBackup[] = [];
  for (const item of await storage.listIncomplete(project, signal)) {
    const dead = opts.remove?.has(item.id) ?? false;
    const live = opts.keep?.has(item.id) ?? false;
    if (!live && (dead || item.modifiedAt.getTime() < opts.olderThan.getTime())) {
      await storage.removeIncomplete(item, signal);
      removed.push(item);
    } else {
      kept.push(item);
    }
  }
  return {removed, kept};
}

const SEGMENT_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;
const FILE_RE = /^[a-z0-9][a-z0-9._-]{0,99}$/;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Checks the parts of a backup's path (no separators, no dots, lowercase): safe in paths and keys. */
export function checkRef(ref: BackupRef): BackupRef {
  if (!SEGMENT_RE.test(ref.project) || !SEGMENT_RE.test(ref.env) || !UUID_RE.test(ref.id)) {
    throw new InternalError(`invalid backup reference ${JSON.stringify(ref)}`);
  }
  return ref;
}

export function checkFileName(file: string): string {
  if (!FILE_RE.test(file) || file.includes('..')) throw new InternalError(`invalid backup file name ${JSON.stringify(file)}`);
  return file;
}

export function isBackupId(text: string): boolean {
  return UUID_RE.test(text);
}

export function isEnvSegment(text: string): boolean {
  return SEGMENT_RE.test(text);
}
