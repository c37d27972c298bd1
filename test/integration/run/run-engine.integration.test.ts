import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import pg from 'pg';
import {ConflictError, NotFoundError, PolicyDeniedError, ProviderError, UsageError} from '../../../src/core/errors.js';
import {RunService} from '../../../src/core/run/run-service.js';
import {RunTypeRegistry} from '../../../src/core/run/run-types.js';
import {createMemberRole} from '../../helpers/db.js';
import {systemClock} from '../../../src/core/clock.js';
import {nullSink} from '../../../src/core/events.js';
import {nullLogger} from '../../../src/core/logger.js';
import {executeRun} from '../../../src/core/run/run-executor.js';
import {RunRepository} from '../../../src/core/run/run-repository.js';
import {errorForRun} from '../../../src/core/run/run-outcome.js';
import type {RunEvent} from '../../../src/core/run/run-record.js';
import {backoffDelayMs, RUN_STATES, RUN_TRANSITIONS} from '../../../src/core/run/run-state.js';
import type {RunTypeHandler} from '../../../src/core/run/run-types.js';
import {expireLease, runRow, runTestEnv, testConfig, until, type RunTestEnv} from './helpers.js';

let env: RunTestEnv;
let repo: RunRepository;
beforeAll(async () => {
  env = await runTestEnv();
  repo = new RunRepository(env.db.pool, env.projectId);
});
afterAll(async () => env?.db.drop());

const waitForAbort: RunTypeHandler = {
  type: 'wait',
  execute: (ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), {once: true})),
};
const quick: RunTypeHandler = {
  type: 'quick',
  async execute(ctx) {
    await ctx.phase('prepare', async () => ctx.event('info', 'preparing', {step: 1}));
    await ctx.phase('apply', async () => undefined);
    return {answer: 42};
  },
};
const deploy: RunTypeHandler = {type: 'deploy', execute: async () => ({deployed: true})};

describe('state machine', () => {
  it('ops.run_transitions equals the TypeScript table exactly', async () => {
    const {rows} = await env.db.pool.query<{from_state: string; to_state: string}>('select from_state, to_state from ops.run_transitions');
    const sql = rows.map((r) => `${r.from_state}->${r.to_state}`).sort();
    const ts = RUN_STATES.flatMap((from) => RUN_TRANSITIONS[from].map((to) => `${from}->${to}`)).sort();
    expect(sql).toEqual(ts);
    const {rows: check} = await env.db.pool.query<{def: string}>(
      `select pg_get_constraintdef(oid) as def from pg_constraint where conname = 'runs_state_check'`,
    );
    for (const s of RUN_STATES) expect(check[0]!.def).toContain(`'${s}'`);
  });
});

describe('fencing by (run, worker, attempt)', () => {
  it('rejects every late write of a worker whose lease was taken over, and finish is idempotent', async () => {
    const run = await repo.queue({type: 'quick', backoffMs: 1});
    const a = (await repo.claim(run.id, 'worker-a', 30))!;
    expect(a.attempts).toBe(1);
    const leaseA = {runId: run.id, workerId: 'worker-a', attempt: 1};
    await repo.start(leaseA, 30);
    await repo.event(run.id, {level: 'info', message: 'a was here', lease: leaseA});

    await expireLease(env.db.pool, run.id);
    expect(await repo.sweep()).toBe(1);
    await env.db.pool.query('update ops.runs set run_at = now() where id = $1', [run.id]);
    const b = (await repo.claimNext('worker-b', 30))!;
    expect(b).toMatchObject({id: run.id, attempts: 2, lockedBy: 'worker-b'});
    const leaseB = {runId: run.id, workerId: 'worker-b', attempt: 2};

    await expect(repo.heartbeat(leaseA, 30)).rejects.toBeInstanceOf(ConflictError);
    await expect(repo.event(run.id, {level: 'info', message: 'late', lease: leaseA})).rejects.toBeInstanceOf(ConflictError);
    await expect(repo.start(leaseA, 30)).rejects.toBeInstanceOf(ConflictError);
    await expect(repo.finish(leaseA, 'succeeded')).rejects.toBeInstanceOf(ConflictError);
    // Same worker name, stale attempt number: still refused.
    await expect(repo.heartbeat({...leaseB, attempt: 1}, 30)).rejects.toBeInstanceOf(ConflictError);

    await repo.start(leaseB, 30);
    const done = await repo.finish(leaseB, 'succeeded', {result: {by: 'b'}});
    expect(done).toMatchObject({state: 'succeeded', finishedBy: 'worker-b', result: {by: 'b'}});
    expect(await repo.finish(leaseB, 'succeeded', {result: {by: 'b'}})).toMatchObject({state: 'succeeded', updatedAt: done.updatedAt});
    await expect(repo.finish(leaseB, 'failed')).rejects.toBeInstanceOf(ConflictError);
    await expect(repo.finish(leaseA, 'succeeded')).rejects.toBeInstanceOf(ConflictError);

    const events = await repo.events(run.id);
    expect(events.filter((e) => e.message === 'late')).toEqual([]);
    expect(events.map((e) => e.attempt)).toContain(2);
  });
});

describe('sweep of expired leases', () => {
  it('requeues with exponential backoff, then fails at max attempts keeping the errors', async () => {
    const run = await repo.queue({type: 'quick', maxAttempts: 3, backoffMs: 1000});
    for (let attempt = 1; attempt <= 3; attempt++) {
      await env.db.pool.query('update ops.runs set run_at = now() where id = $1', [run.id]);
      const claimed = (await repo.claim(run.id, `w${attempt}`, 30))!;
      expect(claimed.attempts).toBe(attempt);
      await repo.start({runId: run.id, workerId: `w${attempt}`, attempt}, 30);
      await expireLease(env.db.pool, run.id);
      const {rows} = await env.db.pool.query<{swept: number; now: Date}>('select ops.sweep_expired_runs() as swept, now() as now');
      expect(rows[0]!.swept).toBe(1);
      const after = await runRow(env.db.pool, run.id);
      if (attempt < 3) {
        expect(after['state']).toBe('queued');
        const delay = (after['run_at'] as Date).getTime() - rows[0]!.now.getTime();
        expect(delay).toBe(backoffDelayMs(1000, attempt));
        expect(after['locked_by']).toBeNull();
      } else {
        expect(after['state']).toBe('failed');
        expect(after['last_error']).toMatch(/lease expired \(worker w1, attempt 1\).*lease expired \(worker w2, attempt 2\).*lease expired \(worker w3, attempt 3\); max attempts reached/);
        expect(after['finished_at']).not.toBeNull();
      }
    }
    const failed = await repo.get(run.id);
    expect(errorForRun(failed)).toBeInstanceOf(ProviderError);
  });
});

describe('cancellation', () => {
  it('cancels a queued run at once; cancelling an ended run is a conflict; unknown run is not found', async () => {
    const runs = env.service({handlers: [quick]});
    const run = await runs.create({type: 'quick', detach: true});
    expect(run.state).toBe('queued');
    expect(await runs.cancel(run.id)).toMatchObject({state: 'cancelled', cancelRequested: true});
    await expect(runs.cancel(run.id)).rejects.toBeInstanceOf(ConflictError);
    await expect(runs.cancel('999999')).rejects.toBeInstanceOf(NotFoundError);
    await expect(runs.status('abc')).rejects.toBeInstanceOf(UsageError);
  });

  it('reaches a running run: the heartbeat sees it, the handler is aborted, the run ends cancelled', async () => {
    const runs = env.service({handlers: [waitForAbort], leaseSeconds: 1});
    const created = runs.create({type: 'wait'});
    const running = await until(async () => (await runs.list({type: 'wait', state: 'running'}))[0]);
    const t0 = Date.now();
    expect(await runs.cancel(running.id)).toMatchObject({state: 'running', cancelRequested: true});
    const ended = await created;
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(ended).toMatchObject({id: running.id, state: 'cancelled', lastError: `run ${running.id} was cancelled`});
  });

  it('a handler that ignores its aborted signal is given up on after the grace period', async () => {
    const run = await repo.queue({type: 'stubborn'});
    const claimed = (await repo.claim(run.id, 'w-stubborn', 30))!;
    const stubborn: RunTypeHandler = {type: 'stubborn', execute: () => new Promise(() => undefined)};
    const executing = executeRun(claimed, {
      repo, handler: stubborn, knownTypes: ['stubborn'], workerId: 'w-stubborn', leaseSeconds: 30, heartbeatMs: 50,
      abortGraceMs: 100, clock: systemClock, logger: nullLogger, events: nullSink,
    });
    await until(async () => (await repo.get(run.id)).state === 'running');
    await repo.cancel(run.id);
    const outcome = await executing;
    expect(outcome.status).toBe('cancelled');
    expect(outcome.run).toMatchObject({state: 'cancelled', lastError: `run ${run.id} was cancelled`});
  });

  it('Ctrl-C of an inline run cancels it', async () => {
    const runs = env.service({handlers: [waitForAbort], leaseSeconds: 1});
    const ac = new AbortController();
    const created = runs.create({type: 'wait', signal: ac.signal});
    await until(async () => (await runs.list({type: 'wait', state: 'running'}))[0]);
    ac.abort();
    expect(await created).toMatchObject({state: 'cancelled', lastError: 'interrupted'});
  });
});

describe('exclusive runs of one environment', () => {
  it('never claims two exclusive runs of one environment; other environments run in parallel', async () => {
    const s1 = await repo.queue({type: 'deploy', env: 'staging'});
    const s2 = await repo.queue({type: 'deploy', env: 'staging'});
    const p1 = await repo.queue({type: 'deploy', env: 'prod'});
    const plain = await repo.queue({type: 'quick', env: 'staging'});
    expect([s1.exclusive, p1.exclusive, plain.exclusive]).toEqual([true, true, false]);

    const first = (await repo.claimNext('w1', 30, ['deploy']))!;
    const second = (await repo.claimNext('w2', 30, ['deploy']))!;
    expect([first.id, second.id]).toEqual([s1.id, p1.id]);
    expect(await repo.claimNext('w3', 30, ['deploy'])).toBeUndefined();
    expect(await repo.claim(s2.id, 'w3', 30)).toBeUndefined(); // the inline claim waits too
    expect((await repo.claimNext('w3', 30, ['quick']))?.id).toBe(plain.id); // non-exclusive runs of the env go on

    await repo.start({runId: s1.id, workerId: 'w1', attempt: 1}, 30);
    await repo.finish({runId: s1.id, workerId: 'w1', attempt: 1}, 'succeeded');
    expect((await repo.claimNext('w3', 30, ['deploy']))?.id).toBe(s2.id);
  });

  it('12 concurrent claimers over 30 exclusive runs of one environment: exactly one wins each round', async () => {
    const ids = [];
    for (let i = 0; i < 30; i++) ids.push((await repo.queue({type: 'deploy', env: 'race'})).id);
    const clients = Array.from({length: 12}, (_, i) => ({id: `c${i}`, repo: new RunRepository(env.db.pool, env.projectId)}));
    for (let round = 0; round < 5; round++) {
      const claimed = (await Promise.all(clients.map((c) => c.repo.claimNext(c.id, 30, ['deploy'])))).filter((r) => r !== undefined);
      expect(claimed).toHaveLength(1);
      const {rows} = await env.db.pool.query(`select count(*)::int as n from ops.runs where env = 'race' and state in ('claimed', 'running')`);
      expect(rows[0].n).toBe(1);
      const c = claimed[0]!;
      await repo.finish({runId: c.id, workerId: c.lockedBy!, attempt: c.attempts}, 'failed', {error: 'test'});
    }
  });

  it('an inline run waits while its environment is busy and runs once it is free', async () => {
    const runs = env.service({handlers: [deploy]});
    const blocker = await repo.queue({type: 'deploy', env: 'busy'});
    await repo.claim(blocker.id, 'blocker', 30);
    const created = runs.create({type: 'deploy', env: 'busy'});
    await new Promise((r) => setTimeout(r, 300));
    expect((await runs.list({env: 'busy', state: 'queued'})).length).toBe(1);
    await repo.finish({runId: blocker.id, workerId: 'blocker', attempt: 1}, 'cancelled');
    expect(await created).toMatchObject({state: 'succeeded', result: {deployed: true}});
  });
});

describe('RunService', () => {
  it('executes a run inline: phases and events recorded, result kept, progress emitted', async () => {
    const runs = env.service({handlers: [quick]});
    const run = await runs.create({type: 'quick', env: 'dev-1', ref: 'refs/heads/feature/x', gitSha: 'ABCDEF1', payload: {k: 'v'}});
    expect(run).toMatchObject({state: 'succeeded', result: {answer: 42}, phase: 'apply', gitSha: 'abcdef1', payload: {k: 'v'}, attempts: 1});
    const events: RunEvent[] = [];
    for await (const e of runs.logs(run.id)) events.push(e);
    expect(events.map((e) => [e.phase, e.message])).toEqual([
      [null, expect.stringMatching(/^attempt 1 of 5 started on worker .*:inline:/)],
      ['prepare', 'prepare started'],
      ['prepare', 'preparing'],
      ['prepare', 'prepare done'],
      ['apply', 'apply started'],
      ['apply', 'apply done'],
      [null, 'run succeeded'],
    ]);
    expect(env.events.events.filter((e) => e.runId === run.id).map((e) => e.kind)).toEqual(
      ['message', 'phase-start', 'message', 'phase-end', 'phase-start', 'phase-end', 'message'],
    );
  });

  it('refuses an unknown run type at create time, listing the known ones', async () => {
    const runs = env.service({handlers: [quick, deploy]});
    await expect(runs.create({type: 'nope'})).rejects.toMatchObject({code: 'USAGE', message: 'unknown run type "nope"; known types: deploy, quick'});
    await expect(runs.create({type: 'quick', env: 'Bad Env'})).rejects.toBeInstanceOf(UsageError);
    await expect(runs.create({type: 'quick', gitSha: 'xyz'})).rejects.toBeInstanceOf(UsageError);
    await expect(runs.list({state: 'weird'})).rejects.toBeInstanceOf(UsageError);
  });

  it('a worker that does not know a claimed run type fails it with a clear error', async () => {
    const mystery = await repo.queue({type: 'mystery'});
    const summary = await env.service({handlers: [quick]}).runWorker({once: true, types: ['mystery']});
    expect(summary).toMatchObject({executed: 1, failed: 1});
    const run = await repo.get(mystery.id);
    expect(run.state).toBe('failed');
    expect(run.lastError).toBe('this worker does not know run type "mystery" (known: quick)');
  });

  it('a handler error fails the run and keeps the error class; a time limit ends it as timed_out', async () => {
    const runs = env.service({
      handlers: [
        {type: 'broken', execute: async () => Promise.reject(new ConflictError('env locked', {actions: ['wait']}))},
        {...waitForAbort, type: 'slow', timeoutMs: 200},
      ],
    });
    const broken = await runs.create({type: 'broken'});
    expect(broken).toMatchObject({state: 'failed', lastError: 'env locked', result: {error: {code: 'CONFLICT', actions: ['wait']}}});
    expect(errorForRun(broken)).toBeInstanceOf(ConflictError);
    const slow = await runs.create({type: 'slow'});
    expect(slow).toMatchObject({state: 'timed_out'});
    expect(slow.lastError).toMatch(/took longer than 200 ms/);
  });

  it('the doctor run type checks this machine (fails here: no odoo.bin configured)', async () => {
    const runs = env.service({useDefaultTypes: true});
    expect(runs.runTypes.types).toEqual(['doctor']);
    const run = await runs.create({type: 'doctor'});
    expect(run.state).toBe('failed');
    const err = errorForRun(run)!;
    expect(err).toBeInstanceOf(ProviderError);
    const checks = err.data?.['checks'] as {name: string; status: string}[];
    expect(checks.map((c) => [c.name, c.status])).toEqual([['state-db', 'ok'], ['postgres-binaries', 'ok'], ['provider', 'fail']]);
    const events: RunEvent[] = [];
    for await (const e of runs.logs(run.id)) events.push(e);
    expect(events.filter((e) => e.payload['check']).map((e) => [e.phase, e.level])).toEqual([['state-db', 'info'], ['postgres-binaries', 'info'], ['provider', 'error']]);
  });

  it('logs --follow streams events until the run ends', async () => {
    const runs = env.service({handlers: [quick]});
    const run = await runs.create({type: 'quick', detach: true});
    const seen: string[] = [];
    const following = (async () => {
      for await (const e of runs.logs(run.id, {follow: true, recheckMs: 60_000})) seen.push(e.message);
    })();
    await new Promise((r) => setTimeout(r, 200));
    expect(seen).toEqual([]);
    await runs.runWorker({once: true, types: ['quick']});
    await following;
    expect(seen[0]).toMatch(/^attempt 1 of 5 started/);
    expect(seen.at(-1)).toBe('run succeeded');
    await expect(async () => {
      for await (const _ of runs.logs('999999')) void _;
    }).rejects.toBeInstanceOf(NotFoundError);
  });

  it('a continuous worker wakes on NOTIFY (not the poll), and stops cleanly on its signal', async () => {
    const runs = env.service({handlers: [quick]});
    const ac = new AbortController();
    const worker = runs.runWorker({signal: ac.signal, pollMs: 60_000, types: ['quick']});
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    const run = await runs.create({type: 'quick', detach: true});
    await until(async () => (await runs.status(run.id)).state === 'succeeded');
    expect(Date.now() - t0).toBeLessThan(3000);
    ac.abort();
    expect(await worker).toMatchObject({executed: 1, succeeded: 1});
  });

  it('a stopping worker leaves an unfinished run to lease expiry, and the sweep retries it', async () => {
    const runs = env.service({handlers: [waitForAbort], leaseSeconds: 1});
    const run = await runs.create({type: 'wait', detach: true, backoffMs: 1});
    const ac = new AbortController();
    const worker = runs.runWorker({signal: ac.signal, graceMs: 50, types: ['wait']});
    await until(async () => (await runs.status(run.id)).state === 'running');
    ac.abort();
    expect(await worker).toMatchObject({abandoned: 1, executed: 1});
    expect(await runs.status(run.id)).toMatchObject({state: 'running'});
    await until(async () => (await repo.sweep()) === 1, 5000, 100);
    expect(await runs.status(run.id)).toMatchObject({state: 'queued', attempts: 1});
    await runs.cancel(run.id);
  });
});

describe('as project members (ops_app roles, RLS and grants)', () => {
  it('a developer queues, executes inline (claim_run), lists and follows; a viewer may only read', async () => {
    await createMemberRole(env.db.pool, 'run_dev');
    await createMemberRole(env.db.pool, 'run_viewer');
    await env.db.pool.query(`select ops.add_member($1, 'run_dev', 'developer'), ops.add_member($1, 'run_viewer', 'viewer')`, [env.projectId]);
    const as = (role: string) => {
      const pool = new pg.Pool({connectionString: env.db.urlAs(role), max: 4}).on('error', () => undefined);
      const service = new RunService({
        pool, projectId: env.projectId, clock: systemClock, events: nullSink, logger: nullLogger, config: testConfig(),
        runTypes: new RunTypeRegistry([quick]),
      });
      return {pool, service};
    };
    const dev = as('run_dev');
    const viewer = as('run_viewer');
    try {
      const run = await dev.service.create({type: 'quick'});
      expect(run).toMatchObject({state: 'succeeded', createdBy: 'run_dev', result: {answer: 42}});
      const queued = await dev.service.create({type: 'quick', detach: true});
      expect(await dev.service.runWorker({once: true, types: ['quick']})).toMatchObject({executed: 1, succeeded: 1});
      expect((await dev.service.status(queued.id)).state).toBe('succeeded');

      expect((await viewer.service.status(run.id)).state).toBe('succeeded');
      expect((await viewer.service.list({type: 'quick'})).length).toBeGreaterThan(0);
      await expect(viewer.service.create({type: 'quick', detach: true})).rejects.toBeInstanceOf(PolicyDeniedError);
      const pending = await dev.service.create({type: 'quick', detach: true});
      await expect(viewer.service.cancel(pending.id)).rejects.toBeInstanceOf(PolicyDeniedError);
      // A viewer never executes runs: its worker claims nothing, and claiming or fencing a run by id is refused.
      expect(await viewer.service.runWorker({once: true, types: ['quick']})).toMatchObject({executed: 0});
      expect((await dev.service.status(pending.id)).state).toBe('queued');
      await expect(viewer.pool.query(`select * from ops.claim_run($1, 'v', 60)`, [pending.id])).rejects.toMatchObject({code: 'OS404'});
      await expect(viewer.pool.query(`select * from ops.claim_next_run('v', 60)`)).resolves.toMatchObject({rowCount: 0});
      expect(await dev.service.cancel(pending.id)).toMatchObject({state: 'cancelled'});
    } finally {
      await dev.pool.end();
      await viewer.pool.end();
    }
  });
});
