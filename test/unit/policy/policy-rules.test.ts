import {describe, expect, it} from 'vitest';
import {formatProblem, parseRule, parseRules} from '../../../src/core/policy/policy-rules.js';

describe('parseRule', () => {
  it.each([
    ['approvals >= 2 from role admin', {kind: 'approvals', min: 2, role: 'admin'}],
    ['require: approvals >= 1 from role tester', {kind: 'approvals', min: 1, role: 'tester', text: 'require: approvals >= 1 from role tester'}],
    ['Approvals>=1 from role Developer', {kind: 'approvals', min: 1, role: 'developer'}],
    ['no self-approval', {kind: 'no-self-approval'}],
    ['e2e green for this commit', {kind: 'e2e-green'}],
    ['staging run green for this release', {kind: 'staging-run-green'}],
    ['backup younger than 24h', {kind: 'backup-younger-than', maxAgeMs: 86_400_000, duration: '24h'}],
    ['upgrade report approved when the Odoo major version changes', {kind: 'upgrade-report-approved'}],
    ['deploy window 0 9 * * 1-5 for 8h', {kind: 'deploy-window', cron: '0 9 * * 1-5', durationMs: 8 * 3_600_000, timeZone: 'UTC'}],
    ['deploy window 0 2 * * * for 2h tz Europe/Brussels', {kind: 'deploy-window', cron: '0 2 * * *', timeZone: 'Europe/Brussels'}],
    ['freeze from 2026-12-24T00:00:00+01:00 to 2027-01-02T00:00:00+01:00 reason "holidays"',
      {kind: 'freeze', from: new Date('2026-12-23T23:00:00Z'), to: new Date('2027-01-01T23:00:00Z'), reason: 'holidays'}],
    ['freeze  from 2026-12-24T00:00Z   to 2026-12-25T00:00Z', {kind: 'freeze', text: 'freeze from 2026-12-24T00:00Z to 2026-12-25T00:00Z'}],
  ])('parses %s', (text, expected) => {
    const p = parseRule(text);
    expect(p.ok, JSON.stringify(p)).toBe(true);
    if (p.ok) expect(p.rule).toMatchObject(expected);
  });

  it.each([
    ['', 'the rule is empty'],
    ['approvals >= 0 from role admin', '"0" is not a whole number from 1 to 999'],
    ['approvals >= x from role admin', '"x" is not a whole number'],
    ['approvals >= 1 from role owner', 'unknown role "owner": use admin, tester, developer, viewer'],
    ['approvals 1 admin', 'expected "approvals >= N from role R"'],
    ['backup younger than 1 day', 'expected "backup younger than <duration>"'],
    ['backup younger than 0h', 'expected "backup younger than <duration>"'],
    ['deploy window 0 9 * * for 8h', 'expected "deploy window <5-field cron>'],
    ['deploy window 0 25 * * * for 8h', 'cron "0 25 * * *": hour field "25": 25 is outside 0-23'],
    ['deploy window 0 9 * * * for 8x', 'duration "8x": expected a duration'],
    ['deploy window 0 9 * * * for 8 hours', 'expected "deploy window <5-field cron>'],
    ['deploy window 0 9 * * * for 8h tz Mars/Olympus', 'unknown time zone "Mars/Olympus"'],
    ['deploy window 0 0 31 2 * for 1h', 'cron "0 0 31 2 *" never fires'],
    ['freeze from 2026-12-24 to 2026-12-25', '"2026-12-24" is not an ISO date-time with Z or an offset'],
    ['freeze from 2026-12-24T00:00:00 to 2026-12-25T00:00:00Z', 'is not an ISO date-time'],
    ['freeze from 2026-12-25T00:00Z to 2026-12-24T00:00Z', 'the freeze ends (2026-12-24T00:00Z) before it starts'],
    ['freeze from 2026-13-01T00:00Z to 2026-12-24T00:00Z', '"2026-13-01T00:00Z" is not'],
    ['allow everything', 'unknown rule; the forms are: approvals >= N'],
  ])('rejects %j', (text, error) => {
    const p = parseRule(text);
    expect(p.ok).toBe(false);
    if (!p.ok) expect(p.error).toContain(error);
  });

  it('names every bad rule of a list with its label', () => {
    const {rules, problems} = parseRules(['no self-approval', 'approvals >= 1 from role boss', 'nonsense'], 'policies.production');
    expect(rules.map((r) => r.kind)).toEqual(['no-self-approval']);
    expect(problems.map(formatProblem)).toEqual([
      'policies.production[1] "approvals >= 1 from role boss": unknown role "boss": use admin, tester, developer, viewer',
      expect.stringMatching(/^policies\.production\[2\] "nonsense": unknown rule/),
    ]);
  });
});
