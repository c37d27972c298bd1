/**
 * Approvals: request, list, approve, reject. The rules (roles per environment type, no self-approval,
 * quorum, expiry, release binding) are enforced by the SQL functions of 000014.sql; this service validates
 * input early for clear usage errors, expires due requests before reading or deciding, and returns records.
 */
import type pg from 'pg';
import type {Clock} from '../clock.js';
import {PolicyDeniedError} from '../errors.js';
import {validateEnvName} from '../env/env-name.js';
import {
  DEFAULT_TTL_MS, parseApprovalId, validateQuorum, validateTtl, type ApprovalAction, type ApprovalStatus, type Vote,
} from './approval-state.js';
import {ApprovalsRepository, type Approval} from './approvals-repository.js';

export type {Approval, ApprovalVote} from './approvals-repository.js';

export interface ApprovalsServiceDeps {
  readonly pool: pg.Pool;
  readonly projectId: string;
  readonly clock: Clock;
  /**
   * Whether the policy of the request's environment allows its requester to approve it (the policy has no
   * `no self-approval` rule). Absent: never (the database refuses self-approval unless told otherwise).
   */
  readonly selfApprovalAllowed?: ((approval: Approval) => Promise<boolean>) | undefined;
}

export interface ApprovalRequestInput {
  readonly action: ApprovalAction;
  readonly env: string;
  readonly release?: string | undefined;
  readonly reason?: string | undefined;
  readonly quorum?: number | undefined;
  readonly ttlMs?: number | undefined;
}

export interface ApproverFact {
  readonly id: string;
  readonly approver: string;
  readonly role: 'admin' | 'tester' | 'developer' | 'viewer';
  readonly release: string | null;
  readonly env: string;
  readonly action: ApprovalAction;
  readonly status: ApprovalStatus;
  readonly expiresAt: Date | null;
  readonly requestedBy: string;
}

export class ApprovalsService {
  readonly #repo: ApprovalsRepository;

  constructor(private readonly deps: ApprovalsServiceDeps) {
    this.#repo = new ApprovalsRepository(deps.pool, deps.projectId);
  }

  async request(input: ApprovalRequestInput): Promise<Approval> {
    validateEnvName(input.env);
    return this.#repo.request({
      action: input.action,
      env: input.env,
      release: input.release?.trim() || null,
      reason: input.reason?.trim() || null,
      quorum: validateQuorum(input.quorum ?? 1),
      ttlMs: validateTtl(input.ttlMs ?? DEFAULT_TTL_MS),
    });
  }

  /** Requests newest first; due requests are marked expired first. */
  async list(opts: {env?: string | undefined; status?: ApprovalStatus | undefined; limit?: number | undefined} = {}): Promise<Approval[]> {
    if (opts.env !== undefined) validateEnvName(opts.env);
    return this.#repo.list(opts);
  }

  async approve(idText: string, opts: {comment?: string | undefined} = {}): Promise<Approval> {
    return this.#decide(idText, 'approve', opts.comment);
  }

  async reject(idText: string, opts: {comment?: string | undefined} = {}): Promise<Approval> {
    return this.#decide(idText, 'reject', opts.comment);
  }

  /** Approved, unexpired approvals for exactly this action, environment and release. */
  async valid(input: {action: ApprovalAction; env: string; release: string | null}): Promise<Approval[]> {
    return this.#repo.valid(input);
  }

  /**
   * The votes that admitted this exact action, environment and release, one row per approver
   * (the shape of the policy engine's approval facts: a quorum-2 approval gives two rows).
   */
  async validApprovers(input: {action: ApprovalAction; env: string; release: string | null}): Promise<ApproverFact[]> {
    return (await this.valid(input)).flatMap((a) => a.votes.filter((v) => v.vote === 'approve').map((v) => ({
      id: a.id, approver: v.voter, role: v.role as ApproverFact['role'], release: a.release, env: a.env, action: a.action,
      status: a.status, expiresAt: a.expiresAt ? new Date(a.expiresAt) : null, requestedBy: a.requestedBy,
    })));
  }

  async #decide(idText: string, vote: Vote, comment: string | undefined): Promise<Approval> {
    const id = await this.#repo.resolveId(parseApprovalId(idText), idText);
    // Written down in its own statement: the refusal of the vote below would roll it back.
    await this.#repo.expire();
    let allowSelf = false;
    if (vote === 'approve' && this.deps.selfApprovalAllowed) {
      const current = await this.#repo.get(id);
      allowSelf = current ? await this.deps.selfApprovalAllowed(current) : false;
    }
    try {
      return await this.#repo.decide(id, vote, {allowSelf, comment: comment?.trim() || null});
    } catch (err) {
      if (err instanceof PolicyDeniedError) {
        const env = (await this.#repo.get(id).catch(() => undefined))?.env ?? null;
        await this.#repo.recordDenial(id, env, vote, err.reasons.join('; ')).catch(() => undefined);
      }
      throw err;
    }
  }
}

/** Builds the service from the composition root (src/cli/services.ts can expose it as `approvals()`). */
export async function approvalsServiceFor(services: {
  pool(): Promise<pg.Pool>;
  projectId(): Promise<string>;
  readonly clock: Clock;
}, opts: Pick<ApprovalsServiceDeps, 'selfApprovalAllowed'> = {}): Promise<ApprovalsService> {
  return new ApprovalsService({pool: await services.pool(), projectId: await services.projectId(), clock: services.clock, ...opts});
}
