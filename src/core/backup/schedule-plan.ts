/**
 * Backup schedules: which slots are due. A slot is one instant a cron expression names, in the
 * schedule's time zone (croner does the calendar work, DST included: a local time that does not
 * exist fires at the first valid time after the gap, one that occurs twice fires once). A
 * schedule that missed slots (runner down, laptop asleep) fires only the LATEST missed slot, never
 * a storm of catch-up backups. Firing a slot exactly once across runners is the job of the
 * unique key in ops.backup_slots (schedule-service.ts); this module only decides. Pure: `now`
 * and the last fired slot are parameters.
 */
import {Cron} from 'croner';
import {cronError} from '../config/cron.js';
import {timeZoneError} from './retention-calendar.js';

export interface ScheduleState {
  readonly env: string;
  /** 5-field cron expression. */
  readonly cron: string;
  /** The latest slot fired for this env (any runner), or null when none ever was. */
  readonly lastFired: Date | null;
}

export interface DueSlot {
  readonly env: string;
  readonly slot: Date;
  /** Older slots after lastFired that are skipped because a newer one is due (capped at MAX_COUNTED). */
  readonly skipped: number;
}

/** Skipped slots are counted up to this many (a `* * * * *` schedule down for a month is not enumerated). */
export const MAX_COUNTED = 1000;

function cron(expression: string, timeZone: string): Cron {
  return new Cron(expression, {timezone: timeZone, mode: '5-part'});
}

/**
 * Describes what is wrong with a schedule (syntax, time zone, or a date that never comes, like
 * 31 February), or undefined when it is valid.
 */
export function scheduleError(expression: string, timeZone = 'UTC'): string | undefined {
  const syntax = cronError(expression);
  if (syntax !== undefined) return syntax;
  const tz = timeZoneError(timeZone);
  if (tz !== undefined) return tz;
  try {
    // Any 28-year window holds every calendar date (leap days included).
    const next = cron(expression, timeZone).nextRun(new Date(Date.UTC(2000, 0, 1)));
    if (next === null || next.getTime() > Date.UTC(2028, 0, 1)) return 'it never fires (no date matches)';
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  return undefined;
}

/** The latest slot at or before `now`, or null when the schedule has none. */
export function latestSlot(expression: string, timeZone: string, now: Date): Date | null {
  // croner's previousRuns excludes a run exactly at the reference: look from 1 ms later.
  return cron(expression, timeZone).previousRuns(1, new Date(now.getTime() + 1))[0] ?? null;
}

/** The next slot strictly after `after` (for display: "next backup at ..."). */
export function nextSlot(expression: string, timeZone: string, after: Date): Date | null {
  return cron(expression, timeZone).nextRun(after);
}

/**
 * The slot due for one schedule: the latest slot at or before now, when it is newer than the last
 * fired one. Undefined when nothing is due.
 */
export function dueSlot(state: ScheduleState, timeZone: string, now: Date): DueSlot | undefined {
  const slot = latestSlot(state.cron, timeZone, now);
  if (slot === null) return undefined;
  if (state.lastFired !== null && slot.getTime() <= state.lastFired.getTime()) return undefined;
  let skipped = 0;
  if (state.lastFired !== null) {
    const c = cron(state.cron, timeZone);
    let cursor: Date | null = c.nextRun(state.lastFired);
    while (cursor !== null && cursor.getTime() < slot.getTime() && skipped < MAX_COUNTED) {
      skipped++;
      cursor = c.nextRun(cursor);
    }
  }
  return {env: state.env, slot, skipped};
}

/** The due slots of every schedule (at most one per environment), in environment order. */
export function dueSlots(states: readonly ScheduleState[], timeZone: string, now: Date): DueSlot[] {
  return [...states]
    .sort((a, b) => (a.env < b.env ? -1 : a.env > b.env ? 1 : 0))
    .flatMap((state) => dueSlot(state, timeZone, now) ?? []);
}
