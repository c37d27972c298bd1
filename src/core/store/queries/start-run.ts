import {query, type Queryable} from '../pool.js';
import type {RunRow} from './run-rows.js';
import type {Lease} from './lease.js';

/** claimed → running, fenced by the lease (ConflictError when it was lost). */
export async function startRun(db: Queryable, lease: Lease, leaseSeconds: number): Promise<RunRow> {
  const {rows} = await query<RunRow>(db, 'select * from ops.start_run($1, $2, $3, $4)', [lease.runId, lease.workerId, lease.attempt, leaseSeconds]);
  return rows[0]!;
}
