/**
 * The events of a run, optionally followed live: LISTEN ops_run_<id> on a dedicated connection,
 * read new events on each notification, end when the run reaches an end state. A slow safety
 * re-check covers a notification lost with a dropped connection.
 */
import pg from 'pg';
import type {Clock} from '../clock.js';
import type {Logger} from '../logger.js';
import {mapPgError} from '../store/pg-errors.js';
import type {RunRepository} from './run-repository.js';
import type {RunEvent} from './run-record.js';
import {isTerminal} from './run-state.js';
import {Wakeup} from './wakeup.js';

export interface LogsOptions {
  readonly follow?: boolean | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Safety re-check interval while following (default 5 s). */
  readonly recheckMs?: number | undefined;
}

const PAGE = 1000;

async function* page(repo: RunRepository, runId: string, after: {id: string}): AsyncGenerator<RunEvent> {
  for (;;) {
    const batch = await repo.events(runId, after.id, PAGE);
    for (const e of batch) {
      after.id = e.id;
      yield e;
    }
    if (batch.length < PAGE) return;
  }
}

export async function* runLogs(
  deps: {readonly pool: pg.Pool; readonly repo: RunRepository; readonly clock: Clock; readonly logger: Logger},
  runId: string,
  opts: LogsOptions = {},
): AsyncGenerator<RunEvent> {
  const {repo} = deps;
  await repo.get(runId); // NotFoundError before anything else
  const after = {id: '0'};
  if (!opts.follow) {
    yield* page(repo, runId, after);
    return;
  }
  const wakeup = new Wakeup(deps.clock);
  const client = new pg.Client(deps.pool.options);
  client.on('error', (err) => {
    deps.logger.log('warn', `log follower lost its connection: ${err.message}`, {runId});
    wakeup.notify();
  });
  client.on('notification', () => wakeup.notify());
  try {
    try {
      await client.connect();
      await client.query(`listen ops_run_${runId}`); // runId is validated digits
    } catch (err) {
      throw mapPgError(err);
    }
    for (;;) {
      yield* page(repo, runId, after);
      const run = await repo.get(runId);
      if (isTerminal(run.state)) {
        yield* page(repo, runId, after); // events committed with the final state
        return;
      }
      if (opts.signal?.aborted) return;
      await wakeup.wait(opts.recheckMs ?? 5000, opts.signal);
      if (opts.signal?.aborted) return;
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}
