import {query, type Queryable} from '../pool.js';
import type {ArtifactRow} from './artifact-rows.js';
import type {Lease} from './lease.js';

/**
 * Records the log of the lease's attempt (optionally of one phase) as the artifact `name`: composed
 * in SQL from the attempt's run events, tail kept above maxBytes (default and at most 8 MiB), fenced
 * by the lease (OS409), replacing an earlier log of that name of the run.
 */
export async function recordRunLog(
  db: Queryable,
  lease: Lease,
  p: {readonly name: string; readonly phase: string | null; readonly maxBytes?: number | undefined},
): Promise<ArtifactRow> {
  const {rows} = await query<ArtifactRow>(db, 'select * from ops.record_run_log($1, $2, $3, $4, $5, coalesce($6, 8388608))', [
    lease.runId, lease.workerId, lease.attempt, p.name, p.phase, p.maxBytes ?? null,
  ]);
  return rows[0]!;
}
