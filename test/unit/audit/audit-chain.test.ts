import {createHash} from 'node:crypto';
import {describe, expect, it} from 'vitest';
import {
  auditHash, GENESIS_HASH, parseAnchor, verifyChain, type AuditChainRow,
} from '../../../src/core/audit/audit-chain.js';

/**
 * Synthetic stored rows: the columns as a superuser could edit them. `read` turns them into what
 * the repository hands verifyChain (canonical built from the columns, like its SELECT does), in
 * (seq, id) order.
 */
interface Stored {
  readonly id: number;
  readonly seq: number;
  readonly at: string;
  readonly action: string;
  readonly target: string | null;
  readonly prevHash: string;
  readonly hash: string;
}

/** Canonical text shaped like jsonb's (keys by length, then bytes); any JSON carrying seq/at would do. */
function canonical(r: Pick<Stored, 'seq' | 'at' | 'action' | 'target'>): string {
  return JSON.stringify({at: r.at, env: null, seq: r.seq, actor: 'alice', action: r.action, run_id: null,
    target: r.target, payload: {}, project_id: '00000000-0000-0000-0000-00000000000a'});
}

const read = (rows: readonly Stored[]): AuditChainRow[] =>
  [...rows].sort((x, y) => x.seq - y.seq || x.id - y.id)
    .map((r) => ({id: r.id, seq: r.seq, at: r.at, prevHash: r.prevHash, hash: r.hash, canonical: canonical(r)}));

const at = (n: number) => `2025-01-01T00:00:${String(n).padStart(2, '0')}.000000Z`;

/** Appends a row the way the database trigger does (seq, prev_hash and hash as given/derived). */
function append(rows: readonly Stored[], f: {id: number; seq?: number; at: string; action: string; target?: string | null}): Stored[] {
  const prevHash = rows.at(-1)?.hash ?? GENESIS_HASH;
  const seq = f.seq ?? (rows.at(-1)?.seq ?? 0) + 1;
  const base = {id: f.id, seq, at: f.at, action: f.action, target: f.target ?? null};
  return [...rows, {...base, prevHash, hash: auditHash(prevHash, canonical(base))}];
}

/** A valid chain of n rows, ids 100 + seq. */
function chain(n: number): Stored[] {
  let rows: Stored[] = [];
  for (let seq = 1; seq <= n; seq++) rows = append(rows, {id: 100 + seq, at: at(seq), action: `act.${seq}`});
  return rows;
}

/** Re-hashes every row from index `from` on: what a superuser covering his tracks would do. */
function rehash(rows: readonly Stored[], from: number): Stored[] {
  const out = rows.slice(0, from);
  for (const r of rows.slice(from)) {
    const prevHash = out.at(-1)?.hash ?? GENESIS_HASH;
    out.push({...r, prevHash, hash: auditHash(prevHash, canonical(r))});
  }
  return out;
}

const edit = (rows: readonly Stored[], seq: number, patch: Partial<Stored>): Stored[] => rows.map((r) => (r.seq === seq ? {...r, ...patch} : r));

describe('auditHash', () => {
  it('is sha256 hex of prev_hash | canonical, UTF-8', () => {
    const c = '{"a": "café ✓"}';
    expect(auditHash(GENESIS_HASH, c)).toBe(createHash('sha256').update(Buffer.from(`${GENESIS_HASH}|${c}`, 'utf8')).digest('hex'));
    expect(auditHash(GENESIS_HASH, c)).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('verifyChain', () => {
  it('accepts an empty chain', () => {
    expect(verifyChain([])).toEqual({ok: true, rows: 0});
  });

  it('accepts an intact chain and reports its head', () => {
    const rows = chain(5);
    expect(verifyChain(read(rows))).toEqual({ok: true, rows: 5, head: {seq: 5, hash: rows[4]!.hash}});
  });

  it('accepts rows with the same at (non-decreasing, not increasing)', () => {
    const rows = append(append([], {id: 1, at: at(1), action: 'x'}), {id: 2, at: at(1), action: 'y'});
    expect(verifyChain(read(rows)).ok).toBe(true);
  });

  const swapContents = (rows: readonly Stored[], a: number, b: number, keep: (keyof Stored)[]): Stored[] => {
    const ra = rows.find((r) => r.seq === a)!;
    const rb = rows.find((r) => r.seq === b)!;
    const pick = (r: Stored) => Object.fromEntries(keep.map((k) => [k, r[k]]));
    return rows.map((r) => (r === ra ? {...rb, ...pick(ra)} : r === rb ? {...ra, ...pick(rb)} : r));
  };

  const cases: {name: string; tamper: (rows: Stored[]) => Stored[]; seq: number; id: number | null; reason: string}[] = [
    {name: '(a) an edited field', tamper: (rows) => edit(rows, 3, {target: 'other'}), seq: 3, id: 103, reason: 'hash-mismatch'},
    {name: '(a) an edited at', tamper: (rows) => edit(rows, 2, {at: at(30)}), seq: 2, id: 102, reason: 'hash-mismatch'},
    {
      name: '(a) an edited field with that row re-hashed: the next link breaks',
      tamper: (rows) => {
        const r3 = rows[2]!;
        return edit(rows, 3, {target: 'other', hash: auditHash(r3.prevHash, canonical({...r3, target: 'other'}))});
      },
      seq: 4, id: 104, reason: 'prev-link',
    },
    {name: '(a) a forged hash', tamper: (rows) => edit(rows, 5, {hash: 'f'.repeat(64)}), seq: 5, id: 105, reason: 'hash-mismatch'},
    {name: '(b) a deleted row', tamper: (rows) => rows.filter((r) => r.seq !== 3), seq: 4, id: 104, reason: 'seq-gap'},
    {name: '(b) the first row deleted', tamper: (rows) => rows.slice(1), seq: 2, id: 102, reason: 'seq-gap'},
    {
      name: '(b) a deleted row with the later rows renumbered',
      tamper: (rows) => rows.filter((r) => r.seq !== 3).map((r) => (r.seq > 3 ? {...r, seq: r.seq - 1} : r)),
      seq: 3, id: 104, reason: 'prev-link',
    },
    {
      name: '(c) two rows swapped by their seq values',
      tamper: (rows) => rows.map((r) => (r.seq === 2 ? {...r, seq: 3} : r.seq === 3 ? {...r, seq: 2} : r)),
      seq: 2, id: 103, reason: 'prev-link',
    },
    {
      name: '(c) the contents of two rows swapped (everything but id and seq)',
      tamper: (rows) => swapContents(rows, 2, 3, ['id', 'seq']),
      seq: 2, id: 102, reason: 'prev-link',
    },
    {
      name: '(c) the contents of two rows swapped, links kept',
      tamper: (rows) => swapContents(rows, 2, 3, ['id', 'seq', 'prevHash', 'hash']),
      seq: 2, id: 102, reason: 'hash-mismatch',
    },
    {
      name: '(c) two adjacent rows swapped with their at kept in order',
      tamper: (rows) => swapContents(rows, 3, 4, ['id', 'seq', 'at', 'prevHash', 'hash']),
      seq: 3, id: 103, reason: 'hash-mismatch',
    },
    {
      name: '(d) a backdated row appended with a correct hash',
      tamper: (rows) => append(rows, {id: 999, at: at(1), action: 'forged'}),
      seq: 6, id: 999, reason: 'time-order',
    },
    {
      name: '(d) a backdated row appended with a forged hash',
      tamper: (rows) => [...rows, {id: 999, seq: 6, at: at(1), action: 'forged', target: null, prevHash: rows[4]!.hash, hash: '0'.repeat(64)}],
      seq: 6, id: 999, reason: 'hash-mismatch',
    },
    {
      name: '(d) a row inserted in the middle (seq duplicated, unique constraint dropped)',
      tamper: (rows) => [...append(rows.slice(0, 3), {id: 999, seq: 3, at: at(3), action: 'forged'}), ...rows.slice(3)],
      seq: 3, id: 999, reason: 'seq-gap',
    },
    {
      name: '(d) a row inserted in the middle with the later rows renumbered',
      tamper: (rows) => [...append(rows.slice(0, 3), {id: 999, at: at(3), action: 'forged'}), ...rows.slice(3).map((r) => ({...r, seq: r.seq + 1}))],
      seq: 5, id: 104, reason: 'prev-link',
    },
    {
      name: 'a first row that does not start from the genesis hash',
      tamper: (rows) => rehash(edit(rows, 1, {prevHash: 'a'.repeat(64), hash: auditHash('a'.repeat(64), canonical(rows[0]!))}), 1),
      seq: 1, id: 101, reason: 'prev-link',
    },
  ];

  for (const c of cases) {
    it(`detects ${c.name}`, () => {
      const result = verifyChain(read(c.tamper(chain(5))));
      expect(result.ok).toBe(false);
      expect(result.firstBroken).toMatchObject({seq: c.seq, id: c.id, reason: c.reason});
      expect(result.firstBroken?.detail).toBeTruthy();
    });
  }

  it('flags a reader whose canonical text does not carry the row\'s seq and at', () => {
    const rows = read(chain(3));
    expect(verifyChain(rows.map((r) => (r.seq === 2 ? {...r, canonical: 'garbage'} : r))).firstBroken)
      .toMatchObject({seq: 2, reason: 'canonical-mismatch'});
    expect(verifyChain(rows.map((r) => (r.seq === 3 ? {...r, at: at(59)} : r))).firstBroken)
      .toMatchObject({seq: 3, reason: 'canonical-mismatch'});
  });

  it('still counts every row and reports the stored head after a break', () => {
    const rows = chain(5).filter((r) => r.seq !== 2);
    const result = verifyChain(read(rows));
    expect(result).toMatchObject({ok: false, rows: 4, head: {seq: 5, hash: rows.at(-1)!.hash}, firstBroken: {seq: 3, reason: 'seq-gap'}});
    expect(result.firstBroken?.detail).toContain('expected seq 2, found 3');
  });

  it('cannot see a chain re-hashed from the edited row on, nor rows removed from its end (anchors can)', () => {
    const rows = chain(5);
    expect(verifyChain(read(rehash(edit(rows, 2, {target: 'other'}), 1))).ok).toBe(true);
    expect(verifyChain(read(rows.slice(0, 3))).ok).toBe(true);
  });

  describe('with an anchor (a head recorded earlier)', () => {
    it('accepts a chain that still carries the anchor and grew since', () => {
      const rows = chain(5);
      expect(verifyChain(read(rows), {anchor: {seq: 3, hash: rows[2]!.hash}}).ok).toBe(true);
    });

    it('detects a chain rewritten from some row on', () => {
      const rows = chain(5);
      const rewritten = rehash(edit(rows, 2, {target: 'other'}), 1);
      expect(verifyChain(read(rewritten), {anchor: {seq: 5, hash: rows[4]!.hash}}).firstBroken)
        .toMatchObject({seq: 5, id: 105, reason: 'anchor-mismatch'});
    });

    it('detects rows removed from the end', () => {
      const rows = chain(5);
      expect(verifyChain(read(rows.slice(0, 3)), {anchor: {seq: 5, hash: rows[4]!.hash}}))
        .toMatchObject({ok: false, rows: 3, firstBroken: {seq: 5, id: null, reason: 'anchor-mismatch'}});
    });

    it('reports an earlier break before the anchor', () => {
      const result = verifyChain(read(chain(5).filter((r) => r.seq !== 2)), {anchor: {seq: 5, hash: 'b'.repeat(64)}});
      expect(result.firstBroken).toMatchObject({seq: 3, reason: 'seq-gap'});
    });
  });
});

describe('parseAnchor', () => {
  it('parses SEQ:HASH', () => {
    expect(parseAnchor(`42:${'ab'.repeat(32)}`)).toEqual({seq: 42, hash: 'ab'.repeat(32)});
  });
  it.each(['', '42', `0:${'a'.repeat(64)}`, `42:${'a'.repeat(63)}`, `42:${'A'.repeat(64)}`, `x:${'a'.repeat(64)}`])('rejects %j', (text) => {
    expect(parseAnchor(text)).toBeUndefined();
  });
});
