/**
 * The `upgrade-preview` run type: what a major Odoo upgrade would do to production, on a copy.
 *
 *   clone     production's database copied into a scratch database of the scratch environment
 *             `upgrade-<run>` (template copy when nobody is connected, else a dump streamed into a
 *             restore: production keeps serving), with its filestore
 *   prepare   the clone neutralized and masked (prepareClonedDatabase, as for staging clones)
 *   inspect   installed modules (ir_module_module) and pg_database_size before
 *   upgrade   the TARGET Odoo with `-u all --stop-after-init` (its full log kept), timed
 *   after     module states and size after
 *   smoke     the target Odoo started on the database, the smoke checks (deploy/smoke.ts)
 *   scan      the custom addons scanned for APIs removed up to the target series
 *   report    built (report.ts), recorded with its Markdown (ops.upgrade_reports + ops.artifacts)
 *   cleanup   scratch database, filestore and instance removed (unless keep)
 *
 * The run succeeds when a report was recorded, whatever its verdict (a blocked verdict is a result).
 */
import {mkdir, readFile, rm} from 'node:fs/promises';
import {join} from 'node:path';
import type {Clock} from '../clock.js';
import {ProviderError, UsageError} from '../errors.js';
import type {EnvironmentRepository} from '../environments/environment-repository.js';
import {odooCodeFromConfig, type OdooSectionInput} from '../odoo/odoo-code.js';
import type {RunContext, RunTypeHandler} from '../run/run-types.js';
import {cloneDatabaseName, planClone, requireCloneSource} from '../clone/clone-plan.js';
import {prepareClonedDatabase, type CloneMasking} from '../clone/prepare-clone.js';
import {copyByStream, copyByTemplate, sourceConnections} from '../clone/staging-database.js';
import {withHandleDatabase} from '../neutralize/env-database.js';
import {fetchHttpGet, pendingModulesViaPsql, runSmokeChecks} from '../deploy/smoke.js';
import {waitHealthy, type DatabaseHandle, type OdooCode, type Provider, type ReleaseInstance} from '../../providers/provider.js';
import {readAddonSources} from './addon-files.js';
import {scanRemovedApis} from './api-scan.js';
import {groupLogByModule, parseOdooLog} from './odoo-log.js';
import {validateTargetVersion} from './odoo-version.js';
import {buildUpgradeReport, renderUpgradeReportMarkdown, type ModuleRow, type SmokeOutcome} from './report.js';
import type {UpgradeRepository} from './upgrade-repository.js';

export const UPGRADE_PREVIEW_RUN_TYPE = 'upgrade-preview';

/** The scratch environment of an upgrade preview run (what `upgrade discard` removes). */
export const upgradeScratchEnv = (runId: string): string => `upgrade-${runId}`;
/** Its work folder (the upgrade log) in the scratch dir, one per attempt. */
export const upgradeWorkDirName = (runId: string, attempt: number): string => `${upgradeScratchEnv(runId)}-${attempt}`;

export interface UpgradePreviewPayload {
  /** The environment previewed (production). */
  readonly source: string;
  readonly toVersion: string;
  readonly odooBin?: string | undefined;
  readonly image?: string | undefined;
  /** OpenUpgrade scripts folder (passed as --upgrade-path). */
  readonly openupgrade?: string | undefined;
  readonly keep: boolean;
}

export interface UpgradeRunDeps {
  readonly project: string;
  readonly odoo: OdooSectionInput;
  readonly masking?: CloneMasking | undefined;
  readonly provider: () => Promise<Provider>;
  readonly environments: () => Promise<EnvironmentRepository>;
  readonly reports: () => Promise<UpgradeRepository>;
  readonly clock: Clock;
  /** Where the upgrade log is written (the project's disk, e.g. <projectRoot>/.odoo-sh-next/tmp). */
  readonly scratchDir: string;
  readonly healthTimeoutMs?: number | undefined;
  readonly prepare?: typeof prepareClonedDatabase | undefined;
}

const MODULES_SQL = 'select name, state, latest_version from ir_module_module order by name';

async function modules(handle: DatabaseHandle, database: string, signal: AbortSignal): Promise<ModuleRow[]> {
  return withHandleDatabase(handle, database, signal, async (c) =>
    (await c.query<{name: string; state: string; latest_version: string | null}>(MODULES_SQL)).rows
      .map((r) => ({name: r.name, state: r.state, latestVersion: r.latest_version})));
}

async function databaseSize(handle: DatabaseHandle, database: string, signal: AbortSignal): Promise<number | null> {
  return withHandleDatabase(handle, 'postgres', signal, async (c) => {
    const {rows} = await c.query<{size: string}>('select pg_database_size($1)::text as size', [database]);
    return rows[0] ? Number(rows[0].size) : null;
  });
}

/** The series of a module version: "17.0.1.3" → "17.0". */
const seriesOf = (version: string | null | undefined): string | undefined => /^(\d+\.\d+)/.exec(version ?? '')?.[1];

const cleanupSignal = () => AbortSignal.timeout(120_000);

export function upgradePreviewRunType(deps: UpgradeRunDeps): RunTypeHandler {
  return {
    type: UPGRADE_PREVIEW_RUN_TYPE,
    summary: 'Preview an Odoo upgrade on a neutralized, masked copy of production and record a report',
    timeoutMs: 4 * 3600_000,
    async execute(ctx: RunContext) {
      const p = ctx.run.payload as unknown as UpgradePreviewPayload;
      const envs = await deps.environments();
      const source = requireCloneSource(await envs.find(p.source), p.source);
      const provider = await deps.provider();
      if (provider.name === 'local' && p.image) throw new UsageError('--image is for container providers; the local provider runs --odoo-bin');
      const current = odooCodeFromConfig(deps.odoo, {requireBin: provider.name === 'local'});
      const target: OdooCode = {
        version: p.toVersion, addonsPaths: current.addonsPaths,
        ...(p.odooBin ? {bin: p.odooBin} : {}), ...(p.image ? {image: p.image} : {}),
      };
      if (provider.name === 'local' && !target.bin) throw new UsageError('the local provider needs --odoo-bin (the target Odoo\'s odoo-bin)');
      const scratch = upgradeScratchEnv(ctx.run.id);
      const database = cloneDatabaseName(deps.project, scratch, ctx.run.id, ctx.attempt);
      const workDir = join(deps.scratchDir, upgradeWorkDirName(ctx.run.id, ctx.attempt));
      const ownLog = provider.name === 'local';
      let dst: DatabaseHandle | undefined;
      let instance: ReleaseInstance | undefined;
      try {
        await provider.prepare(ctx.signal);
        dst = await provider.database(scratch, ctx.signal);
        const handle = dst;
        await ctx.phase('clone', async () => {
          const src = await provider.database(source.name, ctx.signal);
          if (await handle.databaseExists(database, ctx.signal)) await handle.dropDatabase(database, ctx.signal);
          const plan = planClone({sourceConnections: await sourceConnections(src, source.databaseName, ctx.signal),
            sameServer: src.adminUrl.reveal() === handle.adminUrl.reveal()});
          const copied = plan.strategy === 'template' && (await copyByTemplate(handle, source.databaseName, database, ctx.signal));
          if (!copied) await copyByStream({handle: src, database: source.databaseName}, {handle, database}, ctx.signal);
          await provider.filestore.copy({env: source.name, database: source.databaseName}, {env: scratch, database}, ctx.signal);
          await ctx.event('info', `${source.databaseName} copied to ${database} (${copied ? 'template' : 'dump-restore'}) with its filestore`);
        });
        await ctx.phase('prepare', () => (deps.prepare ?? prepareClonedDatabase)({
          provider, env: scratch, envType: 'staging', database, code: current, url: 'http://localhost', masking: deps.masking,
          signal: ctx.signal, event: (level, message, data) => ctx.event(level, message, data), clock: deps.clock,
        }));
        const before = await ctx.phase('inspect', async () => ({
          modules: await modules(handle, database, ctx.signal), size: await databaseSize(handle, database, ctx.signal),
        }));
        const fromVersion = seriesOf(before.modules.find((m) => m.name === 'base')?.latestVersion) ?? current.version;
        validateTargetVersion(p.toVersion, fromVersion);

        const upgrade = await ctx.phase('upgrade', async () => {
          await mkdir(workDir, {recursive: true, mode: 0o700});
          const logFile = join(workDir, 'odoo-upgrade.log');
          const args = ['-u', 'all', '--stop-after-init', '--log-handler', 'odoo.modules.loading:DEBUG',
            ...(p.openupgrade ? ['--upgrade-path', p.openupgrade] : []), ...(ownLog ? ['--logfile', logFile] : [])];
          const started = deps.clock.now();
          let exitCode = 0;
          let tail: readonly string[] = [];
          try {
            tail = (await provider.runOdoo({env: scratch, envType: 'staging', database, code: target, args}, ctx.signal)).logTail;
          } catch (err) {
            if (!(err instanceof ProviderError)) throw err;
            const data = (err.data ?? {}) as {exitCode?: number; logTail?: string[]};
            exitCode = typeof data.exitCode === 'number' ? data.exitCode : 1;
            tail = data.logTail ?? [err.message];
          }
          const durationMs = deps.clock.now().getTime() - started.getTime();
          const text = ownLog ? await readFile(logFile, 'utf8').catch(() => tail.join('\n')) : tail.join('\n');
          await ctx.event(exitCode === 0 ? 'info' : 'warn', `odoo-bin ${target.bin ?? target.image} -u all exited with ${exitCode} after ${(durationMs / 1000).toFixed(1)} s`);
          return {exitCode, durationMs, text, started, truncated: !ownLog};
        });
        const after = await ctx.phase('after', async () => ({
          modules: await modules(handle, database, ctx.signal), size: await databaseSize(handle, database, ctx.signal),
        }));
        const smoke = await ctx.phase('smoke', async (): Promise<SmokeOutcome> => {
          try {
            instance = await provider.startRelease({
              env: scratch, envType: 'staging', release: scratch, launchId: `${scratch}-${ctx.attempt}`, database, code: target,
            }, ctx.signal);
            await waitHealthy(provider, instance, {timeoutMs: deps.healthTimeoutMs ?? 120_000, intervalMs: 100, clock: deps.clock, signal: ctx.signal});
            const checks = await runSmokeChecks(instance, {http: fetchHttpGet(10_000), envType: 'production', pendingModules: pendingModulesViaPsql(handle)}, ctx.signal);
            return {ran: true, ok: checks.every((c) => c.ok), checks};
          } catch (err) {
            if (ctx.signal.aborted) throw err;
            return {ran: false, ok: false, checks: [], error: (err as Error).message};
          } finally {
            if (instance) await provider.stop(instance, cleanupSignal()).catch(() => undefined);
          }
        });
        const removedApis = await ctx.phase('scan', async () => scanRemovedApis(await readAddonSources(current.addonsPaths), fromVersion, p.toVersion));
        const stored = await ctx.phase('report', async () => {
          const report = buildUpgradeReport({
            env: source.name, runId: ctx.run.id, database, fromVersion, toVersion: p.toVersion,
            target: {bin: target.bin, image: target.image, openupgrade: p.openupgrade},
            startedAt: upgrade.started.toISOString(), durationMs: upgrade.durationMs, exitCode: upgrade.exitCode,
            before: before.modules, after: after.modules, log: groupLogByModule(parseOdooLog(upgrade.text)), logTruncated: upgrade.truncated,
            sizeBefore: before.size, sizeAfter: after.size, removedApis, smoke,
          });
          const repo = await deps.reports();
          return repo.record({runId: ctx.run.id, env: source.name, report, markdown: renderUpgradeReportMarkdown(report)});
        });
        const r = stored.report;
        await ctx.event(r.verdict.status === 'ready' ? 'info' : 'warn', `upgrade report ${stored.id}: ${r.verdict.status}`, {reasons: r.verdict.reasons});
        return {
          reportId: stored.id, verdict: r.verdict.status, reasons: r.verdict.reasons, warnings: r.verdict.warnings,
          fromVersion, toVersion: p.toVersion, durationMs: r.durationMs, databaseSize: r.databaseSize,
          updated: r.modules.updated.map((m) => m.name), failed: r.modules.failed.map((m) => m.name), missing: r.modules.missing,
          removedApis: r.removedApis.length, smoke: r.smoke.ran ? (r.smoke.ok ? 'pass' : 'fail') : 'not run',
          kept: p.keep ? {env: scratch, database} : null,
        };
      } finally {
        if (!p.keep) {
          await rm(workDir, {recursive: true, force: true}).catch(() => undefined);
          const signal = cleanupSignal();
          await provider.removeEnvironment(scratch, signal).catch((err: Error) => ctx.event('warn', `could not remove ${scratch}: ${err.message}`));
          if (dst) await dst.dropDatabase(database, signal).catch((err: Error) => ctx.event('warn', `could not drop ${database}: ${err.message}`));
        }
      }
    },
  };
}
