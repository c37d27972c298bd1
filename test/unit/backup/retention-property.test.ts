import {describe, expect, it} from 'vitest';
import {selectBackupsToPrune, type RetentionBackup, type RetentionPolicy} from '../../../src/core/backup/retention-policy.js';

/** mulberry32: a small seeded PRNG, so every failure is reproducible from its case number. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const ZONES = ['UTC', 'Europe/Brussels', 'America/New_York', 'Pacific/Auckland', 'Asia/Kolkata', 'Pacific/Kiritimati'];
const KINDS = ['daily', 'daily', 'daily', 'manual', 'pre-deploy', 'safety'] as const;
const DAY = 86_400_000;

interface Case {
  readonly backups: RetentionBackup[];
  readonly policy: RetentionPolicy;
  readonly now: Date;
}

/** A random schedule: bursts of backups over up to 400 days, with gaps, several environments and random states. */
function randomCase(seed: number): Case {
  const rnd = prng(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = <T>(list: readonly T[]): T => list[int(list.length)]!;
  const now = new Date(Date.UTC(2026, 0, 1) + int(800) * DAY + int(DAY));
  const span = 1 + int(400);
  const count = int(120);
  const envs = ['production', 'staging', 'dev'].slice(0, 1 + int(3));
  const perDay = 1 + int(4);
  const backups: RetentionBackup[] = [];
  for (let i = 0; i < count; i++) {
    // Clustered times (several a day) or spread ones; a few in the future (clock skew).
    const dayOffset = rnd() < 0.8 ? int(span) : -int(3);
    const at = now.getTime() - dayOffset * DAY - int(perDay) * Math.floor(DAY / perDay) - int(3_600_000);
    const status = rnd() < 0.85 ? 'complete' : pick(['pending', 'failed', 'deleted'] as const);
    const verified = rnd() < 0.7 ? null : rnd() < 0.85 ? 'ok' : 'failed';
    backups.push({
      id: `b${seed}-${i}`,
      env: pick(envs),
      kind: pick(KINDS),
      status,
      createdAt: rnd() < 0.5 ? new Date(at) : new Date(at).toISOString(),
      verified: status === 'complete' ? verified : null,
      inUse: rnd() < 0.05,
    });
  }
  const policy: RetentionPolicy = {
    daily: int(10),
    weekly: int(6),
    monthly: int(5),
    manual: {keep: int(6), maxAgeMs: int(60) * DAY},
    timeZone: pick(ZONES),
  };
  return {backups, policy, now};
}

const CASES = Array.from({length: 300}, (_, i) => i + 1);

describe('selectBackupsToPrune properties over 300 random schedules', () => {
  it.each(CASES)('case %i', (seed) => {
    const {backups, policy, now} = randomCase(seed);
    const plan = selectBackupsToPrune(backups, policy, now);
    const keep = new Set(plan.keep.map((d) => d.id));
    const remove = new Set(plan.remove.map((d) => d.id));

    // keep ∪ remove = all, disjoint, no duplicates
    expect(keep.size + remove.size).toBe(backups.length);
    expect([...keep].filter((id) => remove.has(id))).toEqual([]);
    expect(new Set([...keep, ...remove])).toEqual(new Set(backups.map((b) => b.id)));

    for (const env of new Set(backups.map((b) => b.env))) {
      const list = backups.filter((b) => b.env === env);
      const time = (b: RetentionBackup) => new Date(b.createdAt).getTime();
      // the newest verified backup of each environment is kept
      const verified = list.filter((b) => b.status === 'complete' && b.verified === 'ok').sort((a, b) => time(b) - time(a) || (a.id < b.id ? 1 : -1));
      if (verified[0]) expect(keep.has(verified[0].id), `newest verified of ${env}`).toBe(true);
      // no more than the tiers + manual + the protected ones
      const isProtected = (b: RetentionBackup) => b.status === 'pending' || b.inUse === true;
      const failedVerification = list.filter((b) => b.verified === 'failed').length;
      const bound = policy.daily + policy.weekly + policy.monthly + policy.manual.keep + 1 + list.filter(isProtected).length;
      const keptHere = list.filter((b) => keep.has(b.id));
      const keptOutsideFailedDays = keptHere.filter((b) => plan.keep.find((d) => d.id === b.id)!.reason !== 'day with failed verification');
      expect(keptOutsideFailedDays.length, `kept in ${env}`).toBeLessThanOrEqual(bound);
      if (failedVerification === 0) expect(keptHere.length).toBeLessThanOrEqual(bound);
    }
    // backups being written or in use are never removed; nor any that failed verification
    for (const b of backups) {
      if (b.status === 'pending' || b.inUse || b.verified === 'failed') expect(keep.has(b.id), b.id).toBe(true);
    }
    // every reason is one of the documented ones
    for (const d of plan.keep) expect(d.reason).toMatch(/^(daily \d{4}-\d\d-\d\d|weekly \d{4}-W\d\d|monthly \d{4}-\d\d|manual within \d+ \/ \S+|newest verified|in use|day with failed verification)$/);
    for (const d of plan.remove) expect(d.reason).toMatch(/^(outside retention|backup failed|already deleted)$/);

    // idempotent: pruning the kept set again removes nothing and gives the same reasons
    const again = selectBackupsToPrune(backups.filter((b) => keep.has(b.id)), policy, now);
    expect(again.remove).toEqual([]);
    expect(again.keep).toEqual(plan.keep);

    // order-independent
    const shuffled = [...backups].reverse();
    expect(selectBackupsToPrune(shuffled, policy, now)).toEqual(plan);
  });
});
