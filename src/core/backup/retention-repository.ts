/**
 * What retention reads from the state store: the backups of the project (through RLS), whether
 * each one is in use, and which environments are production. Read-only; deletions go through
 * the backup service (BackupDeleter), audits through ops.record_audit.
 */
import type {Queryable} from '../store/pool.js';
import {query} from '../store/pool.js';
import type {BackupKind, BackupStatus, RetentionBackup} from './retention-policy.js';

export interface StoredBackup extends RetentionBackup {
  readonly createdAt: string;
  readonly sizeBytes: number | null;
}

interface BackupRow {
  id: string;
  env: string;
  kind: BackupKind;
  status: BackupStatus;
  created_at: Date;
  size_bytes: string | null;
  in_use: boolean;
  verified: 'ok' | 'failed' | null;
}

// A backup is in use while a restore of it is not finished, or while any active run names it
// in its payload (a restore, verify or download run; the uuid cannot match anything else).
const IN_USE = `(
  exists (select 1 from ops.restores r where r.backup_id = b.id and r.status in ('pending', 'verifying', 'switched'))
  or exists (select 1 from ops.runs x where x.project_id = b.project_id and x.state in ('queued', 'claimed', 'running')
             and strpos(x.payload::text, b.id::text) > 0)
)`;

// The last verification (`backups verify`, 000007: verification = {ok, ...}).
const VERIFIED = `case b.verification ->> 'ok' when 'true' then 'ok' when 'false' then 'failed' end`;

const SELECT = `select b.id, b.environment as env, b.kind, b.status, b.created_at, b.size_bytes,
  ${IN_USE} as in_use, ${VERIFIED} as verified
from ops.backups b`;

function fromRow(r: BackupRow): StoredBackup {
  return {
    id: r.id,
    env: r.env,
    kind: r.kind,
    status: r.status,
    createdAt: r.created_at.toISOString(),
    sizeBytes: r.size_bytes === null ? null : Number(r.size_bytes),
    verified: r.verified,
    inUse: r.in_use,
  };
}

export class RetentionRepository {
  constructor(
    private readonly db: Queryable,
    private readonly projectId: string,
  ) {}

  /** The project's backups that still exist (every status but deleted), optionally of one env. */
  async list(env?: string): Promise<StoredBackup[]> {
    const {rows} = await query<BackupRow>(
      this.db,
      `${SELECT} where b.project_id = $1 and b.status <> 'deleted' and ($2::text is null or b.environment = $2)
       order by b.created_at desc, b.id desc`,
      [this.projectId, env ?? null],
    );
    return rows.map(fromRow);
  }

  /** One backup as it is now (undefined when gone), to re-check right before deleting it. */
  async get(id: string): Promise<StoredBackup | undefined> {
    const {rows} = await query<BackupRow>(this.db, `${SELECT} where b.project_id = $1 and b.id = $2`, [this.projectId, id]);
    return rows[0] && fromRow(rows[0]);
  }

  /** Names of the project's production environments (by type), plus "production" itself. */
  async productionEnvs(): Promise<Set<string>> {
    const {rows} = await query<{name: string}>(
      this.db,
      `select e.name from ops.environments e where e.project_id = $1 and e.type = 'production' and e.status <> 'destroyed'`,
      [this.projectId],
    );
    return new Set(['production', ...rows.map((r) => r.name)]);
  }

  async audit(action: string, target: string, env: string | null, payload: Readonly<Record<string, unknown>>): Promise<void> {
    await query(this.db, 'select ops.record_audit($1, $2, $3, $4, null, $5::jsonb)', [this.projectId, action, target, env, JSON.stringify(payload)]);
  }
}
