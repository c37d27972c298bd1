/**
 * Staging from the newest production backup (issue 4 point 6): with backups.cloneFromBackupMaxAge
 * set and a backup younger than that, the clone loads the backup (production is not read), so
 * data written to production after the backup is absent; past the age it copies live production.
 */
import {existsSync} from 'node:fs';
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import pg from 'pg';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {systemClock} from '../../../src/core/clock.js';
import {BackupService, backupRunType, type BackupServiceDeps} from '../../../src/core/backup/backup-service.js';
import {partFile} from '../../../src/core/backup/backup-manifest.js';
import {cloneBackupDeps} from '../../../src/core/clone/clone-from-backup.js';
import {cloneRunType, type CloneRunDeps} from '../../../src/core/clone/clone-run-type.js';
import {DEFAULT_BRANCH_RULES, type EnvType} from '../../../src/core/env/branch-rules.js';
import {EnvironmentRepository} from '../../../src/core/environments/environment-repository.js';
import {EnvironmentService} from '../../../src/core/environments/environment-service.js';
import {nullLogger} from '../../../src/core/logger.js';
import {databaseUrl} from '../../../src/core/neutralize/env-database.js';
import {databaseName} from '../../../src/core/odoo/database-name.js';
import type {RunService} from '../../../src/core/run/run-service.js';
import {FilesystemBackupStorage} from '../../../src/core/storage/filesystem-storage.js';
import {waitHealthy, type ReleaseInstance} from '../../../src/providers/provider.js';
import {makeLocalFixture, type LocalFixture} from '../providers/local-fixture.js';
import {runTestEnv, type RunTestEnv} from '../run/helpers.js';

const sig = () => AbortSignal.timeout(120_000);
const CANARY = 'written-after-the-backup';

let fx: LocalFixture;
let store: RunTestEnv;
let repo: EnvironmentRepository;
let prod: ReleaseInstance;
let backupRoot: string;
let storage: FilesystemBackupStorage;
let backupId: string;
const prodDb = () => databaseName(fx.project, 'production');

function runs(maxAgeMs: number): RunService {
  const fromBackup = cloneBackupDeps({pool: store.db.pool, projectId: store.projectId, maxAge: {ms: maxAgeMs}, storage: async () => storage});
  const deps: CloneRunDeps = {
    project: fx.project,
    odoo: {version: fx.code.version, bin: fx.code.bin, addons: []},
    provider: async () => fx.provider,
    environments: async () => repo,
    clock: systemClock,
    scratchDir: join(fx.projectRoot, '.odoo-sh-next', 'tmp'),
    healthTimeoutMs: 30_000,
    fromBackup,
  };
  return store.service({handlers: [cloneRunType(deps), backupRunType(backupDeps())], leaseSeconds: 30});
}

function backupDeps(): BackupServiceDeps {
  return {
    pool: store.db.pool, projectId: store.projectId, project: fx.project, provider: async () => fx.provider, storage,
    config: {manualPerDay: 100}, clock: systemClock, logger: nullLogger,
  };
}

function envService(service: RunService): EnvironmentService {
  return new EnvironmentService({cwd: fx.projectRoot, clock: systemClock, rules: DEFAULT_BRANCH_RULES, defaultModules: ['base'], environments: repo, runs: service});
}

async function onDb<T>(database: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const handle = await fx.provider.database('production', sig());
  const c = new pg.Client({connectionString: databaseUrl(handle.adminUrl.reveal(), database), application_name: 'clone-backup-test'});
  c.on('error', () => undefined);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

const canaries = (database: string) => onDb(database, async (c) =>
  Number((await c.query<{n: string}>('select count(*) as n from res_partner where name = $1', [CANARY])).rows[0]!.n));

async function messages(runId: string): Promise<string[]> {
  const {rows} = await store.db.pool.query<{message: string}>('select message from ops.run_events where run_id = $1 order by id', [runId]);
  return rows.map((r) => r.message);
}

/** A clone while a session holds production (so no template copy: the backup-or-live choice decides). */
async function cloneHeld(maxAgeMs: number) {
  return onDb(prodDb(), async () => envService(runs(maxAgeMs)).clone({from: 'production', to: 'staging', signal: sig()}));
}

beforeAll(async () => {
  [fx, store] = await Promise.all([makeLocalFixture(), runTestEnv('clonebk')]);
  repo = new EnvironmentRepository(store.db.pool, store.projectId);
  backupRoot = await mkdtemp(join(tmpdir(), 'odoo-sh-clone-backups-'));
  storage = new FilesystemBackupStorage(backupRoot);
  await fx.provider.initDatabase({env: 'production', database: prodDb(), code: fx.code, modules: ['base', 'mail'], demo: true}, sig());
  prod = await fx.provider.startRelease(
    {env: 'production', envType: 'production', release: 'r1', launchId: 'prod-r1', database: prodDb(), code: fx.code}, sig());
  await waitHealthy(fx.provider, prod, {timeoutMs: 30_000, clock: systemClock, signal: sig()});
  const {url} = await fx.provider.route('production', prod, sig());
  await repo.upsert({name: 'production', type: 'production' as EnvType, branch: 'main', ttlExpiresAt: null});
  await repo.setState({name: 'production', status: 'active', url, release: 'r1', database: prodDb()});
  const backupRuns = runs(3600_000);
  const made = await new BackupService({...backupDeps(), runs: async () => backupRuns}).create({env: 'production', kind: 'manual', signal: sig()});
  expect(made.run.state, JSON.stringify(made.run.result)).toBe('succeeded');
  backupId = made.backup!.id;
  // Written after the backup: only a live copy has it.
  await onDb(prodDb(), (c) => c.query(`insert into res_partner (name, email) values ($1, 'canary@example.com')`, [CANARY]));
});

afterAll(async () => {
  await fx?.cleanup();
  await store?.db.drop();
  if (backupRoot) await rm(backupRoot, {recursive: true, force: true});
});

describe('db clone from the newest backup (backups.cloneFromBackupMaxAge)', () => {
  it('uses a backup younger than the limit: data written after it is absent, the filestore is there', async () => {
    const res = await cloneHeld(3600_000);
    expect(res.run.state, JSON.stringify(res.run.result)).toBe('succeeded');
    expect(res.strategy).toBe('backup');
    const result = res.run.result as Record<string, unknown>;
    expect(result['backupId']).toBe(backupId);
    expect(res.copiedFrom).toMatch(new RegExp(`^from backup ${backupId} taken \\d+ min ago$`));
    expect(result['copiedFrom']).toBe(res.copiedFrom);
    expect((await messages(res.run.id)).some((m) => m.includes(`from backup ${backupId} taken`))).toBe(true);
    expect(await canaries(prodDb())).toBe(1);
    expect(await canaries(res.database!)).toBe(0);
    const files = await onDb(res.database!, async (c) => (await c.query<{f: string}>(
      'select distinct store_fname as f from ir_attachment where store_fname is not null')).rows.map((r) => r.f));
    expect(files.length).toBeGreaterThan(0);
    const dir = fx.provider.filestore.location({env: 'staging', database: res.database!}).path;
    for (const f of files) expect(existsSync(join(dir, f)), f).toBe(true);
    const params = await onDb(res.database!, async (c) => Object.fromEntries((await c.query<{key: string; value: string}>(
      'select key, value from ir_config_parameter')).rows.map((r) => [r.key, r.value])));
    expect(params['database.is_neutralized']).toBe('true');
    expect((await fetch(`${res.url}/web/health`)).status).toBe(200);
  });

  it('copies live production when the newest backup is older than the limit: the later data is present', async () => {
    const res = await cloneHeld(1);
    expect(res.run.state, JSON.stringify(res.run.result)).toBe('succeeded');
    expect(res.strategy).toBe('dump-restore');
    const result = res.run.result as Record<string, unknown>;
    expect(res.copiedFrom).toBe('live copy');
    expect(result['backupId']).toBeNull();
    expect(await canaries(res.database!)).toBe(1);
  });

  it('falls back to a live copy when the backup cannot be loaded (a corrupt dump), and says so', async () => {
    const file = join(storage.dir({project: fx.project, env: 'production', id: backupId}), partFile('database', 'pg_dump-directory+tar'));
    const original = await readFile(file);
    const corrupt = Buffer.from(original);
    corrupt[Math.floor(corrupt.length / 2)]! ^= 0xff;
    await writeFile(file, corrupt);
    try {
      const res = await cloneHeld(3600_000);
      expect(res.run.state, JSON.stringify(res.run.result)).toBe('succeeded');
      expect(res.strategy).toBe('dump-restore');
      expect((res.run.result as Record<string, unknown>)['copiedFrom']).toBe('live copy');
      expect((await messages(res.run.id)).some((m) => m.startsWith(`could not clone from backup ${backupId}`))).toBe(true);
      expect(await canaries(res.database!)).toBe(1);
    } finally {
      await writeFile(file, original);
    }
  });
});
