// Shared set-up of the backup integration tests: a state store (cloned test database) with a
// project, a local provider (its own PostgreSQL cluster) holding an Odoo database made by the
// stand-in plus filestore files, and the two storage backends with raw access for corruption.
import {GetObjectCommand, ListMultipartUploadsCommand, PutObjectCommand} from '@aws-sdk/client-s3';
import {execa} from 'execa';
import {createHash, randomBytes} from 'node:crypto';
import {existsSync} from 'node:fs';
import {mkdir, mkdtemp, readdir, readFile, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {systemClock} from '../../../src/core/clock.js';
import {nullSink} from '../../../src/core/events.js';
import {nullLogger} from '../../../src/core/logger.js';
import {databaseName} from '../../../src/core/odoo/database-name.js';
import {RunService} from '../../../src/core/run/run-service.js';
import {RunTypeRegistry} from '../../../src/core/run/run-types.js';
import {Secret} from '../../../src/core/secret.js';
import {BackupService, backupRunType, type BackupServiceDeps} from '../../../src/core/backup/backup-service.js';
import type {BackupProgress} from '../../../src/core/backup/backup-pipeline.js';
import type {BackupRef, BackupStorage} from '../../../src/core/storage/backup-storage.js';
import {FilesystemBackupStorage} from '../../../src/core/storage/filesystem-storage.js';
import {S3BackupStorage} from '../../../src/core/storage/s3-storage.js';
import {createTestDatabase, type TestDatabase} from '../../helpers/db.js';
import {startS3Server, type S3TestServer} from '../../helpers/s3-server.js';
import {makeLocalFixture, standinCode, type LocalFixture} from '../providers/local-fixture.js';
import {testConfig} from '../run/helpers.js';

export const PROJECT = 'shop';
export const ENV = 'production';
export const sig = () => AbortSignal.timeout(120_000);

export interface BackupFixture {
  readonly db: TestDatabase;
  readonly projectId: string;
  readonly local: LocalFixture;
  readonly database: string;
  readonly filestoreDir: string;
  /** The services' scratchDir (each backup's `backup-<id>` folder is made here). */
  readonly scratchDir: string;
  /** `backup-<id>` folders present in scratchDir. */
  scratchLeftovers(): Promise<string[]>;
  service(storage: BackupStorage, over?: Partial<BackupServiceDeps>): BackupService;
  cleanup(): Promise<void>;
}

/** Every file of a folder → sha256, relative paths. */
export async function treeHashes(dir: string, base = ''): Promise<Map<string, {size: number; sha256: string}>> {
  const out = new Map<string, {size: number; sha256: string}>();
  if (!existsSync(dir)) return out;
  for (const e of await readdir(join(dir, base), {withFileTypes: true})) {
    const rel = base ? `${base}/${e.name}` : e.name;
    if (e.isDirectory()) for (const [k, v] of await treeHashes(dir, rel)) out.set(k, v);
    else {
      const data = await readFile(join(dir, rel));
      out.set(rel, {size: data.length, sha256: createHash('sha256').update(data).digest('hex')});
    }
  }
  return out;
}

export async function makeBackupFixture(opts: {bigFileBytes?: number} = {}): Promise<BackupFixture> {
  const db = await createTestDatabase('bk');
  const {rows} = await db.pool.query<{id: string}>(`select (ops.create_project($1)).id as id`, [PROJECT]);
  const projectId = rows[0]!.id;
  const local = await makeLocalFixture();
  const database = databaseName(PROJECT, ENV);
  await local.provider.initDatabase({env: ENV, database, code: standinCode(), modules: ['base', 'mail'], demo: true}, sig());
  await db.pool.query(`select ops.upsert_environment($1, $2, 'production', 'main')`, [projectId, ENV]);
  await db.pool.query(`select ops.set_environment_state($1, $2, 'active', null, 'r1', $3)`, [projectId, ENV, database]);
  const filestoreDir = local.provider.filestore.location({env: ENV, database}).path;
  for (const [dir, name, data] of [
    ['3a', '3a94f1c2d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a3', Buffer.from('hello filestore\n')],
    ['7f', '7f0e1d2c3b4a59687766554433221100ffeeddcc', randomBytes(64 * 1024)],
    ['c0', 'c0ffee00112233445566778899aabbccddeeff00', randomBytes(opts.bigFileBytes ?? 6 * 1024 * 1024)],
  ] as const) {
    await mkdir(join(filestoreDir, dir), {recursive: true});
    await writeFile(join(filestoreDir, dir, name), data);
  }
  const runConfig = testConfig({leaseSeconds: 30});
  const scratchDir = await mkdtemp(join(tmpdir(), 'odoo-sh-backup-scratch-'));
  const service = (storage: BackupStorage, over: Partial<BackupServiceDeps> = {}) => {
    const deps: BackupServiceDeps = {
      pool: db.pool, projectId, project: PROJECT, provider: async () => local.provider, storage,
      config: {manualPerDay: 100}, clock: systemClock, logger: nullLogger, scratchDir, ...over,
    };
    const runs = new RunService({pool: db.pool, projectId, clock: systemClock, events: nullSink, logger: nullLogger, config: runConfig,
      runTypes: new RunTypeRegistry([backupRunType(deps)])});
    return new BackupService({...deps, runs: async () => runs});
  };
  return {
    db, projectId, local, database, filestoreDir, service, scratchDir,
    scratchLeftovers: async () => (await readdir(scratchDir)).filter((n) => n.startsWith('backup-')),
    async cleanup() {
      await rm(scratchDir, {recursive: true, force: true});
      await local.cleanup();
      await db.drop();
    },
  };
}

/** Progress that records phases and events (a run's context outside the run engine). */
export function progress(signal: AbortSignal): BackupProgress & {signal: AbortSignal; phases: string[]} {
  const phases: string[] = [];
  return {
    signal,
    phases,
    async phase(name, fn) {
      phases.push(name);
      return fn();
    },
    async event() {},
  };
}

/** A storage backend under test, with raw access to stored files (to corrupt them). */
export interface Backend {
  readonly name: 'filesystem' | 's3';
  readonly storage: BackupStorage;
  getRaw(ref: BackupRef, file: string): Promise<Buffer>;
  putRaw(ref: BackupRef, file: string, data: Buffer): Promise<void>;
  /** Leftovers of interrupted writes: partial folders, or open multipart uploads + prefixes without manifest. */
  leftovers(): Promise<string[]>;
  stop(): Promise<void>;
}

export async function filesystemBackend(): Promise<Backend> {
  const root = await mkdtemp(join(tmpdir(), 'odoo-sh-backups-'));
  const storage = new FilesystemBackupStorage(root);
  return {
    name: 'filesystem',
    storage,
    getRaw: (ref, file) => readFile(join(storage.dir(ref), file)),
    putRaw: (ref, file, data) => writeFile(join(storage.dir(ref), file), data),
    leftovers: async () => (await storage.listIncomplete(PROJECT, sig())).map((i) => i.where),
    stop: () => rm(root, {recursive: true, force: true}),
  };
}

export async function s3Backend(): Promise<Backend & {server: S3TestServer}> {
  const server = await startS3Server();
  const storage = new S3BackupStorage({
    bucket: server.bucket, prefix: 'team/backups', region: server.region, endpoint: server.endpoint, forcePathStyle: true,
    accessKeyId: new Secret(server.accessKeyId), secretAccessKey: new Secret(server.secretAccessKey),
    partSizeBytes: 5 * 1024 * 1024, queueSize: 2,
  });
  const key = (ref: BackupRef, file: string) => `${storage.prefixOf(ref)}${file}`;
  return {
    name: 's3',
    server,
    storage,
    getRaw: async (ref, file) => {
      const res = await storage.client.send(new GetObjectCommand({Bucket: server.bucket, Key: key(ref, file)}));
      return Buffer.from(await res.Body!.transformToByteArray());
    },
    putRaw: async (ref, file, data) => {
      await storage.client.send(new PutObjectCommand({Bucket: server.bucket, Key: key(ref, file), Body: data}));
    },
    leftovers: async () => {
      const uploads = await storage.client.send(new ListMultipartUploadsCommand({Bucket: server.bucket}));
      const incomplete = await storage.listIncomplete(PROJECT, sig());
      return [...(uploads.Uploads ?? []).map((u) => `upload ${u.Key}`), ...incomplete.map((i) => `${i.kind} ${i.where}`)];
    },
    stop: () => server.stop(),
  };
}

/** zstd -d / zstd via the CLI (tests repack archives). */
export async function zstd(data: Buffer, mode: 'compress' | 'decompress'): Promise<Buffer> {
  const {stdout} = await execa('zstd', [mode === 'compress' ? '-3' : '-d', '-q', '-c'], {input: data, encoding: 'buffer'});
  return Buffer.from(stdout);
}

/** Unpacks a tar into a temp folder, lets edit() change it, packs it again (GNU tar, posix format). */
export async function repackTar(tar: Buffer, edit: (dir: string) => Promise<void>): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'repack-'));
  try {
    await execa('tar', ['--extract', '--file=-', '--directory', dir], {input: tar});
    await edit(dir);
    const {stdout} = await execa('tar', ['--create', '--file=-', '--format=posix', '--directory', dir, '.'], {encoding: 'buffer'});
    return Buffer.from(stdout);
  } finally {
    await rm(dir, {recursive: true, force: true});
  }
}
