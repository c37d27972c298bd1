import {spawn, type ChildProcess} from 'node:child_process';
import {fileURLToPath} from 'node:url';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {RunRepository} from '../../../src/core/run/run-repository.js';
import type {RunTypeHandler} from '../../../src/core/run/run-types.js';
import {runTestEnv, until, type RunTestEnv} from './helpers.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/worker.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const LEASE_SECONDS = 1;

interface Child {
  readonly proc: ChildProcess;
  readonly lines: Record<string, unknown>[];
  readonly exited: Promise<number | null>;
}

const children: Child[] = [];

function startWorker(workerId: string): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
    cwd: ROOT,
    env: {...process.env, RUN_DB_URL: env.db.url, RUN_PROJECT_ID: env.projectId, RUN_WORKER_ID: workerId, RUN_LEASE_SECONDS: String(LEASE_SECONDS)},
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  let buf = '';
  proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buf += chunk;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        lines.push({kind: 'text', line});
      }
    }
  });
  let stderr = '';
  proc.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => {
    if (code && code !== 0) console.error(`worker ${workerId} exited ${code}: ${stderr}`);
    resolve(code);
  }));
  const child = {proc, lines, exited};
  children.push(child);
  return child;
}

/** In-process "sleepy" handler of the same shape, for the surviving worker. */
const sleepy = (ledger: (runId: string, attempt: number, worker: string) => Promise<void>): RunTypeHandler => ({
  type: 'sleepy',
  async execute(ctx) {
    const steps = Number(ctx.run.payload['steps'] ?? 3);
    for (let i = 0; i < steps; i++) {
      await ctx.clock.sleep(Number(ctx.run.payload['stepMs'] ?? 100));
      await ctx.event('info', `step ${i}`);
    }
    await ledger(ctx.run.id, ctx.attempt, ctx.workerId);
    return {steps};
  },
});

let env: RunTestEnv;
let repo: RunRepository;
const ledgerInsert = (runId: string, attempt: number, worker: string) =>
  env.db.pool.query('insert into public.ledger (run_id, attempt, worker) values ($1, $2, $3)', [runId, attempt, worker]).then(() => undefined);

beforeAll(async () => {
  env = await runTestEnv('crash');
  repo = new RunRepository(env.db.pool, env.projectId);
  await env.db.pool.query(`create table public.ledger (
    run_id bigint not null, attempt integer not null, worker text not null,
    constraint ledger_once unique (run_id, attempt))`);
});
afterAll(async () => {
  for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
  await Promise.all(children.map((c) => c.exited));
  await env?.db.drop();
});

const heldBy = async (workerId: string) =>
  (await env.db.pool.query<{id: string}>(`select id from ops.runs where locked_by = $1 and state = 'running'`, [workerId])).rows.map((r) => r.id);

describe('crashing workers', () => {
  it('a worker process SIGKILLed mid-run 20 times: every run reaches a terminal state exactly once', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      ids.push((await repo.queue({type: 'sleepy', payload: {steps: 8, stepMs: 100}, maxAttempts: 30, backoffMs: 1})).id);
    }
    const t0 = performance.now();
    let killedHolding = 0;
    for (let k = 0; k < 20; k++) {
      const child = startWorker(`K${k}`);
      await until(async () => (await heldBy(`K${k}`)).length > 0, 20_000, 20);
      await new Promise((r) => setTimeout(r, 50 + ((k * 37) % 200))); // somewhere mid-run
      child.proc.kill('SIGKILL');
      await child.exited;
      if ((await heldBy(`K${k}`)).length > 0) killedHolding++;
    }
    const killSeconds = (performance.now() - t0) / 1000;

    // A surviving worker sweeps the dead workers' leases and finishes everything.
    const survivor = env.service({handlers: [sleepy(ledgerInsert)], leaseSeconds: LEASE_SECONDS});
    const stop = new AbortController();
    const worker = survivor.runWorker({workerId: 'survivor', concurrency: 8, signal: stop.signal, pollMs: 100, sweepMs: 200});
    await until(async () => {
      const {rows} = await env.db.pool.query<{n: number}>(`select count(*)::int as n from ops.runs where state not in ('succeeded', 'failed', 'cancelled', 'timed_out')`);
      return rows[0]!.n === 0;
    }, 30_000, 100);
    stop.abort();
    await worker;

    const {rows: states} = await env.db.pool.query<{state: string; n: number}>(`select state, count(*)::int as n from ops.runs group by state`);
    expect(states).toEqual([{state: 'succeeded', n: 20}]);
    // Exactly one end per run: one finish event, and nothing written after it.
    const {rows: ends} = await env.db.pool.query<{run_id: string; finishes: number; after: number; attempts: number}>(`
      select r.id as run_id, r.attempts,
        (select count(*)::int from ops.run_events e where e.run_id = r.id and e.payload ? 'state') as finishes,
        (select count(*)::int from ops.run_events e where e.run_id = r.id and e.id > (
          select max(f.id) from ops.run_events f where f.run_id = r.id and f.payload ? 'state')) as after
      from ops.runs r order by r.id`);
    expect(ends.map((e) => [e.finishes, e.after])).toEqual(ids.map(() => [1, 0]));
    // The ledger row of the final attempt exists once per run.
    const {rows: ledger} = await env.db.pool.query<{n: number}>(
      `select count(*)::int as n from public.ledger l join ops.runs r on r.id = l.run_id and r.attempts = l.attempt`,
    );
    expect(ledger[0]!.n).toBe(20);
    // Each killed attempt was swept once (its lease expired): 20 kills, 20 lease-expiry events.
    const {rows: swept} = await env.db.pool.query<{n: number}>(`select count(*)::int as n from ops.run_events where message like 'lease expired%'`);
    expect(killedHolding).toBe(20);
    expect(swept[0]!.n).toBe(20);
    console.log(`crash: 20 SIGKILLs in ${killSeconds.toFixed(1)} s, ${ends.reduce((n, e) => n + e.attempts, 0)} attempts for 20 runs, all succeeded once`);
  });

  it('a worker paused past its lease (SIGSTOP/SIGCONT) has all its late writes rejected', async () => {
    const run = await repo.queue({type: 'sleepy', payload: {steps: 3, stepMs: 1500}, backoffMs: 1});
    const paused = startWorker('P');
    await until(async () => (await heldBy('P')).includes(run.id), 20_000, 20);
    paused.proc.kill('SIGSTOP');

    // Another worker takes the run over once the lease lapsed and finishes it.
    const other = env.service({handlers: [{type: 'sleepy', execute: async () => ({by: 'B'})}], leaseSeconds: LEASE_SECONDS});
    await until(async () => {
      await other.runWorker({once: true, workerId: 'B', types: ['sleepy']});
      return (await repo.get(run.id)).state === 'succeeded';
    }, 10_000, 100);
    const done = await repo.get(run.id);
    expect(done).toMatchObject({state: 'succeeded', attempts: 2, finishedBy: 'B', result: {by: 'B'}});
    const {rows: [before]} = await env.db.pool.query<{n: number}>('select count(*)::int as n from ops.run_events where run_id = $1', [run.id]);

    paused.proc.kill('SIGCONT');
    const rejected = (write: string) => paused.lines.some((l) => l['write'] === write && l['message'] === `${write} rejected: lease lost`);
    await until(async () => rejected('heartbeat') && rejected('event') && rejected('finish'), 10_000, 50);
    expect(paused.lines.filter((l) => l['kind'] === 'event-rejected')).toEqual([{kind: 'event-rejected', runId: run.id, attempt: 1, code: 'CONFLICT'}]);
    paused.proc.kill('SIGTERM');
    await paused.exited;

    // Nothing of attempt 1 got in after the takeover; the final state is the one B set.
    const {rows: [afterResume]} = await env.db.pool.query<{n: number}>('select count(*)::int as n from ops.run_events where run_id = $1', [run.id]);
    expect(afterResume!.n).toBe(before!.n);
    expect(await repo.get(run.id)).toEqual(done);
    const summary = paused.lines.find((l) => l['kind'] === 'summary');
    expect(summary).toMatchObject({lost: 1, succeeded: 0, failed: 0});
  });
});
