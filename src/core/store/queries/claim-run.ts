import {query, type Queryable} from '../pool.js';
import type {RunRow} from './run-rows.js';

/**
 * Claims one given queued run. Undefined while an exclusive run of its environment is active;
 * ConflictError when it is no longer queued; NotFoundError when it is not visible.
 */
export async function claimRun(
  db: Queryable,
  p: {readonly runId: string; readonly workerId: string; readonly leaseSeconds: number},
): Promise<RunRow | undefined> {
  const {rows} = await query<RunRow>(db, 'select * from ops.claim_run($1, $2, $3)', [p.runId, p.workerId, p.leaseSeconds]);
  return rows[0];
}
