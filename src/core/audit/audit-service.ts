import type pg from 'pg';
import {UsageError} from '../errors.js';
import {withTransaction} from '../store/pool.js';
import {ChainVerifier, type AuditHead, type AuditVerifyResult} from './audit-chain.js';
import {listEntries, readChainPage, type AuditEntry} from './audit-repository.js';

export type {AuditEntry} from './audit-repository.js';
export type {AuditBreak, AuditBreakReason, AuditHead, AuditVerifyResult} from './audit-chain.js';

export interface AuditListOptions {
  /** At most this many entries (default 50, at most 10000). */
  readonly limit?: number | undefined;
  /** An exact action (run.queue) or a prefix ending in `.*` (run.*). */
  readonly action?: string | undefined;
  readonly env?: string | undefined;
  readonly since?: Date | undefined;
}

export interface AuditVerifyOptions {
  /** A head recorded earlier: that row must still carry that hash (detects a rewritten or truncated chain). */
  readonly anchor?: AuditHead | undefined;
}

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 10_000;
const PAGE_SIZE = 5_000;

/** Reads and verifies the project's tamper-evident audit log (written by SQL, see 000002.sql). */
export class AuditService {
  constructor(private readonly deps: {readonly pool: pg.Pool; readonly projectId: string; readonly pageSize?: number}) {}

  /** Entries of the project, newest first. */
  async list(opts: AuditListOptions = {}): Promise<AuditEntry[]> {
    const limit = opts.limit ?? DEFAULT_LIMIT;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      throw new UsageError(`invalid limit ${limit}: use a whole number from 1 to ${MAX_LIMIT}`);
    }
    if (opts.since && Number.isNaN(opts.since.getTime())) throw new UsageError('invalid since: not a date');
    return listEntries(this.deps.pool, this.deps.projectId, {limit, action: opts.action, env: opts.env, since: opts.since});
  }

  /**
   * Recomputes every hash of the project's chain in seq order (in one read-only snapshot, page by
   * page) and names the first row that does not fit. Never throws for a broken chain: the result
   * says so (ok: false, firstBroken).
   */
  async verify(opts: AuditVerifyOptions = {}): Promise<AuditVerifyResult> {
    const pageSize = this.deps.pageSize ?? PAGE_SIZE;
    return withTransaction(this.deps.pool, async (client) => {
      await client.query('set transaction isolation level repeatable read, read only');
      const verifier = new ChainVerifier(opts.anchor ? {anchor: opts.anchor} : {});
      for (;;) {
        const last = verifier.last;
        const page = await readChainPage(client, this.deps.projectId, last ? {seq: last.seq, id: last.id} : undefined, pageSize);
        for (const row of page) verifier.push(row);
        if (page.length < pageSize) break;
      }
      return verifier.result();
    });
  }
}
