import {query, type Queryable} from '../pool.js';

/** Requeues (with backoff) or fails runs whose lease lapsed; returns how many. */
export async function sweepExpiredRuns(db: Queryable): Promise<number> {
  const {rows} = await query<{count: number}>(db, 'select ops.sweep_expired_runs() as count');
  return rows[0]?.count ?? 0;
}
