import {describe, expect, it} from 'vitest';
import {dueSlot, dueSlots, latestSlot, MAX_COUNTED, nextSlot, scheduleError} from '../../../src/core/backup/schedule-plan.js';

const at = (iso: string) => new Date(iso);
const iso = (d: Date | null | undefined) => d?.toISOString() ?? null;

describe('latestSlot / nextSlot', () => {
  it('includes a slot exactly at now, in the schedule time zone', () => {
    expect(iso(latestSlot('0 3 * * *', 'UTC', at('2026-11-20T03:00:00Z')))).toBe('2026-11-20T03:00:00.000Z');
    expect(iso(latestSlot('0 3 * * *', 'UTC', at('2026-11-20T02:59:59.999Z')))).toBe('2026-11-19T03:00:00.000Z');
    expect(iso(latestSlot('0 3 * * *', 'Europe/Brussels', at('2026-11-20T12:00:00Z')))).toBe('2026-11-20T02:00:00.000Z');
    expect(iso(nextSlot('0 3 * * *', 'Europe/Brussels', at('2026-11-20T12:00:00Z')))).toBe('2026-11-21T02:00:00.000Z');
  });

  it('fires a local time skipped by the spring DST change once, right after the gap', () => {
    // 02:30 does not exist in Brussels on 2027-03-28 (02:00 CET -> 03:00 CEST).
    expect(iso(latestSlot('30 2 * * *', 'Europe/Brussels', at('2027-03-28T12:00:00Z')))).toBe('2027-03-28T01:00:00.000Z');
  });

  it('fires a local time repeated by the autumn DST change once', () => {
    // 02:30 happens twice in Brussels on 2027-10-31: the fixed-time job runs at the first one only.
    const slots = [at('2027-10-31T00:00:00Z'), at('2027-10-31T01:00:00Z'), at('2027-10-31T02:00:00Z')].map((now) => iso(latestSlot('30 2 * * *', 'Europe/Brussels', now)));
    expect(slots).toEqual(['2027-10-30T00:30:00.000Z', '2027-10-31T00:30:00.000Z', '2027-10-31T00:30:00.000Z']);
  });

  it('knows leap days', () => {
    expect(iso(latestSlot('0 1 29 2 *', 'UTC', at('2031-01-01T00:00:00Z')))).toBe('2028-02-29T01:00:00.000Z');
  });
});

describe('dueSlot', () => {
  const state = (lastFired: string | null) => ({env: 'production', cron: '0 3 * * *', lastFired: lastFired === null ? null : at(lastFired)});

  it('is due when nothing ever fired', () => {
    expect(dueSlot(state(null), 'UTC', at('2026-11-20T12:00:00Z'))).toEqual({env: 'production', slot: at('2026-11-20T03:00:00Z'), skipped: 0});
  });

  it('is not due again once the latest slot fired', () => {
    expect(dueSlot(state('2026-11-20T03:00:00Z'), 'UTC', at('2026-11-20T12:00:00Z'))).toBeUndefined();
    expect(dueSlot(state('2026-11-20T03:00:00Z'), 'UTC', at('2026-11-21T02:59:00Z'))).toBeUndefined();
    expect(dueSlot(state('2026-11-20T03:00:00Z'), 'UTC', at('2026-11-21T03:00:00Z'))?.slot).toEqual(at('2026-11-21T03:00:00Z'));
  });

  it('after downtime fires the latest missed slot only, and counts the ones it skips', () => {
    expect(dueSlot(state('2026-11-10T03:00:00Z'), 'UTC', at('2026-11-20T12:00:00Z'))).toEqual({env: 'production', slot: at('2026-11-20T03:00:00Z'), skipped: 9});
  });

  it('caps the count of skipped slots', () => {
    const due = dueSlot({env: 'x', cron: '* * * * *', lastFired: at('2026-01-01T00:00:00Z')}, 'UTC', at('2026-03-01T00:00:00Z'));
    expect(due?.skipped).toBe(MAX_COUNTED);
  });

  it('ignores a last fired slot in the future (clock skew between runners)', () => {
    expect(dueSlot(state('2026-12-01T03:00:00Z'), 'UTC', at('2026-11-20T12:00:00Z'))).toBeUndefined();
  });

  it('lists the due slots of several environments in name order', () => {
    const due = dueSlots(
      [
        {env: 'staging', cron: '0 4 * * 0', lastFired: null},
        {env: 'production', cron: '0 3 * * *', lastFired: at('2026-11-20T03:00:00Z')},
        {env: 'dev', cron: '*/30 * * * *', lastFired: at('2026-11-20T11:00:00Z')},
      ],
      'UTC',
      at('2026-11-20T12:10:00Z'),
    );
    expect(due.map((d) => [d.env, iso(d.slot), d.skipped])).toEqual([
      ['dev', '2026-11-20T12:00:00.000Z', 1],
      ['staging', '2026-11-15T04:00:00.000Z', 0],
    ]);
  });
});

describe('scheduleError', () => {
  it.each(['0 3 * * *', '*/15 * * * *', '0 4 * * 0', '30 2 1,15 * *', '0 0 29 2 *'])('accepts %s', (expr) => {
    expect(scheduleError(expr, 'Europe/Brussels')).toBeUndefined();
  });
  it.each([
    ['0 25 * * *', 'UTC', /hour field "25": 25 is outside 0-23/],
    ['0 3 * *', 'UTC', /has 5 fields/],
    ['0 3 * * MON', 'UTC', /is not \*, a number/],
    ['0 0 31 2 *', 'UTC', /never fires/],
    ['0 3 * * *', 'Mars/Base', /unknown time zone/],
  ])('refuses %s in %s', (expr, zone, message) => {
    expect(scheduleError(expr, zone)).toMatch(message);
  });
});
