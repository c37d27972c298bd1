import {describe, expect, it} from 'vitest';
import {
  DEFAULT_RETENTION_POLICY, durationText, retentionPolicyFromConfig, selectBackupsToPrune, type RetentionBackup, type RetentionPolicy,
} from '../../../src/core/backup/retention-policy.js';
import {UsageError} from '../../../src/core/errors.js';

const NOW = new Date('2026-11-20T12:00:00Z');
const policy = (over: Partial<RetentionPolicy> = {}): RetentionPolicy => ({...DEFAULT_RETENTION_POLICY, ...over});

/** A complete automatic backup at an ISO instant; id = the instant unless given. */
function b(createdAt: string, over: Partial<RetentionBackup> = {}): RetentionBackup {
  return {id: createdAt, env: 'production', kind: 'daily', status: 'complete', createdAt, ...over};
}
const reasons = (plan: {keep: readonly {id: string; reason: string}[]; remove: readonly {id: string; reason: string}[]}) => ({
  keep: Object.fromEntries(plan.keep.map((d) => [d.id, d.reason])),
  remove: Object.fromEntries(plan.remove.map((d) => [d.id, d.reason])),
});
/** One 03:00Z daily backup per day, from `from` for `days` days. */
const dailies = (from: string, days: number, over: Partial<RetentionBackup> = {}) =>
  Array.from({length: days}, (_, i) => b(new Date(Date.parse(`${from}T03:00:00Z`) + i * 86_400_000).toISOString(), over));

describe('selectBackupsToPrune: tiers', () => {
  it('keeps the newest backup of each day and removes the others of that day', () => {
    const plan = selectBackupsToPrune([b('2026-11-20T03:00:00Z'), b('2026-11-20T09:00:00Z', {kind: 'pre-deploy'}), b('2026-11-20T01:00:00Z')], policy(), NOW);
    expect(reasons(plan)).toEqual({
      keep: {'2026-11-20T09:00:00Z': 'daily 2026-11-20'},
      remove: {'2026-11-20T03:00:00Z': 'outside retention', '2026-11-20T01:00:00Z': 'outside retention'},
    });
  });

  it('keeps 7 + 4 + 3 = 14 of a year of daily backups, from weeks and months before the previous tier', () => {
    const plan = selectBackupsToPrune(dailies('2025-11-21', 365), policy(), NOW);
    expect(plan.keep.map((d) => `${d.id.slice(0, 10)} ${d.reason}`)).toEqual([
      '2026-11-20 daily 2026-11-20',
      '2026-11-19 daily 2026-11-19',
      '2026-11-18 daily 2026-11-18',
      '2026-11-17 daily 2026-11-17',
      '2026-11-16 daily 2026-11-16',
      '2026-11-15 daily 2026-11-15',
      '2026-11-14 daily 2026-11-14', // a Saturday, in 2026-W46
      '2026-11-08 weekly 2026-W45',
      '2026-11-01 weekly 2026-W44',
      '2026-10-25 weekly 2026-W43',
      '2026-10-18 weekly 2026-W42', // in October
      '2026-09-30 monthly 2026-09',
      '2026-08-31 monthly 2026-08',
      '2026-07-31 monthly 2026-07',
    ]);
    expect(plan.remove).toHaveLength(365 - 14);
  });

  it('counts only days that have backups', () => {
    const plan = selectBackupsToPrune([...dailies('2026-11-01', 3), ...dailies('2026-11-15', 6)], policy({weekly: 0, monthly: 0}), NOW);
    expect(plan.keep.map((d) => d.reason)).toEqual([
      'daily 2026-11-20', 'daily 2026-11-19', 'daily 2026-11-18', 'daily 2026-11-17', 'daily 2026-11-16', 'daily 2026-11-15', 'daily 2026-11-03',
    ]);
  });

  it('starts the weekly tier at the newest backups when the daily tier is off, and so on', () => {
    const plan = selectBackupsToPrune(dailies('2026-09-01', 81), policy({daily: 0, weekly: 2, monthly: 1}), NOW);
    expect(plan.keep.map((d) => d.reason)).toEqual(['weekly 2026-W47', 'weekly 2026-W46', 'monthly 2026-10']);
    expect(selectBackupsToPrune(dailies('2026-09-01', 81), policy({daily: 0, weekly: 0, monthly: 2}), NOW).keep.map((d) => d.reason))
      .toEqual(['monthly 2026-11', 'monthly 2026-10']);
  });

  it('groups days in the policy time zone', () => {
    // 23:30Z on the 19th is the 20th in Brussels: one day there, two days in UTC.
    const backups = [b('2026-11-19T23:30:00Z'), b('2026-11-20T06:00:00Z')];
    expect(selectBackupsToPrune(backups, policy({timeZone: 'UTC'}), NOW).keep).toHaveLength(2);
    expect(reasons(selectBackupsToPrune(backups, policy({timeZone: 'Europe/Brussels'}), NOW))).toEqual({
      keep: {'2026-11-20T06:00:00Z': 'daily 2026-11-20'},
      remove: {'2026-11-19T23:30:00Z': 'outside retention'},
    });
  });

  it('plans every environment on its own', () => {
    const plan = selectBackupsToPrune([b('2026-11-20T03:00:00Z', {id: 'p'}), b('2026-11-20T01:00:00Z', {id: 's', env: 'staging'})], policy(), NOW);
    expect(reasons(plan).keep).toEqual({p: 'daily 2026-11-20', s: 'daily 2026-11-20'});
  });

  it('accepts Date and string creation times alike', () => {
    const plan = selectBackupsToPrune([b('x', {id: 'a', createdAt: new Date('2026-11-20T03:00:00Z')}), b('y', {id: 'b', createdAt: '2026-11-19T03:00:00Z'})], policy(), NOW);
    expect(plan.keep.map((d) => d.id)).toEqual(['a', 'b']);
  });
});

describe('selectBackupsToPrune: manual backups', () => {
  it('keeps the newest N manual backups while younger than the maximum age, apart from the tiers', () => {
    const manual = (at: string) => b(at, {kind: 'manual'});
    const plan = selectBackupsToPrune(
      [manual('2026-11-20T10:00:00Z'), manual('2026-11-01T10:00:00Z'), manual('2026-10-01T10:00:00Z'), manual('2026-11-10T10:00:00Z'), b('2026-11-20T03:00:00Z')],
      policy({manual: {keep: 2, maxAgeMs: 30 * 86_400_000}}),
      NOW,
    );
    expect(reasons(plan)).toEqual({
      keep: {'2026-11-20T10:00:00Z': 'manual within 2 / 30d', '2026-11-20T03:00:00Z': 'daily 2026-11-20', '2026-11-10T10:00:00Z': 'manual within 2 / 30d'},
      remove: {'2026-11-01T10:00:00Z': 'outside retention', '2026-10-01T10:00:00Z': 'outside retention'},
    });
  });

  it('drops a manual backup among the newest N once it is older than the maximum age', () => {
    const plan = selectBackupsToPrune([b('2026-10-01T10:00:00Z', {kind: 'manual'})], policy({manual: {keep: 5, maxAgeMs: 86_400_000 * 7, maxAgeText: '1w'}}), NOW);
    expect(reasons(plan).remove).toEqual({'2026-10-01T10:00:00Z': 'outside retention'});
  });
});

describe('selectBackupsToPrune: what is never removed', () => {
  const old = dailies('2026-01-01', 100);

  it('keeps a backup being written or in use', () => {
    const plan = selectBackupsToPrune([...old, b('2026-02-01T05:00:00Z', {status: 'pending'}), b('2026-02-02T05:00:00Z', {inUse: true})], policy(), NOW);
    expect(reasons(plan).keep['2026-02-01T05:00:00Z']).toBe('in use');
    expect(reasons(plan).keep['2026-02-02T05:00:00Z']).toBe('in use');
  });

  it('keeps the newest verified backup, however old', () => {
    const plan = selectBackupsToPrune([...old, b('2025-06-01T03:00:00Z', {verified: 'ok'}), b('2025-05-01T03:00:00Z', {verified: 'ok'})], policy({monthly: 1}), NOW);
    expect(reasons(plan).keep['2025-06-01T03:00:00Z']).toBe('newest verified');
    expect(reasons(plan).remove['2025-05-01T03:00:00Z']).toBe('outside retention');
  });

  it('keeps every backup of a local day whose backup failed verification, and fills no tier with it', () => {
    const plan = selectBackupsToPrune(
      [b('2026-11-20T03:00:00Z', {verified: 'failed'}), b('2026-11-20T01:00:00Z'), b('2026-11-19T23:30:00Z', {kind: 'manual'}), b('2026-11-19T03:00:00Z'), b('2026-11-19T01:00:00Z')],
      policy({timeZone: 'Europe/Brussels', manual: {keep: 0, maxAgeMs: 0}}),
      NOW,
    );
    expect(reasons(plan)).toEqual({
      keep: {
        '2026-11-20T03:00:00Z': 'day with failed verification',
        '2026-11-20T01:00:00Z': 'daily 2026-11-20',
        '2026-11-19T23:30:00Z': 'day with failed verification', // 00:30 on the 20th in Brussels
        '2026-11-19T03:00:00Z': 'daily 2026-11-19',
      },
      remove: {'2026-11-19T01:00:00Z': 'outside retention'},
    });
  });

  it('removes backups that never completed unless protected', () => {
    const plan = selectBackupsToPrune([b('2026-11-20T05:00:00Z', {status: 'failed'}), b('2026-11-20T03:00:00Z'), b('2026-11-18T03:00:00Z', {status: 'deleted'})], policy(), NOW);
    expect(reasons(plan)).toEqual({
      keep: {'2026-11-20T03:00:00Z': 'daily 2026-11-20'},
      remove: {'2026-11-20T05:00:00Z': 'backup failed', '2026-11-18T03:00:00Z': 'already deleted'},
    });
  });
});

describe('selectBackupsToPrune: input checks', () => {
  it.each([
    [policy({daily: -1}), /daily must be a whole number >= 0, found -1/],
    [policy({weekly: 1.5}), /weekly must be a whole number/],
    [policy({manual: {keep: 1, maxAgeMs: -5}}), /manual.maxAgeMs must be >= 0/],
    [policy({timeZone: 'Mars/Base'}), /unknown time zone "Mars\/Base"/],
  ])('refuses a bad policy (%#)', (p, message) => {
    expect(() => selectBackupsToPrune([], p, NOW)).toThrow(message);
  });

  it('refuses a duplicate id, a bad creation time and a bad now', () => {
    expect(() => selectBackupsToPrune([b('2026-11-20T03:00:00Z'), b('2026-11-20T03:00:00Z')], policy(), NOW)).toThrow(/listed twice/);
    expect(() => selectBackupsToPrune([b('yesterday')], policy(), NOW)).toThrow(UsageError);
    expect(() => selectBackupsToPrune([], policy(), new Date('nope'))).toThrow(/now is not a valid date/);
  });
});

describe('retentionPolicyFromConfig and durationText', () => {
  it('maps the backups section', () => {
    const config = {retention: {daily: 7, weekly: 4, monthly: 3}, manual: {keep: 5, maxAge: {text: '30d', ms: 2_592_000_000}}, timeZone: 'Europe/Brussels'};
    expect(retentionPolicyFromConfig(config)).toEqual({daily: 7, weekly: 4, monthly: 3, timeZone: 'Europe/Brussels', manual: {keep: 5, maxAgeMs: 2_592_000_000, maxAgeText: '30d'}});
  });
  it.each([[2_592_000_000, '30d'], [1_209_600_000, '2w'], [5_400_000, '90m'], [1500, '1500ms'], [0, '0ms']])('%i ms is %s', (ms, text) => {
    expect(durationText(ms)).toBe(text);
  });
});
