import {query, type Queryable} from '../pool.js';
import type {RunEventRow} from './run-rows.js';

/** Events of a run after a given event id, oldest first (run_events_run_index). */
export async function listRunEvents(
  db: Queryable,
  p: {readonly runId: string; readonly afterId: string; readonly limit: number},
): Promise<RunEventRow[]> {
  const {rows} = await query<RunEventRow>(
    db,
    'select id, run_id, at, level, phase, message, payload, attempt from ops.run_events where run_id = $1 and id > $2 order by id limit $3',
    [p.runId, p.afterId, p.limit],
  );
  return rows;
}
