/**
 * Automatic backups: scheduled slots (fired by the runner loop and by `backups run-scheduled`)
 * and the backup taken before a production deploy, restore or upgrade.
 *
 * Firing a slot: schedule-plan.ts says which slot is due (the latest one not fired yet), the
 * state store claims it (ops.claim_backup_slot: true for one caller only, however many runners
 * race), then a `backup` run of kind daily is queued (detach: a runner executes it) or executed
 * here, and a backup-prune run of the environment follows (queued behind the backup when detached:
 * both runs are exclusive per environment). A slot whose run cannot even be queued is released, so the
 * next call retries it; a slot whose backup run failed stays fired (the run has its own retries).
 */
import {InterruptedError, PolicyDeniedError, ProviderError, type OdooShError} from '../errors.js';
import {errorForRun} from '../run/run-outcome.js';
import type {Run} from '../run/run-record.js';
import type {CreateRunInput} from '../run/run-service.js';
import type {EventSink} from '../events.js';
import type {Logger} from '../logger.js';
import type {Queryable} from '../store/pool.js';
import {createPruneService, type PruneConfig, type PruneSources, type PruneStarted, type StartPruneOptions} from './prune-service.js';
import {dueSlot, nextSlot} from './schedule-plan.js';
import {ScheduleRepository} from './schedule-repository.js';

/** Queues or executes runs (RunService satisfies it). */
export interface BackupRunCreator {
  create(input: CreateRunInput): Promise<Run>;
}

/** Starts a backup-prune run of one environment (PruneService satisfies it). */
export interface BackupPruner {
  start(opts: StartPruneOptions): Promise<PruneStarted>;
}

export interface FireDueBackupsDeps {
  readonly db: Queryable;
  readonly projectId: string;
  /** Effective schedules by environment name (config.backups.schedules). */
  readonly schedules: Readonly<Record<string, string>>;
  /** config.backups.timeZone. */
  readonly timeZone: string;
  readonly runs: BackupRunCreator;
  /** Starts the prune run of an environment after its slot fired; absent: no pruning. */
  readonly pruner?: BackupPruner | undefined;
  readonly logger: Logger;
  readonly events?: EventSink | undefined;
}

export interface FireOptions {
  /** Queue the backup runs for a runner (default) instead of executing them here. */
  readonly detach?: boolean | undefined;
  /** Only this environment's schedule. */
  readonly env?: string | undefined;
  /** Prune after firing (default true). */
  readonly prune?: boolean | undefined;
  readonly signal?: AbortSignal | undefined;
}

export type SlotOutcome = 'fired' | 'taken' | 'not-due' | 'no-environment' | 'error';

export interface ScheduleReport {
  readonly env: string;
  readonly cron: string;
  /** fired: this call fired the slot; taken: another caller did; error: it could not be queued. */
  readonly outcome: SlotOutcome;
  /** The due slot (fired, taken, error) or the last fired one (not-due). */
  readonly slot: string | null;
  /** Older missed slots skipped in favour of this one. */
  readonly skipped: number;
  readonly runId: string | null;
  readonly runState: string | null;
  readonly next: string | null;
  readonly error: string | null;
  /** What the backup-prune run that followed did; null: no prune, or its run was queued (it is in FireReport.runs). */
  readonly pruned: {readonly deleted: number; readonly skipped: number; readonly error: string | null} | null;
}

export interface FireReport {
  readonly at: string;
  readonly timeZone: string;
  readonly schedules: ScheduleReport[];
  /** The runs this call created (inline: ended; detach: queued). */
  readonly runs: Run[];
}

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);
const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * Fires every due backup slot once (see the module comment). The runner calls it from its loop
 * with the default detach; `backups run-scheduled` calls it with detach false to run them here.
 */
export async function fireDueBackups(deps: FireDueBackupsDeps, now: Date, opts: FireOptions = {}): Promise<FireReport> {
  const repo = new ScheduleRepository(deps.db, deps.projectId);
  const detach = opts.detach ?? true;
  const entries = Object.entries(deps.schedules)
    .filter(([env]) => opts.env === undefined || env === opts.env)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const [lastFired, active] = await Promise.all([repo.lastFired(), repo.activeEnvironments()]);
  const reports: ScheduleReport[] = [];
  const runs: Run[] = [];

  for (const [env, cron] of entries) {
    const last = lastFired.get(env) ?? null;
    const base = {env, cron, skipped: 0, runId: null, runState: null, next: iso(nextSlot(cron, deps.timeZone, now)), error: null, pruned: null};
    const due = dueSlot({env, cron, lastFired: last}, deps.timeZone, now);
    if (!due) {
      reports.push({...base, outcome: 'not-due', slot: iso(last)});
      continue;
    }
    const slot = {slot: due.slot.toISOString(), skipped: due.skipped};
    if (!active.has(env)) {
      reports.push({...base, ...slot, outcome: 'no-environment', error: `environment ${env} does not exist or is not active`});
      continue;
    }
    if (!(await repo.claim(env, due.slot))) {
      reports.push({...base, ...slot, outcome: 'taken'});
      continue;
    }
    deps.events?.emit({kind: 'message', level: 'info', message: `backup slot ${slot.slot} of ${env} fired${due.skipped ? ` (${due.skipped} older missed slot(s) skipped)` : ''}`});
    let run: Run;
    try {
      run = await deps.runs.create({type: 'backup', env, payload: {kind: 'daily', slot: slot.slot}, detach, signal: opts.signal});
    } catch (err) {
      // Not queued at all (unknown run type, state store error): give the slot back for a retry.
      await repo.release(env, due.slot).catch((e: unknown) => deps.logger.log('warn', `cannot release backup slot: ${message(e)}`, {env}));
      deps.logger.log('error', `scheduled backup of ${env} not queued: ${message(err)}`, {env, slot: slot.slot});
      reports.push({...base, ...slot, outcome: 'error', error: message(err)});
      continue;
    }
    runs.push(run);
    await repo.attachRun(env, due.slot, run.id).catch((e: unknown) => deps.logger.log('warn', `cannot link slot to run ${run.id}: ${message(e)}`, {env}));
    const failed = errorForRun(run);
    let pruned: ScheduleReport['pruned'] = null;
    if (opts.prune !== false && deps.pruner && !failed) {
      const started = await prune(deps, env, {detach, slot: slot.slot, signal: opts.signal});
      if (started.run) runs.push(started.run);
      pruned = started.pruned;
    }
    reports.push({...base, ...slot, outcome: 'fired', runId: run.id, runState: run.state, error: failed ? failed.message : null, pruned});
  }
  return {at: now.toISOString(), timeZone: deps.timeZone, schedules: reports, runs};
}

async function prune(deps: FireDueBackupsDeps, env: string, o: {detach: boolean; slot: string; signal: AbortSignal | undefined}): Promise<{run: Run | null; pruned: ScheduleReport['pruned']}> {
  try {
    // Scheduled pruning applies the configured policy: no prompt, production included.
    const {run, result} = await deps.pruner!.start({env, yes: true, detach: o.detach, reason: `after the scheduled backup of slot ${o.slot}`, signal: o.signal});
    if (run && run.state !== 'succeeded') {
      const err = errorForRun(run);
      if (err) deps.logger.log('warn', `prune of ${env} after its scheduled backup failed: ${err.message}`, {env, run: run.id});
      return {run, pruned: err ? {deleted: 0, skipped: 0, error: err.message} : null}; // failed: its events say what was deleted
    }
    return {run, pruned: {deleted: result.removed.length, skipped: result.skipped.length, error: null}};
  } catch (err) {
    deps.logger.log('warn', `prune of ${env} after its scheduled backup failed: ${message(err)}`, {env});
    return {run: null, pruned: {deleted: 0, skipped: 0, error: message(err)}};
  }
}

/** The error a caller (`backups run-scheduled`) fails with: the first failed run, or a slot that could not be queued. */
export function scheduleFailure(report: FireReport): OdooShError | undefined {
  for (const run of report.runs) {
    const err = errorForRun(run);
    if (err) return err;
  }
  const notQueued = report.schedules.filter((s) => s.outcome === 'error');
  if (notQueued.length === 0) return undefined;
  return new ProviderError(`scheduled backup not queued: ${notQueued.map((s) => `${s.env} (slot ${s.slot}): ${s.error}`).join('; ')}`, {
    retryable: true,
    actions: ['odoo-sh-next backups run-scheduled   # the slot was released: this retries it'],
    data: {envs: notQueued.map((s) => s.env)},
  });
}

/** What createFireDueBackupsDeps takes from the composition root (src/cli/services.ts satisfies it). */
export interface ScheduleSources extends Omit<PruneSources, 'config'> {
  config(): Promise<{readonly backups: PruneConfig & {readonly schedules: Readonly<Record<string, string>>; readonly timeZone: string}}>;
  runs(): Promise<BackupRunCreator>;
}

export async function createFireDueBackupsDeps(s: ScheduleSources): Promise<FireDueBackupsDeps> {
  await s.backups?.(); // registers the `backup` run type on the run service
  const [db, projectId, config, runs, pruner] = await Promise.all([s.pool(), s.projectId(), s.config(), s.runs(), createPruneService(s)]);
  return {db, projectId, schedules: config.backups.schedules, timeZone: config.backups.timeZone, runs, pruner, logger: s.logger, events: s.events};
}

export interface PreOperationBackupInput {
  readonly env: string;
  /** Only production gets an automatic backup; other types return undefined. */
  readonly envType: string;
  /** pre-deploy before a deploy or upgrade; safety before a restore over the environment. */
  readonly kind: 'pre-deploy' | 'safety';
  /** What is about to happen, for the run's payload and errors, e.g. "deploy of 1a2b3c4". */
  readonly reason: string;
  readonly signal?: AbortSignal | undefined;
}

/**
 * Takes a backup of a production environment before a deploy, restore or upgrade, here and now
 * (a `backup` run executed inline), and returns its run. When the backup fails the operation must
 * not go ahead: PolicyDeniedError (exit 8; the run's error is its cause), or InterruptedError when
 * it was cancelled.
 *
 * Call it BEFORE queueing the operation's own run, never from inside it: `backup` runs are
 * exclusive per environment (ops.is_exclusive_type), so a backup started from within a running
 * deploy or restore of the same environment would wait for that run to end. (The restore run type
 * takes its safety backup inside the run, through the backup service, for that reason.)
 */
export async function ensurePreOperationBackup(runs: BackupRunCreator, input: PreOperationBackupInput): Promise<Run | undefined> {
  if (input.envType !== 'production') return undefined;
  const run = await runs.create({type: 'backup', env: input.env, payload: {kind: input.kind, reason: input.reason}, signal: input.signal});
  const err = errorForRun(run);
  if (err instanceof InterruptedError) throw err;
  if (err) {
    throw new PolicyDeniedError(`${input.reason} refused: the automatic ${input.kind} backup of ${input.env} failed: ${err.message}`, [`the ${input.kind} backup of production failed`], {
      cause: err,
      actions: err.actions,
      data: {env: input.env, run},
    });
  }
  return run;
}
