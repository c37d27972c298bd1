/**
 * Pure verification of the audit hash chain (see 000002.sql). Per project the rows are numbered
 * seq 1..n; prev_hash is the previous row's hash ('0' * 64 for seq 1); hash =
 * sha256_hex(prev_hash + '|' + canonical), canonical being the jsonb text of the row's fields.
 * The caller reads the rows in seq order with the canonical text computed in its SELECT from the
 * raw columns; this module recomputes every hash and names the first row that does not fit.
 * No IO: node:crypto only.
 */
import {createHash} from 'node:crypto';

export const GENESIS_HASH = '0'.repeat(64);

/** One audit row as read for verification, in seq order. */
export interface AuditChainRow {
  readonly id: number;
  readonly seq: number;
  /** `at` in UTC with microseconds, 'YYYY-MM-DDTHH:MI:SS.USZ': the text that is hashed. */
  readonly at: string;
  readonly prevHash: string;
  readonly hash: string;
  /** jsonb_build_object(project_id, seq, at, actor, action, target, env, run_id, payload)::text */
  readonly canonical: string;
}

export type AuditBreakReason =
  /** The row's seq is not the previous seq + 1 (a row deleted, duplicated or renumbered). */
  | 'seq-gap'
  /** prev_hash is not the previous row's hash (rows swapped, deleted, or one row re-hashed). */
  | 'prev-link'
  /** hash is not sha256(prev_hash | canonical): a field was edited, or the hash forged. */
  | 'hash-mismatch'
  /** at is earlier than the previous row's at (a backdated row). */
  | 'time-order'
  /** The canonical text does not carry the row's own seq/at (the reader is inconsistent). */
  | 'canonical-mismatch'
  /** The anchor (a head recorded earlier) is missing or its hash differs. */
  | 'anchor-mismatch';

export interface AuditBreak {
  readonly seq: number;
  readonly id: number | null;
  readonly reason: AuditBreakReason;
  readonly detail: string;
}

export interface AuditHead {
  readonly seq: number;
  readonly hash: string;
}

export interface AuditVerifyResult {
  readonly ok: boolean;
  readonly rows: number;
  /** The last row read (as stored, even when the chain is broken); absent for an empty chain. */
  readonly head?: AuditHead;
  readonly firstBroken?: AuditBreak;
}

export interface VerifyOptions {
  /** A head recorded earlier (e.g. printed by a previous verify): that row must still have that hash. */
  readonly anchor?: AuditHead;
}

export function auditHash(prevHash: string, canonical: string): string {
  return createHash('sha256').update(`${prevHash}|${canonical}`, 'utf8').digest('hex');
}

const short = (h: string) => (h.length > 16 ? `${h.slice(0, 16)}…` : h);

/** Reads seq and at back out of the canonical text; undefined when it is not such an object. */
function canonicalKeys(canonical: string): {seq: unknown; at: unknown} | undefined {
  try {
    const parsed: unknown = JSON.parse(canonical);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
    const o = parsed as Record<string, unknown>;
    return {seq: o['seq'], at: o['at']};
  } catch {
    return undefined;
  }
}

/** Checks one row against the previous one; returns the first problem found, if any. */
export function checkLink(prev: AuditChainRow | undefined, row: AuditChainRow): AuditBreak | undefined {
  const at = (reason: AuditBreakReason, detail: string): AuditBreak => ({seq: row.seq, id: row.id, reason, detail});
  const expectedSeq = prev ? prev.seq + 1 : 1;
  if (row.seq !== expectedSeq) {
    const detail = prev && row.seq === prev.seq
      ? `seq ${row.seq} appears twice (ids ${prev.id} and ${row.id})`
      : row.seq > expectedSeq
        ? `expected seq ${expectedSeq}, found ${row.seq}: ${row.seq - expectedSeq} row(s) missing`
        : `expected seq ${expectedSeq}, found ${row.seq}`;
    return at('seq-gap', detail);
  }
  const keys = canonicalKeys(row.canonical);
  if (!keys || keys.seq !== row.seq || keys.at !== row.at) {
    return at('canonical-mismatch', `canonical text does not carry seq ${row.seq} and at ${row.at}`);
  }
  const expectedPrev = prev ? prev.hash : GENESIS_HASH;
  if (row.prevHash !== expectedPrev) {
    return at('prev-link', prev
      ? `prev_hash ${short(row.prevHash)} is not the hash of seq ${prev.seq} (${short(expectedPrev)})`
      : `prev_hash of the first row is ${short(row.prevHash)}, not the genesis hash (${short(GENESIS_HASH)})`);
  }
  const recomputed = auditHash(row.prevHash, row.canonical);
  if (row.hash !== recomputed) {
    return at('hash-mismatch', `stored hash ${short(row.hash)} differs from the recomputed ${short(recomputed)}: the row was edited (or its hash forged)`);
  }
  if (prev && row.at < prev.at) {
    return at('time-order', `at ${row.at} is earlier than seq ${prev.seq}'s ${prev.at}: the row was backdated or inserted out of order`);
  }
  return undefined;
}

/**
 * Incremental verifier: push rows in seq order (so a long chain is read in pages with constant
 * memory), then take result(). Keeps the first break; later rows are still counted.
 */
export class ChainVerifier {
  #prev: AuditChainRow | undefined;
  #rows = 0;
  #firstBroken: AuditBreak | undefined;
  #anchorSeen = false;

  constructor(private readonly opts: VerifyOptions = {}) {}

  /** The last row pushed (for paging: read the next page after it). */
  get last(): AuditChainRow | undefined {
    return this.#prev;
  }

  push(row: AuditChainRow): void {
    this.#rows += 1;
    if (!this.#firstBroken) this.#firstBroken = checkLink(this.#prev, row);
    const anchor = this.opts.anchor;
    if (anchor && row.seq === anchor.seq && !this.#anchorSeen) {
      this.#anchorSeen = true;
      if (!this.#firstBroken && row.hash !== anchor.hash) {
        this.#firstBroken = {seq: row.seq, id: row.id, reason: 'anchor-mismatch',
          detail: `hash ${short(row.hash)} differs from the anchor ${short(anchor.hash)}: the chain was rewritten`};
      }
    }
    this.#prev = row;
  }

  result(): AuditVerifyResult {
    let firstBroken = this.#firstBroken;
    const anchor = this.opts.anchor;
    if (!firstBroken && anchor && !this.#anchorSeen) {
      firstBroken = {seq: anchor.seq, id: null, reason: 'anchor-mismatch',
        detail: `the anchor seq ${anchor.seq} is missing (chain has ${this.#rows} rows): rows were removed from the end`};
    }
    const prev = this.#prev;
    return {
      ok: firstBroken === undefined,
      rows: this.#rows,
      ...(prev ? {head: {seq: prev.seq, hash: prev.hash}} : {}),
      ...(firstBroken ? {firstBroken} : {}),
    };
  }
}

/** Verifies a whole chain given in seq order. */
export function verifyChain(rows: Iterable<AuditChainRow>, opts: VerifyOptions = {}): AuditVerifyResult {
  const v = new ChainVerifier(opts);
  for (const row of rows) v.push(row);
  return v.result();
}

/** Parses an anchor given as `SEQ:HASH` (as printed by `audit verify`). */
export function parseAnchor(text: string): AuditHead | undefined {
  const m = /^([1-9][0-9]{0,15}):([0-9a-f]{64})$/.exec(text.trim());
  return m ? {seq: Number(m[1]), hash: m[2]!} : undefined;
}
