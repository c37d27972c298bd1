import {query, type Queryable} from '../pool.js';
import type {Lease} from './lease.js';

/** Extends the lease; true when cancellation was requested. ConflictError when the lease was lost. */
export async function heartbeat(db: Queryable, lease: Lease, leaseSeconds: number): Promise<boolean> {
  const {rows} = await query<{cancel_requested: boolean}>(db, 'select ops.heartbeat($1, $2, $3, $4) as cancel_requested', [
    lease.runId, lease.workerId, lease.attempt, leaseSeconds,
  ]);
  return rows[0]?.cancel_requested === true;
}
