/**
 * The `restore` run type (backups restore, db import): NEVER in place. Phases:
 *   fetch       open the source, record the restore, download and check what loading needs
 *   database    load a NEW database `<env db>_r<id>`
 *   filestore   restore the filestore into that database's own (new) folder, at the same time as
 *               fetch + database, hashing every file (sha1, for the attachment check) from the
 *               stream it extracts; the archive's sha256 is checked against the manifest at its end
 *   verify      attachments' files and sha1, modules, the backup's file list
 *   prepare     cross-environment data: neutralization and masking, like a clone
 *   safety-backup  production targets: a backup of what is about to be replaced
 *   switch      start Odoo on the new database, health, route, record the switch (last step)
 * Before the switch nothing of the environment changed; a failure or an interruption drops the
 * new database and filestore and leaves the environment as it was. The previous database and
 * filestore are kept until `backups restore --confirm` or the expiry.
 */
import {mkdir, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import type {Clock} from '../clock.js';
import {ConfigError, ConflictError, InterruptedError, ProviderError} from '../errors.js';
import {prepareClonedDatabase, type CloneMasking, type PrepareCloneOptions} from '../clone/prepare-clone.js';
import {databaseName} from '../odoo/database-name.js';
import {odooCodeFromConfig, type OdooSectionInput} from '../odoo/odoo-code.js';
import type {RunContext, RunTypeHandler} from '../run/run-types.js';
import type {BackupStorage} from '../storage/backup-storage.js';
import type {EnvironmentRepository} from '../environments/environment-repository.js';
import type {Provider} from '../../providers/provider.js';
import {createEmptyDatabase} from './restore-database.js';
import {DEFAULT_KEEP_PREVIOUS_MS, keepPreviousUntil, planRestore, restoreDatabaseName} from './restore-plan.js';
import type {RestoreRepository} from './restore-repository.js';
import type {RestoreSource} from './restore-source.js';
import {openRestoreSource, type RestoreSourceSpec} from './restore-sources.js';
import {switchEnvironment} from './restore-switch.js';
import {verifyRestored} from './restore-verify.js';

/**
 * Takes a backup of kind 'safety' of env inside the restore run (a separate `backup` run could not
 * start: both are exclusive per environment). Wiring: BackupService.runBackup(ctx, {env, kind: 'safety', runId}).
 */
export type SafetyBackupFn = (input: {readonly env: string; readonly runId: string; readonly ctx: RunContext}) => Promise<{readonly id: string}>;

/** Neutralization + masking of a database restored from another environment (prepare-clone.ts). */
export type PrepareCloneFn = (options: PrepareCloneOptions) => Promise<unknown>;

export interface RestoreDeps {
  readonly project: string;
  readonly odoo: OdooSectionInput;
  readonly provider: () => Promise<Provider>;
  readonly environments: () => Promise<EnvironmentRepository>;
  readonly restores: () => Promise<RestoreRepository>;
  readonly storage: () => Promise<BackupStorage>;
  readonly clock: Clock;
  /** Parent of the temp folders (default: the OS temp folder). */
  readonly workDir?: string;
  readonly keepPreviousMs?: number;
  readonly healthTimeoutMs?: number;
  /** pg_restore --jobs (default 2). */
  readonly jobs?: number;
  /** Takes a backup of kind 'safety' of an environment (required for production targets). */
  readonly safetyBackup?: SafetyBackupFn;
  /** Masking applied to data restored from another environment (config masking.rules); none: neutralization only. */
  readonly masking?: CloneMasking | undefined;
  /** Default: prepareClonedDatabase (new identity, neutralization, masking). */
  readonly prepareClone?: PrepareCloneFn;
}

export interface RestoreRunPayload {
  readonly restoreId: string;
  readonly source: RestoreSourceSpec;
  readonly noFilestore: boolean;
}

export interface RestoreRunResult {
  readonly restoreId: string;
  readonly env: string;
  readonly database: string;
  readonly previousDatabase: string;
  readonly keepPreviousUntil: string;
  readonly url: string;
  readonly source: Readonly<Record<string, unknown>>;
  readonly withFilestore: boolean;
  readonly prepared: boolean;
  readonly safetyBackupId: string | null;
  readonly verify: Readonly<Record<string, unknown>>;
  readonly warnings: readonly string[];
}

/** Drops what a restore that did not switch created (best effort; runs after an abort too). */
export async function discardRestore(deps: Pick<RestoreDeps, 'provider'>, env: string, database: string): Promise<void> {
  const signal = AbortSignal.timeout(120_000);
  const provider = await deps.provider();
  await (await provider.database(env, signal)).dropDatabase(database, signal).catch(() => undefined);
  await provider.filestore.remove({env, database}, signal).catch(() => undefined);
}

/** The private folder a restore fetches its dump into. */
export const restoreWorkDir = (deps: Pick<RestoreDeps, 'workDir'>, restoreId: string): string =>
  join(deps.workDir ?? tmpdir(), `restore-${restoreId}`);

/** Restores of this env left pending by a crash: their new database and filestore go, and their work folder. */
async function cleanupAbandoned(deps: RestoreDeps, restores: RestoreRepository, env: string, current: string, ctx: RunContext): Promise<void> {
  for (const r of await restores.abandoned(env, ctx.run.id)) {
    if (r.newDatabase && r.newDatabase !== current) await discardRestore(deps, env, r.newDatabase);
    await rm(restoreWorkDir(deps, r.id), {recursive: true, force: true}); // the fetched dump
    await restores.setStatus(r.id, 'failed', 'interrupted; its database and filestore were dropped').catch(() => undefined);
    await ctx.event('warn', `dropped the leftovers of interrupted restore ${r.id} (${r.newDatabase ?? 'no database'})`);
  }
}

export function restoreRunType(deps: RestoreDeps): RunTypeHandler {
  return {
    type: 'restore',
    summary: 'Restore a backup or an imported file into a new database, verify it, then switch the environment to it',
    timeoutMs: 6 * 3600_000,
    async execute(ctx: RunContext): Promise<Record<string, unknown>> {
      const env = ctx.run.env;
      if (!env) throw new ProviderError('restore run without an environment');
      const p = ctx.run.payload as unknown as RestoreRunPayload;
      const [envs, restores, provider] = await Promise.all([deps.environments(), deps.restores(), deps.provider()]);
      const target = await envs.get(env);
      const current = target.databaseName ?? databaseName(deps.project, env);
      const newDatabase = restoreDatabaseName(current, p.restoreId);
      if (newDatabase === current) throw new ConflictError(`restore ${p.restoreId} would load ${current}, the database in use: retry`);
      await cleanupAbandoned(deps, restores, env, current, ctx);
      // Named after the restore, so the leftovers of a killed one are found (cleanupAbandoned).
      const work = restoreWorkDir(deps, p.restoreId);
      await rm(work, {recursive: true, force: true});
      await mkdir(work, {recursive: true, mode: 0o700});
      let recorded = false;
      let switched = false;
      let source: RestoreSource | undefined;
      try {
        source = await openRestoreSource(p.source, {...deps, work, signal: ctx.signal});
        const src: RestoreSource = source;
        const plan = planRestore({
          target: {name: env, type: target.type},
          source: {kind: src.kind, env: src.sourceEnv, hasFilestore: src.hasFilestore},
          noFilestore: p.noFilestore,
        });
        if (plan.safetyBackup && !deps.safetyBackup) throw new ConfigError('a restore into production needs the backup service for its safety backup');
        for (const w of plan.warnings) await ctx.event('warn', w);
        const code = odooCodeFromConfig(deps.odoo, {requireBin: provider.name === 'local'});

        await restores.start({
          id: p.restoreId, backupId: src.backupId, targetEnv: env, runId: ctx.run.id, newDatabase,
          source: {...src.description}, sourceEnv: src.sourceEnv,
        });
        recorded = true;
        // The database (fetch, then pg_restore) and the filestore (extracted while every file is
        // hashed) load at the same time, into their new places; the first failure stops the other,
        // and both have settled before anything is discarded.
        const ac = new AbortController();
        const loading = AbortSignal.any([ctx.signal, ac.signal]);
        const stopOthers = <T>(work: Promise<T>): Promise<T> => work.catch((err: unknown) => {
          if (!ac.signal.aborted) ac.abort(err);
          throw err;
        });
        const handle = await provider.database(env, ctx.signal);
        // The filestore starts once the dump is fetched: both streams would share this process's
        // main thread, and the dump is on the longer path (pg_restore waits for it).
        let fetchEnded!: () => void;
        const fetchSettled = new Promise<void>((resolve) => {
          fetchEnded = resolve;
        });
        const databaseLoaded = stopOthers((async () => {
          // The empty database is made while the dump is fetched.
          const created = stopOthers(createEmptyDatabase(handle, newDatabase, loading));
          const fetching = ctx.phase('fetch', () => src.fetch(work, loading)).finally(fetchEnded);
          const [fetched] = await Promise.allSettled([fetching, created]);
          if (fetched.status === 'rejected') throw fetched.reason;
          await ctx.phase('database', async () => {
            await created;
            await src.loadDatabase(handle, newDatabase, {jobs: deps.jobs ?? 2}, loading);
            await ctx.event('info', `loaded ${newDatabase}`);
          });
        })());
        const filestoreLoaded = stopOthers(ctx.phase('filestore', async () => {
          if (!plan.withFilestore) {
            await ctx.event('warn', 'no filestore restored (--no-filestore)');
            return undefined;
          }
          await fetchSettled;
          if (loading.aborted) throw loading.reason; // the fetch failed or the run was stopped: nothing to start
          const tar = await src.filestoreTar(loading);
          const [restored, read] = await Promise.allSettled([provider.filestore.restore({env, database: newDatabase}, tar.stream, loading), tar.done]);
          if (read.status === 'rejected') throw read.reason;
          if (restored.status === 'rejected') throw restored.reason;
          await ctx.event('info', `filestore of ${newDatabase} restored`, {where: provider.filestore.location({env, database: newDatabase}).path ?? null});
          return tar.files?.();
        }));
        const [loadedDb, loadedFs] = await Promise.allSettled([databaseLoaded, filestoreLoaded]);
        if (ctx.signal.aborted) throw new InterruptedError('restore interrupted', {cause: ctx.signal.reason});
        if (loadedDb.status === 'rejected' || loadedFs.status === 'rejected') {
          throw ac.signal.reason ?? (loadedDb.status === 'rejected' ? loadedDb.reason : (loadedFs as PromiseRejectedResult).reason);
        }
        const extracted = loadedFs.value;
        const report = await ctx.phase('verify', async () => {
          await restores.setStatus(p.restoreId, 'verifying');
          const r = await verifyRestored({
            provider, env, database: newDatabase, withFilestore: plan.withFilestore, signal: ctx.signal,
            expectedModules: src.expectedModules, expectedFiles: plan.withFilestore ? src.expectedFiles : null, extracted,
          });
          await ctx.event('info', `verified: ${r.attachmentFilesChecked} attachment files, ${r.installedModules} modules, ${r.users} users`, {...r});
          return r;
        });
        if (plan.prepareClone) {
          await ctx.phase('prepare', () => (deps.prepareClone ?? prepareClonedDatabase)({
            provider, env, envType: target.type, database: newDatabase, code, url: target.url ?? 'http://localhost:8069',
            masking: deps.masking, signal: ctx.signal, clock: deps.clock,
            event: (level, message, data) => ctx.event(level, message, data),
          }));
        }
        const safety = plan.safetyBackup
          ? await ctx.phase('safety-backup', async () => {
            const b = await deps.safetyBackup!({env, runId: ctx.run.id, ctx});
            await ctx.event('info', `safety backup ${b.id} of ${env} taken`, {backupId: b.id});
            return b.id;
          })
          : null;
        const keepUntil = keepPreviousUntil(deps.clock.now(), deps.keepPreviousMs ?? DEFAULT_KEEP_PREVIOUS_MS);
        const switchedTo = await ctx.phase('switch', () => switchEnvironment({
          provider, env, envType: target.type, release: target.currentRelease ?? 'restore', code, newDatabase,
          previousDatabase: current, launchId: `restore-${p.restoreId}`, clock: deps.clock,
          healthTimeoutMs: deps.healthTimeoutMs ?? 120_000, signal: ctx.signal,
          event: (m, payload) => ctx.event('info', m, payload),
          putBack: async (url) => {
            await envs.setState({name: env, status: target.status === 'failed' ? 'failed' : 'active', url, runId: ctx.run.id});
          },
          commit: async (url) => {
            await restores.recordSwitch(p.restoreId, {expectedDatabase: current, url, keepUntil});
            switched = true;
          },
        }));
        const result: RestoreRunResult = {
          restoreId: p.restoreId, env, database: newDatabase, previousDatabase: current, keepPreviousUntil: keepUntil.toISOString(),
          url: switchedTo.url, source: src.description, withFilestore: plan.withFilestore, prepared: plan.prepareClone,
          safetyBackupId: safety, verify: {...report}, warnings: plan.warnings,
        };
        return {...result};
      } catch (err) {
        if (!switched) {
          await discardRestore(deps, env, newDatabase);
          if (recorded) await restores.setStatus(p.restoreId, 'failed', (err as Error).message).catch(() => undefined);
        }
        throw err;
      } finally {
        await source?.close().catch(() => undefined);
        await rm(work, {recursive: true, force: true});
      }
    },
  };
}
