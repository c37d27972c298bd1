import {query, type Queryable} from '../pool.js';
import type {RunRow} from './run-rows.js';

/** The queue's hot path: claims the next available run (one SKIP LOCKED candidate), or none. */
export async function claimNextRun(
  db: Queryable,
  p: {readonly workerId: string; readonly leaseSeconds: number; readonly types: readonly string[] | null},
): Promise<RunRow | undefined> {
  const {rows} = await query<RunRow>(db, 'select * from ops.claim_next_run($1, $2, $3)', [p.workerId, p.leaseSeconds, p.types]);
  return rows[0];
}
