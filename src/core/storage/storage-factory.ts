/** Builds the configured backup storage (backups.storage); the S3 client is loaded only when used. */
import type {BackupStorage as BackupStorageConfig} from '../config/schema.js';
import type {BackupStorage} from './backup-storage.js';
import type {S3StorageOptions} from './s3-storage.js';

export interface StorageFactoryOptions {
  /** Tuning of the S3 backend (part size, queue size, checksums). */
  readonly s3?: Partial<Pick<S3StorageOptions, 'partSizeBytes' | 'queueSize' | 'checksumAlgorithm' | 'abortGraceMs'>>;
}

export async function createBackupStorage(config: BackupStorageConfig, opts: StorageFactoryOptions = {}): Promise<BackupStorage> {
  if (config.type === 'filesystem') {
    const {FilesystemBackupStorage} = await import('./filesystem-storage.js');
    return new FilesystemBackupStorage(config.path);
  }
  const {S3BackupStorage} = await import('./s3-storage.js');
  return new S3BackupStorage({
    bucket: config.bucket,
    prefix: config.prefix,
    region: config.region,
    endpoint: config.endpoint,
    forcePathStyle: config.forcePathStyle,
    accessKeyId: config.accessKeyId,
    secretAccessKey: config.secretAccessKey,
    sessionToken: config.sessionToken,
    ...opts.s3,
  });
}
