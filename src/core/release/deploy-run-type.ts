/**
 * The `deploy` and `rollback` run types. deploy: prepare → database (create on the first deploy,
 * else `-u` of the modules whose version moved, announced as a maintenance window when the old
 * release keeps serving only on blue/green providers) → the strategy from planDeploy with the
 * health + smoke gates → environment active → release marked deployed with its gates. rollback:
 * planRollback/applyRollback, the previous release started again from its recorded spec.
 * The pre-deploy backup is taken BEFORE the run is queued (release-service.ts).
 * A release built as an image (imageDigest) runs that very image on container providers: the
 * artifact built for the preview is the one promoted, never rebuilt.
 */
import {ProviderError} from '../errors.js';
import type {Clock} from '../clock.js';
import {databaseName} from '../odoo/database-name.js';
import {odooCodeFromConfig, type OdooSectionInput} from '../odoo/odoo-code.js';
import type {RunContext, RunTypeHandler} from '../run/run-types.js';
import type {OdooCode, Provider} from '../../providers/provider.js';
import type {EnvironmentRepository} from '../environments/environment-repository.js';
import {planDeploy} from '../deploy/deploy-plan.js';
import {strategyFor} from '../deploy/strategies/index.js';
import {fetchHttpGet, pendingModulesViaPsql, smokeGate} from '../deploy/smoke.js';
import {planRollback} from '../deploy/rollback-plan.js';
import {applyRollback} from '../deploy/rollback-service.js';
import {INSTALLED_MODULES_SQL, parseInstalledRows, planModuleUpdate, updateArgs} from './module-update-plan.js';
import type {ReleaseRepository} from './release-repository.js';

export interface DeployRunDeps {
  readonly project: string;
  readonly odoo: OdooSectionInput & {readonly modules: readonly string[]};
  readonly provider: () => Promise<Provider>;
  readonly environments: () => Promise<EnvironmentRepository>;
  readonly releases: () => Promise<ReleaseRepository>;
  readonly clock: Clock;
  readonly healthTimeoutMs?: number;
  /** Drain after a router switch (default 2 s; see drainMsFor). */
  readonly drainMs?: number;
  /** The Odoo code of a built image (the image and its addons_path label); see build-composition.ts imageCode(). */
  readonly imageCode?: ((image: string) => Promise<OdooCode>) | undefined;
}

/** The code a release runs: its built image on a container provider, else the configured code. */
async function releaseCode(deps: DeployRunDeps, provider: Provider, imageDigest: string | null): Promise<OdooCode> {
  if (imageDigest && provider.name !== 'local' && deps.imageCode) return deps.imageCode(imageDigest);
  return odooCodeFromConfig(deps.odoo, {requireBin: provider.name === 'local'});
}

export interface DeployPayload {
  readonly release: string;
  readonly allModules: boolean;
  readonly strategy?: string | undefined;
}

export interface RollbackPayload {
  readonly to?: string | undefined;
}

export function deployRunType(deps: DeployRunDeps): RunTypeHandler {
  return {
    type: 'deploy',
    summary: 'Deploy a release to an environment (module updates, health and smoke gates, switch)',
    timeoutMs: 60 * 60_000,
    async execute(ctx: RunContext) {
      const env = ctx.run.env;
      if (!env) throw new ProviderError('deploy run without an environment');
      const p = ctx.run.payload as unknown as DeployPayload;
      const [envs, releases, provider] = await Promise.all([deps.environments(), deps.releases(), deps.provider()]);
      const record = await envs.get(env);
      const release = await releases.find(env, p.release);
      if (!release) throw new ProviderError(`release ${p.release} is not recorded for ${env}`);
      const envType = record.type === 'production' || record.type === 'staging' ? record.type : 'dev';
      const database = record.databaseName ?? databaseName(deps.project, env);
      const code = await releaseCode(deps, provider, release.imageDigest);
      const gates: Record<string, unknown> = {policy: true, backup: release.preDeployBackup ?? (release.env === env ? 'none needed' : null)};
      try {
        await ctx.phase('prepare', () => provider.prepare(ctx.signal));
        const handle = await provider.database(env, ctx.signal);
        const updated = await ctx.phase('modules', async () => {
          if (!(await handle.databaseExists(database, ctx.signal))) {
            const r = await provider.initDatabase({env, database, code, modules: deps.odoo.modules, demo: false}, ctx.signal);
            await ctx.event('info', `database ${database} created for the first deploy (template cache ${r.cache})`);
            return [] as string[];
          }
          const installed = parseInstalledRows((await handle.runTool('psql',
            ['-X', '-v', 'ON_ERROR_STOP=1', '-A', '-t', '-F', '\t', '-d', database, '-c', INSTALLED_MODULES_SQL], {}, ctx.signal)).stdout);
          const plan = planModuleUpdate({odooVersion: release.odooVersion, releaseModules: release.modules, installed, allModules: p.allModules});
          const args = updateArgs(plan);
          if (!args) {
            await ctx.event('info', 'no module version changed: no module update');
            return [];
          }
          if (!provider.capabilities.blueGreen) {
            await ctx.event('warn', `maintenance window: updating ${plan.modules.join(', ')} while ${env} keeps serving the old code`);
          }
          const job = await provider.runOdoo({env, envType, database, code, args}, ctx.signal);
          if (job.exitCode !== 0) throw new ProviderError(`module update (-u ${plan.modules.join(',')}) failed: ${job.logTail.slice(-5).join(' | ')}`);
          await ctx.event('info', `updated modules ${plan.modules.join(', ')}`, {changes: plan.changes});
          return [...plan.modules];
        });
        gates['modules'] = updated;
        const deployPlan = planDeploy({provider: {name: provider.name, capabilities: provider.capabilities}, envType, requested: p.strategy});
        await ctx.event('info', `strategy ${deployPlan.strategy}: ${deployPlan.reason}`);
        const smoke = smokeGate({http: fetchHttpGet(10_000), envType, pendingModules: pendingModulesViaPsql(handle)});
        const outcome = await strategyFor(deployPlan.strategy).run({
          provider, run: ctx, clock: deps.clock, signal: ctx.signal, smoke,
          spec: {env, envType, release: release.id, launchId: `${release.id}-run-${ctx.run.id}`, database, code},
          timings: {healthTimeoutMs: deps.healthTimeoutMs ?? 120_000, healthIntervalMs: 50, drainMs: 0},
        });
        Object.assign(gates, {health: true, smoke: true, strategy: outcome.strategy});
        await envs.setState({name: env, status: 'active', url: outcome.url, release: release.id, database, runId: ctx.run.id});
        await releases.mark({id: release.id, env, status: 'deployed', gates, updatedModules: updated, runId: ctx.run.id});
        return {...outcome, database, updatedModules: updated, previous: outcome.previous ?? null};
      } catch (err) {
        await releases.mark({id: release.id, env, status: 'failed', gates, runId: ctx.run.id}).catch(() => undefined);
        throw err;
      }
    },
  };
}

export function rollbackRunType(deps: DeployRunDeps): RunTypeHandler {
  return {
    type: 'rollback',
    summary: 'Switch an environment back to a previous release',
    timeoutMs: 30 * 60_000,
    async execute(ctx: RunContext) {
      const env = ctx.run.env;
      if (!env) throw new ProviderError('rollback run without an environment');
      const p = ctx.run.payload as unknown as RollbackPayload;
      const [envs, releases, provider] = await Promise.all([deps.environments(), deps.releases(), deps.provider()]);
      const record = await envs.get(env);
      const envType = record.type === 'production' || record.type === 'staging' ? record.type : 'dev';
      const current = record.currentRelease ? await releases.find(env, record.currentRelease) : undefined;
      const target = p.to ? await releases.find(env, p.to).catch(() => undefined) : undefined;
      const code = await releaseCode(deps, provider, target?.imageDigest ?? null);
      // Earlier launches of the serving release are not "the previous release": skip them.
      const instances = await provider.list({env}, ctx.signal);
      const serving = instances.find((i) => i.routed)?.release;
      const decision = planRollback({
        env, to: p.to, instances: instances.filter((i) => i.routed || i.release !== serving),
        preDeployBackupId: current?.preDeployBackup ?? undefined,
      });
      const result = await applyRollback(decision, {
        provider, run: ctx, clock: deps.clock, healthTimeoutMs: deps.healthTimeoutMs ?? 120_000, healthIntervalMs: 50,
        // A provider that keeps stopped releases (containers) starts the very same one again, in
        // seconds; others launch the release anew from its recorded spec.
        restart: (instance, signal) => provider.resume ? provider.resume(instance, signal) : provider.startRelease({
          env, envType, release: instance.release, launchId: `${instance.release}-run-${ctx.run.id}`, database: instance.database, code,
        }, signal),
      }, ctx.signal);
      await envs.setState({name: env, status: 'active', url: result.url, release: result.release, database: decision.target.database, runId: ctx.run.id});
      if (current && current.id !== result.release) await releases.mark({id: current.id, env, status: 'rolled_back', runId: ctx.run.id});
      if (await releases.find(env, result.release)) await releases.mark({id: result.release, env, status: 'deployed', runId: ctx.run.id});
      return {...result, schemaChanged: (current?.updatedModules.length ?? 0) > 0, preDeployBackup: current?.preDeployBackup ?? null};
    },
  };
}
