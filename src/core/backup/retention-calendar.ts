/**
 * Calendar keys of an instant in a time zone, for retention: the local day (`2026-11-20`), the
 * ISO 8601 week (`2026-W53`) and the calendar month (`2026-08`). The local date comes from
 * Intl.DateTimeFormat (the runtime's IANA database, so DST days are 23 or 25 hours long without
 * any help from us); weeks and months are then pure date arithmetic on that civil date. Keys of
 * one kind sort chronologically as strings. Pure: no IO, no clock.
 */

export interface CalendarKeys {
  /** Local calendar day, YYYY-MM-DD. */
  readonly day: string;
  /** ISO week, YYYY-Www (the ISO week-numbering year, which differs from the calendar year near New Year). */
  readonly week: string;
  /** Local calendar month, YYYY-MM. */
  readonly month: string;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {timeZone, year: 'numeric', month: 'numeric', day: 'numeric', calendar: 'iso8601', numberingSystem: 'latn'});
    formatters.set(timeZone, f);
  }
  return f;
}

/** Describes what is wrong with an IANA time zone name, or undefined when the runtime knows it. */
export function timeZoneError(timeZone: string): string | undefined {
  if (typeof timeZone !== 'string' || timeZone.trim() === '') return 'expected an IANA time zone name such as UTC or Europe/Brussels';
  try {
    formatter(timeZone);
    return undefined;
  } catch {
    return `unknown time zone "${timeZone}": expected an IANA name such as UTC, Europe/Brussels or America/New_York`;
  }
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** The local civil date of an instant in a time zone. */
export function localDate(at: Date, timeZone: string): {readonly year: number; readonly month: number; readonly day: number} {
  let year = NaN;
  let month = NaN;
  let day = NaN;
  for (const part of formatter(timeZone).formatToParts(at)) {
    if (part.type === 'year') year = Number(part.value);
    else if (part.type === 'month') month = Number(part.value);
    else if (part.type === 'day') day = Number(part.value);
  }
  if (!Number.isInteger(year) || !Number.isInteger(month) || !Number.isInteger(day)) {
    throw new RangeError(`cannot read the calendar date of ${at.toISOString()} in ${timeZone}`);
  }
  return {year, month, day};
}

const DAY_MS = 86_400_000;

/** ISO 8601 week of a civil date: weeks start on Monday; week 1 holds the year's first Thursday. */
export function isoWeek(year: number, month: number, day: number): {readonly year: number; readonly week: number} {
  const date = Date.UTC(year, month - 1, day);
  const weekday = (new Date(date).getUTCDay() + 6) % 7; // Monday = 0
  const thursday = new Date(date + (3 - weekday) * DAY_MS);
  const weekYear = thursday.getUTCFullYear();
  const ordinal = Math.floor((thursday.getTime() - Date.UTC(weekYear, 0, 1)) / DAY_MS); // 0-based day of year
  return {year: weekYear, week: Math.floor(ordinal / 7) + 1};
}

/** The day, ISO week and month keys of an instant in a time zone. */
export function calendarKeys(at: Date, timeZone: string): CalendarKeys {
  const {year, month, day} = localDate(at, timeZone);
  const w = isoWeek(year, month, day);
  return {
    day: `${pad(year, 4)}-${pad(month)}-${pad(day)}`,
    week: `${pad(w.year, 4)}-W${pad(w.week)}`,
    month: `${pad(year, 4)}-${pad(month)}`,
  };
}
