/**
 * Approvals as pure data: statuses, transitions, expiry and quorum counting. The database enforces the
 * same rules (ops.decide_approval, ops.expire_approvals in 000014.sql); this module lets the CLI explain
 * them and is what tests check the SQL against. Pure: no I/O, `now` is always a parameter.
 */
import {UsageError} from '../errors.js';

export const APPROVAL_ACTIONS = ['deploy', 'promote', 'restore', 'exec'] as const;
export type ApprovalAction = (typeof APPROVAL_ACTIONS)[number];
export const APPROVAL_STATUSES = ['pending', 'approved', 'rejected', 'expired'] as const;
export type ApprovalStatus = (typeof APPROVAL_STATUSES)[number];
export type Vote = 'approve' | 'reject';

export const MAX_QUORUM = 10;
export const MAX_TTL_MS = 90 * 24 * 60 * 60 * 1000;
export const DEFAULT_TTL_MS = 24 * 60 * 60 * 1000;

/** Allowed status changes (the SQL functions never make any other). */
export const APPROVAL_TRANSITIONS: Readonly<Record<ApprovalStatus, readonly ApprovalStatus[]>> = {
  pending: ['approved', 'rejected', 'expired'],
  approved: ['expired'],
  rejected: [],
  expired: [],
};

export function canTransition(from: ApprovalStatus, to: ApprovalStatus): boolean {
  return APPROVAL_TRANSITIONS[from].includes(to);
}

export interface ApprovalFacts {
  readonly status: ApprovalStatus;
  readonly quorum: number;
  readonly requestedBy: string;
  readonly expiresAt: Date | null;
  readonly votes: readonly {readonly voter: string; readonly vote: Vote}[];
}

/** A pending or approved request past its expiry is expired (ops.expire_approvals writes this down). */
export function effectiveStatus(a: Pick<ApprovalFacts, 'status' | 'expiresAt'>, now: Date): ApprovalStatus {
  if ((a.status === 'pending' || a.status === 'approved') && a.expiresAt !== null && a.expiresAt.getTime() < now.getTime()) return 'expired';
  return a.status;
}

export interface Tally {
  readonly approves: number;
  readonly rejects: number;
  /** The status the votes decide: rejected on any reject, approved at quorum, else pending. */
  readonly outcome: 'pending' | 'approved' | 'rejected';
}

/** Counts votes (one per distinct voter: a voter's later votes are ignored, like the unique constraint). */
export function tally(votes: ApprovalFacts['votes'], quorum: number): Tally {
  const seen = new Set<string>();
  let approves = 0;
  let rejects = 0;
  for (const v of votes) {
    if (seen.has(v.voter)) continue;
    seen.add(v.voter);
    if (v.vote === 'approve') approves++;
    else rejects++;
  }
  const outcome = rejects > 0 ? 'rejected' : approves >= quorum ? 'approved' : 'pending';
  return {approves, rejects, outcome};
}

export type VoteRefusal =
  | {readonly kind: 'expired'; readonly reason: string}
  | {readonly kind: 'decided'; readonly reason: string}
  | {readonly kind: 'already-voted'; readonly reason: string}
  | {readonly kind: 'self-approval'; readonly reason: string};

/**
 * Whether `voter` may cast `vote` now (role checks are the database's: they need the membership table).
 * Returns the refusal, or the status the request reaches with this vote.
 */
export function castVote(
  a: ApprovalFacts,
  voter: string,
  vote: Vote,
  opts: {readonly now: Date; readonly allowSelf?: boolean},
): {readonly ok: true; readonly status: ApprovalStatus; readonly tally: Tally} | {readonly ok: false; readonly refusal: VoteRefusal} {
  const status = effectiveStatus(a, opts.now);
  if (status === 'expired') return {ok: false, refusal: {kind: 'expired', reason: 'the request expired: request a new one'}};
  if (status !== 'pending') return {ok: false, refusal: {kind: 'decided', reason: `the request is already ${status}`}};
  if (vote === 'approve' && voter === a.requestedBy && !opts.allowSelf) {
    return {ok: false, refusal: {kind: 'self-approval', reason: `self-approval refused: ${voter} requested it; another member must approve`}};
  }
  if (a.votes.some((v) => v.voter === voter)) return {ok: false, refusal: {kind: 'already-voted', reason: `${voter} already voted`}};
  const t = tally([...a.votes, {voter, vote}], a.quorum);
  return {ok: true, status: t.outcome, tally: t};
}

export function parseApprovalAction(text: string): ApprovalAction {
  if ((APPROVAL_ACTIONS as readonly string[]).includes(text)) return text as ApprovalAction;
  throw new UsageError(`invalid approval action "${text}": use ${APPROVAL_ACTIONS.join(', ')}`);
}

export function parseApprovalStatus(text: string): ApprovalStatus {
  if ((APPROVAL_STATUSES as readonly string[]).includes(text)) return text as ApprovalStatus;
  throw new UsageError(`invalid approval status "${text}": use ${APPROVAL_STATUSES.join(', ')}`);
}

export function validateQuorum(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > MAX_QUORUM) throw new UsageError(`invalid quorum ${n}: use 1 to ${MAX_QUORUM} approvers`);
  return n;
}

export function validateTtl(ms: number): number {
  if (!Number.isSafeInteger(ms) || ms <= 0 || ms > MAX_TTL_MS) throw new UsageError(`invalid ttl: use more than 0 and at most 90d`);
  return ms;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const PREFIX_RE = /^[0-9a-f]{6,8}(-[0-9a-f]{0,4}){0,3}$/;

/** An approval id as typed: a full uuid, or a prefix of at least 6 hex digits; anything else is a usage error. */
export function parseApprovalId(text: string): {readonly id: string} | {readonly prefix: string} {
  const t = text.trim().toLowerCase();
  if (UUID_RE.test(t)) return {id: t};
  if (PREFIX_RE.test(t)) return {prefix: t};
  throw new UsageError(`invalid approval id "${text}": expected an approval uuid (or its first 6+ characters)`, {
    actions: ['odoo-sh-next approvals list'],
  });
}
