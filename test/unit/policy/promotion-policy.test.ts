import {describe, expect, it} from 'vitest';
import {parseRules} from '../../../src/core/policy/policy-rules.js';
import {evaluatePolicy, type ApprovalFact, type PolicyFacts, type PolicyRequest} from '../../../src/core/policy/promotion-policy.js';

const NOW = new Date('2026-06-10T12:00:00Z');
const request = (over: Partial<PolicyRequest> = {}): PolicyRequest =>
  ({action: 'promote', env: 'production', envType: 'production', release: 'r-a', actor: 'dev1', ...over});
const facts = (over: Partial<PolicyFacts> = {}): PolicyFacts => ({
  approvals: [], e2eGreen: true, stagingRunGreen: true, newestBackupAt: new Date(NOW.getTime() - 3_600_000),
  odooMajorChange: false, upgradeReportApproved: null, ...over,
});
const approval = (over: Partial<ApprovalFact> = {}): ApprovalFact => ({
  id: 'a1', approver: 'boss', role: 'admin', release: 'r-a', env: 'production', action: 'promote', status: 'approved',
  expiresAt: null, requestedBy: 'dev1', ...over,
});
const policy = (...rules: string[]) => {
  const parsed = parseRules(rules);
  expect(parsed.problems).toEqual([]);
  return {rules: parsed.rules};
};
const evaluate = (rules: string[], f: Partial<PolicyFacts> = {}, r: Partial<PolicyRequest> = {}, now = NOW) =>
  evaluatePolicy(request(r), facts(f), policy(...rules), now);

describe('evaluatePolicy', () => {
  it('allows everything without rules', () => {
    expect(evaluate([])).toEqual({allowed: true, results: [], failed: []});
  });

  describe('approvals', () => {
    const rule = 'approvals >= 1 from role admin';
    it('passes with a matching approval, fails without', () => {
      expect(evaluate([rule], {approvals: [approval()]}).allowed).toBe(true);
      const denied = evaluate([rule]);
      expect(denied.allowed).toBe(false);
      expect(denied.failed).toEqual([{rule, ok: false, reason: 'needs 1 approval(s) from role admin for promote of release r-a on production, has 0'}]);
    });
    it('binds an approval to the release: approving release A never lets release B through', () => {
      expect(evaluate([rule], {approvals: [approval({release: 'r-a'})]}, {release: 'r-b'}).allowed).toBe(false);
      expect(evaluate([rule], {approvals: [approval({release: null})]}, {release: 'r-b'}).allowed).toBe(false);
      expect(evaluate([rule], {approvals: [approval({release: null})]}, {release: null}).allowed).toBe(true);
    });
    it('binds an approval to the environment and the action', () => {
      expect(evaluate([rule], {approvals: [approval({env: 'staging-x'})]}).allowed).toBe(false);
      expect(evaluate([rule], {approvals: [approval({action: 'deploy'})]}).allowed).toBe(false);
    });
    it('counts only approved, unexpired approvals', () => {
      for (const status of ['pending', 'rejected', 'expired'] as const) {
        expect(evaluate([rule], {approvals: [approval({status})]}).allowed, status).toBe(false);
      }
      expect(evaluate([rule], {approvals: [approval({expiresAt: NOW})]}).allowed).toBe(false);
      expect(evaluate([rule], {approvals: [approval({expiresAt: new Date(NOW.getTime() + 1)})]}).allowed).toBe(true);
      expect(evaluate([rule], {approvals: [approval({approver: null})]}).allowed).toBe(false);
    });
    it('needs the role (admin counts for every role) and a quorum of distinct approvers', () => {
      const two = 'approvals >= 2 from role tester';
      expect(evaluate([rule], {approvals: [approval({role: 'tester'})]}).allowed).toBe(false);
      expect(evaluate([two], {approvals: [approval({role: 'tester'}), approval({id: 'a2', role: 'tester'})]}).allowed).toBe(false); // same person twice
      expect(evaluate([two], {approvals: [approval({role: 'tester'}), approval({id: 'a2', approver: 'q', role: 'admin'})]}).allowed).toBe(true);
      expect(evaluate([two], {approvals: [approval({role: 'tester'}), approval({id: 'a2', approver: 'q', role: 'viewer'})]}).allowed).toBe(false);
      expect(evaluate([two], {approvals: [approval({role: null}), approval({id: 'a2', approver: 'q', role: 'tester'})]}).allowed).toBe(false);
    });
    it('with no self-approval, ignores approvals by the actor or by their own requester', () => {
      const self = approval({approver: 'dev1'});
      expect(evaluate([rule], {approvals: [self]}).allowed).toBe(true);
      const r = evaluate([rule, 'no self-approval'], {approvals: [self]});
      expect(r.allowed).toBe(false);
      expect(r.results[1]).toEqual({rule: 'no self-approval', ok: true, reason: '1 self-approval(s) not counted'});
      expect(evaluate([rule, 'no self-approval'], {approvals: [approval({approver: 'boss', requestedBy: 'boss'})]}).allowed).toBe(false);
      expect(evaluate([rule, 'no self-approval'], {approvals: [approval()]}).allowed).toBe(true);
    });
  });

  describe('facts (fail closed on unknown)', () => {
    it('e2e green for this commit', () => {
      const rule = 'e2e green for this commit';
      expect(evaluate([rule]).allowed).toBe(true);
      expect(evaluate([rule], {e2eGreen: false}).failed[0]?.reason).toBe('e2e not green for this commit');
      expect(evaluate([rule], {e2eGreen: null}).failed[0]?.reason).toBe('unknown: e2e result for the commit (no commit known)');
      expect(evaluate([rule], {e2eGreen: null}, {action: 'restore'}).results[0]).toMatchObject({ok: true, reason: 'not applicable to restore'});
    });
    it('staging run green for this release', () => {
      const rule = 'staging run green for this release';
      expect(evaluate([rule]).allowed).toBe(true);
      expect(evaluate([rule], {stagingRunGreen: false}).allowed).toBe(false);
      expect(evaluate([rule], {stagingRunGreen: null}).failed[0]?.reason).toBe('unknown: staging run of release r-a');
    });
    it('backup younger than', () => {
      const rule = 'backup younger than 24h';
      expect(evaluate([rule]).results[0]).toMatchObject({ok: true, reason: 'newest backup is 1h old'});
      expect(evaluate([rule], {newestBackupAt: new Date(NOW.getTime() - 26 * 3_600_000)}).failed[0]?.reason)
        .toBe('newest backup is 1d 2h old, older than 24h');
      expect(evaluate([rule], {newestBackupAt: new Date(NOW.getTime() - 24 * 3_600_000)}).allowed).toBe(false);
      expect(evaluate([rule], {newestBackupAt: null}).failed[0]?.reason).toBe('unknown: newest complete backup of production (none found)');
    });
    it('upgrade report approved when the Odoo major version changes', () => {
      const rule = 'upgrade report approved when the Odoo major version changes';
      expect(evaluate([rule]).allowed).toBe(true);
      expect(evaluate([rule], {odooMajorChange: null}).failed[0]?.reason).toBe('unknown: whether the Odoo major version changes');
      expect(evaluate([rule], {odooMajorChange: true}).failed[0]?.reason).toBe('unknown: upgrade report (the Odoo major version changes)');
      expect(evaluate([rule], {odooMajorChange: true, upgradeReportApproved: false}).allowed).toBe(false);
      expect(evaluate([rule], {odooMajorChange: true, upgradeReportApproved: true}).allowed).toBe(true);
    });
    it('lists every failed rule and fails invalid stored rules', () => {
      const r = evaluatePolicy(request(), facts({e2eGreen: null, newestBackupAt: null}),
        {...policy('e2e green for this commit', 'backup younger than 1h', 'no self-approval'), invalid: [{rule: 'bogus', error: 'unknown rule'}]}, NOW);
      expect(r.allowed).toBe(false);
      expect(r.failed.map((f) => f.rule)).toEqual(['e2e green for this commit', 'backup younger than 1h', 'bogus']);
      expect(r.results).toHaveLength(4);
    });
  });

  describe('freezes', () => {
    const rule = 'freeze from 2026-12-24T00:00:00+01:00 to 2027-01-02T00:00:00+01:00 reason "holidays"';
    it('denies inside [from, to), allows before and after', () => {
      expect(evaluate([rule], {}, {}, new Date('2026-12-23T22:59:59Z')).allowed).toBe(true);
      const inside = evaluate([rule], {}, {}, new Date('2026-12-23T23:00:00Z'));
      expect(inside.failed[0]?.reason).toBe('frozen from 2026-12-23T23:00:00.000Z until 2027-01-01T23:00:00.000Z (holidays)');
      expect(evaluate([rule], {}, {}, new Date('2027-01-01T23:00:00Z')).results[0]).toMatchObject({ok: true, reason: 'freeze is over'});
    });
  });

  describe('deploy windows', () => {
    const at = (iso: string, ...rules: string[]) => evaluate(rules, {}, {}, new Date(iso));
    const weekdays = 'deploy window 0 9 * * 1-5 for 8h';
    it('allows inside a window, denies outside with the next opening', () => {
      expect(at('2026-06-10T09:00:00Z', weekdays).allowed).toBe(true); // a Wednesday
      expect(at('2026-06-10T16:59:59Z', weekdays).allowed).toBe(true);
      const after = at('2026-06-10T17:00:00Z', weekdays);
      expect(after.failed[0]?.reason).toBe('outside every deploy window; this one next opens at 2026-06-11T09:00:00.000Z');
      expect(at('2026-06-13T10:00:00Z', weekdays).allowed).toBe(false); // Saturday
    });
    it('treats several windows as alternatives', () => {
      const weekend = 'deploy window 0 10 * * 6 for 2h';
      const r = at('2026-06-13T10:30:00Z', weekdays, weekend);
      expect(r.allowed).toBe(true);
      expect(r.results[0]?.reason).toBe(`outside this window, inside "${weekend}"`);
    });

    // Europe/Brussels, "0 2 * * *" for 2h. Spring forward 2026-03-29: 02:00 CET → 03:00 CEST (02:00 local does not exist).
    const brussels = 'deploy window 0 2 * * * for 2h tz Europe/Brussels';
    it('spring-forward day: the window opens at the first valid time after the gap and lasts 2 real hours', () => {
      // Normal day before: 02:00 CET = 01:00Z → 03:00Z.
      expect(at('2026-03-28T01:00:00Z', brussels).allowed).toBe(true);
      expect(at('2026-03-28T02:59:59Z', brussels).allowed).toBe(true);
      expect(at('2026-03-28T03:00:00Z', brussels).allowed).toBe(false);
      // On the day: opens at 03:00 CEST = 01:00Z, closes at 05:00 CEST = 03:00Z.
      expect(at('2026-03-29T00:59:59Z', brussels).allowed).toBe(false);
      const open = at('2026-03-29T01:00:00Z', brussels);
      expect(open.results[0]?.reason).toBe('inside the window opened at 2026-03-29T01:00:00.000Z (until 2026-03-29T03:00:00.000Z)');
      expect(at('2026-03-29T02:59:59Z', brussels).allowed).toBe(true);
      expect(at('2026-03-29T03:00:00Z', brussels).allowed).toBe(false);
      // Day after (CEST): 02:00 CEST = 00:00Z → 02:00Z.
      expect(at('2026-03-30T00:00:00Z', brussels).allowed).toBe(true);
      expect(at('2026-03-30T02:00:00Z', brussels).allowed).toBe(false);
    });
    it('fall-back day: 02:00 occurs twice, the window opens once (the first 02:00, CEST) for 2 real hours', () => {
      // 2026-10-25: 03:00 CEST → 02:00 CET. First 02:00 (CEST) = 00:00Z; window until 02:00Z (= 03:00 CET).
      expect(at('2026-10-24T23:59:59Z', brussels).allowed).toBe(false);
      expect(at('2026-10-25T00:00:00Z', brussels).results[0]?.reason)
        .toBe('inside the window opened at 2026-10-25T00:00:00.000Z (until 2026-10-25T02:00:00.000Z)');
      expect(at('2026-10-25T01:30:00Z', brussels).allowed).toBe(true); // 02:30 CET, the second 02:xx
      expect(at('2026-10-25T01:59:59Z', brussels).allowed).toBe(true);
      expect(at('2026-10-25T02:00:00Z', brussels).allowed).toBe(false); // 03:00 CET: 2 real hours have passed
      // Day after (CET): 02:00 CET = 01:00Z → 03:00Z.
      expect(at('2026-10-26T00:30:00Z', brussels).allowed).toBe(false);
      expect(at('2026-10-26T01:00:00Z', brussels).allowed).toBe(true);
      expect(at('2026-10-26T02:59:59Z', brussels).allowed).toBe(true);
    });
  });
});
