import {query, type Queryable} from '../pool.js';
import type {RunRow} from './run-rows.js';
import type {Lease} from './lease.js';

/** Ends a run, fenced by the lease; idempotent for the same worker, attempt and status. */
export async function finishRun(
  db: Queryable,
  lease: Lease,
  p: {readonly status: string; readonly error: string | null; readonly result: Readonly<Record<string, unknown>> | null},
): Promise<RunRow> {
  const {rows} = await query<RunRow>(db, 'select * from ops.finish_run($1, $2, $3, $4, $5, $6)', [
    lease.runId, lease.workerId, lease.attempt, p.status, p.error, p.result,
  ]);
  return rows[0]!;
}
