/**
 * `backups download --format native`: the backup folder as one tar (`<id>/manifest.json`, then the
 * parts), streamed from the storage into `<out>` (written as `<out>.partial-*`, renamed when
 * complete). Every part's size and sha256 are checked against the manifest on the way: a corrupt
 * backup gives an error, never a silently corrupt download.
 */
import {randomBytes} from 'node:crypto';
import {createHash} from 'node:crypto';
import {createWriteStream} from 'node:fs';
import {rename, rm, stat} from 'node:fs/promises';
import {Readable} from 'node:stream';
import {pipeline} from 'node:stream/promises';
import {Header} from 'tar';
import {ConflictError, InterruptedError, ProviderError} from '../errors.js';
import type {BackupRef, BackupStorage} from '../storage/backup-storage.js';
import type {Provider} from '../../providers/provider.js';
import {MANIFEST_FILE, type BackupManifest} from './backup-manifest.js';
import type {Backup} from './backup-record.js';
import {readAll} from './backup-pipeline.js';

function header(path: string, size: number, mtime: Date, type: 'File' | 'Directory'): Buffer {
  const h = new Header({path, mode: type === 'Directory' ? 0o755 : 0o644, uid: 0, gid: 0, uname: '', gname: '', size, mtime, type});
  h.encode();
  return h.block!;
}

const pad = (size: number) => Buffer.alloc((512 - (size % 512)) % 512);

async function* archive(storage: BackupStorage, ref: BackupRef, manifest: BackupManifest, signal: AbortSignal): AsyncGenerator<Buffer> {
  const mtime = new Date(manifest.completedAt);
  const text = await readAll(await storage.read(ref, MANIFEST_FILE, signal), 512 * 1024 * 1024);
  yield header(`${ref.id}/`, 0, mtime, 'Directory');
  yield header(`${ref.id}/${MANIFEST_FILE}`, text.length, mtime, 'File');
  yield text;
  yield pad(text.length);
  for (const part of manifest.parts) {
    yield header(`${ref.id}/${part.file}`, part.sizeBytes, mtime, 'File');
    const hash = createHash('sha256');
    let n = 0;
    for await (const chunk of await storage.read(ref, part.file, signal)) {
      const buf = chunk as Buffer;
      n += buf.length;
      if (n > part.sizeBytes) break;
      hash.update(buf);
      yield buf;
    }
    if (n !== part.sizeBytes || hash.digest('hex') !== part.sha256) {
      throw new ConflictError(`backup ${ref.id}: ${part.file} does not match its manifest (size or sha256): the backup is damaged`, {
        actions: [`odoo-sh-next backups verify ${ref.id}`],
        data: {backup: ref.id, part: part.name},
      });
    }
    yield pad(part.sizeBytes);
  }
  yield Buffer.alloc(1024);
}

export async function writeNativeArchive(
  storage: BackupStorage, ref: BackupRef, manifest: BackupManifest, out: string, signal: AbortSignal,
): Promise<{readonly bytes: number}> {
  const tmp = `${out}.partial-${randomBytes(4).toString('hex')}`;
  try {
    await pipeline(Readable.from(archive(storage, ref, manifest, signal)), createWriteStream(tmp, {flags: 'wx', flush: true}), {signal});
    await rename(tmp, out);
  } catch (err) {
    await rm(tmp, {force: true});
    if (signal.aborted) throw new InterruptedError('download interrupted', {cause: signal.reason});
    if (err instanceof Error && 'code' in err && typeof (err as NodeJS.ErrnoException).code === 'string' && (err as NodeJS.ErrnoException).syscall) {
      throw new ProviderError(`cannot write ${out}: ${err.message}`, {cause: err});
    }
    throw err;
  }
  return {bytes: (await stat(out)).size};
}

/** The contract of src/core/backup/odoo-zip.ts (written by the restore/export work). */
export interface OdooZipExportInput {
  readonly backup: Backup;
  readonly manifest: BackupManifest;
  readonly ref: BackupRef;
  readonly storage: BackupStorage;
  readonly provider: Provider;
  readonly out: string;
  readonly signal: AbortSignal;
}
export type OdooZipExporter = (input: OdooZipExportInput) => Promise<{readonly bytes: number}>;


