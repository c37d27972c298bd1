/**
 * `backups prune`: read the backups (RLS), plan with the pure retention policy, delete what it
 * removes through the backup service, audit. Production is protected twice: pruning it needs an
 * explicit yes (--yes, or an answer to a prompt), and every backup is re-read right before its
 * deletion so one that became in use (a restore started meanwhile) is skipped.
 *
 * Pruning is a run (type backup-prune, exclusive per environment, admin-only: 000017.sql) whose
 * events say what was kept and deleted and why: `backups prune` asks for the confirmation, then
 * creates the run (PruneService.start); the scheduler queues the same run type after a fired
 * backup slot. A dry run only plans: no run, nothing changed.
 */
import type {Clock} from '../clock.js';
import {InterruptedError, NotImplementedError, ProviderError, UsageError} from '../errors.js';
import type {EventLevel, EventSink} from '../events.js';
import type {Logger} from '../logger.js';
import type {Queryable} from '../store/pool.js';
import type {Run} from '../run/run-record.js';
import type {CreateRunInput} from '../run/run-service.js';
import type {RunContext, RunTypeHandler} from '../run/run-types.js';
import {validateEnvName} from '../env/env-name.js';
import {RetentionRepository, type StoredBackup} from './retention-repository.js';
import {retentionPolicyFromConfig, selectBackupsToPrune, type RetentionPolicy} from './retention-policy.js';

/** Deletes one backup: its stored parts, then its state row (status deleted, audited). */
export interface BackupDeleter {
  delete(id: string, opts: {readonly signal: AbortSignal}): Promise<void>;
}

/** Queues or executes runs (RunService satisfies it). */
export interface PruneRunCreator {
  create(input: CreateRunInput): Promise<Run>;
}

/** Records one event of the prune run. */
export type PruneRecorder = (level: EventLevel, message: string, payload?: Readonly<Record<string, unknown>>) => Promise<void>;

export const PRUNE_RUN_TYPE = 'backup-prune';

export interface PruneServiceDeps {
  readonly db: Queryable;
  readonly projectId: string;
  readonly policy: RetentionPolicy;
  /** The backup service's deletion (loaded on first deletion: a dry run never needs storage). */
  readonly deleter: BackupDeleter | (() => Promise<BackupDeleter>);
  readonly clock: Clock;
  readonly logger: Logger;
  readonly events?: EventSink | undefined;
  /** The run engine (PruneService.start creates backup-prune runs through it). */
  readonly runs?: (() => Promise<PruneRunCreator>) | undefined;
}

export interface PruneOptions {
  readonly env?: string | undefined;
  readonly dryRun?: boolean | undefined;
  /** Production backups may be deleted without asking. */
  readonly yes?: boolean | undefined;
  /** Asks the user (interactive sessions only); without it, pruning production needs yes. */
  readonly confirm?: ((question: string) => Promise<boolean>) | undefined;
  readonly signal?: AbortSignal | undefined;
  /** The run's events: every backup kept and deleted, with the reason. */
  readonly record?: PruneRecorder | undefined;
}

export interface StartPruneOptions {
  readonly env?: string | undefined;
  readonly dryRun?: boolean | undefined;
  readonly yes?: boolean | undefined;
  readonly confirm?: ((question: string) => Promise<boolean>) | undefined;
  /** Queue the run for a runner instead of executing it here. */
  readonly detach?: boolean | undefined;
  /** Said in the run's first event (e.g. "after the scheduled backup of slot ..."). */
  readonly reason?: string | undefined;
  readonly signal?: AbortSignal | undefined;
}

export interface PruneStarted {
  /** The backup-prune run (null for a dry run). */
  readonly run: Run | null;
  /** What the run did; the plan for a dry run, and for a queued (detached) or failed run (its events say what it did). */
  readonly result: PruneResult;
}

export interface PruneEntry {
  readonly id: string;
  readonly env: string;
  readonly kind: string;
  readonly status: string;
  readonly createdAt: string;
  readonly reason: string;
}

export interface PruneResult {
  readonly dryRun: boolean;
  readonly env: string | null;
  /** When the plan was computed (its `now`). */
  readonly at: string;
  readonly kept: PruneEntry[];
  /** Deleted (or, in a dry run, to delete). */
  readonly removed: PruneEntry[];
  /** Planned for deletion but left alone: in use since the plan was made. */
  readonly skipped: PruneEntry[];
  /** Planned for deletion, but deleting failed (the next prune retries). */
  readonly failed: Array<PruneEntry & {readonly error: string}>;
}

export class PruneService {
  readonly #repo: RetentionRepository;
  #deleter: Promise<BackupDeleter> | undefined;

  constructor(private readonly deps: PruneServiceDeps) {
    this.#repo = new RetentionRepository(deps.db, deps.projectId);
  }

  /** The plan for the current backups (nothing is changed). */
  async plan(env?: string): Promise<PruneResult> {
    if (env !== undefined) validateEnvName(env);
    const now = this.deps.clock.now();
    const backups = await this.#repo.list(env);
    const plan = selectBackupsToPrune(backups, this.deps.policy, now);
    const byId = new Map(backups.map((b) => [b.id, b]));
    const entry = (d: {id: string; reason: string}): PruneEntry => toEntry(byId.get(d.id)!, d.reason);
    return {dryRun: true, env: env ?? null, at: now.toISOString(), kept: plan.keep.map(entry), removed: plan.remove.map(entry), skipped: [], failed: []};
  }

  /**
   * `backups prune`: a dry run returns the plan (no run); otherwise asks for the confirmation
   * production needs, then creates a backup-prune run (executed here unless detach) and returns it
   * with its result.
   */
  async start(opts: StartPruneOptions = {}): Promise<PruneStarted> {
    const planned = await this.plan(opts.env);
    if (opts.dryRun) return {run: null, result: planned};
    await this.#authorize(planned, opts);
    if (!this.deps.runs) throw new NotImplementedError('pruning as a run needs the run engine (PruneServiceDeps.runs)');
    const payload = {yes: true, ...(opts.reason ? {reason: opts.reason} : {})};
    const run = await (await this.deps.runs()).create({type: PRUNE_RUN_TYPE, env: opts.env, payload, detach: opts.detach, signal: opts.signal});
    return {run, result: isPruneResult(run.result) ? run.result : {...planned, dryRun: false}};
  }

  /** Plans, asks for confirmation when production backups would go, deletes, audits (the work of a backup-prune run). */
  async prune(opts: PruneOptions = {}): Promise<PruneResult> {
    const planned = await this.plan(opts.env);
    if (opts.dryRun) return planned;
    await opts.record?.('info', `plan at ${planned.at}${planned.env ? ` for ${planned.env}` : ' for every environment'}: keep ${planned.kept.length}, delete ${planned.removed.length}`, {
      kept: planned.kept.length, remove: planned.removed.length,
    });
    for (const e of planned.kept) await opts.record?.('info', `keep ${describe(e)}: ${e.reason}`, {action: 'keep', ...e});
    if (planned.removed.length === 0) return {...planned, dryRun: false};
    await this.#authorize(planned, opts);
    return this.#apply(planned, opts.signal ?? new AbortController().signal, opts.record);
  }

  async #authorize(planned: PruneResult, opts: PruneOptions): Promise<void> {
    if (planned.removed.length === 0 || opts.yes) return;
    const production = await this.#repo.productionEnvs();
    const fromProduction = planned.removed.filter((e) => production.has(e.env));
    if (fromProduction.length > 0) await this.#confirm(fromProduction, opts);
  }

  async #confirm(entries: readonly PruneEntry[], opts: PruneOptions): Promise<void> {
    const envs = [...new Set(entries.map((e) => e.env))].join(', ');
    const question = `Delete ${entries.length} backup(s) of production environment ${envs}?`;
    const again = `odoo-sh-next backups prune${opts.env ? ` --env ${opts.env}` : ''}`;
    if (!opts.confirm) {
      throw new UsageError(`pruning deletes ${entries.length} backup(s) of production environment ${envs}: pass --yes to confirm (this session cannot ask)`, {
        actions: [`${again} --dry-run   # see what would be deleted`, `${again} --yes`],
        data: {env: envs, count: entries.length},
      });
    }
    if (!(await opts.confirm(question))) throw new InterruptedError('prune not confirmed: nothing deleted', {actions: [`${again} --dry-run`]});
  }

  async #apply(planned: PruneResult, signal: AbortSignal, record?: PruneRecorder): Promise<PruneResult> {
    const removed: PruneEntry[] = [];
    const skipped: PruneEntry[] = [];
    const failed: Array<PruneEntry & {error: string}> = [];
    const deleter = await this.#getDeleter();
    for (const entry of planned.removed) {
      if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new InterruptedError('prune interrupted');
      const now = await this.#repo.get(entry.id);
      if (now === undefined || now.status === 'deleted') continue; // gone meanwhile: nothing to do
      if (now.status === 'pending' || now.inUse) {
        skipped.push(entry);
        await record?.('warn', `skip ${describe(entry)}: in use since the plan was made (${entry.reason})`, {action: 'skip', ...entry});
        continue;
      }
      try {
        this.deps.events?.emit({kind: 'message', level: 'info', message: `deleting backup ${entry.id} (${entry.env}, ${entry.createdAt}): ${entry.reason}`});
        await deleter.delete(entry.id, {signal});
        removed.push(entry);
        await record?.('info', `deleted ${describe(entry)}: ${entry.reason}`, {action: 'delete', ...entry});
      } catch (err) {
        if (signal.aborted) throw err;
        const message = err instanceof Error ? err.message : String(err);
        this.deps.logger.log('warn', `prune: backup ${entry.id} not deleted: ${message}`, {env: entry.env});
        failed.push({...entry, error: message});
        await record?.('error', `not deleted ${describe(entry)}: ${message}`, {action: 'fail', ...entry, error: message});
      }
    }
    for (const env of new Set(planned.removed.map((e) => e.env))) {
      const mine = (list: readonly PruneEntry[]) => list.filter((e) => e.env === env).map((e) => ({id: e.id, reason: e.reason}));
      const payload = {at: planned.at, deleted: mine(removed), skipped: mine(skipped), failed: mine(failed), kept: mine(planned.kept).length};
      await this.#repo.audit('backup.prune', env, env, payload);
    }
    return {...planned, dryRun: false, removed, skipped, failed};
  }

  #getDeleter(): Promise<BackupDeleter> {
    const d = this.deps.deleter;
    return (this.#deleter ??= typeof d === 'function' ? d() : Promise.resolve(d));
  }
}

const describe = (e: PruneEntry) => `backup ${e.id} (${e.env}, ${e.kind}, ${e.createdAt})`;

function isPruneResult(v: unknown): v is PruneResult {
  const r = v as Partial<PruneResult> | null | undefined;
  return typeof r === 'object' && r !== null && Array.isArray(r.kept) && Array.isArray(r.removed) && Array.isArray(r.skipped) && Array.isArray(r.failed);
}

/** The backup-prune run type: prunes the run's environment (or every environment), recording each decision as an event. */
export function backupPruneRunType(service: () => Promise<PruneService>): RunTypeHandler {
  return {
    type: PRUNE_RUN_TYPE,
    summary: 'Delete the backups the retention policy no longer keeps',
    timeoutMs: 3600_000,
    async execute(ctx: RunContext) {
      const env = ctx.run.env ?? undefined;
      const reason = ctx.run.payload['reason'];
      if (typeof reason === 'string') await ctx.event('info', `prune: ${reason}`);
      const prune = await service();
      const result = await ctx.phase('prune', () => prune.prune({
        env, yes: ctx.run.payload['yes'] === true, signal: ctx.signal, record: (level, message, payload) => ctx.event(level, message, payload),
      }));
      await ctx.event(result.failed.length > 0 ? 'error' : 'info',
        `deleted ${result.removed.length}, kept ${result.kept.length}, skipped ${result.skipped.length} (in use), failed ${result.failed.length}`);
      if (result.failed.length > 0) {
        throw new ProviderError(`${result.failed.length} backup(s) could not be deleted: ${result.failed.map((f) => `${f.id}: ${f.error}`).join('; ')}`, {
          retryable: true,
          actions: [`odoo-sh-next backups prune${env ? ` --env ${env}` : ''}   # retries them`],
          data: {failed: result.failed.map((f) => ({id: f.id, env: f.env, error: f.error}))},
        });
      }
      return {...result};
    },
  };
}

function toEntry(b: StoredBackup, reason: string): PruneEntry {
  return {id: b.id, env: b.env, kind: b.kind, status: b.status, createdAt: b.createdAt, reason};
}

/** The part of the configuration's `backups` section retention reads. */
export type PruneConfig = Parameters<typeof retentionPolicyFromConfig>[0];

/** What createPruneService takes from the composition root (src/cli/services.ts satisfies it). */
export interface PruneSources {
  pool(): Promise<Queryable>;
  projectId(): Promise<string>;
  config(): Promise<{readonly backups: PruneConfig}>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly events: EventSink;
  /** The backup service (its deleter removes a backup's files and marks it deleted, audited). */
  backups?(): Promise<{deleter(): BackupDeleter}>;
  /** The run engine (backup-prune runs). */
  runs?(): Promise<PruneRunCreator>;
}

export async function createPruneService(s: PruneSources): Promise<PruneService> {
  const [db, projectId, config] = await Promise.all([s.pool(), s.projectId(), s.config()]);
  const deleter = async (): Promise<BackupDeleter> => {
    if (!s.backups) throw new NotImplementedError('deleting backups needs the backup service, which is not wired into this build');
    return (await s.backups()).deleter();
  };
  const runs = s.runs ? () => s.runs!() : undefined;
  return new PruneService({db, projectId, policy: retentionPolicyFromConfig(config.backups), deleter, clock: s.clock, logger: s.logger, events: s.events, runs});
}
