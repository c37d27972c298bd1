import {describe, expect, it} from 'vitest';
import {calendarKeys, isoWeek, localDate, timeZoneError} from '../../../src/core/backup/retention-calendar.js';

describe('calendarKeys', () => {
  it.each([
    // [instant, zone, day, week, month]
    ['2026-12-31T12:00:00Z', 'UTC', '2026-12-31', '2026-W53', '2026-12'],
    ['2027-01-03T22:59:59Z', 'Europe/Brussels', '2027-01-03', '2026-W53', '2027-01'], // 23:59:59 CET
    ['2027-01-03T23:00:00Z', 'Europe/Brussels', '2027-01-04', '2027-W01', '2027-01'], // midnight CET
    ['2026-12-28T00:00:00Z', 'UTC', '2026-12-28', '2026-W53', '2026-12'],
    ['2026-12-27T23:59:59Z', 'UTC', '2026-12-27', '2026-W52', '2026-12'],
    ['2020-12-31T00:00:00Z', 'UTC', '2020-12-31', '2020-W53', '2020-12'],
    ['2021-01-01T00:00:00Z', 'UTC', '2021-01-01', '2020-W53', '2021-01'],
    ['2024-12-30T00:00:00Z', 'UTC', '2024-12-30', '2025-W01', '2024-12'], // ISO year ahead of the calendar year
    ['2028-02-29T12:00:00Z', 'UTC', '2028-02-29', '2028-W09', '2028-02'],
    ['2028-02-29T23:30:00Z', 'Europe/Brussels', '2028-03-01', '2028-W09', '2028-03'],
    ['2027-03-28T00:59:59Z', 'Europe/Brussels', '2027-03-28', '2027-W12', '2027-03'], // 01:59:59 CET, just before the gap
    ['2027-03-28T01:00:00Z', 'Europe/Brussels', '2027-03-28', '2027-W12', '2027-03'], // 03:00 CEST
    ['2027-03-28T21:59:59Z', 'Europe/Brussels', '2027-03-28', '2027-W12', '2027-03'], // 23:59:59 CEST: a 23-hour day
    ['2027-10-31T00:30:00Z', 'Europe/Brussels', '2027-10-31', '2027-W43', '2027-10'], // 02:30 CEST
    ['2027-10-31T01:30:00Z', 'Europe/Brussels', '2027-10-31', '2027-W43', '2027-10'], // 02:30 CET, the second time
    ['2027-10-31T22:59:59Z', 'Europe/Brussels', '2027-10-31', '2027-W43', '2027-10'], // a 25-hour day
    ['2026-06-30T12:30:00Z', 'Pacific/Kiritimati', '2026-07-01', '2026-W27', '2026-07'], // UTC+14
    ['2026-07-01T11:30:00Z', 'Pacific/Pago_Pago', '2026-07-01', '2026-W27', '2026-07'], // UTC-11
  ])('%s in %s is %s / %s / %s', (instant, zone, day, week, month) => {
    expect(calendarKeys(new Date(instant), zone)).toEqual({day, week, month});
  });

  it('agrees with the ISO week of every day of 2015..2035 counted by hand', () => {
    let year = 2015;
    let week = 1;
    // 2014-12-29 is the Monday of 2015-W01.
    for (let ms = Date.UTC(2014, 11, 29); ms < Date.UTC(2036, 0, 1); ms += 7 * 86_400_000) {
      const d = new Date(ms);
      for (let day = 0; day < 7; day++) {
        const at = new Date(ms + day * 86_400_000);
        expect(isoWeek(at.getUTCFullYear(), at.getUTCMonth() + 1, at.getUTCDate())).toEqual({year, week});
      }
      const nextThursday = new Date(d.getTime() + 10 * 86_400_000);
      if (nextThursday.getUTCFullYear() !== year) {
        year = nextThursday.getUTCFullYear();
        week = 1;
      } else week++;
    }
  });

  it('reads the local date of an instant', () => {
    expect(localDate(new Date('2026-01-01T00:30:00Z'), 'America/New_York')).toEqual({year: 2025, month: 12, day: 31});
  });
});

describe('timeZoneError', () => {
  it.each(['UTC', 'Europe/Brussels', 'America/New_York', 'Asia/Kolkata', 'Etc/GMT+5'])('accepts %s', (zone) => {
    expect(timeZoneError(zone)).toBeUndefined();
  });
  it.each([['Mars/Base', /unknown time zone "Mars\/Base"/], ['', /expected an IANA time zone/], ['  ', /expected an IANA/]])('refuses %j', (zone, message) => {
    expect(timeZoneError(zone)).toMatch(message);
  });
});
