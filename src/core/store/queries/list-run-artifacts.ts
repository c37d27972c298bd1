import {query, type Queryable} from '../pool.js';
import type {ArtifactRow} from './artifact-rows.js';

/** The artifacts of a run of a project (RLS also limits members to their projects), oldest first; `stored` when ops.artifact_contents holds the content. */
export async function listRunArtifacts(
  db: Queryable,
  p: {readonly projectId: string; readonly runId: string},
): Promise<(ArtifactRow & {readonly stored: boolean})[]> {
  const {rows} = await query<ArtifactRow & {stored: boolean}>(
    db,
    `select a.*, exists (select 1 from ops.artifact_contents c where c.artifact_id = a.id) as stored
     from ops.artifacts a where a.run_id = $1 and a.project_id = $2 order by a.id`,
    [p.runId, p.projectId],
  );
  return rows;
}
