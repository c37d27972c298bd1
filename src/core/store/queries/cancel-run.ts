import {query, type Queryable} from '../pool.js';
import type {RunRow} from './run-rows.js';

/** Cancels a queued run, or asks the worker of a claimed/running run to stop. */
export async function cancelRun(db: Queryable, runId: string): Promise<RunRow> {
  const {rows} = await query<RunRow>(db, 'select * from ops.cancel_run($1)', [runId]);
  return rows[0]!;
}
