import {query, type Queryable} from '../pool.js';
import type {RunRow} from './run-rows.js';

export interface QueueRunParams {
  readonly projectId: string;
  readonly env: string | null;
  readonly gitSha: string | null;
  readonly ref: string | null;
  readonly type: string;
  readonly payload: Readonly<Record<string, unknown>>;
  /** {priority, delay_seconds, max_attempts, backoff_ms}; absent keys take the SQL defaults. */
  readonly options: Readonly<Record<string, number>>;
}

/** Queues a run (RBAC, audit and the ops_runs_queued wake-up happen in SQL). */
export async function queueRun(db: Queryable, p: QueueRunParams): Promise<RunRow> {
  const {rows} = await query<RunRow>(db, 'select * from ops.queue_run($1, $2, $3, $4, $5, $6, $7)', [
    p.projectId, p.env, p.gitSha, p.ref, p.type, p.payload, p.options,
  ]);
  return rows[0]!;
}
