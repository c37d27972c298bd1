/**
 * Backup retention: which backups `backups prune` keeps and which it deletes. Pure: the backups,
 * the policy and `now` come in, a plan with a reason per backup comes out.
 *
 * Automatic backups (kinds daily, pre-deploy, safety) are kept in three tiers that do NOT
 * overlap, as Odoo.sh does (7 daily, 4 weekly, 3 monthly = 14 backups over about three months):
 *   1. daily: the newest backup of each of the last `daily` local days that have backups (days
 *      without backups, e.g. a 10-day outage, are skipped, not counted);
 *   2. weekly: the newest backup of each of the last `weekly` ISO weeks that have backups, among
 *      the weeks BEFORE the week of the oldest daily backup kept;
 *   3. monthly: the newest backup of each of the last `monthly` calendar months that have
 *      backups, among the months before the month of the oldest weekly backup kept (of the
 *      oldest daily one when the weekly tier kept nothing).
 * A tier starts with the first whole period the previous tier does not reach into, so two tiers
 * never spend two backups on one week or month (the days of the oldest daily's week that fall
 * out of the daily tier are pruned; that week is covered by the daily backups and, once it is
 * over, by its own weekly backup). With one backup a day and the default counts, the oldest
 * backup kept is 3 to 4 months old. Days, ISO weeks and months are computed in the policy's
 * time zone: DST days are just local days of 23 or 25 hours, and ISO week 53 and 29 February
 * are ordinary keys.
 *
 * How this differs from restic (`restic forget --keep-daily 7 --keep-weekly 4 --keep-monthly 3`):
 * restic applies each rule to ALL snapshots independently, so one snapshot can count for several
 * rules: today's backup is at once the newest daily, the newest of this week and of this month.
 * With one backup a day restic keeps 10 to 12 snapshots reaching back about two months; these
 * tiers keep 14 reaching back three to four, because each tier starts where the previous ends.
 *
 * Manual backups are outside the tiers: the newest `manual.keep` manual backups are kept while
 * younger than `manual.maxAgeMs`.
 *
 * Whatever the tiers say, a backup is never removed when it is:
 *   - in use: still being written (status pending) or referenced by an active restore (inUse);
 *   - the newest verified backup of its environment (complete, verified ok);
 *   - taken on a local day on which a backup of its environment failed verification (kept as
 *     evidence until someone looks: delete those with `backups delete`).
 * Backups that failed verification or were never completed (status failed) never fill a tier.
 * Each environment is planned on its own.
 */
import {UsageError} from '../errors.js';
import {calendarKeys, timeZoneError, type CalendarKeys} from './retention-calendar.js';

export type BackupKind = 'daily' | 'manual' | 'pre-deploy' | 'safety';
export type BackupStatus = 'pending' | 'complete' | 'failed' | 'deleted';

/** What the policy needs to know about one backup. */
export interface RetentionBackup {
  readonly id: string;
  readonly env: string;
  readonly kind: BackupKind;
  readonly status: BackupStatus;
  readonly createdAt: Date | string;
  /** Outcome of the last verification; null or absent when never verified. */
  readonly verified?: 'ok' | 'failed' | null | undefined;
  /** Referenced by an active restore (or otherwise held by a running operation). */
  readonly inUse?: boolean | undefined;
}

export interface RetentionPolicy {
  readonly daily: number;
  readonly weekly: number;
  readonly monthly: number;
  readonly manual: {
    readonly keep: number;
    readonly maxAgeMs: number;
    /** How maxAge is shown in reasons, e.g. "30d" (default: derived from maxAgeMs). */
    readonly maxAgeText?: string | undefined;
  };
  /** IANA time zone of days, weeks and months (e.g. "UTC", "Europe/Brussels"). */
  readonly timeZone: string;
}

export interface RetentionDecision {
  readonly id: string;
  readonly reason: string;
}

export interface RetentionPlan {
  /** Newest first. */
  readonly keep: readonly RetentionDecision[];
  /** Newest first. */
  readonly remove: readonly RetentionDecision[];
}

export const DEFAULT_RETENTION_POLICY: RetentionPolicy = Object.freeze({
  daily: 7,
  weekly: 4,
  monthly: 3,
  manual: Object.freeze({keep: 5, maxAgeMs: 30 * 86_400_000, maxAgeText: '30d'}),
  timeZone: 'UTC',
});

/** The reasons a backup is kept whatever the tiers say. */
export const PROTECTED_REASONS = ['in use', 'newest verified', 'day with failed verification'] as const;

/** The retention policy of a configuration's `backups` section. */
export function retentionPolicyFromConfig(backups: {
  readonly retention: {readonly daily: number; readonly weekly: number; readonly monthly: number};
  readonly manual: {readonly keep: number; readonly maxAge: {readonly ms: number; readonly text: string}};
  readonly timeZone: string;
}): RetentionPolicy {
  const {daily, weekly, monthly} = backups.retention;
  return {daily, weekly, monthly, timeZone: backups.timeZone, manual: {keep: backups.manual.keep, maxAgeMs: backups.manual.maxAge.ms, maxAgeText: backups.manual.maxAge.text}};
}

interface Item extends CalendarKeys {
  readonly backup: RetentionBackup;
  readonly at: number;
}

/** Splits the backups into those to keep and those to remove, each with its reason. */
export function selectBackupsToPrune(backups: readonly RetentionBackup[], policy: RetentionPolicy, now: Date): RetentionPlan {
  validatePolicy(policy);
  const nowMs = now.getTime();
  if (!Number.isFinite(nowMs)) throw new UsageError('retention: now is not a valid date');
  const items = backups.map((backup) => toItem(backup, policy.timeZone)).sort(newestFirst);
  const reasons = new Map<string, {keep: boolean; reason: string}>();
  const byEnv = new Map<string, Item[]>();
  for (const item of items) {
    if (reasons.has(item.backup.id)) throw new UsageError(`retention: backup ${item.backup.id} is listed twice`);
    reasons.set(item.backup.id, {keep: false, reason: ''});
    const list = byEnv.get(item.backup.env) ?? [];
    list.push(item);
    byEnv.set(item.backup.env, list);
  }
  for (const envItems of byEnv.values()) {
    for (const [id, decision] of planEnvironment(envItems, policy, nowMs)) reasons.set(id, decision);
  }
  const keep: RetentionDecision[] = [];
  const remove: RetentionDecision[] = [];
  for (const item of items) {
    const decision = reasons.get(item.backup.id)!;
    (decision.keep ? keep : remove).push({id: item.backup.id, reason: decision.reason});
  }
  return {keep, remove};
}

function planEnvironment(items: readonly Item[], policy: RetentionPolicy, nowMs: number): Map<string, {keep: boolean; reason: string}> {
  const tier = new Map<string, string>();
  const usable = items.filter((i) => i.backup.status === 'complete' && i.backup.verified !== 'failed');
  const automatic = usable.filter((i) => i.backup.kind !== 'manual');

  // Keys of one kind sort chronologically as strings; each tier takes periods strictly before
  // the period of the previous tier's oldest backup.
  const daily = pickNewestPerPeriod(automatic, policy.daily, (i) => i.day, () => true);
  for (const i of daily) tier.set(i.backup.id, `daily ${i.day}`);
  const oldestDaily = daily.at(-1);
  const weekly = pickNewestPerPeriod(automatic, policy.weekly, (i) => i.week, (i) => !oldestDaily || i.week < oldestDaily.week);
  for (const i of weekly) tier.set(i.backup.id, `weekly ${i.week}`);
  const oldest = weekly.at(-1) ?? oldestDaily;
  const monthly = pickNewestPerPeriod(automatic, policy.monthly, (i) => i.month, (i) => !oldest || i.month < oldest.month);
  for (const i of monthly) tier.set(i.backup.id, `monthly ${i.month}`);

  const manualReason = `manual within ${policy.manual.keep} / ${policy.manual.maxAgeText ?? durationText(policy.manual.maxAgeMs)}`;
  const manual = usable.filter((i) => i.backup.kind === 'manual').slice(0, policy.manual.keep);
  for (const i of manual) if (nowMs - i.at <= policy.manual.maxAgeMs) tier.set(i.backup.id, manualReason);

  const protectedBy = new Map<string, string>();
  for (const i of items) if (i.backup.status === 'pending' || i.backup.inUse === true) protectedBy.set(i.backup.id, 'in use');
  const newestVerified = items.find((i) => i.backup.status === 'complete' && i.backup.verified === 'ok');
  if (newestVerified && !protectedBy.has(newestVerified.backup.id)) protectedBy.set(newestVerified.backup.id, 'newest verified');
  const failedDays = new Set(items.filter((i) => i.backup.verified === 'failed').map((i) => i.day));
  for (const i of items) {
    if (failedDays.has(i.day) && i.backup.status !== 'deleted' && !protectedBy.has(i.backup.id)) {
      protectedBy.set(i.backup.id, 'day with failed verification');
    }
  }

  const decisions = new Map<string, {keep: boolean; reason: string}>();
  for (const i of items) {
    const id = i.backup.id;
    const kept = tier.get(id) ?? protectedBy.get(id);
    if (kept !== undefined) decisions.set(id, {keep: true, reason: kept});
    else if (i.backup.status === 'deleted') decisions.set(id, {keep: false, reason: 'already deleted'});
    else if (i.backup.status === 'failed') decisions.set(id, {keep: false, reason: 'backup failed'});
    else decisions.set(id, {keep: false, reason: 'outside retention'});
  }
  return decisions;
}

/** Walks newest first and keeps the first backup of each period, for the `count` most recent periods among the eligible backups. */
function pickNewestPerPeriod(items: readonly Item[], count: number, period: (i: Item) => string, eligible: (i: Item) => boolean): Item[] {
  const picked: Item[] = [];
  const seen = new Set<string>();
  for (const i of items) {
    if (picked.length >= count) break;
    if (!eligible(i)) continue;
    const key = period(i);
    if (seen.has(key)) continue;
    seen.add(key);
    picked.push(i);
  }
  return picked;
}

function toItem(backup: RetentionBackup, timeZone: string): Item {
  const at = backup.createdAt instanceof Date ? backup.createdAt : new Date(backup.createdAt);
  if (!Number.isFinite(at.getTime())) {
    throw new UsageError(`retention: backup ${backup.id} has an invalid creation time ${JSON.stringify(String(backup.createdAt))}`);
  }
  return {backup, at: at.getTime(), ...calendarKeys(at, timeZone)};
}

/** Newest first; equal times by id (descending) so the order is total and stable. */
function newestFirst(a: Item, b: Item): number {
  return b.at - a.at || (a.backup.id < b.backup.id ? 1 : a.backup.id > b.backup.id ? -1 : 0);
}

function validatePolicy(policy: RetentionPolicy): void {
  const counts = {daily: policy.daily, weekly: policy.weekly, monthly: policy.monthly, 'manual.keep': policy.manual.keep};
  for (const [name, value] of Object.entries(counts)) {
    if (!Number.isInteger(value) || value < 0) throw new UsageError(`retention: ${name} must be a whole number >= 0, found ${value}`);
  }
  if (!(policy.manual.maxAgeMs >= 0)) throw new UsageError(`retention: manual.maxAgeMs must be >= 0, found ${policy.manual.maxAgeMs}`);
  const tz = timeZoneError(policy.timeZone);
  if (tz !== undefined) throw new UsageError(`retention: ${tz}`);
}

/** 30d, 12h, 90m, 45s or 1500ms: the largest unit that divides the duration. */
export function durationText(ms: number): string {
  for (const [unit, size] of [['w', 604_800_000], ['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms > 0 && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
