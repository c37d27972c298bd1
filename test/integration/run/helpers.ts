import pg from 'pg';
import {systemClock} from '../../../src/core/clock.js';
import {MemorySink} from '../../../src/core/events.js';
import {nullLogger, type Logger} from '../../../src/core/logger.js';
import {RunService, type RunServiceConfig} from '../../../src/core/run/run-service.js';
import {RunTypeRegistry, type RunTypeHandler} from '../../../src/core/run/run-types.js';
import {createTestDatabase, type TestDatabase} from '../../helpers/db.js';

export function testConfig(over: {leaseSeconds?: number; runMaxAttempts?: number} = {}): RunServiceConfig {
  return {
    odoo: {},
    provider: {name: 'local'},
    postgres: {},
    state: {leaseSeconds: over.leaseSeconds ?? 2, runMaxAttempts: over.runMaxAttempts ?? 5, eventRetention: {ms: 30 * 86_400_000}, logRetention: {ms: 180 * 86_400_000}},
  };
}

export interface RunTestEnv {
  readonly db: TestDatabase;
  readonly projectId: string;
  readonly events: MemorySink;
  service(opts?: {handlers?: RunTypeHandler[]; leaseSeconds?: number; logger?: Logger; useDefaultTypes?: boolean}): RunService;
}

/** A fresh migrated database with one project whose admin is the superuser the pool connects as. */
export async function runTestEnv(prefix = 'run'): Promise<RunTestEnv> {
  const db = await createTestDatabase(prefix);
  const {rows} = await db.pool.query<{id: string}>(`select (ops.create_project('p')).id as id`);
  const projectId = rows[0]!.id;
  const events = new MemorySink();
  return {
    db,
    projectId,
    events,
    service: (opts = {}) =>
      new RunService({
        pool: db.pool,
        projectId,
        clock: systemClock,
        events,
        logger: opts.logger ?? nullLogger,
        config: testConfig({leaseSeconds: opts.leaseSeconds}),
        ...(opts.useDefaultTypes ? {} : {runTypes: new RunTypeRegistry(opts.handlers ?? [])}),
      }),
  };
}

/** Polls until fn returns a truthy value (or throws after timeoutMs). */
export async function until<T>(fn: () => Promise<T | undefined | false | null>, timeoutMs = 10_000, everyMs = 25): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function runRow(pool: pg.Pool, id: string): Promise<Record<string, unknown>> {
  const {rows} = await pool.query('select * from ops.runs where id = $1', [id]);
  return rows[0] as Record<string, unknown>;
}

/** Makes the run's lease lapse now (as if the worker stalled). */
export async function expireLease(pool: pg.Pool, id: string): Promise<void> {
  await pool.query(`update ops.runs set lease_expires_at = now() - interval '1 second' where id = $1`, [id]);
}
