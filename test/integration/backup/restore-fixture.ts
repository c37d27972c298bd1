// Shared set-up of the restore/import integration tests: a state store with a project, a local
// provider (own PostgreSQL cluster) running the Odoo stand-in for two environments (main:
// production, stage: staging), the run engine with preview-up, backup and restore run types.
import {createHash, randomBytes} from 'node:crypto';
import {existsSync} from 'node:fs';
import {mkdir, readFile, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {systemClock} from '../../../src/core/clock.js';
import type {EventSink, ProgressEvent} from '../../../src/core/events.js';
import {nullLogger} from '../../../src/core/logger.js';
import {EnvironmentRepository} from '../../../src/core/environments/environment-repository.js';
import {previewUpRunType} from '../../../src/core/environments/lifecycle-run-types.js';
import {RunService} from '../../../src/core/run/run-service.js';
import {RunTypeRegistry} from '../../../src/core/run/run-types.js';
import {BackupService, backupRunType, type BackupServiceDeps} from '../../../src/core/backup/backup-service.js';
import {RestoreRepository} from '../../../src/core/backup/restore-repository.js';
import {restoreRunType, type RestoreDeps} from '../../../src/core/backup/restore-run-type.js';
import {RestoreService} from '../../../src/core/backup/restore-service.js';
import {copyRows, queryOne} from '../../../src/core/backup/restore-database.js';
import type {BackupStorage} from '../../../src/core/storage/backup-storage.js';
import {withEnvDatabase} from '../../../src/core/neutralize/env-database.js';
import {createTestDatabase, type TestDatabase} from '../../helpers/db.js';
import {makeLocalFixture, STANDIN_BIN, type LocalFixture} from '../providers/local-fixture.js';
import {testConfig} from '../run/helpers.js';
import {treeHashes} from './backup-fixture.js';

export const PROJECT = 'shop';
export const sig = () => AbortSignal.timeout(120_000);

/** Applies 000010.sql when the test template predates it (generated migrations not rebuilt yet). */
async function ensureRestoreMigration(db: TestDatabase): Promise<void> {
  const {rows} = await db.pool.query<{ok: boolean}>(`select to_regprocedure('ops.record_restore_switch(uuid,text,text,timestamptz)') is not null as ok`);
  if (rows[0]?.ok) return;
  const sql = await readFile(join(import.meta.dirname, '../../../src/core/store/migrations/000010.sql'), 'utf8');
  await db.pool.query(sql);
}

export interface RestoreFixture {
  readonly db: TestDatabase;
  readonly projectId: string;
  readonly local: LocalFixture;
  readonly envs: EnvironmentRepository;
  readonly restores: RestoreRepository;
  readonly runs: RunService;
  readonly service: RestoreService;
  readonly backups: BackupService;
  /** What `backups` is made of (to make a service writing another format). */
  readonly backupDeps: BackupServiceDeps;
  /** Phase-start events of runs go here too (tests abort at chosen phases). */
  onEvent: ((e: ProgressEvent) => void) | undefined;
  setStorage(storage: BackupStorage): void;
  up(env: string, type: 'production' | 'staging'): Promise<void>;
  database(env: string): Promise<string>;
  cleanup(): Promise<void>;
}

export async function makeRestoreFixture(over: Partial<RestoreDeps> = {}): Promise<RestoreFixture> {
  const db = await createTestDatabase('rs');
  await ensureRestoreMigration(db);
  const {rows} = await db.pool.query<{id: string}>(`select (ops.create_project($1)).id as id`, [PROJECT]);
  const projectId = rows[0]!.id;
  const local = await makeLocalFixture();
  const envs = new EnvironmentRepository(db.pool, projectId);
  const restores = new RestoreRepository(db.pool, projectId);
  let storage: BackupStorage | undefined;
  // Services memoize their storage: hand them a stand-in that forwards to the current one.
  const current = new Proxy({} as BackupStorage, {
    get: (_t, key) => {
      if (!storage) throw new Error('no storage set');
      const v = (storage as unknown as Record<string | symbol, unknown>)[key];
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(storage) : v;
    },
  });
  const getStorage = async () => current;
  const fixture: Partial<RestoreFixture> & {onEvent: RestoreFixture['onEvent']} = {onEvent: undefined};
  const events: EventSink = {emit: (e) => fixture.onEvent?.(e)};
  const odoo = {version: '17.0', bin: STANDIN_BIN, addons: []};
  const provider = async () => local.provider;
  const backupDeps: BackupServiceDeps = {
    pool: db.pool, projectId, project: PROJECT, provider, storage: getStorage, config: {manualPerDay: 100}, clock: systemClock, logger: nullLogger,
  };
  const backupsNoRuns = new BackupService(backupDeps);
  const restoreDeps: RestoreDeps = {
    project: PROJECT, odoo, provider, environments: async () => envs, restores: async () => restores, storage: getStorage,
    clock: systemClock, healthTimeoutMs: 30_000,
    safetyBackup: async ({env, runId, ctx}) => ({id: (await backupsNoRuns.runBackup({...ctx, signal: ctx.signal}, {env, kind: 'safety', runId})).backupId}),
    ...over,
  };
  const runs = new RunService({
    pool: db.pool, projectId, clock: systemClock, events, logger: nullLogger, config: testConfig({leaseSeconds: 30, runMaxAttempts: 1}),
    runTypes: new RunTypeRegistry([
      previewUpRunType({project: PROJECT, odoo, provider, environments: async () => envs, clock: systemClock}),
      backupRunType(backupDeps),
      restoreRunType(restoreDeps),
    ]),
  });
  const backups = new BackupService({...backupDeps, runs: async () => runs});
  const service = new RestoreService({
    project: PROJECT, provider, environments: async () => envs, restores: async () => restores, storage: getStorage, runs: async () => runs, clock: systemClock,
  });
  return Object.assign(fixture, {
    db, projectId, local, envs, restores, runs, service, backups, backupDeps,
    setStorage: (s: BackupStorage) => {
      storage = s;
    },
    async up(env: string, type: 'production' | 'staging') {
      await envs.upsert({name: env, type, branch: env, ttlExpiresAt: null});
      const run = await runs.create({type: 'preview-up', env, payload: {type, branch: env, modules: ['base', 'mail'], demo: true}});
      if (run.state !== 'succeeded') throw new Error(`preview-up of ${env}: ${run.state} ${JSON.stringify(run.result)}`);
    },
    async database(env: string) {
      return (await envs.get(env)).databaseName!;
    },
    async cleanup() {
      await local.cleanup();
      await db.drop();
    },
  }) as RestoreFixture;
}

/** Adds attachments with files (content-addressed like Odoo) and partners to an env's database. */
export async function addData(f: RestoreFixture, env: string, tag: string, files = 3): Promise<void> {
  const database = await f.database(env);
  const dir = f.local.provider.filestore.location({env, database}).path!;
  await withEnvDatabase(f.local.provider, env, database, sig(), async (c) => {
    for (let i = 0; i < files; i++) {
      const content = Buffer.concat([Buffer.from(`${tag}-${i}-`), randomBytes(2000 + i * 5000)]);
      const sha1 = createHash('sha1').update(content).digest('hex');
      await mkdir(join(dir, sha1.slice(0, 2)), {recursive: true});
      await writeFile(join(dir, sha1.slice(0, 2), sha1), content);
      await c.query(`insert into ir_attachment (name, type, res_model, res_id, store_fname, checksum, file_size, mimetype)
        values ($1, 'binary', 'res.partner', 1, $2, $3, $4, 'application/octet-stream')`, [`${tag}-${i}.bin`, `${sha1.slice(0, 2)}/${sha1}`, sha1, content.length]);
      await c.query(`insert into res_partner (name, email) values ($1, $2)`, [`Partner ${tag} ${i}`, `${tag}${i}@example.com`]);
    }
  });
}

/** md5 of every table of the public schema (rows ordered by their text) + the filestore files. */
export async function snapshot(f: RestoreFixture, env: string, database?: string): Promise<{tables: Record<string, string>; files: Record<string, string>}> {
  const db = database ?? await f.database(env);
  const handle = await f.local.provider.database(env, sig());
  const names: string[] = [];
  await copyRows(handle, db, `select tablename from pg_tables where schemaname = 'public' order by 1`, (r) => names.push(r[0]!), sig());
  const tables: Record<string, string> = {};
  for (const t of names) {
    tables[t] = (await queryOne(handle, db, `select count(*) || ':' || coalesce(md5(string_agg(x::text, '|' order by x::text)), '') from public.${t} x`, sig()))[0]!;
  }
  const files: Record<string, string> = {};
  const dir = f.local.provider.filestore.location({env, database: db}).path!;
  for (const [k, v] of await treeHashes(dir)) files[k] = v.sha256;
  return {tables, files};
}

export async function dbExists(f: RestoreFixture, env: string, database: string): Promise<boolean> {
  return (await f.local.provider.database(env, sig())).databaseExists(database, sig());
}

export function filestoreExists(f: RestoreFixture, env: string, database: string): boolean {
  return existsSync(f.local.provider.filestore.location({env, database}).path!);
}

/** The environment's running instances (database, launch) and a health probe of its URL. */
export async function serving(f: RestoreFixture, env: string): Promise<{databases: string[]; healthy: boolean}> {
  const running = (await f.local.provider.list({env}, sig())).filter((i) => i.state === 'running');
  const url = (await f.envs.get(env)).url;
  const healthy = url ? (await fetch(new URL('/web/health', url)).then((r) => r.status === 200, () => false)) : false;
  return {databases: running.map((i) => i.database), healthy};
}
