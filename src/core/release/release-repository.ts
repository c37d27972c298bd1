/** Releases in the state store: reads through RLS, writes through the audited ops.record_release / ops.mark_release. */
import {query, type Queryable} from '../store/pool.js';
import {releaseFromRow, type Release, type ReleaseArtifact, type ReleaseRow, type ReleaseStatus} from './release-record.js';

export class ReleaseRepository {
  constructor(private readonly db: Queryable, private readonly projectId: string) {}

  async record(input: ReleaseArtifact & {
    id: string; env: string; sourceEnv: string | null; preDeployBackup: string | null; runId: string | null;
  }): Promise<Release> {
    const {rows} = await query<ReleaseRow>(this.db, 'select * from ops.record_release($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)', [
      this.projectId, input.id, input.env, input.sourceEnv, input.commit, input.addonsHash, input.odooVersion,
      JSON.stringify(input.modules), input.imageDigest, input.preDeployBackup, input.runId,
    ]);
    return releaseFromRow(rows[0]!);
  }

  async mark(input: {
    id: string; env: string; status: ReleaseStatus; gates?: Record<string, unknown> | undefined;
    updatedModules?: readonly string[] | undefined; runId?: string | null | undefined;
  }): Promise<Release> {
    const {rows} = await query<ReleaseRow>(this.db, 'select * from ops.mark_release($1, $2, $3, $4, $5, $6, $7)', [
      this.projectId, input.id, input.env, input.status, input.gates ? JSON.stringify(input.gates) : null,
      input.updatedModules ? JSON.stringify(input.updatedModules) : null, input.runId ?? null,
    ]);
    return releaseFromRow(rows[0]!);
  }

  /** Newest first. */
  async list(filter: {env?: string | undefined; id?: string | undefined; limit?: number | undefined} = {}): Promise<Release[]> {
    const {rows} = await query<ReleaseRow>(this.db,
      `select * from ops.releases where project_id = $1 and ($2::text is null or env = $2) and ($3::text is null or id = $3)
       order by coalesce(deployed_at, created_at) desc, created_at desc limit $4`,
      [this.projectId, filter.env ?? null, filter.id ?? null, filter.limit ?? 100]);
    return rows.map(releaseFromRow);
  }

  async find(env: string, id: string): Promise<Release | undefined> {
    return (await this.list({env, id, limit: 1}))[0];
  }

  /** Whether the release ran (was deployed) on an environment of that type. */
  async ranOn(id: string, envType: string): Promise<Release | undefined> {
    const {rows} = await query<ReleaseRow>(this.db,
      `select r.* from ops.releases r join ops.environments e on e.project_id = r.project_id and e.name = r.env
       where r.project_id = $1 and r.id = $2 and e.type = $3 and r.status in ('deployed', 'rolled_back')
       order by r.deployed_at desc nulls last limit 1`, [this.projectId, id, envType]);
    return rows[0] ? releaseFromRow(rows[0]) : undefined;
  }
}
