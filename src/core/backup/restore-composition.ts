/**
 * Builds the restore/import/export services and run types from the composition root's pieces
 * (src/cli/services.ts satisfies RestoreHost). Until services.ts exposes restores() itself, the
 * commands call restoreServicesFor(services); the lead moves this wiring there (see the report).
 */
import type pg from 'pg';
import type {Clock} from '../clock.js';
import type {OdooShConfig} from '../config/schema.js';
import {EnvironmentRepository} from '../environments/environment-repository.js';
import type {RunService} from '../run/run-service.js';
import type {RunTypeHandler} from '../run/run-types.js';
import type {BackupStorage} from '../storage/backup-storage.js';
import type {Provider} from '../../providers/provider.js';
import type {BackupService} from './backup-service.js';
import {dbExportRunType} from './odoo-zip-run-type.js';
import {RestoreRepository} from './restore-repository.js';
import {restoreRunType, type RestoreDeps} from './restore-run-type.js';
import {RestoreService} from './restore-service.js';
import {scratchDirOf} from '../state/state-dir.js';

/** What the composition root provides (structurally: src/cli/services.ts's Services). */
export interface RestoreHost {
  readonly clock: Clock;
  config(): Promise<OdooShConfig>;
  pool(): Promise<pg.Pool>;
  projectId(): Promise<string>;
  provider(): Promise<Provider>;
  runs(): Promise<RunService>;
  backups(): Promise<BackupService>;
}

function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= fn());
}

/** The deps of the `restore` and `db-export` run types. */
export async function restoreDeps(host: RestoreHost): Promise<RestoreDeps> {
  const [cfg, pool, projectId] = await Promise.all([host.config(), host.pool(), host.projectId()]);
  const backups = once(() => host.backups());
  return {
    project: cfg.project,
    odoo: cfg.odoo,
    provider: () => host.provider(),
    environments: async () => new EnvironmentRepository(pool, projectId),
    restores: async () => new RestoreRepository(pool, projectId),
    storage: async (): Promise<BackupStorage> => (await backups()).storage(),
    clock: host.clock,
    workDir: scratchDirOf(cfg.projectRoot),
    masking: cfg.masking.rules ? {rulesFile: cfg.masking.rules} : undefined,
    safetyBackup: async ({env, runId, ctx}) => ({id: (await (await backups()).runBackup(ctx, {env, kind: 'safety', runId})).backupId}),
  };
}

/** The run types to register on the RunService (the runner needs them too). */
export async function restoreRunTypes(host: RestoreHost): Promise<RunTypeHandler[]> {
  const deps = await restoreDeps(host);
  return [restoreRunType(deps), dbExportRunType(deps)];
}

const cache = new WeakMap<object, Promise<RestoreService>>();

/** The RestoreService of a composition root (run types registered on its RunService once). */
export function restoreServicesFor(host: RestoreHost): Promise<RestoreService> {
  let service = cache.get(host);
  if (!service) {
    service = (async () => {
      const runs = await host.runs();
      for (const t of await restoreRunTypes(host)) if (!runs.runTypes.get(t.type)) runs.registerRunType(t);
      const deps = await restoreDeps(host);
      return new RestoreService({
        project: deps.project, provider: deps.provider, environments: deps.environments, restores: deps.restores,
        storage: deps.storage, runs: async () => runs, clock: host.clock, workDir: deps.workDir,
      });
    })();
    cache.set(host, service);
  }
  return service;
}
