import {describe, expect, it} from 'vitest';
import {
  APPROVAL_STATUSES, canTransition, castVote, effectiveStatus, parseApprovalAction, parseApprovalId, parseApprovalStatus,
  tally, validateQuorum, validateTtl, type ApprovalFacts,
} from '../../../src/core/approvals/approval-state.js';
import {UsageError} from '../../../src/core/errors.js';

const NOW = new Date('2026-03-29T01:30:00Z');
const later = (ms: number) => new Date(NOW.getTime() + ms);
const pending = (over: Partial<ApprovalFacts> = {}): ApprovalFacts => ({
  status: 'pending', quorum: 1, requestedBy: 'ann', expiresAt: later(3_600_000), votes: [], ...over,
});

describe('transitions', () => {
  it.each([
    ['pending', 'approved', true], ['pending', 'rejected', true], ['pending', 'expired', true],
    ['approved', 'expired', true], ['approved', 'rejected', false], ['approved', 'pending', false],
    ['rejected', 'approved', false], ['rejected', 'expired', false], ['expired', 'pending', false], ['expired', 'approved', false],
  ] as const)('%s -> %s: %s', (from, to, ok) => {
    expect(canTransition(from, to)).toBe(ok);
  });
});

describe('effectiveStatus', () => {
  it('expires pending and approved requests past expires_at, at the exact instant only after it', () => {
    expect(effectiveStatus({status: 'pending', expiresAt: later(-1)}, NOW)).toBe('expired');
    expect(effectiveStatus({status: 'approved', expiresAt: later(-1)}, NOW)).toBe('expired');
    expect(effectiveStatus({status: 'pending', expiresAt: NOW}, NOW)).toBe('pending');
    expect(effectiveStatus({status: 'pending', expiresAt: null}, NOW)).toBe('pending');
    expect(effectiveStatus({status: 'rejected', expiresAt: later(-1)}, NOW)).toBe('rejected');
  });
});

describe('tally', () => {
  it.each([
    [[], 1, {approves: 0, rejects: 0, outcome: 'pending'}],
    [[{voter: 'a', vote: 'approve'}], 1, {approves: 1, rejects: 0, outcome: 'approved'}],
    [[{voter: 'a', vote: 'approve'}], 2, {approves: 1, rejects: 0, outcome: 'pending'}],
    [[{voter: 'a', vote: 'approve'}, {voter: 'a', vote: 'approve'}], 2, {approves: 1, rejects: 0, outcome: 'pending'}],
    [[{voter: 'a', vote: 'approve'}, {voter: 'b', vote: 'approve'}], 2, {approves: 2, rejects: 0, outcome: 'approved'}],
    [[{voter: 'a', vote: 'approve'}, {voter: 'b', vote: 'approve'}, {voter: 'c', vote: 'reject'}], 2, {approves: 2, rejects: 1, outcome: 'rejected'}],
    [[{voter: 'a', vote: 'reject'}], 3, {approves: 0, rejects: 1, outcome: 'rejected'}],
  ] as const)('%j with quorum %d', (votes, quorum, expected) => {
    expect(tally(votes, quorum)).toEqual(expected);
  });
});

describe('castVote', () => {
  it('refuses self-approval unless allowed; self-rejection is fine', () => {
    expect(castVote(pending(), 'ann', 'approve', {now: NOW})).toMatchObject({ok: false, refusal: {kind: 'self-approval'}});
    expect(castVote(pending(), 'ann', 'approve', {now: NOW, allowSelf: true})).toMatchObject({ok: true, status: 'approved'});
    expect(castVote(pending(), 'ann', 'reject', {now: NOW})).toMatchObject({ok: true, status: 'rejected'});
  });

  it('reaches approved at quorum with distinct voters', () => {
    const one = pending({quorum: 2, votes: [{voter: 'bob', vote: 'approve'}]});
    expect(castVote(one, 'bob', 'approve', {now: NOW})).toMatchObject({ok: false, refusal: {kind: 'already-voted'}});
    expect(castVote(one, 'cy', 'approve', {now: NOW})).toEqual({ok: true, status: 'approved', tally: {approves: 2, rejects: 0, outcome: 'approved'}});
    expect(castVote(pending({quorum: 3}), 'cy', 'approve', {now: NOW})).toMatchObject({ok: true, status: 'pending'});
  });

  it('refuses expired and decided requests', () => {
    expect(castVote(pending({expiresAt: later(-1)}), 'bob', 'approve', {now: NOW})).toMatchObject({ok: false, refusal: {kind: 'expired'}});
    for (const status of ['approved', 'rejected'] as const) {
      expect(castVote(pending({status}), 'bob', 'reject', {now: NOW})).toMatchObject({ok: false, refusal: {kind: 'decided'}});
    }
    expect(castVote(pending({status: 'expired'}), 'bob', 'reject', {now: NOW})).toMatchObject({ok: false, refusal: {kind: 'expired'}});
  });
});

describe('parsing and bounds', () => {
  it('parses ids: uuid or a 6+ hex prefix; anything else is a usage error', () => {
    expect(parseApprovalId('3F2A9C1E-0000-4000-8000-000000000000')).toEqual({id: '3f2a9c1e-0000-4000-8000-000000000000'});
    expect(parseApprovalId('3f2a9c')).toEqual({prefix: '3f2a9c'});
    expect(parseApprovalId('3f2a9c1e-00')).toEqual({prefix: '3f2a9c1e-00'});
    for (const bad of ['3f2a9', 'xyz123', '', '3f2a9c1e-0000-4000-8000-0000000000001', "3f2a9c' or 1=1"]) {
      expect(() => parseApprovalId(bad)).toThrow(UsageError);
    }
  });

  it('validates actions, statuses, quorum and ttl', () => {
    expect(parseApprovalAction('promote')).toBe('promote');
    expect(() => parseApprovalAction('drop')).toThrow(UsageError);
    expect(APPROVAL_STATUSES.map(parseApprovalStatus)).toEqual([...APPROVAL_STATUSES]);
    expect(() => parseApprovalStatus('done')).toThrow(UsageError);
    expect(validateQuorum(10)).toBe(10);
    for (const q of [0, 11, 1.5]) expect(() => validateQuorum(q)).toThrow(UsageError);
    expect(validateTtl(1)).toBe(1);
    for (const t of [0, -1, 91 * 86_400_000]) expect(() => validateTtl(t)).toThrow(UsageError);
  });
});
