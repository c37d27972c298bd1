import pg from 'pg';
import {afterAll, beforeAll, beforeEach, describe, expect, it} from 'vitest';
import {systemClock, type Clock} from '../../../src/core/clock.js';
import {InterruptedError, NotImplementedError, UsageError} from '../../../src/core/errors.js';
import {MemorySink} from '../../../src/core/events.js';
import {nullLogger} from '../../../src/core/logger.js';
import {backupPruneRunType, createPruneService, PruneService, type BackupDeleter} from '../../../src/core/backup/prune-service.js';
import {RunService} from '../../../src/core/run/run-service.js';
import {RunTypeRegistry} from '../../../src/core/run/run-types.js';
import {PolicyDeniedError} from '../../../src/core/errors.js';
import {createMemberRole} from '../../helpers/db.js';
import {testConfig} from '../run/helpers.js';
import type {RetentionPolicy} from '../../../src/core/backup/retention-policy.js';
import {createTestDatabase, type TestDatabase} from '../../helpers/db.js';

const NOW = new Date('2026-11-20T12:00:00Z');
const clock: Clock = {now: () => NOW, sleep: async () => undefined};
const POLICY: RetentionPolicy = {daily: 2, weekly: 1, monthly: 1, manual: {keep: 1, maxAgeMs: 30 * 86_400_000}, timeZone: 'UTC'};

let db: TestDatabase;
let projectId: string;

/** Inserts a backup row (as the test superuser) and returns its id. */
async function backup(env: string, createdAt: string, over: {kind?: string; status?: string; verification?: object} = {}): Promise<string> {
  const {rows} = await db.pool.query<{id: string}>(
    `insert into ops.backups (project_id, environment, kind, status, created_by, created_at, verification)
     values ($1, $2, $3, $4, 'test', $5, $6) returning id::text`,
    [projectId, env, over.kind ?? 'daily', over.status ?? 'complete', createdAt, over.verification ? JSON.stringify(over.verification) : null],
  );
  return rows[0]!.id;
}

/** Deletes through the real SQL function (audited, status deleted), as the backup service does. */
function sqlDeleter(log: string[] = [], hook?: (id: string) => Promise<void>): BackupDeleter {
  return {
    async delete(id) {
      await hook?.(id);
      await db.pool.query('select ops.delete_backup($1)', [id]);
      log.push(id);
    },
  };
}

const service = (deleter: BackupDeleter, policy = POLICY) =>
  new PruneService({db: db.pool, projectId, policy, deleter, clock, logger: nullLogger, events: new MemorySink()});

beforeAll(async () => {
  db = await createTestDatabase('prune');
  projectId = (await db.pool.query<{id: string}>(`select (ops.create_project('shop')).id as id`)).rows[0]!.id;
  await db.pool.query(`insert into ops.environments (project_id, name, type, status) values ($1, 'main', 'production', 'active'), ($1, 'staging', 'staging', 'active')`, [projectId]);
});
beforeEach(async () => {
  await db.pool.query('delete from ops.restores');
  await db.pool.query('delete from ops.runs');
  await db.pool.query('delete from ops.backups');
});
afterAll(async () => {
  await db.drop();
});

describe('PruneService', () => {
  it('plans from the state store: tiers, manual, newest verified, in use, failed verification', async () => {
    const ids = {
      today: await backup('staging', '2026-11-20T03:00:00Z'),
      todayEarly: await backup('staging', '2026-11-20T01:00:00Z'),
      yesterday: await backup('staging', '2026-11-19T03:00:00Z'),
      lastWeek: await backup('staging', '2026-11-12T03:00:00Z'),
      lastMonth: await backup('staging', '2026-10-12T03:00:00Z', {verification: {ok: true}}),
      older: await backup('staging', '2026-09-12T03:00:00Z', {verification: {ok: true}}),
      restoring: await backup('staging', '2026-08-01T03:00:00Z'),
      namedByRun: await backup('staging', '2026-07-01T03:00:00Z'),
      writing: await backup('staging', '2026-07-02T03:00:00Z', {status: 'pending'}),
      broken: await backup('staging', '2026-06-01T03:00:00Z', {verification: {ok: false, part: 'database'}}),
      brokenDay: await backup('staging', '2026-06-01T09:00:00Z'),
      manual: await backup('staging', '2026-11-18T10:00:00Z', {kind: 'manual'}),
      manualOld: await backup('staging', '2026-11-10T10:00:00Z', {kind: 'manual'}),
      failed: await backup('staging', '2026-11-20T05:00:00Z', {status: 'failed'}),
      gone: await backup('staging', '2026-11-20T06:00:00Z', {status: 'deleted'}),
    };
    await db.pool.query(`insert into ops.restores (project_id, backup_id, target_env, created_by) values ($1, $2, 'staging', 'test')`, [projectId, ids.restoring]);
    await db.pool.query(`select ops.queue_run($1, 'staging', null, null, 'backup-download', $2::jsonb)`, [projectId, JSON.stringify({backupId: ids.namedByRun})]);

    const plan = await service(sqlDeleter()).plan('staging');
    const name = Object.fromEntries(Object.entries(ids).map(([k, v]) => [v, k]));
    const show = (list: readonly {id: string; reason: string}[]) => Object.fromEntries(list.map((e) => [name[e.id], e.reason]));
    expect(show(plan.kept)).toEqual({
      today: 'daily 2026-11-20',
      yesterday: 'daily 2026-11-19',
      manual: 'manual within 1 / 30d',
      lastWeek: 'weekly 2026-W46',
      lastMonth: 'monthly 2026-10', // also the newest verified
      restoring: 'in use',
      writing: 'in use',
      namedByRun: 'in use',
      broken: 'day with failed verification',
      brokenDay: 'day with failed verification',
    });
    expect(show(plan.removed)).toEqual({todayEarly: 'outside retention', failed: 'backup failed', manualOld: 'outside retention', older: 'outside retention'});
    expect(plan).toMatchObject({dryRun: true, env: 'staging', at: NOW.toISOString(), skipped: [], failed: []});
    expect(plan.kept.find((e) => e.id === ids.today)).toEqual({id: ids.today, env: 'staging', kind: 'daily', status: 'complete', createdAt: '2026-11-20T03:00:00.000Z', reason: 'daily 2026-11-20'});
  });

  it('deletes what the plan removes and audits the prune', async () => {
    const keep = await backup('staging', '2026-11-20T03:00:00Z');
    const drop = await backup('staging', '2026-11-20T01:00:00Z');
    const deleted: string[] = [];
    const result = await service(sqlDeleter(deleted)).prune({env: 'staging'});
    expect(deleted).toEqual([drop]);
    expect(result).toMatchObject({dryRun: false, removed: [{id: drop, reason: 'outside retention'}], kept: [{id: keep}], skipped: [], failed: []});
    const status = await db.pool.query<{id: string; status: string}>('select id::text, status from ops.backups order by created_at');
    expect(status.rows).toEqual([{id: drop, status: 'deleted'}, {id: keep, status: 'complete'}]);
    const audit = await db.pool.query<{payload: {deleted: unknown[]; kept: number}}>(`select payload from ops.audit_log where action = 'backup.prune' order by seq desc limit 1`);
    expect(audit.rows[0]!.payload).toMatchObject({deleted: [{id: drop, reason: 'outside retention'}], kept: 1, failed: [], skipped: []});
    // Nothing left to do: pruning again deletes nothing.
    expect((await service(sqlDeleter(deleted)).prune({env: 'staging'})).removed).toEqual([]);
  });

  it('a dry run deletes nothing', async () => {
    await backup('staging', '2026-11-20T03:00:00Z');
    await backup('staging', '2026-11-20T01:00:00Z');
    const deleted: string[] = [];
    const result = await service(sqlDeleter(deleted)).prune({env: 'staging', dryRun: true});
    expect(result.dryRun).toBe(true);
    expect(result.removed).toHaveLength(1);
    expect(deleted).toEqual([]);
  });

  it('refuses to prune production without --yes when it cannot ask, and stops when the answer is no', async () => {
    await backup('main', '2026-11-20T03:00:00Z');
    const drop = await backup('main', '2026-11-20T01:00:00Z');
    const deleted: string[] = [];
    const err = await service(sqlDeleter(deleted)).prune({}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).message).toMatch(/pruning deletes 1 backup\(s\) of production environment main: pass --yes/);
    expect((err as UsageError).actions).toContain('odoo-sh-next backups prune --yes');
    const questions: string[] = [];
    await expect(service(sqlDeleter(deleted)).prune({confirm: async (q) => (questions.push(q), false)})).rejects.toThrow(InterruptedError);
    expect(questions).toEqual(['Delete 1 backup(s) of production environment main?']);
    expect(deleted).toEqual([]);
    await service(sqlDeleter(deleted)).prune({confirm: async () => true});
    expect(deleted).toEqual([drop]);
  });

  it('prunes production with --yes', async () => {
    await backup('main', '2026-11-20T03:00:00Z');
    const drop = await backup('main', '2026-11-20T01:00:00Z');
    const deleted: string[] = [];
    await service(sqlDeleter(deleted)).prune({env: 'main', yes: true});
    expect(deleted).toEqual([drop]);
  });

  it('skips a backup that came into use after the plan, and reports a failed deletion', async () => {
    await backup('staging', '2026-11-20T03:00:00Z');
    const first = await backup('staging', '2026-11-20T02:00:00Z');
    const second = await backup('staging', '2026-11-20T01:00:00Z');
    const third = await backup('staging', '2026-11-20T00:30:00Z');
    const deleted: string[] = [];
    const deleter = sqlDeleter(deleted, async (id) => {
      if (id === first) {
        // A restore of the next backup starts while the prune is deleting.
        await db.pool.query(`insert into ops.restores (project_id, backup_id, target_env, created_by) values ($1, $2, 'staging', 'test')`, [projectId, second]);
      }
      if (id === third) throw new Error('storage unreachable');
    });
    const result = await service(deleter).prune({env: 'staging'});
    expect(deleted).toEqual([first]);
    expect(result.skipped.map((e) => e.id)).toEqual([second]);
    expect(result.failed).toEqual([expect.objectContaining({id: third, error: 'storage unreachable'})]);
  });

  it('builds from the composition root; without the backup service it plans but does not delete', async () => {
    await backup('staging', '2026-11-20T03:00:00Z');
    await backup('staging', '2026-11-20T01:00:00Z');
    const sources = {
      pool: async () => db.pool as pg.Pool,
      projectId: async () => projectId,
      config: async () => ({backups: {retention: {daily: 7, weekly: 4, monthly: 3}, manual: {keep: 5, maxAge: {text: '30d', ms: 2_592_000_000}}, timeZone: 'UTC'}}),
      clock,
      logger: nullLogger,
      events: new MemorySink(),
    };
    const prune = await createPruneService(sources);
    expect((await prune.plan('staging')).removed).toHaveLength(1);
    await expect(prune.prune({env: 'staging'})).rejects.toThrow(NotImplementedError);
    const deleted: string[] = [];
    const wired = await createPruneService({...sources, backups: async () => ({deleter: () => sqlDeleter(deleted)})});
    expect((await wired.prune({env: 'staging'})).removed).toHaveLength(1);
    expect(deleted).toHaveLength(1);
  });

  it('refuses an invalid environment name', async () => {
    await expect(service(sqlDeleter()).plan('Not A Name')).rejects.toThrow(UsageError);
  });
});

describe('backups prune as a run', () => {
  /** A PruneService whose start() creates backup-prune runs on a RunService that executes them with the same service. */
  function wired(pool: pg.Pool, deleted: string[]): PruneService {
    const prune: PruneService = new PruneService({db: pool, projectId, policy: POLICY, deleter: sqlDeleter(deleted), clock, logger: nullLogger, runs: async (): Promise<RunService> => runs});
    const runs: RunService = new RunService({pool, projectId, clock: systemClock, events: new MemorySink(), logger: nullLogger, config: testConfig({leaseSeconds: 30}),
      runTypes: new RunTypeRegistry([backupPruneRunType(async () => prune)])});
    return prune;
  }
  const runRows = async () => (await db.pool.query<{id: string; type: string; env: string | null; state: string}>(`select id::text, type, env, state from ops.runs order by id`)).rows;

  it('records a backup-prune run whose events say what was kept and deleted and why; a dry run records nothing', async () => {
    const keep = await backup('staging', '2026-11-20T03:00:00Z');
    const drop = await backup('staging', '2026-11-20T01:00:00Z');
    const deleted: string[] = [];
    const prune = wired(db.pool, deleted);

    const dry = await prune.start({env: 'staging', dryRun: true});
    expect(dry).toMatchObject({run: null, result: {dryRun: true, removed: [{id: drop}], kept: [{id: keep}]}});
    expect(await runRows()).toEqual([]);
    expect(deleted).toEqual([]);

    const {run, result} = await prune.start({env: 'staging'});
    expect(run).toMatchObject({type: 'backup-prune', env: 'staging', state: 'succeeded', exclusive: true});
    expect(result).toMatchObject({dryRun: false, removed: [{id: drop, reason: 'outside retention'}], kept: [{id: keep}]});
    expect(deleted).toEqual([drop]);
    const events = (await db.pool.query<{level: string; message: string; payload: {action?: string; id?: string}}>(
      `select level, message, payload from ops.run_events where run_id = $1 order by id`, [run!.id])).rows;
    expect(events.filter((e) => e.payload.action).map((e) => [e.payload.action, e.payload.id])).toEqual([['keep', keep], ['delete', drop]]);
    expect(events.map((e) => e.message)).toEqual(expect.arrayContaining([
      expect.stringMatching(/^plan at .* for staging: keep 1, delete 1$/),
      expect.stringMatching(new RegExp(`^deleted backup ${drop} \\(staging, daily, .*\\): outside retention$`)),
      'deleted 1, kept 1, skipped 0 (in use), failed 0',
    ]));
    const audit = await db.pool.query<{run_id: string | null}>(`select run_id::text from ops.audit_log where action = 'backup.prune' order by seq desc limit 1`);
    expect(audit.rows).toHaveLength(1);
  });

  it('asks before a production prune run is created, and fails the run when a deletion fails', async () => {
    await backup('main', '2026-11-20T03:00:00Z');
    const drop = await backup('main', '2026-11-20T01:00:00Z');
    const deleted: string[] = [];
    await expect(wired(db.pool, deleted).start({env: 'main'})).rejects.toThrow(UsageError);
    expect(await runRows()).toEqual([]);

    const failing: PruneService = new PruneService({db: db.pool, projectId, policy: POLICY, clock, logger: nullLogger, runs: async (): Promise<RunService> => runs,
      deleter: sqlDeleter([], async () => { throw new Error('storage unreachable'); })});
    const runs: RunService = new RunService({pool: db.pool, projectId, clock: systemClock, events: new MemorySink(), logger: nullLogger, config: testConfig({leaseSeconds: 30}),
      runTypes: new RunTypeRegistry([backupPruneRunType(async () => failing)])});
    const {run} = await failing.start({env: 'main', yes: true});
    expect(run).toMatchObject({type: 'backup-prune', state: 'failed'});
    expect(JSON.stringify(run!.result)).toContain(`${drop}: storage unreachable`);
  });

  it('is admin-only, like backups', async () => {
    await createMemberRole(db.pool, 'prune_dev');
    await db.pool.query(`select ops.add_member($1, 'prune_dev', 'developer')`, [projectId]);
    const dev = new pg.Pool({connectionString: db.urlAs('prune_dev'), max: 2});
    dev.on('error', () => undefined);
    try {
      await backup('staging', '2026-11-20T03:00:00Z');
      await expect(wired(dev, []).start({env: 'staging'})).rejects.toThrow(PolicyDeniedError);
    } finally {
      await dev.end();
    }
  });
});
