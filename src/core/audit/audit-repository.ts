/** SQL over ops.audit_log: listing entries, and reading the chain for verification. */
import {query, type Queryable} from '../store/pool.js';
import type {AuditChainRow} from './audit-chain.js';

/** One audit entry as shown by `audit list`. */
export interface AuditEntry {
  readonly id: number;
  readonly seq: number;
  /** UTC with microseconds, e.g. 2025-01-31T12:00:00.123456Z. */
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly target: string | null;
  readonly env: string | null;
  readonly runId: number | null;
  readonly payload: Readonly<Record<string, unknown>>;
  readonly hash: string;
}

export interface AuditFilter {
  readonly limit: number;
  /** An exact action (run.queue) or a prefix ending in `.*` (run.*). */
  readonly action?: string | undefined;
  readonly env?: string | undefined;
  readonly since?: Date | undefined;
}

// The same text as ops.audit_canonical formats `at`; schema-qualified builtins so that nothing on
// the search_path can stand in for them.
const AT_TEXT = `pg_catalog.to_char(a.at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

interface EntryRow {
  id: string;
  seq: string;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  env: string | null;
  run_id: string | null;
  payload: Record<string, unknown>;
  hash: string;
}

/** Entries of a project, newest first. */
export async function listEntries(db: Queryable, projectId: string, filter: AuditFilter): Promise<AuditEntry[]> {
  const {rows} = await query<EntryRow>(db, `
    select a.id, a.seq, ${AT_TEXT} as at, a.actor, a.action, a.target, a.env, a.run_id, a.payload, a.hash
    from ops.audit_log a
    where a.project_id = $1
      and (case when $2::text is null then true
                when right($2, 2) = '.*' then left(a.action, length($2) - 1) = left($2, -1)
                else a.action = $2 end)
      and ($3::text is null or a.env = $3)
      and ($4::timestamptz is null or a.at >= $4)
    order by a.seq desc
    limit $5`,
  [projectId, filter.action ?? null, filter.env ?? null, filter.since ?? null, filter.limit]);
  return rows.map((r) => ({
    id: Number(r.id),
    seq: Number(r.seq),
    at: r.at,
    actor: r.actor,
    action: r.action,
    target: r.target,
    env: r.env,
    runId: r.run_id === null ? null : Number(r.run_id),
    payload: r.payload,
    hash: r.hash,
  }));
}

interface ChainRow {
  id: string;
  seq: string;
  at: string;
  prev_hash: string;
  hash: string;
  canonical: string;
}

/**
 * One page of the chain in (seq, id) order after the given position (`seq >=` lets the
 * (project_id, seq) index start the scan there). The canonical text is built
 * here from the raw columns with the builtin jsonb_build_object, the same expression as
 * ops.audit_canonical, but not through that function: a replaced function cannot vouch for rows.
 */
export async function readChainPage(
  db: Queryable,
  projectId: string,
  after: {readonly seq: number; readonly id: number} | undefined,
  limit: number,
): Promise<AuditChainRow[]> {
  const {rows} = await query<ChainRow>(db, `
    select a.id, a.seq, ${AT_TEXT} as at, a.prev_hash, a.hash,
      pg_catalog.jsonb_build_object(
        'project_id', a.project_id, 'seq', a.seq, 'at', ${AT_TEXT},
        'actor', a.actor, 'action', a.action, 'target', a.target, 'env', a.env, 'run_id', a.run_id,
        'payload', a.payload)::text as canonical
    from ops.audit_log a
    where a.project_id = $1
      and ($2::bigint is null or (a.seq >= $2::bigint and (a.seq, a.id) > ($2::bigint, $3::bigint)))
    order by a.seq, a.id
    limit $4`,
  [projectId, after?.seq ?? null, after?.id ?? null, limit]);
  return rows.map((r) => ({
    id: Number(r.id),
    seq: Number(r.seq),
    at: r.at,
    prevHash: r.prev_hash,
    hash: r.hash,
    canonical: r.canonical,
  }));
}
