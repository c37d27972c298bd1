/**
 * Staging from a fresh production clone on real PostgreSQL: the local provider with the Odoo
 * stand-in (its own cluster) and the state store on the test cluster.
 */
import {existsSync} from 'node:fs';
import {mkdir, readFile, unlink} from 'node:fs/promises';
import {join} from 'node:path';
import pg from 'pg';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {systemClock} from '../../../src/core/clock.js';
import {cloneDatabasePattern} from '../../../src/core/clone/clone-plan.js';
import {cloneRunType, type CloneRunDeps} from '../../../src/core/clone/clone-run-type.js';
import {prepareClonedDatabase} from '../../../src/core/clone/prepare-clone.js';
import type {CloneResult} from '../../../src/core/clone/clone-service.js';
import {copyByStream, matchingDatabases} from '../../../src/core/clone/staging-database.js';
import {DEFAULT_BRANCH_RULES, type EnvType} from '../../../src/core/env/branch-rules.js';
import {envNameForBranch} from '../../../src/core/env/env-name.js';
import {EnvironmentRepository} from '../../../src/core/environments/environment-repository.js';
import {EnvironmentService} from '../../../src/core/environments/environment-service.js';
import {NotFoundError, ProviderError, UsageError} from '../../../src/core/errors.js';
import {databaseUrl} from '../../../src/core/neutralize/env-database.js';
import {databaseName} from '../../../src/core/odoo/database-name.js';
import type {RunService} from '../../../src/core/run/run-service.js';
import {waitHealthy, type ReleaseInstance} from '../../../src/providers/provider.js';
import {makeLocalFixture, type LocalFixture} from '../providers/local-fixture.js';
import {runTestEnv, type RunTestEnv} from '../run/helpers.js';

const sig = () => AbortSignal.timeout(120_000);

let fx: LocalFixture;
let store: RunTestEnv;
let repo: EnvironmentRepository;
let prod: ReleaseInstance;
const prodDb = () => databaseName(fx.project, 'production');

function envService(runs: RunService): EnvironmentService {
  return new EnvironmentService({cwd: fx.projectRoot, clock: systemClock, rules: DEFAULT_BRANCH_RULES, defaultModules: ['base'], environments: repo, runs});
}

function runs(over: Partial<CloneRunDeps> = {}): RunService {
  const deps: CloneRunDeps = {
    project: fx.project,
    odoo: {version: fx.code.version, bin: fx.code.bin, addons: []},
    provider: async () => fx.provider,
    environments: async () => repo,
    clock: systemClock,
    scratchDir: join(fx.projectRoot, '.odoo-sh-next', 'tmp'),
    healthTimeoutMs: 30_000,
    ...over,
  };
  return store.service({handlers: [cloneRunType(deps)], leaseSeconds: 10});
}

/** A superuser client on a database of the provider's cluster. */
async function connect(database: string): Promise<pg.Client> {
  const handle = await fx.provider.database('production', sig());
  const c = new pg.Client({connectionString: databaseUrl(handle.adminUrl.reveal(), database), application_name: 'clone-test'});
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

async function onDb<T>(database: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = await connect(database);
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

const params = (database: string) => onDb(database, async (c) =>
  Object.fromEntries((await c.query<{key: string; value: string}>('select key, value from ir_config_parameter')).rows.map((r) => [r.key, r.value])));

const COUNTED = ['res_partner', 'res_users', 'ir_attachment', 'ir_module_module', 'ir_model_data'];
const counts = (database: string) => onDb(database, async (c) => {
  const out: Record<string, number> = {};
  for (const t of COUNTED) out[t] = Number((await c.query<{n: string}>(`select count(*) as n from ${t}`)).rows[0]!.n);
  return out;
});

async function events(runId: string): Promise<{phase: string | null; message: string}[]> {
  const {rows} = await store.db.pool.query<{phase: string | null; message: string}>(
    'select phase, message from ops.run_events where run_id = $1 order by id', [runId]);
  return rows;
}

beforeAll(async () => {
  [fx, store] = await Promise.all([makeLocalFixture(), runTestEnv('clone')]);
  repo = new EnvironmentRepository(store.db.pool, store.projectId);
  // Production: a fresh database with demo data (partners, attachments in the filestore), serving.
  await fx.provider.initDatabase({env: 'production', database: prodDb(), code: fx.code, modules: ['base', 'mail'], demo: true}, sig());
  prod = await fx.provider.startRelease(
    {env: 'production', envType: 'production', release: 'r1', launchId: 'prod-r1', database: prodDb(), code: fx.code}, sig());
  // An older creation date than any clone's (dates have one-second resolution).
  await onDb(prodDb(), (c) => c.query(`update ir_config_parameter set value = '2020-01-01 00:00:00' where key = 'database.create_date'`));
  await waitHealthy(fx.provider, prod, {timeoutMs: 30_000, clock: systemClock, signal: sig()});
  const {url} = await fx.provider.route('production', prod, sig());
  await repo.upsert({name: 'production', type: 'production' as EnvType, branch: 'main', ttlExpiresAt: null});
  await repo.setState({name: 'production', status: 'active', url, release: 'r1', database: prodDb()});
});

afterAll(async () => {
  await fx?.cleanup();
  await store?.db.drop();
});

describe('db clone --from production --to staging', () => {
  let first: CloneResult;

  it('copies live production without stopping it or cutting its connections', async () => {
    const held = await connect(prodDb());
    const pid = (await held.query<{pid: number}>('select pg_backend_pid() as pid')).rows[0]!.pid;
    await held.query('create temp table kept (x int)'); // session state that a terminated connection would lose
    const failures: string[] = [];
    let probes = 0;
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const res = await fetch(`${prod.url}/web/health`).catch((err: Error) => ({status: err.message}));
        probes += 1;
        if (res.status !== 200) failures.push(String(res.status));
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    try {
      first = await envService(runs()).clone({from: 'production', to: 'staging', signal: sig()});
    } finally {
      polling = false;
      await poller;
    }
    expect(first.run.state, JSON.stringify(first.run.result)).toBe('succeeded');
    expect(first.strategy).toBe('dump-restore');
    expect(first.database).toMatch(cloneDatabasePattern(fx.project, 'staging'));
    expect(probes).toBeGreaterThan(3);
    expect(failures).toEqual([]);
    expect((await held.query<{pid: number}>('select pg_backend_pid() as pid')).rows[0]!.pid).toBe(pid);
    await held.query('insert into kept values (1)');
    await held.end();
    expect((await fetch(`${prod.url}/web/health`)).status).toBe(200);
  });

  it('gives the clone production\'s data and filestore under a new identity and the staging URL', async () => {
    const db = first.database!;
    expect(await counts(db)).toEqual(await counts(prodDb()));
    const [p, s] = [await params(prodDb()), await params(db)];
    expect(s['database.uuid']).toBeTruthy();
    expect(s['database.uuid']).not.toBe(p['database.uuid']);
    expect(s['database.secret']).not.toBe(p['database.secret']);
    expect(s['database.create_date']).not.toBe(p['database.create_date']);
    expect(s['web.base.url']).toBe(first.url);
    expect(s['web.base.url.freeze']).toBe('True');
    expect(s['database.is_neutralized']).toBe('true');
    const files = await onDb(db, async (c) => (await c.query<{f: string}>(
      `select distinct store_fname as f from ir_attachment where store_fname is not null`)).rows.map((r) => r.f));
    expect(files.length).toBeGreaterThan(0);
    const dir = fx.provider.filestore.location({env: 'staging', database: db}).path;
    for (const f of files) expect(existsSync(join(dir, f)), f).toBe(true);
    const env = await repo.get('staging');
    expect(env).toMatchObject({type: 'staging', status: 'active', databaseName: db, url: first.url});
    expect((await fetch(`${first.url}/web/health`)).status).toBe(200);
    expect((await fetch(`${first.url}/web/login`)).status).toBe(200);
  });

  it('a second build with production stopped copies by template, then drops the previous database only after the new one is healthy', async () => {
    await fx.provider.stop(prod, sig());
    // What a killed build of staging left in the scratch folder goes; another env's stays.
    const scratch = join(fx.projectRoot, '.odoo-sh-next', 'tmp');
    await mkdir(join(scratch, 'clone-staging-999-1', 'dump'), {recursive: true});
    await mkdir(join(scratch, 'clone-staging-x-5-1'), {recursive: true});
    const second = await envService(runs()).clone({from: 'production', to: 'staging', signal: sig()});
    expect(second.run.state, JSON.stringify(second.run.result)).toBe('succeeded');
    expect(existsSync(join(scratch, 'clone-staging-999-1'))).toBe(false);
    expect(existsSync(join(scratch, 'clone-staging-x-5-1'))).toBe(true);
    expect(second.strategy).toBe('template');
    expect(second.database).not.toBe(first.database);
    const log = await events(second.run.id);
    const healthy = log.findIndex((e) => e.phase === 'health' && e.message === 'health done');
    const dropped = log.findIndex((e) => e.message.startsWith(`dropped previous database ${first.database}`));
    expect(healthy).toBeGreaterThan(-1);
    expect(dropped).toBeGreaterThan(healthy);
    const handle = await fx.provider.database('staging', sig());
    expect(await handle.databaseExists(first.database!, sig())).toBe(false);
    expect(await handle.databaseExists(second.database!, sig())).toBe(true);
    expect(existsSync(fx.provider.filestore.location({env: 'staging', database: first.database!}).path)).toBe(false);
    expect((await fx.provider.list({env: 'staging'}, sig())).map((i) => i.database)).toEqual([second.database]);
    expect((await repo.get('staging')).databaseName).toBe(second.database);
    expect((await fetch(`${second.url}/web/health`)).status).toBe(200);
    first = second;
  });

  it('a failed build leaves staging on its previous database and removes its own copy', async () => {
    const failing = runs({prepare: async () => {
      throw new ProviderError('neutralization check failed: an active mail server remains');
    }});
    const res = await envService(failing).clone({from: 'production', to: 'staging', signal: sig()});
    expect(res.run.state).toBe('failed');
    const handle = await fx.provider.database('staging', sig());
    expect(await matchingDatabases(handle, cloneDatabasePattern(fx.project, 'staging'), sig())).toEqual([first.database]);
    const env = await repo.get('staging');
    expect(env).toMatchObject({status: 'active', databaseName: first.database});
    expect((await fetch(`${env.url}/web/health`)).status).toBe(200);
  });

  it('a build whose Odoo fails its checks brings the previous release back', async () => {
    const broken = runs({prepare: async (o) => {
      const result = await prepareClonedDatabase(o);
      await onDb(o.database, (c) => c.query('drop table ir_module_module cascade')); // the registry cannot load: /web/login fails
      return result;
    }});
    const before = await repo.get('staging');
    const res = await envService(broken).clone({from: 'production', to: 'staging', signal: sig()});
    expect(res.run.state).toBe('failed');
    expect(JSON.stringify(res.run.result)).toMatch(/smoke check failed/);
    const log = (await events(res.run.id)).map((e) => e.message);
    expect(log.some((m) => m.includes('the previous release runs again'))).toBe(true);
    const env = await repo.get('staging');
    expect(env).toMatchObject({status: 'active', databaseName: before.databaseName});
    expect((await fetch(`${env.url}/web/login`)).status).toBe(200);
    expect((await params(before.databaseName!))['web.base.url']).toBe(env.url);
    const handle = await fx.provider.database('staging', sig());
    expect(await matchingDatabases(handle, cloneDatabasePattern(fx.project, 'staging'), sig())).toEqual([before.databaseName]);
    expect((await fx.provider.list({env: 'staging'}, sig())).filter((i) => i.state === 'running').map((i) => i.database)).toEqual([before.databaseName]);
  });

  it('refuses to clone into production (usage) and needs an up production (not found)', async () => {
    const service = envService(runs());
    await expect(service.clone({from: 'production', to: 'production'})).rejects.toBeInstanceOf(UsageError);
    await expect(service.clone({from: 'nope', to: 'staging-2'})).rejects.toThrow(NotFoundError);
    await expect(service.clone({from: 'nope', to: 'staging-2'})).rejects.toThrow(/bring production up first/);
    expect(await repo.find('staging-2')).toBeUndefined();
  });
});

describe('event push of a release branch', () => {
  it('builds a running staging environment from production', async () => {
    const out = await envService(runs()).push({ref: 'refs/heads/release/x', sha: 'a1b2c3d', signal: sig()});
    expect(out.action).toBe('staging-clone');
    expect(out.result.run.state, JSON.stringify(out.result.run.result)).toBe('succeeded');
    const name = envNameForBranch('release/x');
    expect(out.result.env).toBe(name);
    expect(await repo.get(name)).toMatchObject({type: 'staging', branch: 'release/x', status: 'active', currentRelease: 'a1b2c3d'});
    expect((await fetch(`${out.result.url}/web/login`)).status).toBe(200);
  });
});

describe('LocalFilestore.copy', () => {
  it('shares nothing a clone can change: unlinking in the copy leaves production\'s files', async () => {
    const fs = fx.provider.filestore;
    const from = {env: 'production', database: prodDb()};
    const to = {env: 'copy-check', database: `${fx.dbPrefix}_copy_check`};
    await fs.copy(from, to, sig());
    const names = await onDb(prodDb(), async (c) => (await c.query<{f: string}>(
      'select distinct store_fname as f from ir_attachment where store_fname is not null')).rows.map((r) => r.f));
    const [src, dst] = [fs.location(from).path, fs.location(to).path];
    for (const f of names) expect(await readFile(join(dst, f))).toEqual(await readFile(join(src, f)));
    await unlink(join(dst, names[0]!));
    expect(existsSync(join(src, names[0]!))).toBe(true);
    await fs.remove(to, sig());
    expect(existsSync(join(src, names[0]!))).toBe(true);
  });
});

describe('copyByStream', () => {
  it('copies a database through one pg_dump | pg_restore stream', async () => {
    const handle = await fx.provider.database('production', sig());
    const target = `${fx.dbPrefix}_streamed`;
    await copyByStream({handle, database: prodDb()}, {handle, database: target}, sig());
    expect(await counts(target)).toEqual(await counts(prodDb()));
    const owner = await onDb(target, async (c) => (await c.query<{o: string}>(
      `select tableowner as o from pg_tables where tablename = 'res_partner'`)).rows[0]!.o);
    expect(owner).toBe(handle.ownerRole);
    await handle.dropDatabase(target, sig());
  });
});
