/** Restores (and the backups they read) in the state store; every write is an audited ops.* function. */
import type {Queryable} from '../store/pool.js';
import {query} from '../store/pool.js';
import {NotFoundError, UsageError} from '../errors.js';
import {parseBackupId} from './backup-record.js';

export type RestoreStatus = 'pending' | 'verifying' | 'switched' | 'confirmed' | 'expired' | 'failed' | 'rolled_back';

export interface RestoreRecord {
  readonly id: string;
  readonly backupId: string | null;
  readonly targetEnv: string;
  readonly sourceEnv: string | null;
  readonly status: RestoreStatus;
  readonly runId: string | null;
  readonly newDatabase: string | null;
  readonly previousDatabase: string | null;
  readonly keepPreviousUntil: string | null;
  readonly source: Readonly<Record<string, unknown>>;
  readonly error: string | null;
  readonly createdAt: string;
  readonly completedAt: string | null;
}

interface RestoreRow {
  id: string;
  backup_id: string | null;
  target_env: string;
  source_env: string | null;
  status: RestoreStatus;
  run_id: string | null;
  new_database: string | null;
  previous_database: string | null;
  keep_previous_until: Date | null;
  source: Record<string, unknown> | null;
  error: string | null;
  created_at: Date;
  completed_at: Date | null;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

function fromRow(r: RestoreRow): RestoreRecord {
  return {
    id: r.id,
    backupId: r.backup_id,
    targetEnv: r.target_env,
    sourceEnv: r.source_env,
    status: r.status,
    runId: r.run_id === null ? null : String(r.run_id),
    newDatabase: r.new_database,
    previousDatabase: r.previous_database,
    keepPreviousUntil: iso(r.keep_previous_until),
    source: r.source ?? {},
    error: r.error,
    createdAt: r.created_at.toISOString(),
    completedAt: iso(r.completed_at),
  };
}

/** What a restore needs to know of a backup row. */
export interface BackupRow {
  readonly id: string;
  readonly env: string;
  readonly kind: string;
  readonly status: string;
  readonly storage: string | null;
  readonly location: string | null;
  readonly manifest: unknown;
  readonly createdAt: string;
}

export class RestoreRepository {
  constructor(private readonly db: Queryable, private readonly projectId: string) {}

  /** A backup by id or unique id prefix (6+ characters). */
  async backup(idText: string): Promise<BackupRow> {
    const {id, prefix} = parseBackupId(idText);
    const {rows} = await query<{id: string; environment: string; kind: string; status: string; storage: string | null; location: string | null; manifest: unknown; created_at: Date}>(
      this.db,
      `select id, environment, kind, status, storage, location, manifest, created_at from ops.backups
       where project_id = $1 and ($2::uuid is null or id = $2::uuid) and ($3::text is null or id::text like $3 || '%')
       order by created_at desc limit 2`, [this.projectId, id ?? null, prefix ?? null]);
    if (rows.length > 1) throw new UsageError(`backup id prefix "${idText}" is ambiguous: give more characters`, {actions: ['odoo-sh-next backups list']});
    const r = rows[0];
    if (!r) throw new NotFoundError(`backup ${idText} not found`, {actions: ['odoo-sh-next backups list']});
    return {id: r.id, env: r.environment, kind: r.kind, status: r.status, storage: r.storage, location: r.location, manifest: r.manifest, createdAt: r.created_at.toISOString()};
  }

  async start(input: {
    id: string; backupId: string | null; targetEnv: string; runId: string | null; newDatabase: string;
    source: Record<string, unknown>; sourceEnv: string | null;
  }): Promise<RestoreRecord> {
    const {rows} = await query<RestoreRow>(this.db, 'select * from ops.start_restore($1, $2, $3, $4, $5, $6, $7, $8)', [
      input.id, this.projectId, input.backupId, input.targetEnv, input.runId, input.newDatabase, input.source, input.sourceEnv,
    ]);
    return fromRow(rows[0]!);
  }

  async setStatus(id: string, status: 'verifying' | 'failed', error?: string): Promise<RestoreRecord> {
    const {rows} = await query<RestoreRow>(this.db, 'select * from ops.set_restore_status($1, $2, $3)', [id, status, error ?? null]);
    return fromRow(rows[0]!);
  }

  async recordSwitch(id: string, input: {expectedDatabase: string; url: string | null; keepUntil: Date}): Promise<RestoreRecord> {
    const {rows} = await query<RestoreRow>(this.db, 'select * from ops.record_restore_switch($1, $2, $3, $4)', [
      id, input.expectedDatabase, input.url, input.keepUntil,
    ]);
    return fromRow(rows[0]!);
  }

  async finish(id: string, status: 'confirmed' | 'expired'): Promise<RestoreRecord> {
    const {rows} = await query<RestoreRow>(this.db, 'select * from ops.finish_restore($1, $2)', [id, status]);
    return fromRow(rows[0]!);
  }

  async get(id: string): Promise<RestoreRecord> {
    const {rows} = await query<RestoreRow>(this.db, 'select * from ops.restores where project_id = $1 and id::text = $2', [this.projectId, id]);
    if (!rows[0]) throw new NotFoundError(`restore ${id} not found`);
    return fromRow(rows[0]);
  }

  /** Restores of an environment in the given states, newest first. */
  async forEnv(env: string, statuses: readonly RestoreStatus[]): Promise<RestoreRecord[]> {
    const {rows} = await query<RestoreRow>(this.db,
      `select * from ops.restores where project_id = $1 and target_env = $2 and status = any ($3::text[])
       order by created_at desc`, [this.projectId, env, statuses]);
    return rows.map(fromRow);
  }

  /** Unfinished restores (pending/verifying) whose run has ended or vanished: leftovers of a crash. */
  async abandoned(env: string, currentRunId: string | null): Promise<RestoreRecord[]> {
    const {rows} = await query<RestoreRow>(this.db,
      `select r.* from ops.restores r left join ops.runs u on u.id = r.run_id
       where r.project_id = $1 and r.target_env = $2 and r.status in ('pending', 'verifying')
         and (r.run_id is null or r.run_id is not distinct from $3::bigint
              or u.id is null or u.state not in ('queued', 'claimed', 'running'))
       order by r.created_at`, [this.projectId, env, currentRunId]);
    return rows.map(fromRow);
  }

  /** Runs whose lease expired (a killed process) release their environment. */
  async sweepExpiredRuns(): Promise<void> {
    await query(this.db, 'select ops.sweep_expired_runs()');
  }

  async expired(now: Date): Promise<RestoreRecord[]> {
    const {rows} = await query<RestoreRow>(this.db, 'select * from ops.expired_restores($1, $2)', [this.projectId, now]);
    return rows.map(fromRow);
  }
}
