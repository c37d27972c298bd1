import {query, type Queryable} from '../pool.js';
import type {RunRow} from './run-rows.js';

export interface ListRunsParams {
  readonly projectId: string;
  readonly env: string | null;
  readonly state: string | null;
  readonly type: string | null;
  readonly limit: number;
}

/** A project's runs, newest first (runs_project_index), optionally filtered. */
export async function listRuns(db: Queryable, p: ListRunsParams): Promise<RunRow[]> {
  const {rows} = await query<RunRow>(
    db,
    `select * from ops.runs
     where project_id = $1 and ($2::text is null or env = $2) and ($3::text is null or state = $3) and ($4::text is null or type = $4)
     order by id desc limit $5`,
    [p.projectId, p.env, p.state, p.type, p.limit],
  );
  return rows;
}
