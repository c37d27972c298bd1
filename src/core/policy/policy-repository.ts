/**
 * SQL for policies: stored overrides (ops.policies, written by ops.set_policy), the facts a policy
 * needs (approvals, backups, runs), and audited evaluations (ops.record_policy_denial, policy.test).
 */
import {query, type Queryable} from '../store/pool.js';
import type {ApproverRole} from './policy-rules.js';
import type {ApprovalFact, PolicyAction, PolicyEnvType} from './promotion-policy.js';

export interface StoredPolicy {
  readonly envType: PolicyEnvType;
  readonly rules: readonly string[];
  readonly updatedBy: string;
  readonly updatedAt: Date;
}

interface PolicyRow {
  env_type: PolicyEnvType;
  rules: unknown;
  updated_by: string;
  updated_at: Date;
}

const toStored = (r: PolicyRow): StoredPolicy => ({
  envType: r.env_type,
  // Written through ops.set_policy (an array of strings); anything else is shown as-is and fails closed.
  rules: Array.isArray(r.rules) ? r.rules.map(String) : [String(JSON.stringify(r.rules))],
  updatedBy: r.updated_by,
  updatedAt: r.updated_at,
});

export class PolicyRepository {
  constructor(private readonly db: Queryable, private readonly projectId: string) {}

  async list(): Promise<StoredPolicy[]> {
    const {rows} = await query<PolicyRow>(this.db,
      'select env_type, rules, updated_by, updated_at from ops.policies where project_id = $1 order by env_type', [this.projectId]);
    return rows.map(toStored);
  }

  /** Stores the rules of one type (null: remove the override). */
  async set(envType: PolicyEnvType, rules: readonly string[] | null): Promise<StoredPolicy | undefined> {
    const {rows} = await query<PolicyRow>(this.db,
      'select env_type, rules, updated_by, updated_at from ops.set_policy($1, $2, $3::jsonb)',
      [this.projectId, envType, rules === null ? null : JSON.stringify(rules)]);
    return rows[0]?.env_type ? toStored(rows[0]) : undefined;
  }

  async currentActor(): Promise<string> {
    const {rows} = await query<{actor: string}>(this.db, 'select ops.current_actor() as actor');
    return rows[0]!.actor;
  }

  /** The live environment's type, or undefined. */
  async envType(env: string): Promise<PolicyEnvType | undefined> {
    const {rows} = await query<{type: PolicyEnvType}>(this.db,
      `select type from ops.environments where project_id = $1 and name = $2 and status <> 'destroyed'`, [this.projectId, env]);
    return rows[0]?.type;
  }

  /**
   * Approvals for this action on this environment (every release: the pure evaluation binds them).
   * One fact per approve vote (ops.approval_votes, 000014) carrying its request's status, release and
   * expiry, so a quorum counts distinct voters; a request without votes counts its decider. The
   * approver's role is their CURRENT role for the environment type (project-wide or scoped, the
   * highest ranked): a demoted or removed approver's approval no longer counts as before.
   */
  async approvals(action: PolicyAction, env: string, envType: PolicyEnvType): Promise<ApprovalFact[]> {
    const votes = (await query<{ok: boolean}>(this.db, `select to_regclass('ops.approval_votes') is not null as ok`)).rows[0]?.ok;
    const approvers = votes
      ? `coalesce((select array_agg(v.voter order by v.at, v.id) from ops.approval_votes v where v.approval_id = a.id and v.vote = 'approve'),
                  array_remove(array[a.decided_by], null))`
      : 'array_remove(array[a.decided_by], null)';
    const {rows} = await query<{id: string; approver: string | null; role: ApproverRole | null; release: string | null; action: PolicyAction;
      status: ApprovalFact['status']; expires_at: Date | null; requested_by: string; environment: string}>(this.db, `
      select a.id, x.approver, a.release, a.action, a.status, a.expires_at, a.requested_by, a.environment,
        (select m.role from ops.project_members m join ops.roles r on r.name = m.role
         where m.project_id = a.project_id and m.member = x.approver and (m.env_type is null or m.env_type = $4)
         order by r.rank desc limit 1) as role
      from ops.approvals a
      left join lateral unnest(${approvers}) as x(approver) on true
      where a.project_id = $1 and a.action = $2 and a.environment = $3
      order by a.created_at, a.id`, [this.projectId, action, env, envType]);
    return rows.map((r) => ({id: r.id, approver: r.approver, role: r.role, release: r.release, env: r.environment, action: r.action,
      status: r.status, expiresAt: r.expires_at, requestedBy: r.requested_by}));
  }

  async newestBackupAt(env: string): Promise<Date | null> {
    const {rows} = await query<{at: Date | null}>(this.db,
      `select max(coalesce(completed_at, created_at)) as at from ops.backups where project_id = $1 and environment = $2 and status = 'complete'`,
      [this.projectId, env]);
    return rows[0]?.at ?? null;
  }

  /** Whether the latest finished run of these types (for this commit / release / env type) succeeded; null when there is none. */
  async latestRunGreen(filter: {types: readonly string[]; commit?: string | null; release?: string | null; envType?: PolicyEnvType}): Promise<boolean | null> {
    const {rows} = await query<{state: string}>(this.db, `
      select r.state from ops.runs r
      where r.project_id = $1 and r.type = any ($2::text[]) and r.state in ('succeeded', 'failed', 'cancelled', 'timed_out')
        and ($3::text is null or r.git_sha = $3)
        and ($4::text is null or r.payload ->> 'release' = $4 or r.result ->> 'release' = $4)
        and ($5::text is null or exists (select 1 from ops.environments e where e.project_id = r.project_id and e.name = r.env and e.type = $5))
      order by r.finished_at desc nulls last, r.id desc limit 1`,
    [this.projectId, [...filter.types], filter.commit ?? null, filter.release ?? null, filter.envType ?? null]);
    return rows[0] ? rows[0].state === 'succeeded' : null;
  }

  /**
   * The facts of `upgrade report approved when the Odoo major version changes`: the target version is
   * the request's (odooVersion), else the recorded release's, else `configured` (odoo.version: what a
   * release built now from the configuration runs); the current one is the Odoo version of the
   * release the environment serves. No serving release (first deploy): no change. A serving release
   * that is not recorded, or an unknown target: null (fails closed). With a major change, the report
   * must be a `ready` upgrade report of this environment for the target series, approved (000016).
   */
  async upgradeFacts(env: string, release: string | null, odooVersion: string | null, configured: string | null = null): Promise<{odooMajorChange: boolean | null; upgradeReportApproved: boolean | null}> {
    const {rows} = await query<{target: string | null; current_release: string | null; current: string | null; env_found: boolean}>(this.db, `
      select (select r.odoo_version from ops.releases r where r.project_id = $1 and r.id = $3 order by r.created_at desc limit 1) as target,
        e.current_release, e.name is not null as env_found,
        (select r.odoo_version from ops.releases r where r.project_id = $1 and r.env = e.name and r.id = e.current_release limit 1) as current
      from (select 1) x left join ops.environments e on e.project_id = $1 and e.name = $2 and e.status <> 'destroyed'`,
    [this.projectId, env, release]);
    const row = rows[0];
    const target = odooVersion ?? row?.target ?? configured;
    const major = (v: string | null | undefined) => /^(\d+)\.\d+/.exec(v ?? '')?.[1];
    if (!target || major(target) === undefined) return {odooMajorChange: null, upgradeReportApproved: null};
    if (!row?.env_found || !row.current_release) return {odooMajorChange: false, upgradeReportApproved: null};
    if (!row.current || major(row.current) === undefined) return {odooMajorChange: null, upgradeReportApproved: null};
    if (major(row.current) === major(target)) return {odooMajorChange: false, upgradeReportApproved: null};
    const series = /^(\d+\.\d+)/.exec(target)![1];
    const approved = await query<{ok: boolean | null}>(this.db, `
      select case when to_regclass('ops.upgrade_reports') is null then null else exists (
        select 1 from ops.upgrade_reports u where u.project_id = $1 and u.env = $2 and u.to_version = $3
          and u.verdict = 'ready' and u.approved_by is not null) end as ok`, [this.projectId, env, series]);
    return {odooMajorChange: true, upgradeReportApproved: approved.rows[0]?.ok ?? null};
  }

  async recordDenial(action: PolicyAction, env: string, payload: Record<string, unknown>): Promise<void> {
    await query(this.db, 'select ops.record_policy_denial($1, $2, $3, $4::jsonb)', [this.projectId, action, env, JSON.stringify(payload)]);
  }

  async recordTest(action: PolicyAction, env: string, payload: Record<string, unknown>): Promise<void> {
    await query(this.db, `select ops.record_audit($1, 'policy.test', $2, $3, null, $4::jsonb)`, [this.projectId, action, env, JSON.stringify(payload)]);
  }
}
