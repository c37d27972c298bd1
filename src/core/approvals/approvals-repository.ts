/** Approval rows in the state store; every write goes through an audited ops.* function (000014.sql). */
import {NotFoundError, UsageError} from '../errors.js';
import {query, type Queryable} from '../store/pool.js';
import type {ApprovalAction, ApprovalStatus, Vote} from './approval-state.js';

export interface ApprovalVote {
  readonly voter: string;
  readonly role: string;
  readonly vote: Vote;
  readonly comment: string | null;
  readonly at: string;
}

export interface Approval {
  readonly id: string;
  readonly action: ApprovalAction;
  readonly env: string;
  readonly release: string | null;
  readonly reason: string | null;
  readonly status: ApprovalStatus;
  readonly quorum: number;
  readonly requestedBy: string;
  readonly decidedBy: string | null;
  readonly decidedAt: string | null;
  readonly createdAt: string;
  readonly expiresAt: string | null;
  readonly votes: ApprovalVote[];
}

interface ApprovalRow {
  id: string;
  action: ApprovalAction;
  environment: string;
  release: string | null;
  reason: string | null;
  status: ApprovalStatus;
  quorum: number;
  requested_by: string;
  decided_by: string | null;
  decided_at: Date | null;
  created_at: Date;
  expires_at: Date | null;
}

interface VoteRow {
  approval_id: string;
  voter: string;
  role: string;
  vote: Vote;
  comment: string | null;
  at: Date;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export class ApprovalsRepository {
  constructor(private readonly db: Queryable, private readonly projectId: string) {}

  async request(input: {action: ApprovalAction; env: string; release: string | null; reason: string | null; quorum: number; ttlMs: number}): Promise<Approval> {
    const {rows} = await query<ApprovalRow>(this.db,
      'select * from ops.request_approval($1, $2, $3, $4, $5, $6::smallint, make_interval(secs => $7::double precision / 1000))',
      [this.projectId, input.action, input.env, input.release, input.reason, input.quorum, input.ttlMs]);
    return (await this.#withVotes(rows))[0]!;
  }

  async decide(id: string, vote: Vote, opts: {allowSelf: boolean; comment: string | null}): Promise<Approval> {
    const {rows} = await query<ApprovalRow>(this.db, 'select * from ops.decide_approval($1, $2, $3, $4)',
      [id, vote, opts.allowSelf, opts.comment]);
    return (await this.#withVotes(rows))[0]!;
  }

  /** Audits a refused vote (the refusal rolled back everything the vote wrote). */
  async recordDenial(id: string, env: string | null, vote: Vote, reason: string): Promise<void> {
    await query(this.db, 'select ops.record_audit($1, $2, $3, $4, null, $5)',
      [this.projectId, 'approval.denied', id, env, {vote, reason}]);
  }

  /** Marks due requests expired (audited); returns how many. */
  async expire(): Promise<number> {
    const {rows} = await query<{n: number}>(this.db, 'select ops.expire_approvals($1) as n', [this.projectId]);
    return rows[0]?.n ?? 0;
  }

  async list(opts: {env?: string | undefined; status?: ApprovalStatus | undefined; limit?: number | undefined} = {}): Promise<Approval[]> {
    const {rows} = await query<ApprovalRow>(this.db, 'select * from ops.list_approvals($1, $2, $3, $4)',
      [this.projectId, opts.env ?? null, opts.status ?? null, opts.limit ?? 100]);
    return this.#withVotes(rows);
  }

  /** Approved, unexpired approvals for exactly this action, environment and release (what policies read). */
  async valid(input: {action: ApprovalAction; env: string; release: string | null}): Promise<Approval[]> {
    const {rows} = await query<ApprovalRow>(this.db, 'select * from ops.valid_approvals($1, $2, $3, $4)',
      [this.projectId, input.action, input.env, input.release]);
    return this.#withVotes(rows);
  }

  async get(id: string): Promise<Approval | undefined> {
    const {rows} = await query<ApprovalRow>(this.db, 'select * from ops.approvals where project_id = $1 and id = $2', [this.projectId, id]);
    return (await this.#withVotes(rows))[0];
  }

  /** The full id of an approval given as a uuid or a unique prefix (ids are validated by parseApprovalId first). */
  async resolveId(ref: {readonly id: string} | {readonly prefix: string}, text: string): Promise<string> {
    const {rows} = await query<{id: string}>(this.db,
      `select id::text as id from ops.approvals where project_id = $1
         and ($2::uuid is null or id = $2::uuid) and ($3::text is null or id::text like $3 || '%') limit 2`,
      [this.projectId, 'id' in ref ? ref.id : null, 'prefix' in ref ? ref.prefix : null]);
    if (rows.length === 0) throw new NotFoundError(`approval ${text} not found`, {actions: ['odoo-sh-next approvals list'], data: {approval: text}});
    if (rows.length > 1) throw new UsageError(`approval id prefix "${text}" is ambiguous: give more characters`, {actions: ['odoo-sh-next approvals list']});
    return rows[0]!.id;
  }

  async #withVotes(rows: readonly ApprovalRow[]): Promise<Approval[]> {
    if (rows.length === 0) return [];
    const {rows: votes} = await query<VoteRow>(this.db,
      `select approval_id::text as approval_id, voter, role, vote, comment, at from ops.approval_votes
       where approval_id = any ($1::uuid[]) order by at, id`, [rows.map((r) => r.id)]);
    return rows.map((r) => ({
      id: r.id, action: r.action, env: r.environment, release: r.release, reason: r.reason, status: r.status, quorum: r.quorum,
      requestedBy: r.requested_by, decidedBy: r.decided_by, decidedAt: iso(r.decided_at), createdAt: r.created_at.toISOString(),
      expiresAt: iso(r.expires_at),
      votes: votes.filter((v) => v.approval_id === r.id)
        .map((v) => ({voter: v.voter, role: v.role, vote: v.vote, comment: v.comment, at: v.at.toISOString()})),
    }));
  }
}
