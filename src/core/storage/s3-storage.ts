/**
 * Backups in an S3-compatible bucket: `<prefix>/<project>/<env>/<id>/<file>`. Files are streamed
 * with @aws-sdk/lib-storage (multipart above one part; at most `queueSize` parts in memory), the
 * sha256 of each file is computed while streaming (what the manifest records and verify checks),
 * and S3's own per-part SHA256 checksums are requested too (`checksumAlgorithm`), so the service
 * rejects a part corrupted in transit where it supports them. manifest.json is written last: a
 * prefix without it is an incomplete backup. Deleting removes the manifest first for the same reason.
 */
import {
  AbortMultipartUploadCommand, DeleteObjectCommand, DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand,
  ListMultipartUploadsCommand, ListObjectsV2Command, S3Client, type ChecksumAlgorithm, type S3ClientConfig,
} from '@aws-sdk/client-s3';
import {Upload} from '@aws-sdk/lib-storage';
import type {Readable} from 'node:stream';
import {ConflictError, InternalError, InterruptedError, NotFoundError, ProviderError} from '../errors.js';
import type {Secret} from '../secret.js';
import {MANIFEST_FILE} from '../backup/backup-manifest.js';
import {
  checkFileName, checkRef, isBackupId, isEnvSegment,
  type BackupRef, type BackupStorage, type BackupWriter, type IncompleteBackup, type StorageFileInfo, type StoredFile,
} from './backup-storage.js';
import {HashingStream} from './hashing-stream.js';

export interface S3StorageOptions {
  readonly bucket: string;
  readonly prefix?: string;
  readonly region: string;
  readonly endpoint?: string | undefined;
  readonly forcePathStyle?: boolean;
  /** Default: the AWS credential chain (AWS_ACCESS_KEY_ID..., profiles, instance roles). */
  readonly accessKeyId?: Secret | undefined;
  readonly secretAccessKey?: Secret | undefined;
  readonly sessionToken?: Secret | undefined;
  /** Multipart part size (default 16 MiB; S3's minimum is 5 MiB). */
  readonly partSizeBytes?: number;
  /** Parts uploaded at the same time (default 2): memory is about (queueSize + 1) × partSize. */
  readonly queueSize?: number;
  /** S3-side checksum of each part (default SHA256); null to send none (servers that reject them). */
  readonly checksumAlgorithm?: ChecksumAlgorithm | null;
  /** How long an aborted upload may take to abort its multipart upload before giving up waiting (default 15 s). */
  readonly abortGraceMs?: number;
}

const MIB = 1024 * 1024;

function s3Error(what: string, err: unknown, signal?: AbortSignal): Error {
  if (signal?.aborted) return new InterruptedError(`${what}: interrupted`, {cause: signal.reason});
  if (err instanceof InterruptedError || err instanceof ProviderError || err instanceof NotFoundError || err instanceof ConflictError) return err;
  const e = err as {name?: string; message?: string; $metadata?: {httpStatusCode?: number}};
  const status = e.$metadata?.httpStatusCode;
  return new ProviderError(`${what}: ${e.name ?? 'Error'}: ${e.message ?? String(err)}${status ? ` (HTTP ${status})` : ''}`, {
    cause: err,
    retryable: status === undefined || status >= 500 || status === 429,
    actions: ['check backups.storage (bucket, endpoint, region) and the S3 credentials'],
  });
}

const isNotFound = (err: unknown) => {
  const e = err as {name?: string; $metadata?: {httpStatusCode?: number}};
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
};

export class S3BackupStorage implements BackupStorage {
  readonly type = 's3' as const;
  readonly client: S3Client;
  readonly bucket: string;
  readonly #base: string;
  readonly #opts: S3StorageOptions;

  constructor(opts: S3StorageOptions, client?: S3Client) {
    this.#opts = opts;
    this.bucket = opts.bucket;
    const prefix = (opts.prefix ?? '').replace(/^\/+|\/+$/g, '');
    this.#base = prefix ? `${prefix}/` : '';
    const config: S3ClientConfig = {
      region: opts.region,
      ...(opts.endpoint ? {endpoint: opts.endpoint} : {}),
      forcePathStyle: opts.forcePathStyle ?? false,
      ...(opts.accessKeyId && opts.secretAccessKey
        ? {credentials: {
          accessKeyId: opts.accessKeyId.reveal(),
          secretAccessKey: opts.secretAccessKey.reveal(),
          ...(opts.sessionToken ? {sessionToken: opts.sessionToken.reveal()} : {}),
        }}
        : {}),
    };
    this.client = client ?? new S3Client(config);
  }

  /** The key prefix of a backup (ends with /). */
  prefixOf(ref: BackupRef): string {
    checkRef(ref);
    return `${this.#base}${ref.project}/${ref.env}/${ref.id}/`;
  }

  location(ref: BackupRef): string {
    return `s3://${this.bucket}/${this.prefixOf(ref)}`;
  }

  async create(ref: BackupRef, signal: AbortSignal): Promise<BackupWriter> {
    const prefix = this.prefixOf(ref);
    if ((await this.#keys(prefix, signal)).length > 0) throw new ConflictError(`backup ${ref.id} already exists in ${this.location(ref)}`);
    return new S3Writer(this, ref, prefix, this.#opts);
  }

  async read(ref: BackupRef, file: string, signal: AbortSignal): Promise<Readable> {
    const key = `${this.prefixOf(ref)}${checkFileName(file)}`;
    // Only complete backups are read: the parts of one still being written (or abandoned) are not.
    if (file !== MANIFEST_FILE && !(await this.exists(`${this.prefixOf(ref)}${MANIFEST_FILE}`, signal))) {
      throw new NotFoundError(`backup ${ref.id} is not complete (no ${MANIFEST_FILE} in s3://${this.bucket}/${this.prefixOf(ref)})`, {data: {backup: ref.id, file}});
    }
    try {
      const res = await this.client.send(new GetObjectCommand({Bucket: this.bucket, Key: key}), {abortSignal: signal});
      return res.Body as Readable;
    } catch (err) {
      if (isNotFound(err)) throw new NotFoundError(`backup ${ref.id} has no ${file} (s3://${this.bucket}/${key})`, {data: {backup: ref.id, file}});
      throw s3Error(`cannot read s3://${this.bucket}/${key}`, err, signal);
    }
  }

  async list(ref: BackupRef, signal: AbortSignal): Promise<readonly StorageFileInfo[]> {
    const prefix = this.prefixOf(ref);
    const objects = await this.#objects(prefix, signal);
    if (!objects.some((o) => o.key === `${prefix}${MANIFEST_FILE}`)) return [];
    return objects.filter((o) => !o.key.slice(prefix.length).includes('/'))
      .map((o) => ({file: o.key.slice(prefix.length), sizeBytes: o.size}))
      .sort((a, b) => a.file.localeCompare(b.file));
  }

  async remove(ref: BackupRef, signal: AbortSignal): Promise<{readonly removed: boolean}> {
    const prefix = this.prefixOf(ref);
    const keys = await this.#keys(prefix, signal);
    const manifest = `${prefix}${MANIFEST_FILE}`;
    if (keys.includes(manifest)) {
      await this.#call(`cannot delete s3://${this.bucket}/${manifest}`, (o) => this.client.send(new DeleteObjectCommand({Bucket: this.bucket, Key: manifest}), o), signal);
    }
    await this.#deleteKeys(keys.filter((k) => k !== manifest), signal);
    const uploads = await this.#uploads(prefix, signal);
    for (const u of uploads) await this.#abortUpload(u.key, u.uploadId, signal);
    return {removed: keys.length > 0 || uploads.length > 0};
  }

  async listIncomplete(project: string, signal: AbortSignal): Promise<readonly IncompleteBackup[]> {
    if (!isEnvSegment(project)) return [];
    const base = `${this.#base}${project}/`;
    const out: IncompleteBackup[] = [];
    const parse = (key: string) => {
      const [env, id] = key.slice(base.length).split('/');
      return env && id && isEnvSegment(env) && isBackupId(id) ? {env, id} : undefined;
    };
    for (const u of await this.#uploads(base, signal)) {
      const p = parse(u.key);
      if (p) out.push({project, ...p, kind: 'multipart-upload', where: u.key, modifiedAt: u.initiated, handle: u.uploadId});
    }
    const groups = new Map<string, {env: string; id: string; manifest: boolean; newest: number}>();
    for (const o of await this.#objects(base, signal)) {
      const p = parse(o.key);
      if (!p) continue;
      const g = groups.get(`${p.env}/${p.id}`) ?? {...p, manifest: false, newest: 0};
      g.manifest ||= o.key.endsWith(`/${p.id}/${MANIFEST_FILE}`);
      g.newest = Math.max(g.newest, o.lastModified.getTime());
      groups.set(`${p.env}/${p.id}`, g);
    }
    for (const g of groups.values()) {
      if (!g.manifest) out.push({project, env: g.env, id: g.id, kind: 'unfinished', where: `${base}${g.env}/${g.id}/`, modifiedAt: new Date(g.newest)});
    }
    return out;
  }

  async removeIncomplete(item: IncompleteBackup, signal: AbortSignal): Promise<void> {
    const prefix = this.prefixOf(item);
    if (item.kind === 'multipart-upload' && item.handle && item.where.startsWith(prefix)) {
      await this.#abortUpload(item.where, item.handle, signal);
    } else if (item.kind === 'unfinished' && item.where === prefix) {
      const keys = await this.#keys(prefix, signal);
      if (keys.includes(`${prefix}${MANIFEST_FILE}`)) return; // completed since it was listed
      await this.#deleteKeys(keys, signal);
    } else {
      throw new InternalError(`not an incomplete backup of this storage: ${item.where}`);
    }
  }

  async #call<T>(what: string, fn: (opts: {abortSignal: AbortSignal}) => Promise<T>, signal: AbortSignal): Promise<T> {
    try {
      return await fn({abortSignal: signal});
    } catch (err) {
      throw s3Error(what, err, signal);
    }
  }

  async #objects(prefix: string, signal: AbortSignal): Promise<{key: string; size: number; lastModified: Date}[]> {
    const out: {key: string; size: number; lastModified: Date}[] = [];
    let token: string | undefined;
    do {
      const res = await this.#call(`cannot list s3://${this.bucket}/${prefix}`, (o) => this.client.send(
        new ListObjectsV2Command({Bucket: this.bucket, Prefix: prefix, ...(token ? {ContinuationToken: token} : {})}), o), signal);
      for (const o of res.Contents ?? []) {
        if (o.Key) out.push({key: o.Key, size: o.Size ?? 0, lastModified: o.LastModified ?? new Date(0)});
      }
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  async #keys(prefix: string, signal: AbortSignal): Promise<string[]> {
    return (await this.#objects(prefix, signal)).map((o) => o.key);
  }

  async #deleteKeys(keys: readonly string[], signal: AbortSignal): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      const res = await this.#call(`cannot delete objects in s3://${this.bucket}`, (o) => this.client.send(
        new DeleteObjectsCommand({Bucket: this.bucket, Delete: {Objects: batch.map((Key) => ({Key})), Quiet: true}}), o), signal);
      const failed = res.Errors ?? [];
      if (failed.length > 0) {
        throw new ProviderError(`cannot delete ${failed.length} object(s) in s3://${this.bucket}: ${failed[0]?.Key}: ${failed[0]?.Message}`, {retryable: true});
      }
    }
  }

  async #uploads(prefix: string, signal: AbortSignal): Promise<{key: string; uploadId: string; initiated: Date}[]> {
    const out: {key: string; uploadId: string; initiated: Date}[] = [];
    let keyMarker: string | undefined;
    let idMarker: string | undefined;
    do {
      const res = await this.#call(`cannot list multipart uploads of s3://${this.bucket}/${prefix}`, (o) => this.client.send(new ListMultipartUploadsCommand({
        Bucket: this.bucket, Prefix: prefix, ...(keyMarker ? {KeyMarker: keyMarker} : {}), ...(idMarker ? {UploadIdMarker: idMarker} : {}),
      }), o), signal);
      for (const u of res.Uploads ?? []) {
        if (u.Key && u.UploadId) out.push({key: u.Key, uploadId: u.UploadId, initiated: u.Initiated ?? new Date(0)});
      }
      [keyMarker, idMarker] = res.IsTruncated ? [res.NextKeyMarker, res.NextUploadIdMarker] : [undefined, undefined];
    } while (keyMarker);
    return out;
  }

  async #abortUpload(key: string, uploadId: string, signal: AbortSignal): Promise<void> {
    try {
      await this.client.send(new AbortMultipartUploadCommand({Bucket: this.bucket, Key: key, UploadId: uploadId}), {abortSignal: signal});
    } catch (err) {
      if (!isNotFound(err) && (err as {name?: string}).name !== 'NoSuchUpload') throw s3Error(`cannot abort upload ${uploadId} of ${key}`, err, signal);
    }
  }

  /** Used by the writer: aborts every open multipart upload under a prefix. */
  async abortUploadsUnder(prefix: string, signal: AbortSignal): Promise<void> {
    for (const u of await this.#uploads(prefix, signal)) await this.#abortUpload(u.key, u.uploadId, signal);
  }

  /** Used by the writer: deletes every object under a prefix. */
  async deleteUnder(prefix: string, signal: AbortSignal): Promise<void> {
    await this.#deleteKeys(await this.#keys(prefix, signal), signal);
  }

  async exists(key: string, signal: AbortSignal): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({Bucket: this.bucket, Key: key}), {abortSignal: signal});
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw s3Error(`cannot read s3://${this.bucket}/${key}`, err, signal);
    }
  }
}

class S3Writer implements BackupWriter {
  #manifestPut = false;
  #committed = false;

  constructor(
    private readonly storage: S3BackupStorage,
    readonly ref: BackupRef,
    private readonly prefix: string,
    private readonly opts: S3StorageOptions,
  ) {}

  async put(file: string, source: Readable, signal: AbortSignal): Promise<StoredFile> {
    checkFileName(file);
    if (this.#committed || this.#manifestPut) throw new InternalError(`cannot write ${file}: ${MANIFEST_FILE} was already written`);
    if (signal.aborted) throw new InterruptedError('interrupted', {cause: signal.reason});
    const key = `${this.prefix}${file}`;
    const body = new HashingStream();
    source.once('error', (err) => body.destroy(err));
    source.pipe(body);
    const checksum = this.opts.checksumAlgorithm === undefined ? 'SHA256' : this.opts.checksumAlgorithm;
    const upload = new Upload({
      client: this.storage.client,
      params: {Bucket: this.storage.bucket, Key: key, Body: body, ...(checksum ? {ChecksumAlgorithm: checksum} : {})},
      partSize: Math.max(5 * MIB, this.opts.partSizeBytes ?? 16 * MIB),
      queueSize: this.opts.queueSize ?? 2,
      leavePartsOnError: false,
    });
    const done = upload.done();
    // On abort, fail the body first: lib-storage then aborts the multipart upload before done() rejects.
    const onAbort = () => {
      body.destroy(new InterruptedError('interrupted'));
      source.destroy();
      setTimeout(() => void upload.abort(), this.opts.abortGraceMs ?? 15_000).unref();
    };
    signal.addEventListener('abort', onAbort, {once: true});
    try {
      await done;
    } catch (err) {
      source.destroy();
      throw s3Error(`cannot upload s3://${this.storage.bucket}/${key}`, err, signal);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    if (file === MANIFEST_FILE) {
      this.#manifestPut = true;
      this.#committed = true;
    }
    return {file, sizeBytes: body.bytes, sha256: body.digest()};
  }

  async commit(signal: AbortSignal): Promise<void> {
    if (!this.#manifestPut) throw new InternalError(`cannot complete backup ${this.ref.id}: ${MANIFEST_FILE} was not written`);
    if (!(await this.storage.exists(`${this.prefix}${MANIFEST_FILE}`, signal))) {
      throw new ProviderError(`backup ${this.ref.id}: ${MANIFEST_FILE} is not readable after writing it`, {retryable: true});
    }
  }

  async abort(): Promise<void> {
    if (this.#committed) return;
    const signal = AbortSignal.timeout(60_000);
    await this.storage.abortUploadsUnder(this.prefix, signal).catch(() => undefined);
    await this.storage.deleteUnder(this.prefix, signal).catch(() => undefined);
  }
}
