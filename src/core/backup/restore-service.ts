/**
 * Restores as a service: plan (what a restore would do, for the confirmation), run (a `restore`
 * run, see restore-run-type.ts), confirm (drop the previous databases kept after switches) and
 * expire (the same once keep_previous_until has passed; a periodic task).
 */
import {randomUUID} from 'node:crypto';
import type {Clock} from '../clock.js';
import {ConflictError, UsageError} from '../errors.js';
import type {EnvType} from '../env/branch-rules.js';
import {validateEnvName} from '../env/env-name.js';
import type {EnvironmentRepository} from '../environments/environment-repository.js';
import type {Run} from '../run/run-record.js';
import type {RunService} from '../run/run-service.js';
import type {BackupStorage} from '../storage/backup-storage.js';
import type {Provider} from '../../providers/provider.js';
import {inspectImportFile} from './import-source.js';
import {planRestore, type RestorePlan} from './restore-plan.js';
import type {RestoreRecord, RestoreRepository} from './restore-repository.js';
import type {RestoreRunPayload} from './restore-run-type.js';
import {loadBackup, type RestoreSourceSpec} from './restore-sources.js';
import {restoreTestBackup, type RestoreTestReport} from './restore-test.js';

export interface RestoreServiceDeps {
  readonly project: string;
  readonly provider: () => Promise<Provider>;
  readonly environments: () => Promise<EnvironmentRepository>;
  readonly restores: () => Promise<RestoreRepository>;
  readonly storage: () => Promise<BackupStorage>;
  readonly runs: () => Promise<RunService>;
  readonly clock: Clock;
  /** Where restore tests fetch their dump (`restore-test-<scratch db>`; default: the OS temp folder). */
  readonly workDir?: string | undefined;
}

export interface RestoreRequest {
  readonly source: RestoreSourceSpec;
  /** Target environment (default: the backup's own; required for files). */
  readonly toEnv?: string | undefined;
  readonly noFilestore: boolean;
}

export interface PlannedRestore extends RestorePlan {
  readonly restoreId: string;
  readonly source: RestoreSourceSpec;
  readonly sourceEnv: string | null;
  readonly description: Readonly<Record<string, unknown>>;
  readonly noFilestore: boolean;
}

export interface DroppedPrevious {
  readonly restoreId: string;
  readonly env: string;
  readonly envType: EnvType | null;
  readonly database: string;
  readonly status: 'confirmed' | 'expired';
}

export class RestoreService {
  constructor(private readonly deps: RestoreServiceDeps) {}

  /**
   * `backups verify --restore-test`: restores the backup into a scratch database and filestore
   * (never the environment's), checks them, compares sentinel tables with the dump, drops them.
   * A failed test is a ConflictError (exit 5) carrying the report.
   */
  async restoreTest(backupId: string, signal: AbortSignal): Promise<RestoreTestReport> {
    const report = await restoreTestBackup(backupId, {
      project: this.deps.project, provider: this.deps.provider, restores: this.deps.restores, storage: this.deps.storage,
      ...(this.deps.workDir ? {workDir: this.deps.workDir} : {}),
    }, signal);
    if (!report.ok) {
      throw new ConflictError(`restore test of backup ${backupId} failed: ${report.problems.join('; ')}`, {data: {restoreTest: report}});
    }
    return report;
  }

  /** What a restore would do (no change anywhere); throws when it is refused (e.g. no filestore). */
  async plan(req: RestoreRequest, signal: AbortSignal): Promise<PlannedRestore> {
    let kind: 'backup' | 'native-file' | 'odoo-zip' | 'pg-dump';
    let sourceEnv: string | null;
    let hasFilestore: boolean;
    let description: Record<string, unknown>;
    if (req.source.kind === 'backup') {
      const {row, manifest} = await loadBackup({...this.deps, signal}, req.source.backupId);
      kind = 'backup';
      sourceEnv = row.env;
      hasFilestore = manifest.filestore !== null && manifest.parts.some((p) => p.name === 'filestore');
      description = {kind: 'backup', backup: row.id, env: row.env, backupKind: row.kind, createdAt: row.createdAt};
    } else {
      if (!req.toEnv) throw new UsageError('importing a file needs the target environment: --env ENV');
      const f = await inspectImportFile(req.source.path, signal);
      kind = f.format === 'odoo-zip' ? 'odoo-zip' : f.format === 'pg-dump' ? 'pg-dump' : 'native-file';
      sourceEnv = f.sourceEnv;
      hasFilestore = f.hasFilestore;
      description = {...f.description};
    }
    const targetName = validateEnvName(req.toEnv ?? sourceEnv ?? '');
    const target = await (await this.deps.environments()).get(targetName);
    const plan = planRestore({target: {name: target.name, type: target.type}, source: {kind, env: sourceEnv, hasFilestore}, noFilestore: req.noFilestore});
    return {...plan, restoreId: randomUUID(), source: req.source, sourceEnv, description, noFilestore: req.noFilestore};
  }

  /** Executes the planned restore as a `restore` run (inline unless detach); returns the ended run. */
  async run(planned: PlannedRestore, opts: {readonly signal: AbortSignal; readonly detach?: boolean}): Promise<Run> {
    if (planned.source.kind === 'file' && opts.detach) throw new UsageError('an import runs where its file is: it cannot be detached');
    // A restore killed earlier still holds its environment until its lease is swept.
    await (await this.deps.restores()).sweepExpiredRuns();
    const payload: RestoreRunPayload = {restoreId: planned.restoreId, source: planned.source, noFilestore: planned.noFilestore};
    // One attempt: a restore is never replayed behind the user's back (a new one is a new decision).
    return (await this.deps.runs()).create({
      type: 'restore', env: planned.targetEnv, payload: {...payload}, maxAttempts: 1, detach: opts.detach ?? false, signal: opts.signal,
    });
  }

  /** Switched restores whose previous database is still kept (of one env, or all). */
  async kept(env?: string): Promise<(RestoreRecord & {readonly envType: EnvType | null})[]> {
    const restores = await this.deps.restores();
    const envs = await this.deps.environments();
    const names = env ? [validateEnvName(env)] : [...new Set((await envs.list()).map((e) => e.name))];
    const out: (RestoreRecord & {envType: EnvType | null})[] = [];
    for (const name of names) {
      const type = (await envs.find(name))?.type ?? null;
      for (const r of await restores.forEnv(name, ['switched'])) out.push({...r, envType: type});
    }
    return out;
  }

  /** Drops the previous databases and filestores kept by these switched restores (`--confirm`). */
  async confirm(records: readonly RestoreRecord[], signal: AbortSignal): Promise<DroppedPrevious[]> {
    const out: DroppedPrevious[] = [];
    for (const r of records) out.push(await this.#dropPrevious(r, 'confirmed', signal));
    return out;
  }

  /** Drops the previous databases whose keep_previous_until has passed. */
  async expire(signal: AbortSignal): Promise<DroppedPrevious[]> {
    const expired = await (await this.deps.restores()).expired(this.deps.clock.now());
    const out: DroppedPrevious[] = [];
    for (const r of expired) out.push(await this.#dropPrevious(r, 'expired', signal));
    return out;
  }

  async #dropPrevious(r: RestoreRecord, status: 'confirmed' | 'expired', signal: AbortSignal): Promise<DroppedPrevious> {
    if (r.status !== 'switched' || !r.previousDatabase) throw new ConflictError(`restore ${r.id} is ${r.status}: nothing kept to drop`);
    const env = await (await this.deps.environments()).find(r.targetEnv);
    const inUse = env?.databaseName;
    if (inUse === r.previousDatabase) {
      throw new ConflictError(`environment ${r.targetEnv} uses ${r.previousDatabase} again: it is not dropped`, {data: {restore: r.id}});
    }
    const provider = await this.deps.provider();
    await (await provider.database(r.targetEnv, signal)).dropDatabase(r.previousDatabase, signal);
    await provider.filestore.remove({env: r.targetEnv, database: r.previousDatabase}, signal);
    await (await this.deps.restores()).finish(r.id, status);
    return {restoreId: r.id, env: r.targetEnv, envType: env?.type ?? null, database: r.previousDatabase, status};
  }
}

/** The runner's periodic task dropping expired previous databases. */
export function restoreExpiryTask(service: () => Promise<RestoreService>, everyMs = 3600_000) {
  return {
    name: 'restore expiry',
    everyMs,
    run: async (signal: AbortSignal) => {
      await (await service()).expire(signal);
    },
  };
}
