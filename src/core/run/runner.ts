/**
 * The worker loop: claims runs and executes them, up to `concurrency` at a time. Wakes on
 * NOTIFY ops_runs_queued (poll fallback), sweeps expired leases and prunes old events
 * periodically, and stops cleanly when its signal fires: no new claims, in-flight runs get a
 * grace period, then they are aborted and left to lease expiry (another worker retries them).
 */
import {randomBytes} from 'node:crypto';
import {hostname} from 'node:os';
import pg from 'pg';
import type {Clock} from '../clock.js';
import type {EventSink} from '../events.js';
import type {Logger} from '../logger.js';
import {mapPgError} from '../store/pg-errors.js';
import {executeRun, type ExecutionOutcome} from './run-executor.js';
import {RunRepository} from './run-repository.js';
import type {Run} from './run-record.js';
import type {RunTypeRegistry} from './run-types.js';
import {Wakeup} from './wakeup.js';

export interface WorkerOptions {
  /** Drain the runs available now, then return. */
  readonly once?: boolean | undefined;
  /** Runs executed at the same time (default 1). */
  readonly concurrency?: number | undefined;
  readonly workerId?: string | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Poll interval when no notification arrives (default 2 s). */
  readonly pollMs?: number | undefined;
  /** Interval between sweeps of expired leases (default: half the lease, at least 1 s). */
  readonly sweepMs?: number | undefined;
  /** Interval between event prunes (default 1 h). */
  readonly pruneMs?: number | undefined;
  /** After the signal, how long in-flight runs may still finish (default 10 s). */
  readonly graceMs?: number | undefined;
  /** Heartbeat interval (default: a third of the lease). */
  readonly heartbeatMs?: number | undefined;
  /** Claim only these run types (default: any; unknown types are failed with a clear error). */
  readonly types?: readonly string[] | undefined;
  /** Housekeeping the worker runs every `everyMs` (once per pass with `once`): reaping previews, scheduled backups. */
  readonly periodic?: readonly PeriodicTask[] | undefined;
}

export interface PeriodicTask {
  readonly name: string;
  readonly everyMs: number;
  run(signal: AbortSignal): Promise<void>;
}

export interface WorkerSummary {
  readonly workerId: string;
  readonly executed: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly cancelled: number;
  readonly timedOut: number;
  /** Attempts whose lease was taken over by another attempt (their late writes were refused). */
  readonly lost: number;
  /** Attempts left to lease expiry because the worker stopped. */
  readonly abandoned: number;
  readonly swept: number;
  readonly pruned: number;
  /** Run logs (artifacts) deleted by the retention. */
  readonly logsPruned: number;
}

export interface WorkerDeps {
  /** Connection settings are taken from this pool; the worker opens its own pool and listener. */
  readonly pool: pg.Pool;
  readonly projectId: string;
  readonly runTypes: RunTypeRegistry;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly events: EventSink;
  readonly leaseSeconds: number;
  readonly eventRetentionMs: number;
  /** Run logs kept as artifacts (build logs) older than this are deleted with the events' prune. */
  readonly logRetentionMs: number;
}

export function newWorkerId(kind = 'worker'): string {
  return `${hostname()}:${process.pid}:${kind}:${randomBytes(3).toString('hex')}`;
}

export async function runWorker(deps: WorkerDeps, opts: WorkerOptions = {}): Promise<WorkerSummary> {
  const workerId = opts.workerId ?? newWorkerId();
  const concurrency = Math.max(1, opts.concurrency ?? 1);
  const pollMs = opts.pollMs ?? 2000;
  const sweepMs = opts.sweepMs ?? Math.max(1000, (deps.leaseSeconds * 1000) / 2);
  const pruneMs = opts.pruneMs ?? 3_600_000;
  const {clock} = deps;
  const logger = deps.logger.child({worker: workerId});
  const signal = opts.signal ?? new AbortController().signal;
  const shutdown = new AbortController();
  const wakeup = new Wakeup(clock);
  const counts = {executed: 0, succeeded: 0, failed: 0, cancelled: 0, timedOut: 0, lost: 0, abandoned: 0, swept: 0, pruned: 0, logsPruned: 0};

  const pool = new pg.Pool({...deps.pool.options, max: concurrency + 2, application_name: 'odoo-sh-next runner'});
  pool.on('error', () => undefined);
  const repo = new RunRepository(pool, deps.projectId);
  const listener = opts.once ? undefined : await listen(deps.pool, wakeup, logger);
  const onAbort = () => wakeup.notify();
  signal.addEventListener('abort', onAbort, {once: true});

  const inFlight = new Set<Promise<void>>();
  const tally = (o: ExecutionOutcome) => {
    counts.executed++;
    const key = ({succeeded: 'succeeded', failed: 'failed', cancelled: 'cancelled', timed_out: 'timedOut', lost: 'lost', abandoned: 'abandoned'} as const)[o.status];
    counts[key]++;
  };
  const start = (run: Run) => {
    const p: Promise<void> = executeRun(run, {
      repo,
      handler: deps.runTypes.get(run.type),
      knownTypes: deps.runTypes.types,
      workerId,
      leaseSeconds: deps.leaseSeconds,
      heartbeatMs: opts.heartbeatMs,
      clock,
      logger,
      events: deps.events,
      stop: {signal: shutdown.signal, reason: 'shutdown'},
    })
      .then(tally, (err: unknown) => {
        // The run stays claimed; its lease expires and the sweep retries it.
        logger.log('error', `run ${run.id} attempt ${run.attempts}: ${err instanceof Error ? err.message : String(err)}`, {runId: run.id});
      })
      .finally(() => {
        inFlight.delete(p);
        wakeup.notify();
      });
    inFlight.add(p);
  };

  let lastSweep = Number.NEGATIVE_INFINITY;
  let lastPrune = Number.NEGATIVE_INFINITY;
  const lastPeriodic = new Map<string, number>();
  const maintain = async () => {
    const now = clock.now().getTime();
    for (const task of opts.periodic ?? []) {
      if (opts.once ? lastPeriodic.has(task.name) : now - (lastPeriodic.get(task.name) ?? Number.NEGATIVE_INFINITY) < task.everyMs) continue;
      lastPeriodic.set(task.name, now);
      await task.run(signal).catch((err: Error) => logger.log('warn', `${task.name} failed: ${err.message}`));
    }
    if (now - lastSweep >= sweepMs) {
      lastSweep = now;
      counts.swept += await repo.sweep().catch((err: Error) => (logger.log('warn', `sweep failed: ${err.message}`), 0));
    }
    if (!opts.once && now - lastPrune >= pruneMs) {
      lastPrune = now;
      counts.pruned += await repo.pruneEvents(deps.eventRetentionMs).catch((err: Error) => (logger.log('warn', `event prune failed: ${err.message}`), 0));
      counts.logsPruned += await repo.pruneLogs(deps.logRetentionMs).catch((err: Error) => (logger.log('warn', `run log prune failed: ${err.message}`), 0));
    }
  };

  try {
    while (!signal.aborted) {
      await maintain();
      let empty = false;
      while (inFlight.size < concurrency && !signal.aborted) {
        let run: Run | undefined;
        try {
          run = await repo.claimNext(workerId, deps.leaseSeconds, opts.types ?? null);
        } catch (err) {
          if (opts.once) throw err;
          logger.log('warn', `claim failed: ${(err as Error).message}`);
        }
        if (!run) {
          empty = true;
          break;
        }
        start(run);
      }
      if (opts.once && empty && inFlight.size === 0) break;
      // Full: wait for a slot. Empty: wait for a notification, a finished run (it may unblock an
      // exclusive run of its environment) or the poll timer.
      if (empty || inFlight.size >= concurrency) await wakeup.wait(opts.once ? sweepMs : pollMs, signal);
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    if (inFlight.size > 0 && signal.aborted) {
      logger.log('info', `stopping: ${inFlight.size} run(s) in flight get ${opts.graceMs ?? 10_000} ms to finish`);
      const grace = new AbortController();
      await Promise.race([Promise.all(inFlight), clock.sleep(opts.graceMs ?? 10_000, grace.signal).catch(() => undefined)]);
      grace.abort();
      shutdown.abort();
    }
    await Promise.all(inFlight);
    await listener?.end().catch(() => undefined);
    await pool.end().catch(() => undefined);
  }
  return {workerId, ...counts};
}

/** LISTEN ops_runs_queued on a dedicated connection; without it the worker polls. */
async function listen(source: pg.Pool, wakeup: Wakeup, logger: Logger): Promise<pg.Client | undefined> {
  const client = new pg.Client(source.options);
  client.on('error', (err) => logger.log('warn', `wake-up listener lost its connection (polling instead): ${err.message}`));
  client.on('notification', () => wakeup.notify());
  try {
    await client.connect();
    await client.query('listen ops_runs_queued');
    return client;
  } catch (err) {
    logger.log('warn', `cannot listen for new runs (polling instead): ${(mapPgError(err) as Error).message}`);
    await client.end().catch(() => undefined);
    return undefined;
  }
}
