import {query, type Queryable} from '../pool.js';
import type {RunRow} from './run-rows.js';

/** One run of a project (RLS also limits members to their projects). */
export async function getRun(db: Queryable, p: {readonly projectId: string; readonly runId: string}): Promise<RunRow | undefined> {
  const {rows} = await query<RunRow>(db, 'select * from ops.runs where id = $1 and project_id = $2', [p.runId, p.projectId]);
  return rows[0];
}
