import pg from 'pg';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import type {RunTypeHandler} from '../../../src/core/run/run-types.js';
import {runTestEnv, type RunTestEnv} from './helpers.js';

const RUNS = 10_000;
const WORKERS = 16;

let env: RunTestEnv;
let ledgerPool: pg.Pool;
beforeAll(async () => {
  env = await runTestEnv('drain');
  await env.db.pool.query(`create table public.ledger (
    run_id bigint not null, attempt integer not null, worker text not null,
    constraint ledger_once unique (run_id, attempt))`);
  ledgerPool = new pg.Pool({connectionString: env.db.url, max: WORKERS});
  ledgerPool.on('error', () => undefined); // idle clients are terminated when the database is dropped
});
afterAll(async () => {
  await ledgerPool?.end();
  await env?.db.drop();
});

describe('draining the queue', () => {
  it(`${WORKERS} workers drain ${RUNS} runs: 0 double claims, 0 runs stuck`, async () => {
    // Each execution writes (run_id, attempt) once; a second execution of the same attempt would
    // violate ledger_once and fail its run.
    const ledger: RunTypeHandler = {
      type: 'ledger',
      async execute(ctx) {
        await ledgerPool.query('insert into public.ledger (run_id, attempt, worker) values ($1, $2, $3)', [ctx.run.id, ctx.attempt, ctx.workerId]);
      },
    };
    await env.db.pool.query(
      `insert into ops.runs (project_id, type, created_by) select $1, 'ledger', 'postgres' from generate_series(1, $2)`,
      [env.projectId, RUNS],
    );
    const runs = env.service({handlers: [ledger], leaseSeconds: 60});
    const t0 = performance.now();
    const summaries = await Promise.all(
      Array.from({length: WORKERS}, (_, i) => runs.runWorker({once: true, concurrency: 1, workerId: `w${i}`, types: ['ledger']})),
    );
    const seconds = (performance.now() - t0) / 1000;

    const {rows: [ledgerCounts]} = await env.db.pool.query<{executions: number; runs: number}>(
      'select count(*)::int as executions, count(distinct run_id)::int as runs from public.ledger',
    );
    const {rows: states} = await env.db.pool.query<{state: string; n: number}>(
      `select state, count(*)::int as n from ops.runs where type = 'ledger' group by state order by state`,
    );
    const doubleClaims = ledgerCounts!.executions - ledgerCounts!.runs;
    const stuck = states.filter((s) => s.state !== 'succeeded').reduce((n, s) => n + s.n, 0);
    const total = summaries.reduce((n, s) => n + s.executed, 0);
    const perWorker = summaries.map((s) => s.executed);
    console.log(
      `drain: ${RUNS} runs, ${WORKERS} workers, ${seconds.toFixed(1)} s (${Math.round(RUNS / seconds)} runs/s); ` +
        `double claims ${doubleClaims}, stuck ${stuck}; per worker min ${Math.min(...perWorker)} max ${Math.max(...perWorker)}`,
    );

    expect(doubleClaims).toBe(0);
    expect(ledgerCounts).toEqual({executions: RUNS, runs: RUNS});
    expect(states).toEqual([{state: 'succeeded', n: RUNS}]);
    expect(stuck).toBe(0);
    expect(total).toBe(RUNS);
    expect(summaries.every((s) => s.failed === 0 && s.lost === 0)).toBe(true);
    const {rows: [attempts]} = await env.db.pool.query<{max: number}>(`select max(attempts)::int as max from ops.runs where type = 'ledger'`);
    expect(attempts!.max).toBe(1);
  });
});
