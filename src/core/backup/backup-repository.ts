/** Backup rows in the state store; every write goes through an audited ops.* function (000003, 000007). */
import {ConflictError, NotFoundError, UsageError} from '../errors.js';
import {query, type Queryable} from '../store/pool.js';
import type {BackupManifest, BackupPart} from './backup-manifest.js';
import {
  backupFromRow, backupSummary, parseBackupId, type Backup, type BackupKind, type BackupRow, type BackupStatus, type BackupSummary,
} from './backup-record.js';

export class BackupRepository {
  constructor(private readonly db: Queryable, private readonly projectId: string) {}

  async create(input: {env: string; kind: BackupKind; runId: string | null}): Promise<Backup> {
    const {rows} = await query<BackupRow>(this.db, 'select * from ops.create_backup($1, $2, $3, $4)',
      [this.projectId, input.env, input.kind, input.runId]);
    return backupFromRow(rows[0]!);
  }

  /** manifestJson, when given, is JSON.stringify(manifest) already made (a manifest is megabytes: not serialised twice). */
  async complete(id: string, input: {storage: string; location: string; manifest: BackupManifest; manifestJson?: string; sizeBytes: number}): Promise<Backup> {
    // The manifest lists every filestore file: it is not read back (a second copy of it would
    // make the backup's peak memory grow with the number of files); the row gets the one we sent.
    const {rows} = await query<BackupRow>(this.db,
      `select b.id, b.project_id, b.environment, b.kind, b.status, b.run_id, b.storage, b.location, null::jsonb as manifest,
              b.size_bytes, b.created_by, b.created_at, b.completed_at, b.error, b.verified_at, b.verification
       from ops.complete_backup($1, $2, $3, $4, $5) b`,
      [id, input.storage, input.location, input.manifestJson ?? JSON.stringify(input.manifest), input.sizeBytes]);
    return backupFromRow({...rows[0]!, manifest: input.manifest});
  }

  async fail(id: string, error: string): Promise<Backup> {
    const {rows} = await query<BackupRow>(this.db, 'select * from ops.fail_backup($1, $2)', [id, error]);
    return backupFromRow(rows[0]!);
  }

  /** Fails pending backups that can never complete (and those of an earlier attempt of runId). */
  async failStale(runId: string | null = null): Promise<Backup[]> {
    const {rows} = await query<BackupRow>(this.db, 'select * from ops.fail_stale_backups($1, $2)', [this.projectId, runId]);
    return rows.map(backupFromRow);
  }

  async markDeleted(id: string): Promise<Backup> {
    const {rows} = await query<BackupRow>(this.db, 'select * from ops.delete_backup($1)', [id]);
    return backupFromRow(rows[0]!);
  }

  async recordVerification(id: string, ok: boolean, detail: Record<string, unknown>): Promise<Backup> {
    const {rows} = await query<BackupRow>(this.db, 'select * from ops.record_backup_verification($1, $2, $3)', [id, ok, detail]);
    return backupFromRow(rows[0]!);
  }

  /** A backup by id or unique id prefix. */
  async get(idText: string): Promise<Backup> {
    const {id, prefix} = parseBackupId(idText);
    const {rows} = await query<BackupRow>(this.db,
      `select * from ops.backups where project_id = $1 and ($2::uuid is null or id = $2::uuid)
         and ($3::text is null or id::text like $3 || '%') order by created_at desc limit 2`,
      [this.projectId, id ?? null, prefix ?? null]);
    if (rows.length === 0) throw new NotFoundError(`backup ${idText} not found`, {actions: ['odoo-sh-next backups list'], data: {backup: idText}});
    if (rows.length > 1) throw new UsageError(`backup id prefix "${idText}" is ambiguous: give more characters`, {actions: ['odoo-sh-next backups list']});
    return backupFromRow(rows[0]!);
  }

  /**
   * `backups list` lines, newest first. The manifest is left in the database but for its parts: a
   * manifest lists every filestore file (megabytes per backup), and a list holds up to `limit` backups.
   */
  async summaries(opts: {
    env?: string | undefined; statuses?: readonly BackupStatus[] | undefined; limit?: number | undefined; id?: string | undefined;
  } = {}): Promise<BackupSummary[]> {
    const {rows} = await query<BackupRow & {parts: BackupPart[] | null}>(this.db,
      `select b.id, b.project_id, b.environment, b.kind, b.status, b.run_id, b.storage, b.location, null::jsonb as manifest,
              b.manifest -> 'parts' as parts, b.size_bytes, b.created_by, b.created_at, b.completed_at, b.error, b.verified_at, b.verification
         from ops.backups b where b.project_id = $1 and ($2::text is null or b.environment = $2)
         and ($3::text[] is null or b.status = any ($3)) and ($5::uuid is null or b.id = $5::uuid)
         order by b.created_at desc, b.id limit $4`,
      [this.projectId, opts.env ?? null, opts.statuses ?? null, opts.limit ?? 1000, opts.id ?? null]);
    return rows.map((r) => ({...backupSummary(backupFromRow(r)), parts: r.parts ?? []}));
  }

  /** The `backups list` line of one backup (by full id). */
  async summary(id: string): Promise<BackupSummary> {
    const [found] = await this.summaries({id, limit: 1});
    if (!found) throw new NotFoundError(`backup ${id} not found`, {actions: ['odoo-sh-next backups list'], data: {backup: id}});
    return found;
  }

  /** Backups of an env and kind created since a moment (failed ones do not count). */
  async countSince(env: string, kind: BackupKind, since: Date): Promise<number> {
    const {rows} = await query<{n: number}>(this.db,
      `select count(*)::int as n from ops.backups where project_id = $1 and environment = $2 and kind = $3
         and created_at >= $4 and status <> 'failed'`, [this.projectId, env, kind, since]);
    return rows[0]?.n ?? 0;
  }

  /** Status of each of the given backup ids that exists in this project. */
  async statuses(ids: readonly string[]): Promise<Map<string, BackupStatus>> {
    if (ids.length === 0) return new Map();
    const {rows} = await query<{id: string; status: BackupStatus}>(this.db,
      'select id::text as id, status from ops.backups where project_id = $1 and id = any ($2::uuid[])', [this.projectId, ids]);
    return new Map(rows.map((r) => [r.id, r.status]));
  }

  /** The environment type of an env name (live, else the most recent destroyed one). */
  async envType(env: string): Promise<string | undefined> {
    const {rows} = await query<{type: string}>(this.db,
      `select type from ops.environments where project_id = $1 and name = $2
         order by (status <> 'destroyed') desc, created_at desc limit 1`, [this.projectId, env]);
    return rows[0]?.type;
  }
}

export function assertComplete(b: Backup): void {
  if (b.status !== 'complete') {
    throw new ConflictError(`backup ${b.id} is ${b.status}, not complete`, {
      data: {backup: b.id, status: b.status},
      actions: b.status === 'failed' ? ['odoo-sh-next backups create --env ' + b.env] : ['odoo-sh-next backups list'],
    });
  }
}
