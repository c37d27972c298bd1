/**
 * `backups prune`: read the backups (RLS), plan with the pure retention policy, delete what it
 * removes through the backup service, audit. Production is protected twice: pruning it needs an
 * explicit yes (--yes, or an answer to a prompt), and every backup is re-read right before its
 * deletion so one that became in use (a restore started meanwhile) is skipped.
 */
import type {Clock} from '../clock.js';
import {InterruptedError, NotImplementedError, UsageError} from '../errors.js';
import type {EventSink} from '../events.js';
import type {Logger} from '../logger.js';
import type {Queryable} from '../store/pool.js';
import {validateEnvName} from '../env/env-name.js';
import {RetentionRepository, type StoredBackup} from './retention-repository.js';
import {retentionPolicyFromConfig, selectBackupsToPrune, type RetentionPolicy} from './retention-policy.js';

/** Deletes one backup: its stored parts, then its state row (status deleted, audited). */
export interface BackupDeleter {
  delete(id: string, opts: {readonly signal: AbortSignal}): Promise<void>;
}

export interface PruneServiceDeps {
  readonly db: Queryable;
  readonly projectId: string;
  readonly policy: RetentionPolicy;
  /** The backup service's deletion (loaded on first deletion: a dry run never needs storage). */
  readonly deleter: BackupDeleter | (() => Promise<BackupDeleter>);
  readonly clock: Clock;
  readonly logger: Logger;
  readonly events?: EventSink | undefined;
}

export interface PruneOptions {
  readonly env?: string | undefined;
  readonly dryRun?: boolean | undefined;
  /** Production backups may be deleted without asking. */
  readonly yes?: boolean | undefined;
  /** Asks the user (interactive sessions only); without it, pruning production needs yes. */
  readonly confirm?: ((question: string) => Promise<boolean>) | undefined;
  readonly signal?: AbortSignal | undefined;
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

  /** Plans, asks for confirmation when production backups would go, deletes, audits. */
  async prune(opts: PruneOptions = {}): Promise<PruneResult> {
    const planned = await this.plan(opts.env);
    if (opts.dryRun) return planned;
    if (planned.removed.length === 0) return {...planned, dryRun: false};
    const production = await this.#repo.productionEnvs();
    const fromProduction = planned.removed.filter((e) => production.has(e.env));
    if (fromProduction.length > 0 && !opts.yes) await this.#confirm(fromProduction, opts);
    return this.#apply(planned, opts.signal ?? new AbortController().signal);
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

  async #apply(planned: PruneResult, signal: AbortSignal): Promise<PruneResult> {
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
        continue;
      }
      try {
        this.deps.events?.emit({kind: 'message', level: 'info', message: `deleting backup ${entry.id} (${entry.env}, ${entry.createdAt}): ${entry.reason}`});
        await deleter.delete(entry.id, {signal});
        removed.push(entry);
      } catch (err) {
        if (signal.aborted) throw err;
        const message = err instanceof Error ? err.message : String(err);
        this.deps.logger.log('warn', `prune: backup ${entry.id} not deleted: ${message}`, {env: entry.env});
        failed.push({...entry, error: message});
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
}

export async function createPruneService(s: PruneSources): Promise<PruneService> {
  const [db, projectId, config] = await Promise.all([s.pool(), s.projectId(), s.config()]);
  const deleter = async (): Promise<BackupDeleter> => {
    if (!s.backups) throw new NotImplementedError('deleting backups needs the backup service, which is not wired into this build');
    return (await s.backups()).deleter();
  };
  return new PruneService({db, projectId, policy: retentionPolicyFromConfig(config.backups), deleter, clock: s.clock, logger: s.logger, events: s.events});
}
