/** Environments as the rest of the code sees them (camelCase, times as ISO strings). Pure. */
import type {EnvType} from '../env/branch-rules.js';

export type EnvironmentStatus = 'creating' | 'active' | 'failed' | 'destroying' | 'destroyed';

export interface Environment {
  readonly id: string;
  readonly projectId: string;
  readonly name: string;
  readonly type: EnvType;
  readonly branch: string | null;
  readonly status: EnvironmentStatus;
  readonly url: string | null;
  readonly currentRelease: string | null;
  readonly databaseName: string | null;
  readonly ttlExpiresAt: string | null;
  readonly settings: Readonly<Record<string, unknown>>;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly destroyedAt: string | null;
}

export interface EnvironmentRow {
  id: string;
  project_id: string;
  name: string;
  type: EnvType;
  branch: string | null;
  status: EnvironmentStatus;
  url: string | null;
  current_release: string | null;
  database_name: string | null;
  ttl_expires_at: Date | null;
  settings: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
  destroyed_at: Date | null;
}

const isoOrNull = (d: Date | null) => (d ? d.toISOString() : null);

export function environmentFromRow(r: EnvironmentRow): Environment {
  return {
    id: r.id,
    projectId: r.project_id,
    name: r.name,
    type: r.type,
    branch: r.branch,
    status: r.status,
    url: r.url,
    currentRelease: r.current_release,
    databaseName: r.database_name,
    ttlExpiresAt: isoOrNull(r.ttl_expires_at),
    settings: r.settings ?? {},
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
    destroyedAt: isoOrNull(r.destroyed_at),
  };
}
