import type {Queryable} from '../store/pool.js';
import {query} from '../store/pool.js';
import {NotFoundError} from '../errors.js';
import type {EnvType} from '../env/branch-rules.js';
import {environmentFromRow, type Environment, type EnvironmentRow, type EnvironmentStatus} from './environment-record.js';

/** Environments in the state store; every write goes through an audited ops.* function. */
export class EnvironmentRepository {
  constructor(private readonly db: Queryable, private readonly projectId: string) {}

  async upsert(input: {
    name: string; type: EnvType; branch: string | null; ttlExpiresAt: Date | null; settings?: Record<string, unknown>;
  }): Promise<Environment> {
    const {rows} = await query<EnvironmentRow>(this.db, 'select * from ops.upsert_environment($1, $2, $3, $4, $5, $6)', [
      this.projectId, input.name, input.type, input.branch, input.ttlExpiresAt, input.settings ?? {},
    ]);
    return environmentFromRow(rows[0]!);
  }

  async setState(input: {
    name: string; status: EnvironmentStatus; url?: string | null; release?: string | null; database?: string | null; runId?: string | null;
  }): Promise<Environment> {
    const {rows} = await query<EnvironmentRow>(this.db, 'select * from ops.set_environment_state($1, $2, $3, $4, $5, $6, $7)', [
      this.projectId, input.name, input.status, input.url ?? null, input.release ?? null, input.database ?? null, input.runId ?? null,
    ]);
    return environmentFromRow(rows[0]!);
  }

  /** The live (not destroyed) environment of that name, or undefined. */
  async find(name: string): Promise<Environment | undefined> {
    const {rows} = await query<EnvironmentRow>(this.db,
      `select * from ops.environments where project_id = $1 and name = $2 and status <> 'destroyed'`, [this.projectId, name]);
    return rows[0] ? environmentFromRow(rows[0]) : undefined;
  }

  async get(name: string): Promise<Environment> {
    const env = await this.find(name);
    if (!env) throw new NotFoundError(`environment "${name}" not found`, {actions: ['odoo-sh-next env list']});
    return env;
  }

  async findByPr(pr: number): Promise<Environment | undefined> {
    const {rows} = await query<EnvironmentRow>(this.db,
      `select * from ops.environments where project_id = $1 and status <> 'destroyed' and settings ->> 'pr' = $2
       order by created_at desc limit 1`, [this.projectId, String(pr)]);
    return rows[0] ? environmentFromRow(rows[0]) : undefined;
  }

  async list(opts: {type?: EnvType | undefined; includeDestroyed?: boolean} = {}): Promise<Environment[]> {
    const {rows} = await query<EnvironmentRow>(this.db,
      `select * from ops.environments where project_id = $1 and ($2::text is null or type = $2)
         and ($3 or status <> 'destroyed') order by type, name, created_at desc`,
      [this.projectId, opts.type ?? null, opts.includeDestroyed ?? false]);
    return rows.map(environmentFromRow);
  }

  async expired(now: Date): Promise<Environment[]> {
    const {rows} = await query<EnvironmentRow>(this.db, 'select * from ops.expired_environments($1, $2)', [this.projectId, now]);
    return rows.map(environmentFromRow);
  }
}
