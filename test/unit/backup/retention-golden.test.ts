import {describe, expect, it} from 'vitest';
import {DEFAULT_RETENTION_POLICY, selectBackupsToPrune, type RetentionBackup, type RetentionPolicy} from '../../../src/core/backup/retention-policy.js';

/**
 * A simulated backup history for the retention golden tests (Europe/Brussels): every day
 * from 2026-11-01 to 2028-03-05 but a 10-day outage (2027-10-20..29), with several backups a day:
 *   d-<date>T02  daily       02:00Z (03:00 CET / 04:00 CEST)
 *   p-<date>T13  pre-deploy  13:00Z, every third day
 *   s-<date>T22  safety      22:30Z, every fifth day: 23:30 the same local day in winter, but
 *                            00:30 the NEXT local day in summer (CEST)
 *   m-<date>T10  manual      10:00Z, every ninth day
 * The daily backup of the 1st of each month is verified ok; the one of 2027-06-15 failed
 * verification. Ids name the UTC date and hour.
 */
const TZ = 'Europe/Brussels';
const POLICY: RetentionPolicy = {daily: 7, weekly: 4, monthly: 3, manual: {keep: 3, maxAgeMs: 30 * 86_400_000, maxAgeText: '30d'}, timeZone: TZ};
const FIRST_DAY = '2026-11-01';
const LAST_DAY = '2028-03-05';
const GAP = ['2027-10-20', '2027-10-29'] as const;

const DAY = 86_400_000;
const dayText = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The backups created on one UTC calendar day (index = days since FIRST_DAY). */
function backupsOfDay(day: string): RetentionBackup[] {
  if (day >= GAP[0] && day <= GAP[1]) return [];
  const index = Math.round((Date.parse(day) - Date.parse(FIRST_DAY)) / DAY);
  const make = (prefix: string, kind: RetentionBackup['kind'], time: string): RetentionBackup => ({
    id: `${prefix}-${day}T${time.slice(0, 2)}`,
    env: 'production',
    kind,
    status: 'complete',
    createdAt: `${day}T${time}:00Z`,
    verified: null,
  });
  const out: RetentionBackup[] = [];
  if (index % 9 === 0) out.push(make('m', 'manual', '10:00'));
  const daily = make('d', 'daily', '02:00');
  if (day.endsWith('-01')) out.push({...daily, verified: 'ok'});
  else if (day === '2027-06-15') out.push({...daily, verified: 'failed'});
  else out.push(daily);
  if (index % 3 === 0) out.push(make('p', 'pre-deploy', '13:00'));
  if (index % 5 === 0) out.push(make('s', 'safety', '22:30'));
  return out;
}

/** Every UTC day of the simulation, in order. */
function simulationDays(until = LAST_DAY): string[] {
  const days: string[] = [];
  for (let ms = Date.parse(FIRST_DAY); dayText(ms) <= until; ms += DAY) days.push(dayText(ms));
  return days;
}

const kept = (backups: readonly RetentionBackup[], now: string) =>
  selectBackupsToPrune(backups, POLICY, new Date(now)).keep.map((k) => `${k.id} ${k.reason}`);

describe('retention golden: one prune over the whole history (Europe/Brussels)', () => {
  it('across ISO week 53 of 2026 (2026-12-28 .. 2027-01-03)', () => {
    const all = simulationDays('2027-01-20').flatMap(backupsOfDay);
    expect(all).toHaveLength(134);
    expect(kept(all, '2027-01-20T23:00:00Z')).toEqual([
      's-2027-01-20T22 daily 2027-01-20', // 23:30 CET: the newest of the local day
      'd-2027-01-19T02 daily 2027-01-19',
      'p-2027-01-18T13 daily 2027-01-18',
      'd-2027-01-17T02 daily 2027-01-17',
      'd-2027-01-16T02 daily 2027-01-16',
      's-2027-01-15T22 daily 2027-01-15',
      'd-2027-01-14T02 daily 2027-01-14', // oldest daily: Thursday of 2027-W02, so the weekly tier starts at W01
      'm-2027-01-12T10 manual within 3 / 30d',
      's-2027-01-10T22 weekly 2027-W01',
      'p-2027-01-03T13 weekly 2026-W53', // 3 January 2027 belongs to ISO week 53 of 2026
      'm-2027-01-03T10 manual within 3 / 30d',
      'd-2027-01-01T02 newest verified',
      'd-2026-12-27T02 weekly 2026-W52',
      'm-2026-12-25T10 manual within 3 / 30d',
      'd-2026-12-20T02 weekly 2026-W51', // oldest weekly: in December, so the monthly tier starts at November
      'd-2026-11-30T02 monthly 2026-11', // nothing older exists: one monthly backup only
    ]);
  });

  it('across the leap day 2028-02-29, with a day whose backup failed verification kept whole', () => {
    const all = simulationDays('2028-03-05').flatMap(backupsOfDay);
    expect(all).toHaveLength(793);
    expect(kept(all, '2028-03-05T23:00:00Z')).toEqual([
      's-2028-03-05T22 daily 2028-03-05',
      'p-2028-03-04T13 daily 2028-03-04',
      'd-2028-03-03T02 daily 2028-03-03',
      'd-2028-03-02T02 daily 2028-03-02',
      'p-2028-03-01T13 daily 2028-03-01',
      'm-2028-03-01T10 manual within 3 / 30d',
      'd-2028-03-01T02 newest verified',
      's-2028-02-29T22 daily 2028-02-29',
      'd-2028-02-28T02 daily 2028-02-28',
      'p-2028-02-27T13 weekly 2028-W08',
      'm-2028-02-21T10 manual within 3 / 30d',
      'd-2028-02-20T02 weekly 2028-W07',
      'd-2028-02-13T02 weekly 2028-W06',
      'm-2028-02-12T10 manual within 3 / 30d',
      'p-2028-02-06T13 weekly 2028-W05',
      'p-2028-01-31T13 monthly 2028-01',
      's-2027-12-31T22 monthly 2027-12',
      'd-2027-11-30T02 monthly 2027-11',
      'd-2027-06-15T02 day with failed verification', // 2027-06-15 local (CEST): its 04:00 daily failed verification;
      's-2027-06-14T22 day with failed verification', // 22:30Z on the 14th is 00:30 on the 15th
    ]);
  });
});

describe('retention golden: pruned every day, as the scheduler does (Europe/Brussels)', () => {
  // Each simulated day adds its backups, prunes with now = 23:00Z and drops what was removed.
  const snapshots = new Map<string, string[]>();
  let remaining: RetentionBackup[] = [];
  let notIdempotent: string[] = [];
  for (const day of simulationDays()) {
    remaining.push(...backupsOfDay(day));
    const now = new Date(`${day}T23:00:00Z`);
    const plan = selectBackupsToPrune(remaining, POLICY, now);
    const ids = new Set(plan.keep.map((k) => k.id));
    remaining = remaining.filter((b) => ids.has(b.id));
    const again = selectBackupsToPrune(remaining, POLICY, now);
    if (again.remove.length > 0) notIdempotent = [...notIdempotent, `${day}: ${again.remove.map((r) => r.id).join(', ')}`];
    snapshots.set(day, plan.keep.map((k) => `${k.id} ${k.reason}`));
  }

  it('is idempotent on every one of the simulated days', () => {
    expect(simulationDays().length).toBe(491);
    expect(notIdempotent).toEqual([]);
  });

  it('keeps the weekly of ISO week 53; a month is then kept by its last surviving weekly backup', () => {
    expect(snapshots.get('2027-01-20')).toEqual([
      's-2027-01-20T22 daily 2027-01-20', // 23:30 CET: the newest of the local day
      'd-2027-01-19T02 daily 2027-01-19',
      'p-2027-01-18T13 daily 2027-01-18',
      'd-2027-01-17T02 daily 2027-01-17',
      'd-2027-01-16T02 daily 2027-01-16',
      's-2027-01-15T22 daily 2027-01-15',
      'd-2027-01-14T02 daily 2027-01-14', // oldest daily: Thursday of 2027-W02, so the weekly tier starts at W01
      'm-2027-01-12T10 manual within 3 / 30d',
      's-2027-01-10T22 weekly 2027-W01',
      'p-2027-01-03T13 weekly 2026-W53', // 3 January 2027 belongs to ISO week 53 of 2026
      'm-2027-01-03T10 manual within 3 / 30d',
      'd-2027-01-01T02 newest verified',
      'd-2026-12-27T02 weekly 2026-W52',
      'm-2026-12-25T10 manual within 3 / 30d',
      'd-2026-12-20T02 weekly 2026-W51', // oldest weekly: in December, so the monthly tier starts at November
      'd-2026-11-29T02 monthly 2026-11',
    ]);
  });

  it('spans the spring DST day (2027-03-28, 23 hours) like any other day', () => {
    expect(snapshots.get('2027-03-30')).toEqual([
      'd-2027-03-30T02 daily 2027-03-30',
      'd-2027-03-29T02 daily 2027-03-29',
      'p-2027-03-28T13 daily 2027-03-28',
      'd-2027-03-27T02 daily 2027-03-27',
      's-2027-03-26T22 daily 2027-03-26',
      'p-2027-03-25T13 daily 2027-03-25',
      'm-2027-03-25T10 manual within 3 / 30d',
      'd-2027-03-24T02 daily 2027-03-24',
      's-2027-03-21T22 weekly 2027-W11',
      'm-2027-03-16T10 manual within 3 / 30d',
      'd-2027-03-14T02 weekly 2027-W10',
      'p-2027-03-07T13 weekly 2027-W09',
      'm-2027-03-07T10 manual within 3 / 30d',
      'd-2027-03-01T02 newest verified',
      'd-2027-02-28T02 weekly 2027-W08',
      'd-2027-01-31T02 monthly 2027-01',
      'd-2026-12-27T02 monthly 2026-12',
      'd-2026-11-29T02 monthly 2026-11',
    ]);
  });

  it('fills the day whose daily failed verification with its other backup, and keeps that day whole', () => {
    expect(snapshots.get('2027-06-20')).toEqual([
      'p-2027-06-20T13 daily 2027-06-20',
      'd-2027-06-19T02 daily 2027-06-19',
      'd-2027-06-18T02 daily 2027-06-18',
      'p-2027-06-17T13 daily 2027-06-17',
      'd-2027-06-16T02 daily 2027-06-16',
      'd-2027-06-15T02 day with failed verification',
      's-2027-06-14T22 daily 2027-06-15', // 00:30 CEST on the 15th
      'p-2027-06-14T13 daily 2027-06-14',
      'm-2027-06-14T10 manual within 3 / 30d',
      'd-2027-06-13T02 weekly 2027-W23',
      'd-2027-06-06T02 weekly 2027-W22',
      'm-2027-06-05T10 manual within 3 / 30d',
      'd-2027-06-01T02 newest verified',
      'p-2027-05-30T13 weekly 2027-W21',
      'm-2027-05-27T10 manual within 3 / 30d',
      'd-2027-05-23T02 weekly 2027-W20',
      'd-2027-04-25T02 monthly 2027-04',
      'p-2027-03-28T13 monthly 2027-03',
      'd-2027-02-28T02 monthly 2027-02',
    ]);
  });

  it('skips the 10-day outage: the daily tier reaches back over it, across the autumn DST day (25 hours)', () => {
    expect(snapshots.get('2027-11-02')).toEqual([
      'p-2027-11-02T13 daily 2027-11-02',
      's-2027-11-01T22 daily 2027-11-01',
      'd-2027-11-01T02 newest verified',
      'd-2027-10-31T02 daily 2027-10-31',
      'p-2027-10-30T13 daily 2027-10-30',
      // no backups 2027-10-20 .. 2027-10-29
      'd-2027-10-19T02 daily 2027-10-19',
      'p-2027-10-18T13 daily 2027-10-18',
      'm-2027-10-18T10 manual within 3 / 30d',
      'd-2027-10-17T02 daily 2027-10-17', // a Sunday: 2027-10-11 .. 16 were pruned once they left the daily tier
      'd-2027-10-10T02 weekly 2027-W40',
      'm-2027-10-09T10 manual within 3 / 30d',
      'p-2027-10-03T13 weekly 2027-W39',
      'd-2027-09-26T02 weekly 2027-W38',
      'd-2027-09-19T02 weekly 2027-W37',
      'd-2027-08-29T02 monthly 2027-08',
      'd-2027-07-25T02 monthly 2027-07',
      'd-2027-06-27T02 monthly 2027-06',
      'd-2027-06-15T02 day with failed verification', // 2027-06-15 local (CEST): its 04:00 daily failed verification;
      's-2027-06-14T22 day with failed verification', // 22:30Z on the 14th is 00:30 on the 15th
    ]);
  });

  it('ends with the leap day among the dailies', () => {
    expect(snapshots.get('2028-03-05')).toEqual([
      's-2028-03-05T22 daily 2028-03-05',
      'p-2028-03-04T13 daily 2028-03-04',
      'd-2028-03-03T02 daily 2028-03-03',
      'd-2028-03-02T02 daily 2028-03-02',
      'p-2028-03-01T13 daily 2028-03-01',
      'm-2028-03-01T10 manual within 3 / 30d',
      'd-2028-03-01T02 newest verified',
      's-2028-02-29T22 daily 2028-02-29',
      'd-2028-02-28T02 daily 2028-02-28',
      'p-2028-02-27T13 weekly 2028-W08',
      'm-2028-02-21T10 manual within 3 / 30d',
      'd-2028-02-20T02 weekly 2028-W07',
      'd-2028-02-13T02 weekly 2028-W06',
      'm-2028-02-12T10 manual within 3 / 30d',
      'p-2028-02-06T13 weekly 2028-W05',
      's-2028-01-30T22 monthly 2028-01',
      's-2027-12-26T22 monthly 2027-12',
      'd-2027-11-28T02 monthly 2027-11',
      'd-2027-06-15T02 day with failed verification', // 2027-06-15 local (CEST): its 04:00 daily failed verification;
      's-2027-06-14T22 day with failed verification', // 22:30Z on the 14th is 00:30 on the 15th
    ]);
  });
});

/** restic's `forget --keep-daily/--keep-weekly/--keep-monthly`: each rule over ALL snapshots, overlapping. */
function resticKept(backups: readonly {id: string; at: Date}[], rules: Array<[number, (d: Date) => string]>): Set<string> {
  const keep = new Set<string>();
  const sorted = [...backups].sort((a, b) => b.at.getTime() - a.at.getTime());
  for (const [count, bucket] of rules) {
    let left = count;
    let last: string | undefined;
    for (const b of sorted) {
      if (left === 0) break;
      const key = bucket(b.at);
      if (key !== last) {
        keep.add(b.id);
        last = key;
        left--;
      }
    }
  }
  return keep;
}

describe('non-overlapping tiers versus restic', () => {
  it('keeps 14 daily backups reaching back 3 to 4 months where restic keeps 10 to 12 reaching back at most 2', () => {
    const day = (d: Date) => d.toISOString().slice(0, 10);
    const week = (d: Date) => {
      const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 3 - ((d.getUTCDay() + 6) % 7)));
      return `${t.getUTCFullYear()}-${Math.floor((t.getTime() - Date.UTC(t.getUTCFullYear(), 0, 1)) / 86_400_000 / 7)}`;
    };
    const month = (d: Date) => d.toISOString().slice(0, 7);
    const ours = {counts: new Set<number>(), spans: [] as number[]};
    const restic = {counts: new Set<number>(), spans: [] as number[]};
    for (let offset = 0; offset < 60; offset++) {
      const backups: {id: string; env: string; kind: 'daily'; status: 'complete'; createdAt: Date}[] = [];
      for (let i = 0; i < 200 + offset; i++) {
        backups.push({id: `b${i}`, env: 'production', kind: 'daily', status: 'complete', createdAt: new Date(Date.UTC(2026, 0, 1 + i, 3))});
      }
      const now = new Date(Date.UTC(2026, 0, 200 + offset, 12));
      const at = new Map(backups.map((b) => [b.id, b.createdAt.getTime()]));
      const span = (ids: Iterable<string>) => (now.getTime() - Math.min(...[...ids].map((id) => at.get(id)!))) / 86_400_000;
      const plan = selectBackupsToPrune(backups, DEFAULT_RETENTION_POLICY, now);
      ours.counts.add(plan.keep.length);
      ours.spans.push(span(plan.keep.map((k) => k.id)));
      const r = resticKept(backups.map((b) => ({id: b.id, at: b.createdAt})), [[7, day], [4, week], [3, month]]);
      restic.counts.add(r.size);
      restic.spans.push(span(r));
    }
    expect([...ours.counts]).toEqual([14]);
    expect(Math.min(...ours.spans)).toBeGreaterThan(90);
    expect(Math.max(...ours.spans)).toBeLessThan(125);
    expect(Math.min(...restic.counts)).toBeGreaterThanOrEqual(10);
    expect(Math.max(...restic.counts)).toBeLessThanOrEqual(12);
    expect(Math.max(...restic.spans)).toBeLessThan(63);
  });
});
