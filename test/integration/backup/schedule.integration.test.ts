import pg from 'pg';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {systemClock} from '../../../src/core/clock.js';
import {PolicyDeniedError} from '../../../src/core/errors.js';
import {MemorySink} from '../../../src/core/events.js';
import {nullLogger} from '../../../src/core/logger.js';
import {RunService} from '../../../src/core/run/run-service.js';
import {RunTypeRegistry, type RunTypeHandler} from '../../../src/core/run/run-types.js';
import {ensurePreOperationBackup, fireDueBackups, type FireDueBackupsDeps} from '../../../src/core/backup/schedule-service.js';
import {backupPruneRunType, PruneService, type BackupDeleter} from '../../../src/core/backup/prune-service.js';
import {DEFAULT_RETENTION_POLICY} from '../../../src/core/backup/retention-policy.js';
import {createMemberRole, createTestDatabase, type TestDatabase} from '../../helpers/db.js';
import {testConfig} from '../run/helpers.js';

// The `backup` run type belongs to the backup service; a stand-in handler is enough to test that
// a slot fires exactly once.
const backupHandler = (executed: string[] = []): RunTypeHandler => ({
  type: 'backup',
  async execute(ctx) {
    executed.push(ctx.run.id);
    if ((ctx.run.payload as {reason?: string}).reason === 'fail me') throw new Error('disk full');
    return {kind: ctx.run.payload['kind']};
  },
});

let db: TestDatabase;
let projectId: string;
const pools: pg.Pool[] = [];

function pool(url = db.url): pg.Pool {
  const p = new pg.Pool({connectionString: url, max: 4});
  p.on('error', () => undefined);
  pools.push(p);
  return p;
}

function runService(p: pg.Pool, handlers: RunTypeHandler[] = [backupHandler()]): RunService {
  return new RunService({pool: p, projectId, clock: systemClock, events: new MemorySink(), logger: nullLogger, config: testConfig({leaseSeconds: 30}), runTypes: new RunTypeRegistry(handlers)});
}

function deps(p: pg.Pool, over: Partial<FireDueBackupsDeps> = {}): FireDueBackupsDeps {
  return {db: p, projectId, schedules: {production: '0 3 * * *'}, timeZone: 'Europe/Brussels', runs: runService(p), logger: nullLogger, ...over};
}

const backupRuns = async () =>
  (await db.pool.query<{id: string; state: string; payload: Record<string, unknown>}>(`select id::text, state, payload from ops.runs where type = 'backup' order by id`)).rows;
const slots = async () =>
  (await db.pool.query<{env: string; slot: Date; run_id: string | null}>('select env, slot, run_id::text from ops.backup_slots order by slot')).rows;

beforeAll(async () => {
  db = await createTestDatabase('sched');
  projectId = (await db.pool.query<{id: string}>(`select (ops.create_project('shop')).id as id`)).rows[0]!.id;
  await db.pool.query(
    `insert into ops.environments (project_id, name, type, status) values ($1, 'production', 'production', 'active'), ($1, 'staging', 'staging', 'active')`,
    [projectId],
  );
});

afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
  await db.drop();
});

describe('fireDueBackups', () => {
  it('fires a slot once when two runners (two pools) race for it, and not again later', async () => {
    const now = new Date('2026-11-20T05:00:00Z'); // the 03:00 Brussels slot is 02:00Z
    const [a, b] = [pool(), pool()];
    const reports = await Promise.all([fireDueBackups(deps(a), now), fireDueBackups(deps(b), now)]);
    const outcomes = reports.map((r) => r.schedules[0]!.outcome).sort();
    expect(outcomes).toEqual(['fired', 'taken']);
    const runs = await backupRuns();
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({state: 'queued', payload: {kind: 'daily', slot: '2026-11-20T02:00:00.000Z'}});
    expect(await slots()).toEqual([{env: 'production', slot: new Date('2026-11-20T02:00:00Z'), run_id: runs[0]!.id}]);

    const later = await Promise.all([fireDueBackups(deps(a), new Date('2026-11-20T20:00:00Z')), fireDueBackups(deps(b), new Date('2026-11-21T01:59:00Z'))]);
    expect(later.map((r) => r.schedules[0]!.outcome)).toEqual(['not-due', 'not-due']);
    expect(later[0]!.schedules[0]).toMatchObject({slot: '2026-11-20T02:00:00.000Z', next: '2026-11-21T02:00:00.000Z'});
    expect(await backupRuns()).toHaveLength(1);
  });

  it('fires exactly once among eight concurrent callers on two pools', async () => {
    const now = new Date('2026-11-21T02:00:00Z');
    const [a, b] = [pool(), pool()];
    const reports = await Promise.all(Array.from({length: 8}, (_, i) => fireDueBackups(deps(i % 2 ? a : b), now)));
    const outcomes = reports.map((r) => r.schedules[0]!.outcome);
    expect(outcomes.filter((o) => o === 'fired')).toHaveLength(1);
    // The others lost the race ('taken') or came after the winner had recorded the slot ('not-due').
    expect(outcomes.filter((o) => o !== 'fired').every((o) => o === 'taken' || o === 'not-due')).toBe(true);
    expect((await backupRuns()).filter((r) => r.payload['slot'] === '2026-11-21T02:00:00.000Z')).toHaveLength(1);
  });

  it('after downtime fires only the latest missed slot', async () => {
    const report = await fireDueBackups(deps(pool()), new Date('2026-11-25T12:00:00Z'));
    expect(report.schedules[0]).toMatchObject({outcome: 'fired', slot: '2026-11-25T02:00:00.000Z', skipped: 3});
    expect((await slots()).map((s) => s.slot.toISOString())).toEqual(['2026-11-20T02:00:00.000Z', '2026-11-21T02:00:00.000Z', '2026-11-25T02:00:00.000Z']);
  });

  it('gives the slot back when the backup run cannot be queued, so the next call fires it', async () => {
    const p = pool();
    const now = new Date('2026-11-26T03:00:00Z');
    const broken = await fireDueBackups(deps(p, {runs: runService(p, [])}), now);
    expect(broken.schedules[0]).toMatchObject({outcome: 'error', slot: '2026-11-26T02:00:00.000Z'});
    expect(broken.schedules[0]!.error).toMatch(/unknown run type "backup"/);
    expect((await slots()).some((s) => s.slot.toISOString() === '2026-11-26T02:00:00.000Z')).toBe(false);
    const fixed = await fireDueBackups(deps(p), now);
    expect(fixed.schedules[0]).toMatchObject({outcome: 'fired', slot: '2026-11-26T02:00:00.000Z'});
    const audit = await db.pool.query<{action: string}>(`select action from ops.audit_log where target = $1 order by seq`, ['2026-11-26T02:00:00Z']);
    expect(audit.rows.map((r) => r.action)).toEqual(['backup.slot.claim', 'backup.slot.release', 'backup.slot.claim']);
  });

  it('runs the backup here when not detached, then prunes the environment', async () => {
    const p = pool();
    const executed: string[] = [];
    const pruned: string[] = [];
    const pruner = {start: async (opts: {env?: string | undefined; yes?: boolean | undefined; detach?: boolean | undefined}) => {
      pruned.push(`${opts.env} yes=${opts.yes} detach=${opts.detach}`);
      return {run: null, result: {dryRun: false, env: opts.env ?? null, at: '', kept: [], removed: [], skipped: [], failed: []}};
    }};
    const report = await fireDueBackups(deps(p, {runs: runService(p, [backupHandler(executed)]), pruner, schedules: {staging: '0 4 * * 0'}}), new Date('2026-11-22T05:00:00Z'), {detach: false});
    expect(report.schedules[0]).toMatchObject({env: 'staging', outcome: 'fired', runState: 'succeeded', pruned: {deleted: 0, skipped: 0, error: null}});
    expect(executed).toEqual([report.runs[0]!.id]);
    expect(pruned).toEqual(['staging yes=true detach=false']);
    const slot = (await slots()).find((s) => s.env === 'staging');
    expect(slot?.run_id).toBe(report.runs[0]!.id);
  });

  it('waits for environments that do not exist yet, and can be limited to one environment', async () => {
    const report = await fireDueBackups(deps(pool(), {schedules: {production: '0 3 * * *', 'not-yet': '0 3 * * *'}}), new Date('2026-11-27T05:00:00Z'), {env: 'not-yet'});
    expect(report.schedules).toEqual([expect.objectContaining({env: 'not-yet', outcome: 'no-environment'})]);
    expect((await slots()).some((s) => s.env === 'not-yet')).toBe(false);
  });

  it('lets only admins claim slots', async () => {
    await createMemberRole(db.pool, 'sched_dev');
    await db.pool.query(`select ops.add_member($1, 'sched_dev', 'developer')`, [projectId]);
    const dev = pool(db.urlAs('sched_dev'));
    await expect(fireDueBackups(deps(dev), new Date('2026-11-28T05:00:00Z'))).rejects.toThrow(PolicyDeniedError);
  });
});

describe('ensurePreOperationBackup', () => {
  it('takes a backup of production here and now, and none of other environments', async () => {
    const runs = runService(pool());
    const run = await ensurePreOperationBackup(runs, {env: 'production', envType: 'production', kind: 'pre-deploy', reason: 'deploy of 1a2b3c4'});
    expect(run).toMatchObject({type: 'backup', state: 'succeeded', payload: {kind: 'pre-deploy', reason: 'deploy of 1a2b3c4'}});
    expect(await ensurePreOperationBackup(runs, {env: 'staging', envType: 'staging', kind: 'safety', reason: 'restore'})).toBeUndefined();
  });

  it('refuses the operation when the backup fails', async () => {
    const err = await ensurePreOperationBackup(runService(pool()), {env: 'production', envType: 'production', kind: 'safety', reason: 'fail me'}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PolicyDeniedError);
    expect((err as Error).message).toMatch(/^fail me refused: the automatic safety backup of production failed: run \d+ \(backup\) failed: disk full/);
  });
});

describe('scheduled prune with the real PruneService, as a backup-prune run', () => {
  const setup = (p: pg.Pool, deleted: string[]) => {
    const deleter: BackupDeleter = {delete: async (id) => void deleted.push(id)};
    const pruner: PruneService = new PruneService({
      db: p, projectId, policy: {...DEFAULT_RETENTION_POLICY, timeZone: 'Europe/Brussels'}, deleter, clock: systemClock, logger: nullLogger, runs: async (): Promise<RunService> => runs,
    });
    const runs: RunService = runService(p, [backupHandler(), backupPruneRunType(async () => pruner)]);
    return {pruner, runs};
  };
  const twoOfOneDay = async (day: string) => (await db.pool.query<{id: string}>(
    `insert into ops.backups (project_id, environment, kind, status, created_by, created_at)
     values ($1, 'production', 'daily', 'complete', 't', $2::timestamptz + interval '2 hours'), ($1, 'production', 'daily', 'complete', 't', $2::timestamptz + interval '1 hour')
     returning id::text`, [projectId, day])).rows.map((r) => r.id);

  it('prunes production after a fired slot without asking, recording what it kept and deleted', async () => {
    const p = pool();
    const deleted: string[] = [];
    const ids = await twoOfOneDay('2026-11-29T00:00:00Z'); // two complete backups of the same local day: the older one goes
    const {pruner, runs} = setup(p, deleted);
    const report = await fireDueBackups(deps(p, {pruner, runs}), new Date('2026-11-29T05:00:00Z'), {detach: false});
    expect(report.schedules[0]).toMatchObject({outcome: 'fired', runState: 'succeeded', pruned: {deleted: 1, skipped: 0, error: null}});
    expect(deleted).toEqual([ids[1]]);
    const prune = report.runs.find((r) => r.type === 'backup-prune');
    expect(prune).toMatchObject({env: 'production', state: 'succeeded', payload: {yes: true, reason: 'after the scheduled backup of slot 2026-11-29T02:00:00.000Z'}});
    const events = (await db.pool.query<{message: string}>('select message from ops.run_events where run_id = $1 order by id', [prune!.id])).rows.map((e) => e.message);
    expect(events).toEqual(expect.arrayContaining([
      expect.stringMatching(new RegExp(`^keep backup ${ids[0]} \\(production, daily, .*\\): `)),
      expect.stringMatching(new RegExp(`^deleted backup ${ids[1]} \\(production, daily, .*\\): `)),
      'deleted 1, kept 1, skipped 0 (in use), failed 0',
    ]));
  });

  it('queues the prune behind the backup when detached (both exclusive on the environment)', async () => {
    const p = pool();
    const {pruner, runs} = setup(p, []);
    const report = await fireDueBackups(deps(p, {pruner, runs}), new Date('2026-12-01T05:00:00Z'));
    expect(report.schedules[0]).toMatchObject({outcome: 'fired', runState: 'queued', pruned: null});
    expect(report.runs.map((r) => [r.type, r.state, r.exclusive])).toEqual([['backup', 'queued', true], ['backup-prune', 'queued', true]]);
    expect(Number(report.runs[1]!.id)).toBeGreaterThan(Number(report.runs[0]!.id));
  });
});
