/**
 * Restores on real PostgreSQL with the local provider and the Odoo stand-in: a backup → restore
 * round trip gives identical tables and filestore bytes (filesystem and S3 storage), the
 * environment switches to a NEW database and keeps the previous one until --confirm, a restore
 * interrupted at any phase leaves the environment on its old data with Odoo serving it.
 */
import {execa} from 'execa';
import {existsSync, readdirSync, rmSync} from 'node:fs';
import {mkdir, mkdtemp, symlink, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {dirname, join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {confirmationDecision, confirmationRefused, planRestore, restoreDatabaseName} from '../../../src/core/backup/restore-plan.js';
import type {Backend} from './backup-fixture.js';
import {filesystemBackend, progress, s3Backend} from './backup-fixture.js';
import {BackupService} from '../../../src/core/backup/backup-service.js';
import {restoreWorkDir} from '../../../src/core/backup/restore-run-type.js';
import {STANDIN_BIN} from '../providers/local-fixture.js';
import {addData, dbExists, filestoreExists, makeRestoreFixture, PROJECT, serving, sig, snapshot, type RestoreFixture} from './restore-fixture.js';

let f: RestoreFixture;
let fsBackend: Backend;
const fsRoot = () => (fsBackend.storage as unknown as {root: string}).root;

beforeAll(async () => {
  f = await makeRestoreFixture();
  fsBackend = await filesystemBackend();
  f.setStorage(fsBackend.storage);
  await f.up('main', 'production');
  await addData(f, 'main', 'a');
}, 120_000);

afterAll(async () => {
  await f?.cleanup();
  await fsBackend?.stop();
});

async function backup(env: string): Promise<string> {
  const out = await f.backups.create({env, kind: 'manual', signal: sig()});
  expect(out.run.state, JSON.stringify(out.run.result)).toBe('succeeded');
  return out.backup!.id;
}

async function restore(backupId: string, opts: {toEnv?: string; noFilestore?: boolean; signal?: AbortSignal} = {}) {
  const planned = await f.service.plan({source: {kind: 'backup', backupId}, toEnv: opts.toEnv, noFilestore: opts.noFilestore ?? false}, sig());
  const run = await f.service.run(planned, {signal: opts.signal ?? sig()});
  return {planned, run};
}

describe('backup → restore round trip', () => {
  it('restores into a new database and filestore, identical to the backup, and switches the env to it', async () => {
    const before = await snapshot(f, 'main');
    const oldDb = await f.database('main');
    const id = await backup('main');
    await addData(f, 'main', 'after-backup'); // changes the restore must undo
    expect((await snapshot(f, 'main')).tables['res_partner']).not.toBe(before.tables['res_partner']);

    const {planned, run} = await restore(id);
    expect(planned).toMatchObject({targetEnv: 'main', crossEnv: false, prepareClone: false, safetyBackup: true, destructive: true, withFilestore: true});
    expect(run.state, JSON.stringify(run.result)).toBe('succeeded');
    const newDb = await f.database('main');
    expect(newDb).toMatch(new RegExp(`^${oldDb}_r[0-9a-f]{8}$`));
    expect(run.result).toMatchObject({database: newDb, previousDatabase: oldDb, withFilestore: true});
    expect(run.result?.['safetyBackupId']).toMatch(/^[0-9a-f-]{36}$/);

    const after = await snapshot(f, 'main', newDb);
    expect(after.tables).toEqual(before.tables);
    expect(after.files).toEqual(before.files);
    expect(Object.keys(after.files).length).toBeGreaterThanOrEqual(3);
    // Odoo serves the restored database; the previous one and its filestore are kept.
    const s = await serving(f, 'main');
    expect(s).toEqual({databases: [newDb], healthy: true});
    expect(await dbExists(f, 'main', oldDb)).toBe(true);
    expect(filestoreExists(f, 'main', oldDb)).toBe(true);
    const kept = await f.service.kept('main');
    expect(kept.map((r) => [r.previousDatabase, r.newDatabase, r.status])).toEqual([[oldDb, newDb, 'switched']]);
    expect(new Date(kept[0]!.keepPreviousUntil!).getTime() - Date.now()).toBeGreaterThan(6.9 * 86_400_000);

    // --confirm drops the previous database and filestore; audited.
    const dropped = await f.service.confirm(kept, sig());
    expect(dropped).toEqual([{restoreId: kept[0]!.id, env: 'main', envType: 'production', database: oldDb, status: 'confirmed'}]);
    expect(await dbExists(f, 'main', oldDb)).toBe(false);
    expect(filestoreExists(f, 'main', oldDb)).toBe(false);
    const {rows} = await f.db.pool.query(`select action from ops.audit_log where target = $1 order by seq`, [kept[0]!.id]);
    expect(rows.map((r) => r['action'])).toEqual(['restore.switch', 'restore.confirm']);
    expect(await f.service.kept('main')).toEqual([]);
  }, 90_000);

  it('round-trips through S3 storage too', async () => {
    const s3 = await s3Backend();
    try {
      f.setStorage(s3.storage);
      const before = await snapshot(f, 'main');
      const id = await backup('main');
      await addData(f, 'main', 's3-after');
      const {run} = await restore(id);
      expect(run.state, JSON.stringify(run.result)).toBe('succeeded');
      const after = await snapshot(f, 'main');
      expect(after.tables).toEqual(before.tables);
      expect(after.files).toEqual(before.files);
    } finally {
      f.setStorage(fsBackend.storage);
      await s3.stop();
    }
  }, 90_000);
});

describe('custom-format backups (container providers; backups written before the directory format)', () => {
  it('restore like directory-format ones: the dump is decompressed, then pg_restore --jobs reads it', async () => {
    const before = await snapshot(f, 'main');
    const custom = new BackupService({...f.backupDeps, databaseFormat: 'pg_dump-custom+zstd'});
    const written = await custom.runBackup(progress(sig()), {env: 'main', kind: 'manual', runId: null});
    expect(written.parts.find((p) => p.name === 'database')).toMatchObject({file: 'database.dump.zst', compression: 'zstd'});
    await addData(f, 'main', 'custom-after');
    const {run} = await restore(written.backupId);
    expect(run.state, JSON.stringify(run.result)).toBe('succeeded');
    const after = await snapshot(f, 'main');
    expect(after.tables).toEqual(before.tables);
    expect(after.files).toEqual(before.files);
  }, 90_000);
});

describe('an interrupted or failed restore leaves the environment on its old data, Odoo serving it', () => {
  let id: string;
  beforeAll(async () => {
    id = await backup('main');
    await addData(f, 'main', 'live');
  }, 60_000);

  async function assertUntouched(before: Awaited<ReturnType<typeof snapshot>>, db: string, restoreId: string) {
    expect(await f.database('main')).toBe(db);
    const newDb = restoreDatabaseName(db, restoreId);
    expect(await dbExists(f, 'main', newDb)).toBe(false);
    expect(filestoreExists(f, 'main', newDb)).toBe(false);
    expect(await serving(f, 'main')).toEqual({databases: [db], healthy: true});
    expect(await snapshot(f, 'main')).toEqual(before);
    expect((await f.restores.get(restoreId)).status).toBe('failed');
  }

  it.each(['fetch', 'database', 'filestore', 'verify', 'safety-backup', 'switch'])('aborted during %s', async (phase) => {
    const before = await snapshot(f, 'main');
    const db = await f.database('main');
    const ac = new AbortController();
    f.onEvent = (e) => {
      if (e.kind === 'phase-start' && e.phase === phase) setTimeout(() => ac.abort(new Error(`test: abort in ${phase}`)), 30);
    };
    try {
      const {planned, run} = await restore(id, {signal: ac.signal});
      expect(run.state).toBe('cancelled');
      await assertUntouched(before, db, planned.restoreId);
    } finally {
      f.onEvent = undefined;
    }
  }, 60_000);

  it('a failed verification (a restored attachment file goes missing) switches nothing', async () => {
    const before = await snapshot(f, 'main');
    const db = await f.database('main');
    // A restored attachment whose checksum lies: verification must refuse the restored data.
    const failing = await makeFailingVerify();
    const {planned, run} = await failing.restore(id);
    expect(run.state).toBe('failed');
    expect(JSON.stringify(run.result)).toMatch(/verification failed/);
    await assertUntouched(before, db, planned.restoreId);
  }, 60_000);

  // The restore checks no per-file sha256 (the archive's sha256 covers every byte): a corrupt archive
  // must still fail, naming the part, before the switch.
  it.each([
    ['one byte flipped', (b: Buffer) => {
      const c = Buffer.from(b);
      c[Math.floor(c.length / 2)]! ^= 0x40;
      return c;
    }],
    ['bytes appended', (b: Buffer) => Buffer.concat([b, Buffer.from('trailing garbage')])],
  ] as const)('a corrupt filestore part (%s) fails the restore before the switch, naming the part', async (_what, corrupt) => {
    const before = await snapshot(f, 'main');
    const db = await f.database('main');
    const ref = {project: PROJECT, env: 'main', id};
    const original = await fsBackend.getRaw(ref, 'filestore.tar.zst');
    await fsBackend.putRaw(ref, 'filestore.tar.zst', corrupt(original));
    try {
      const {planned, run} = await restore(id);
      expect(run.state).toBe('failed');
      expect(JSON.stringify(run.result)).toMatch(/part filestore \(filestore\.tar\.zst\) is corrupt/);
      await assertUntouched(before, db, planned.restoreId);
    } finally {
      await fsBackend.putRaw(ref, 'filestore.tar.zst', original);
    }
  }, 60_000);

  // The directory dump is extracted before its sha256 is known: what it may hold is checked entry by entry.
  it.each([
    ['a path leaving the folder', async (dir: string) => {
      await writeFile(join(dir, 'evil'), 'x');
      return ['--transform=s,^\\./evil,../evil,', '--absolute-names'];
    }, /directory dump entry|\.\.\/evil/],
    ['a symbolic link', async (dir: string) => {
      await symlink('/etc/passwd', join(dir, '9999.dat.gz'));
      return [];
    }, /9999\.dat\.gz/],
    ['a sub-folder', async (dir: string) => {
      await mkdir(join(dir, 'sub'));
      await writeFile(join(dir, 'sub', '1.dat.gz'), 'x');
      return [];
    }, /sub/],
  ] as const)('a database part holding %s is refused before anything loads, naming the part', async (_what, edit, detail) => {
    const before = await snapshot(f, 'main');
    const db = await f.database('main');
    const ref = {project: PROJECT, env: 'main', id};
    const original = await fsBackend.getRaw(ref, 'database.dir.tar');
    const work = await mkdtemp(join(tmpdir(), 'hostile-dump-'));
    try {
      await execa('tar', ['--extract', '--file=-', '--directory', work], {input: original});
      const flags = await edit(work);
      const {stdout} = await execa('tar', ['--create', '--file=-', '--format=posix', ...flags, '--directory', work, '.'], {encoding: 'buffer'});
      await fsBackend.putRaw(ref, 'database.dir.tar', Buffer.from(stdout));
      const {planned, run} = await restore(id);
      expect(run.state).toBe('failed');
      const result = JSON.stringify(run.result);
      expect(result).toMatch(/part database \(database\.dir\.tar\) is corrupt/);
      expect(result).toMatch(detail);
      await assertUntouched(before, db, planned.restoreId);
    } finally {
      await fsBackend.putRaw(ref, 'database.dir.tar', original);
      rmSync(work, {recursive: true, force: true});
    }
  }, 60_000);

  it('drops the leftovers of a restore killed mid-way (no process left to clean up) at the next restore', async () => {
    const db = await f.database('main');
    const ghostId = '0badc0de-0000-4000-8000-000000000001';
    const ghostDb = restoreDatabaseName(db, ghostId);
    await f.restores.start({id: ghostId, backupId: id, targetEnv: 'main', runId: null, newDatabase: ghostDb, source: {kind: 'backup'}, sourceEnv: 'main'});
    const handle = await f.local.provider.database('main', sig());
    await handle.createDatabase(ghostDb, {}, sig());
    await mkdir(f.local.provider.filestore.location({env: 'main', database: ghostDb}).path!, {recursive: true});
    const {run} = await restore(id);
    expect(run.state, JSON.stringify(run.result)).toBe('succeeded');
    expect(await dbExists(f, 'main', ghostDb)).toBe(false);
    expect(filestoreExists(f, 'main', ghostDb)).toBe(false);
    expect((await f.restores.get(ghostId)).status).toBe('failed');
  }, 60_000);

  it('a restore PROCESS killed (SIGKILL) mid-way leaves the env on its old data; the next restore drops its leftovers', async () => {
    const before = await snapshot(f, 'main');
    const db = await f.database('main');
    const child = await killableRestore(id);
    // The filestore loads alongside the database: at verify both exist, nothing is switched yet.
    await child.killAt('verify');
    expect(await f.database('main')).toBe(db);
    expect(await serving(f, 'main')).toEqual({databases: [db], healthy: true});
    expect(await snapshot(f, 'main')).toEqual(before);
    const leftover = restoreDatabaseName(db, child.restoreId);
    expect(await dbExists(f, 'main', leftover)).toBe(true); // nobody was left to clean up
    const work = restoreWorkDir({}, child.restoreId); // the fetched dump (no workDir: the OS temp folder)
    expect(existsSync(join(work, 'database.dir', 'toc.dat'))).toBe(true);
    await new Promise((r) => setTimeout(r, 1500)); // the killed run's 1 s lease expires
    const {run} = await restore(id);
    expect(run.state, JSON.stringify(run.result)).toBe('succeeded');
    expect(await dbExists(f, 'main', leftover)).toBe(false);
    expect(existsSync(work)).toBe(false);
    expect((await f.restores.get(child.restoreId)).status).toBe('failed');
  }, 60_000);
});

/**
 * Runs a restore in a child process (the same code, its own run engine with a 1 s lease) and
 * kills it with SIGKILL once a phase has started.
 */
async function killableRestore(backupId: string) {
  const src = (m: string) => JSON.stringify(new URL(`../../../src/${m}`, import.meta.url).href);
  const script = join(await mkdtemp(join(tmpdir(), 'restore-child-')), 'child.mts');
  await writeFile(script, `
    import {createRequire} from 'node:module';
    const pg = createRequire(${src('../package.json')})('pg');
    const {LocalProvider} = await import(${src('providers/local/local-provider.ts')});
    const {FilesystemBackupStorage} = await import(${src('core/storage/filesystem-storage.ts')});
    const {EnvironmentRepository} = await import(${src('core/environments/environment-repository.ts')});
    const {RestoreRepository} = await import(${src('core/backup/restore-repository.ts')});
    const {restoreRunType} = await import(${src('core/backup/restore-run-type.ts')});
    const {RestoreService} = await import(${src('core/backup/restore-service.ts')});
    const {RunService} = await import(${src('core/run/run-service.ts')});
    const {RunTypeRegistry} = await import(${src('core/run/run-types.ts')});
    const {systemClock} = await import(${src('core/clock.ts')});
    const {nullLogger} = await import(${src('core/logger.ts')});
    const [url, projectId, projectRoot, storageRoot, backupId, bin] = process.argv.slice(2);
    const pool = new pg.Pool({connectionString: url}).on('error', () => undefined);
    const provider = new LocalProvider({config: {project: 'shop', projectRoot, postgres: {}}, clock: systemClock, logger: nullLogger});
    const envs = new EnvironmentRepository(pool, projectId);
    const restores = new RestoreRepository(pool, projectId);
    const storage = new FilesystemBackupStorage(storageRoot);
    const deps = {project: 'shop', odoo: {version: '17.0', bin, addons: []}, provider: async () => provider, environments: async () => envs,
      restores: async () => restores, storage: async () => storage, clock: systemClock, safetyBackup: async () => ({id: 'none'})};
    const events = {emit: (e) => { if (e.kind === 'phase-start') process.stdout.write('phase ' + e.phase + '\\n'); }};
    const runs = new RunService({pool, projectId, clock: systemClock, events, logger: nullLogger,
      config: {odoo: {}, provider: {name: 'local'}, postgres: {}, state: {leaseSeconds: 1, runMaxAttempts: 1, eventRetention: {ms: 86400000}, logRetention: {ms: 180 * 86400000}}},
      runTypes: new RunTypeRegistry([restoreRunType(deps)])});
    const service = new RestoreService({project: 'shop', provider: deps.provider, environments: deps.environments, restores: deps.restores,
      storage: deps.storage, runs: async () => runs, clock: systemClock});
    const planned = await service.plan({source: {kind: 'backup', backupId}, noFilestore: false}, AbortSignal.timeout(60000));
    process.stdout.write('restore ' + planned.restoreId + '\\n');
    await service.run(planned, {signal: AbortSignal.timeout(60000)});
  `);
  const child = execa(process.execPath, ['--import', 'tsx', script, f.db.url, f.projectId, f.local.projectRoot, fsRoot(), backupId, STANDIN_BIN],
    {cwd: join(import.meta.dirname, '../../..'), reject: false, buffer: {stdout: false, stderr: true}});
  let restoreId = '';
  return {
    get restoreId() {
      return restoreId;
    },
    async killAt(phase: string) {
      for await (const line of child.iterable({from: 'stdout'})) {
        const text = String(line);
        if (text.startsWith('restore ')) restoreId = text.slice(8).trim();
        if (text.trim() === `phase ${phase}`) {
          child.kill('SIGKILL');
          break;
        }
      }
      const res = await child;
      rmSync(dirname(script), {recursive: true, force: true});
      expect(res.signal, String(res.stderr ?? '')).toBe('SIGKILL');
      expect(restoreId).toMatch(/^[0-9a-f-]{36}$/);
    },
  };
}


/**
 * A restore whose verification fails: an attachment file disappears from the new filestore once
 * it is extracted (the handler runs synchronously at the end of the filestore phase, so before
 * verify whichever of database and filestore finishes last).
 */
async function makeFailingVerify() {
  return {
    async restore(backupId: string) {
      const planned = await f.service.plan({source: {kind: 'backup', backupId}, noFilestore: false}, sig());
      const newDb = restoreDatabaseName(await f.database('main'), planned.restoreId);
      f.onEvent = (e) => {
        if (e.kind === 'phase-end' && e.phase === 'filestore') {
          const dir = f.local.provider.filestore.location({env: 'main', database: newDb}).path!;
          const sub = readdirSync(dir).find((d) => /^[0-9a-f]{2}$/.test(d))!;
          rmSync(join(dir, sub, readdirSync(join(dir, sub))[0]!));
        }
      };
      try {
        return {planned, run: await f.service.run(planned, {signal: sig()})};
      } finally {
        f.onEvent = undefined;
      }
    },
  };
}

describe('restore decisions (pure)', () => {
  it('names the new database after the env database and the restore, within 63 bytes, never the current one', () => {
    expect(restoreDatabaseName('shop_main', '3f2a9c1e-0000-4000-8000-000000000000')).toBe('shop_main_r3f2a9c1e');
    expect(restoreDatabaseName('shop_main_r3f2a9c1e', 'aaaaaaaa-0000-4000-8000-000000000000')).toBe('shop_main_raaaaaaaa');
    expect(restoreDatabaseName('shop_main', '3f2a9c1e-0000-4000-8000-000000000000', 'test')).toBe('shop_main_t3f2a9c1e');
    const long = restoreDatabaseName('x'.repeat(63), 'bbbbbbbb-0000-4000-8000-000000000000');
    expect(long).toHaveLength(63);
    expect(long.endsWith('_rbbbbbbbb')).toBe(true);
  });

  it('plans steps from the source and the target', () => {
    const base = {target: {name: 'staging', type: 'staging' as const}, noFilestore: false};
    expect(planRestore({...base, source: {kind: 'backup', env: 'production', hasFilestore: true}}))
      .toMatchObject({crossEnv: true, prepareClone: true, safetyBackup: false, destructive: false, withFilestore: true});
    expect(planRestore({target: {name: 'production', type: 'production'}, noFilestore: false, source: {kind: 'backup', env: 'production', hasFilestore: true}}))
      .toMatchObject({crossEnv: false, prepareClone: false, safetyBackup: true, destructive: true});
    expect(planRestore({target: {name: 'production', type: 'production'}, noFilestore: false, source: {kind: 'odoo-zip', env: null, hasFilestore: true}}))
      .toMatchObject({crossEnv: true, prepareClone: false, safetyBackup: true});
    expect(() => planRestore({...base, source: {kind: 'pg-dump', env: null, hasFilestore: false}})).toThrow(/--no-filestore/);
    expect(planRestore({...base, noFilestore: true, source: {kind: 'pg-dump', env: null, hasFilestore: false}}).withFilestore).toBe(false);
  });

  it('asks before destroying production data: --yes proceeds, a terminal prompts, a script is refused naming --yes', () => {
    expect(confirmationDecision({destructive: false, yes: false, interactive: false})).toBe('proceed');
    expect(confirmationDecision({destructive: true, yes: true, interactive: false})).toBe('proceed');
    expect(confirmationDecision({destructive: true, yes: false, interactive: true})).toBe('prompt');
    expect(confirmationDecision({destructive: true, yes: false, interactive: false})).toBe('refuse');
    expect(confirmationRefused('restoring').message).toMatch(/--yes/);
    expect(confirmationRefused('restoring').code).toBe('USAGE');
  });
});
