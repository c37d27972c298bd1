import {query, type Queryable} from '../pool.js';

/** The stored content of an artifact of a project, or undefined when it has none (or is not visible). */
export async function getArtifactContent(db: Queryable, p: {readonly projectId: string; readonly artifactId: string}): Promise<string | undefined> {
  const {rows} = await query<{content: string}>(
    db,
    'select content from ops.artifact_contents where artifact_id = $1 and project_id = $2',
    [p.artifactId, p.projectId],
  );
  return rows[0]?.content;
}
