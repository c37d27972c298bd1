/**
 * The run queue's SQL functions as typed calls returning Run records. Bound to one connection
 * (pool or transaction client) and one project. Worker writes take the Lease that fences them.
 */
import {NotFoundError} from '../errors.js';
import type {Queryable} from '../store/pool.js';
import {appendEvent} from '../store/queries/append-event.js';
import {cancelRun} from '../store/queries/cancel-run.js';
import {claimNextRun} from '../store/queries/claim-next-run.js';
import {claimRun} from '../store/queries/claim-run.js';
import {finishRun} from '../store/queries/finish-run.js';
import {getArtifactContent} from '../store/queries/get-artifact-content.js';
import {getRun} from '../store/queries/get-run.js';
import {heartbeat} from '../store/queries/heartbeat.js';
import type {Lease} from '../store/queries/lease.js';
import {listRunArtifacts} from '../store/queries/list-run-artifacts.js';
import {listRunEvents} from '../store/queries/list-run-events.js';
import {listRuns} from '../store/queries/list-runs.js';
import {pruneEvents, pruneRunLogs} from '../store/queries/prune-events.js';
import {queueRun} from '../store/queries/queue-run.js';
import {recordRunLog} from '../store/queries/record-run-log.js';
import {startRun} from '../store/queries/start-run.js';
import {sweepExpiredRuns} from '../store/queries/sweep-expired-runs.js';
import type {EventLevel} from '../events.js';
import {artifactFromRow, savedLogFromRow, type RunArtifact, type SavedLog} from './run-artifacts.js';
import {runEventFromRow, runFromRow, type Run, type RunEvent} from './run-record.js';
import type {FinalState, RunState} from './run-state.js';

export type {Lease};

export interface QueueRunInput {
  readonly type: string;
  readonly env?: string | undefined;
  readonly ref?: string | undefined;
  readonly gitSha?: string | undefined;
  readonly payload?: Readonly<Record<string, unknown>> | undefined;
  readonly maxAttempts?: number | undefined;
  readonly priority?: number | undefined;
  readonly delaySeconds?: number | undefined;
  readonly backoffMs?: number | undefined;
}

export class RunRepository {
  constructor(
    private readonly db: Queryable,
    private readonly projectId: string,
  ) {}

  async queue(input: QueueRunInput): Promise<Run> {
    const options: Record<string, number> = {};
    if (input.priority !== undefined) options['priority'] = input.priority;
    if (input.delaySeconds !== undefined) options['delay_seconds'] = input.delaySeconds;
    if (input.maxAttempts !== undefined) options['max_attempts'] = input.maxAttempts;
    if (input.backoffMs !== undefined) options['backoff_ms'] = input.backoffMs;
    const row = await queueRun(this.db, {
      projectId: this.projectId,
      env: input.env ?? null,
      gitSha: input.gitSha ?? null,
      ref: input.ref ?? null,
      type: input.type,
      payload: input.payload ?? {},
      options,
    });
    return runFromRow(row);
  }

  async claimNext(workerId: string, leaseSeconds: number, types: readonly string[] | null = null): Promise<Run | undefined> {
    const row = await claimNextRun(this.db, {workerId, leaseSeconds, types});
    return row && runFromRow(row);
  }

  async claim(runId: string, workerId: string, leaseSeconds: number): Promise<Run | undefined> {
    const row = await claimRun(this.db, {runId, workerId, leaseSeconds});
    return row && runFromRow(row);
  }

  async start(lease: Lease, leaseSeconds: number): Promise<Run> {
    return runFromRow(await startRun(this.db, lease, leaseSeconds));
  }

  heartbeat(lease: Lease, leaseSeconds: number): Promise<boolean> {
    return heartbeat(this.db, lease, leaseSeconds);
  }

  async event(
    runId: string,
    e: {level: EventLevel; message: string; payload?: Readonly<Record<string, unknown>>; phase?: string | null; lease?: Lease | null},
  ): Promise<string> {
    return appendEvent(this.db, {runId, level: e.level, message: e.message, payload: e.payload ?? {}, phase: e.phase ?? null, lease: e.lease ?? null});
  }

  /** Records the attempt's events (of one phase, when given) as the log artifact `name` (fenced: ConflictError once the lease is lost). */
  async saveLog(lease: Lease, name: string, opts: {phase?: string | null | undefined; maxBytes?: number | undefined} = {}): Promise<SavedLog> {
    return savedLogFromRow(await recordRunLog(this.db, lease, {name, phase: opts.phase ?? null, maxBytes: opts.maxBytes}));
  }

  async artifacts(runId: string): Promise<RunArtifact[]> {
    return (await listRunArtifacts(this.db, {projectId: this.projectId, runId})).map(artifactFromRow);
  }

  artifactContent(artifactId: string): Promise<string | undefined> {
    return getArtifactContent(this.db, {projectId: this.projectId, artifactId});
  }

  async finish(lease: Lease, status: FinalState, opts: {error?: string | null; result?: Readonly<Record<string, unknown>> | null} = {}): Promise<Run> {
    return runFromRow(await finishRun(this.db, lease, {status, error: opts.error ?? null, result: opts.result ?? null}));
  }

  sweep(): Promise<number> {
    return sweepExpiredRuns(this.db);
  }

  pruneEvents(olderThanMs: number): Promise<number> {
    return pruneEvents(this.db, olderThanMs);
  }

  /** Deletes run logs kept as artifacts (saveLog) older than olderThanMs (admins only; others: 0). */
  pruneLogs(olderThanMs: number): Promise<number> {
    return pruneRunLogs(this.db, olderThanMs);
  }

  async cancel(runId: string): Promise<Run> {
    await this.get(runId); // NotFoundError for runs of other projects
    return runFromRow(await cancelRun(this.db, runId));
  }

  async find(runId: string): Promise<Run | undefined> {
    const row = await getRun(this.db, {projectId: this.projectId, runId});
    return row && runFromRow(row);
  }

  async get(runId: string): Promise<Run> {
    const run = await this.find(runId);
    if (!run) {
      throw new NotFoundError(`run ${runId} not found`, {actions: ['list runs with `odoo-sh-next run list`'], data: {runId}});
    }
    return run;
  }

  async list(filter: {env?: string | undefined; state?: RunState | undefined; type?: string | undefined; limit: number}): Promise<Run[]> {
    const rows = await listRuns(this.db, {
      projectId: this.projectId,
      env: filter.env ?? null,
      state: filter.state ?? null,
      type: filter.type ?? null,
      limit: filter.limit,
    });
    return rows.map(runFromRow);
  }

  async events(runId: string, afterId = '0', limit = 1000): Promise<RunEvent[]> {
    return (await listRunEvents(this.db, {runId, afterId, limit})).map(runEventFromRow);
  }
}
