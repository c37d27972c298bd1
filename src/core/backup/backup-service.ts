/**
 * Backups: create (a `backup` run), list, verify, delete, download, and the cleanup of what
 * interrupted backups leave behind. The data work is in backup-pipeline.ts (write),
 * backup-verify.ts and backup-download.ts; the rows go through audited SQL (backup-repository.ts).
 *
 * A backup row is created pending when the run starts and becomes complete only after every part
 * is stored and manifest.json was written and read back; any failure or interruption marks it
 * failed. A process killed mid-way leaves it pending: the next backup's cleanup fails it (its run
 * lost its lease) and removes its temp folder, objects or open multipart uploads.
 */
import {readdir, rm, stat} from 'node:fs/promises';
import {join} from 'node:path';
import type pg from 'pg';
import type {Clock} from '../clock.js';
import {ConflictError, InterruptedError, NotImplementedError, PolicyDeniedError, UsageError} from '../errors.js';
import {validateEnvName} from '../env/env-name.js';
import {EnvironmentRepository} from '../environments/environment-repository.js';
import type {Logger} from '../logger.js';
import {databaseName} from '../odoo/database-name.js';
import type {Run} from '../run/run-record.js';
import type {CreateRunInput} from '../run/run-service.js';
import type {RunContext, RunTypeHandler} from '../run/run-types.js';
import type {BackupRef, BackupStorage, IncompleteBackup} from '../storage/backup-storage.js';
import {query} from '../store/pool.js';
import type {Provider} from '../../providers/provider.js';
import type {BackupPart, DatabaseFormat} from './backup-manifest.js';
import {writeBackup, type BackupProgress} from './backup-pipeline.js';
import {writeNativeArchive} from './backup-download.js';
import {BACKUP_KINDS, backupSummary, type Backup, type BackupKind, type BackupSummary} from './backup-record.js';
import {assertComplete, BackupRepository} from './backup-repository.js';
import {MAX_LISTED, verifyBackup, type VerifyReport} from './backup-verify.js';

export interface BackupServiceDeps {
  readonly pool: pg.Pool;
  readonly projectId: string;
  /** The project name (config.project): the first segment of every backup's path. */
  readonly project: string;
  readonly provider: () => Promise<Provider>;
  /** The configured storage (createBackupStorage(config.backups.storage)); may be loaded lazily. */
  readonly storage: BackupStorage | (() => Promise<BackupStorage>);
  /** config.backups (manualPerDay is read). */
  readonly config: {readonly manualPerDay: number};
  readonly clock: Clock;
  readonly logger?: Logger | undefined;
  /** The run engine (create() queues `backup` runs through it). */
  readonly runs?: (() => Promise<{create(input: CreateRunInput): Promise<Run>}>) | undefined;
  /** Leftovers of backups the state store does not know are removed after this long (default 24 h). */
  readonly orphanAgeMs?: number | undefined;
  /**
   * Where each backup's scratch folder (`backup-<id>`: a directory dump, the logs) is made; the
   * project's `.odoo-sh-next/tmp` for the CLI. Default: the system's temp folder.
   */
  readonly scratchDir?: string | undefined;
  /** The dump format (default: writeBackup's choice by provider); set by tests that need the other one. */
  readonly databaseFormat?: DatabaseFormat | undefined;
  /** A full GC (WriteBackupDeps.collectGarbage); the CLI passes V8's. */
  readonly collectGarbage?: (() => void) | undefined;
}

/** What a `backup` run returns (its result). */
export interface BackupCreated {
  readonly backupId: string;
  readonly env: string;
  readonly kind: BackupKind;
  readonly location: string;
  readonly sizeBytes: number;
  readonly parts: readonly BackupPart[];
  readonly files: number;
}

export interface BackupCreateOutcome {
  readonly run: Run;
  /** The backup the run made (null when it failed before creating one, or was detached, or with `summaryOnly`). */
  readonly backup: Backup | null;
  /** Its `backups list` line (null when there is no backup). */
  readonly summary: BackupSummary | null;
}

export interface CleanupResult {
  /** Pending backups marked failed (their run ended or lost its lease). */
  readonly failed: readonly string[];
  readonly removed: readonly IncompleteBackup[];
  readonly kept: readonly IncompleteBackup[];
  /** Scratch folders of backups that are no longer being written (a killed backup's dump). */
  readonly scratchRemoved: readonly string[];
}

export interface BackupDeleted {
  readonly id: string;
  readonly env: string;
  readonly status: 'deleted';
  readonly location: string | null;
  /** False when the storage held nothing any more. */
  readonly filesRemoved: boolean;
}

export interface BackupDownloaded {
  readonly id: string;
  readonly format: 'native' | 'odoo-zip';
  readonly out: string;
  readonly bytes: number;
}

const DAY_MS = 86_400_000;

export function startOfUtcDay(now: Date): Date {
  return new Date(Math.floor(now.getTime() / DAY_MS) * DAY_MS);
}

function parseKind(kind: unknown): BackupKind {
  if (kind === undefined || kind === null) return 'manual';
  if (typeof kind === 'string' && (BACKUP_KINDS as readonly string[]).includes(kind)) return kind as BackupKind;
  throw new UsageError(`invalid backup kind ${JSON.stringify(kind)}: use ${BACKUP_KINDS.join(', ')}`);
}

export class BackupService {
  readonly #repo: BackupRepository;
  readonly #envs: EnvironmentRepository;
  #storage: Promise<BackupStorage> | undefined;

  constructor(private readonly deps: BackupServiceDeps) {
    this.#repo = new BackupRepository(deps.pool, deps.projectId);
    this.#envs = new EnvironmentRepository(deps.pool, deps.projectId);
  }

  storage(): Promise<BackupStorage> {
    const s = this.deps.storage;
    this.#storage ??= typeof s === 'function' ? s() : Promise.resolve(s);
    return this.#storage;
  }

  /**
   * Queues a `backup` run of env and (unless detach) executes it here. With summaryOnly the
   * backup's manifest (which lists every filestore file) is not loaded back: the CLI prints a summary.
   */
  async create(input: {
    env: string; kind?: BackupKind | undefined; detach?: boolean | undefined; signal?: AbortSignal | undefined; summaryOnly?: boolean | undefined;
  }): Promise<BackupCreateOutcome> {
    const env = validateEnvName(input.env);
    const kind = parseKind(input.kind);
    if (!this.deps.runs) throw new NotImplementedError('backups create needs the run engine (BackupServiceDeps.runs)');
    await this.#envs.get(env);
    if (kind === 'manual') await this.#checkManualLimit(env);
    // A backup killed earlier still holds its environment until its lease is swept.
    await query(this.deps.pool, 'select ops.sweep_expired_runs()');
    const run = await (await this.deps.runs()).create({type: 'backup', env, payload: {kind}, detach: input.detach, signal: input.signal});
    const id = run.result?.['backupId'];
    if (typeof id !== 'string') return {run, backup: null, summary: null};
    if (input.summaryOnly) return {run, backup: null, summary: await this.#repo.summary(id)};
    const backup = await this.#repo.get(id);
    return {run, backup, summary: backupSummary(backup)};
  }

  /** The work of a `backup` run (also usable inside another run, e.g. a safety backup before a restore). */
  async runBackup(ctx: BackupProgress & {readonly signal: AbortSignal}, input: {env: string; kind: BackupKind; runId: string | null}): Promise<BackupCreated> {
    const {env, kind} = input;
    const signal = ctx.signal;
    const {environment, storage} = await ctx.phase('prepare', async () => {
      const cleaned = await this.cleanup(signal, {runId: input.runId}).catch(async (err: Error) => {
        await ctx.event('warn', `cleanup of interrupted backups failed: ${err.message}`);
        return undefined;
      });
      if (cleaned && (cleaned.failed.length || cleaned.removed.length || cleaned.scratchRemoved.length)) {
        const leftovers = cleaned.removed.length + cleaned.scratchRemoved.length;
        await ctx.event('info', `cleaned up ${cleaned.failed.length} interrupted backup(s) and ${leftovers} leftover(s)`, {
          failed: cleaned.failed, removed: [...cleaned.removed.map((r) => r.where), ...cleaned.scratchRemoved],
        });
      }
      const environment = await this.#envs.get(env);
      if (kind === 'manual') await this.#checkManualLimit(env);
      return {environment, storage: await this.storage()};
    });
    const backup = await this.#repo.create({env, kind, runId: input.runId});
    const ref: BackupRef = {project: this.deps.project, env, id: backup.id};
    await ctx.event('info', `backup ${backup.id} of ${env} (${kind}) → ${storage.location(ref)}`, {backupId: backup.id});
    let written: Awaited<ReturnType<typeof writeBackup>> | undefined;
    try {
      written = await writeBackup({provider: await this.deps.provider(), storage, clock: this.deps.clock, scratchDir: this.deps.scratchDir, databaseFormat: this.deps.databaseFormat, collectGarbage: this.deps.collectGarbage}, {
        ref, kind,
        database: environment.databaseName ?? databaseName(this.deps.project, env),
        release: environment.currentRelease,
        createdAt: new Date(backup.createdAt),
      }, ctx, signal);
      await this.#repo.complete(backup.id, {storage: storage.type, location: written.location, manifest: written.manifest, manifestJson: written.manifestJson, sizeBytes: written.sizeBytes});
    } catch (err) {
      if (written) await storage.remove(ref, AbortSignal.timeout(60_000)).catch(() => undefined);
      await this.#repo.fail(backup.id, (err as Error).message ?? String(err)).catch(() => undefined);
      throw err;
    }
    return {
      backupId: backup.id, env, kind, location: written.location, sizeBytes: written.sizeBytes,
      parts: written.manifest.parts, files: written.manifest.filestore?.files ?? 0,
    };
  }

  /**
   * Fails pending backups that can never complete and removes the leftovers of failed and
   * deleted ones (and of unknown ones older than orphanAgeMs). Backups being written are kept.
   */
  async cleanup(signal: AbortSignal, opts: {runId?: string | null | undefined} = {}): Promise<CleanupResult> {
    const failed = await this.#repo.failStale(opts.runId ?? null);
    const storage = await this.storage();
    const items = await storage.listIncomplete(this.deps.project, signal);
    const statuses = await this.#repo.statuses([...new Set(items.map((i) => i.id))]);
    const bound = this.deps.clock.now().getTime() - (this.deps.orphanAgeMs ?? DAY_MS);
    const removed: IncompleteBackup[] = [];
    const kept: IncompleteBackup[] = [];
    for (const item of items) {
      const status = statuses.get(item.id);
      const dead = status === 'failed' || status === 'deleted' || (status === undefined && item.modifiedAt.getTime() < bound);
      if (dead) {
        await storage.removeIncomplete(item, signal);
        removed.push(item);
      } else {
        kept.push(item);
      }
    }
    return {failed: failed.map((b) => b.id), removed, kept, scratchRemoved: await this.#cleanupScratch(bound)};
  }

  /** Removes `backup-<id>` scratch folders unless their backup is still pending (being written). */
  async #cleanupScratch(bound: number): Promise<string[]> {
    const dir = this.deps.scratchDir;
    if (!dir) return [];
    const folders = (await readdir(dir).catch(() => [] as string[]))
      .map((name) => ({name, id: /^backup-([0-9a-f-]{36})$/.exec(name)?.[1]}))
      .filter((f): f is {name: string; id: string} => f.id !== undefined);
    if (folders.length === 0) return [];
    const statuses = await this.#repo.statuses(folders.map((f) => f.id));
    const removed: string[] = [];
    for (const f of folders) {
      const status = statuses.get(f.id);
      const path = join(dir, f.name);
      if (status === 'pending') continue;
      if (status === undefined) {
        // Not a backup of this state store: removed only once old (like the storage's orphans).
        const info = await stat(path).catch(() => undefined);
        if (!info || info.mtimeMs >= bound) continue;
      }
      await rm(path, {recursive: true, force: true});
      removed.push(path);
    }
    return removed;
  }

  async list(opts: {env?: string | undefined; all?: boolean | undefined; limit?: number | undefined} = {}): Promise<BackupSummary[]> {
    const env = opts.env === undefined ? undefined : validateEnvName(opts.env);
    const statuses = opts.all ? undefined : (['pending', 'complete', 'failed'] as const);
    return this.#repo.summaries({env, statuses, limit: opts.limit});
  }

  get(id: string): Promise<Backup> {
    return this.#repo.get(id);
  }

  /** Re-reads every part; records the outcome; ConflictError (data.failures) when anything is wrong. */
  async verify(id: string, signal: AbortSignal): Promise<VerifyReport> {
    const backup = await this.#repo.get(id);
    assertComplete(backup);
    const {storage, ref} = await this.#storageOf(backup);
    const report = await verifyBackup({
      storage,
      database: async () => (await this.deps.provider()).database(backup.env, signal),
    }, ref, backup.manifest!, signal);
    await this.#repo.recordVerification(backup.id, report.ok, {
      failures: report.failureCount,
      parts: Object.fromEntries(report.parts.map((p) => [p.name, p.ok])),
      problems: report.failures.slice(0, 20).map((f) => `${f.part}: ${f.message}`),
    });
    if (!report.ok) {
      const parts = [...new Set(report.failures.map((f) => f.part))];
      throw new ConflictError(`backup ${backup.id} failed verification: ${parts.join(', ')} (${report.failureCount} problem(s)): ${report.failures[0]?.message ?? ''}`, {
        data: {backup: backup.id, parts, failures: report.failures, failureCount: report.failureCount, listed: Math.min(report.failureCount, MAX_LISTED), report},
        actions: ['do not rely on this backup: take a new one (odoo-sh-next backups create --env ' + backup.env + ')'],
      });
    }
    return report;
  }

  /**
   * Deletes a backup (audited). A production backup needs yes, or a confirm() that answers yes
   * (interactive sessions); without either it is refused (UsageError).
   */
  async delete(id: string, opts: {
    yes?: boolean | undefined; confirm?: ((question: string) => Promise<boolean>) | undefined; signal: AbortSignal;
  }): Promise<BackupDeleted> {
    const backup = await this.#repo.get(id);
    if (!opts.yes && backup.status !== 'deleted' && (await this.#repo.envType(backup.env)) === 'production') {
      const question = `Delete backup ${backup.id} of production environment ${backup.env} (${backup.createdAt})?`;
      if (!opts.confirm) {
        throw new UsageError(`backup ${backup.id} is a backup of production environment ${backup.env}: pass --yes to delete it`, {
          actions: [`odoo-sh-next backups delete ${backup.id} --yes`],
          data: {backup: backup.id, env: backup.env},
        });
      }
      if (!(await opts.confirm(question))) throw new InterruptedError(`backup ${backup.id} not deleted (not confirmed)`);
    }
    const {storage, ref} = await this.#storageOf(backup);
    const marked = await this.#repo.markDeleted(backup.id);
    const {removed} = await storage.remove(ref, opts.signal);
    return {id: marked.id, env: marked.env, status: 'deleted', location: marked.location, filesRemoved: removed};
  }

  /** The deletion prune uses (it asks for confirmation itself). */
  deleter(): {delete(id: string, opts: {readonly signal: AbortSignal}): Promise<void>} {
    return {delete: async (id, opts) => void (await this.delete(id, {yes: true, signal: opts.signal}))};
  }

  async download(id: string, opts: {out: string; format: 'native' | 'odoo-zip'; signal: AbortSignal}): Promise<BackupDownloaded> {
    const backup = await this.#repo.get(id);
    assertComplete(backup);
    const {storage, ref} = await this.#storageOf(backup);
    if (opts.format === 'odoo-zip') {
      // Loaded here only: the zip writer is needed by this format alone.
      const {exportOdooZip} = await import('./odoo-zip.js');
      const {bytes} = await exportOdooZip({
        manifest: backup.manifest!, ref, storage, provider: await this.deps.provider(), out: opts.out, signal: opts.signal,
      });
      return {id: backup.id, format: 'odoo-zip', out: opts.out, bytes};
    }
    const {bytes} = await writeNativeArchive(storage, ref, backup.manifest!, opts.out, opts.signal);
    return {id: backup.id, format: 'native', out: opts.out, bytes};
  }

  /** The configured storage, checked to be where the backup was written. */
  async #storageOf(backup: Backup): Promise<{storage: BackupStorage; ref: BackupRef}> {
    const storage = await this.storage();
    const ref: BackupRef = {project: this.deps.project, env: backup.env, id: backup.id};
    if (backup.location !== null && backup.location !== storage.location(ref)) {
      throw new ConflictError(`backup ${backup.id} is stored in ${backup.location}, outside the configured storage (backups.storage, ${storage.type})`, {
        actions: ['point backups.storage at the storage that holds it, then retry'],
        data: {backup: backup.id, location: backup.location, configured: storage.location(ref)},
      });
    }
    return {storage, ref};
  }

  async #checkManualLimit(env: string): Promise<void> {
    const limit = this.deps.config.manualPerDay;
    const since = startOfUtcDay(this.deps.clock.now());
    const count = await this.#repo.countSince(env, 'manual', since);
    if (count >= limit) {
      const reason = `${count} manual backup(s) of ${env} since ${since.toISOString()} (backups.manualPerDay is ${limit})`;
      throw new PolicyDeniedError(`manual backup limit reached: ${reason}`, [reason], {
        actions: ['wait until tomorrow (UTC)', 'delete a manual backup of today: odoo-sh-next backups list --env ' + env, 'raise backups.manualPerDay'],
        data: {env, count, limit},
      });
    }
  }
}

/** The `backup` run type: payload {kind?: daily|manual|pre-deploy|safety} (extra keys such as slot or reason are kept). */
export function backupRunType(deps: BackupServiceDeps): RunTypeHandler {
  const service = new BackupService(deps);
  return {
    type: 'backup',
    summary: 'Back up an environment: database dump, filestore, Odoo logs and manifest',
    timeoutMs: 6 * 3600_000,
    async execute(ctx: RunContext) {
      const env = ctx.run.env;
      if (!env) throw new UsageError('a backup run needs an environment');
      const kind = parseKind(ctx.run.payload['kind']);
      const reason = ctx.run.payload['reason'];
      if (typeof reason === 'string') await ctx.event('info', `${kind} backup: ${reason}`);
      return {...(await service.runBackup(ctx, {env, kind, runId: ctx.run.id}))};
    },
  };
}
