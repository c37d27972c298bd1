/**
 * The environment lifecycle as run types: `preview-up` (create or update a preview/dev
 * environment: prepare → database → filestore → start → health) and `destroy` (stop, drop the
 * database and filestore, mark destroyed). Both go through the provider contract only.
 * On a container provider (any provider but `local`), preview-up first builds the image of the
 * env's commit in the same run (phase `build`, its layers as events) and records that release:
 * the environment runs the built image, never the config's base image with host addon paths.
 */
import {ProviderError} from '../errors.js';
import type {Clock} from '../clock.js';
import type {EnvType} from '../env/branch-rules.js';
import {databaseName} from '../odoo/database-name.js';
import {odooCodeFromConfig, type OdooSectionInput} from '../odoo/odoo-code.js';
import type {RunContext, RunTypeHandler} from '../run/run-types.js';
import type {BuildRelease, BuiltRelease} from '../release/build-composition.js';
import {waitHealthy, type Provider} from '../../providers/provider.js';
import type {EnvironmentRepository} from './environment-repository.js';

export interface LifecycleDeps {
  readonly project: string;
  readonly odoo: OdooSectionInput;
  readonly provider: () => Promise<Provider>;
  readonly environments: () => Promise<EnvironmentRepository>;
  readonly clock: Clock;
  /** How long a started Odoo may take to answer /web/health (default 120 s). */
  readonly healthTimeoutMs?: number;
  /** Drops what restores of the environment kept (previous databases and filestores); returns how many. */
  readonly dropKept?: (env: string, signal: AbortSignal) => Promise<number>;
  /** Builds and records the env's release image (container providers); see build-composition.ts. */
  readonly buildRelease?: () => Promise<BuildRelease>;
}

/** The payload `preview up` and `event push` queue for a preview-up run. */
export interface PreviewUpPayload {
  readonly type: EnvType;
  readonly branch: string;
  readonly modules: readonly string[];
  readonly demo: boolean;
}

/** GET /web/login must answer 200 with a CSRF token: Odoo serves pages, not only its health probe. */
export async function smokeLogin(baseUrl: string, signal: AbortSignal): Promise<void> {
  const res = await fetch(new URL('/web/login', baseUrl), {signal, redirect: 'manual'});
  const body = await res.text();
  if (res.status !== 200 || !body.includes('csrf_token')) {
    throw new ProviderError(`smoke check failed: GET /web/login answered ${res.status}${res.status === 200 ? ' without a login form' : ''}`);
  }
}

export function previewUpRunType(deps: LifecycleDeps): RunTypeHandler {
  return {
    type: 'preview-up',
    summary: 'Create or update a preview/dev environment and start its Odoo',
    timeoutMs: 30 * 60_000,
    async execute(ctx: RunContext) {
      const env = ctx.run.env;
      if (!env) throw new ProviderError('preview-up run without an environment');
      const p = ctx.run.payload as unknown as PreviewUpPayload;
      const envs = await deps.environments();
      let release = ctx.run.gitSha ?? 'workdir';
      try {
        const provider = await deps.provider();
        // After a restore the environment serves another database than its original one.
        const database = (await envs.find(env))?.databaseName ?? databaseName(deps.project, env);
        let code = odooCodeFromConfig(deps.odoo, {requireBin: provider.name === 'local'});
        let built: BuiltRelease | undefined;
        if (provider.name !== 'local') {
          if (!deps.buildRelease) throw new ProviderError(`the ${provider.name} provider runs built images, but no image builder is configured`);
          built = await (await deps.buildRelease())(ctx, env, ctx.run.gitSha);
          ({code, release} = built);
        }
        await ctx.phase('prepare', () => provider.prepare(ctx.signal));
        const db = await ctx.phase('database', async () => {
          const r = await provider.initDatabase({env, database, code, modules: p.modules, demo: p.demo}, ctx.signal);
          if (r.created) {
            await ctx.event('info', `database ${database} created (template cache ${r.cache})`, {cache: r.cache, templateKey: r.templateKey ?? null});
          } else {
            // An update: the database is kept and the preview's modules are updated to the new code.
            await provider.runOdoo({env, envType: p.type, database, code, args: ['-u', p.modules.join(','), '--stop-after-init']}, ctx.signal);
            await ctx.event('info', `database ${database} kept; updated modules ${p.modules.join(', ')}`);
          }
          return r;
        });
        await ctx.phase('filestore', async () => {
          const where = provider.filestore.location({env, database}).path;
          await ctx.event('info', `filestore ${where ?? `of ${database}`}`);
        });
        const previous = (await provider.list({env}, ctx.signal)).filter((i) => i.launchId !== `run-${ctx.run.id}`);
        const instance = await ctx.phase('start', async () => {
          for (const old of previous) await provider.stop(old, ctx.signal); // the local provider cannot serve two releases at once
          const started = await provider.startRelease(
            {env, envType: p.type, release, launchId: `run-${ctx.run.id}`, database, code}, ctx.signal);
          await ctx.event('info', `Odoo started (pid/instance ${started.id}) on ${started.url}`);
          return started;
        });
        const url = await ctx.phase('health', async () => {
          await waitHealthy(provider, instance, {timeoutMs: deps.healthTimeoutMs ?? 120_000, intervalMs: 50, clock: deps.clock, signal: ctx.signal});
          await smokeLogin(instance.url, ctx.signal);
          const routed = await provider.route(env, instance, ctx.signal);
          for (const old of previous) await provider.remove(old, ctx.signal);
          await ctx.event('info', `healthy: ${routed.url}`);
          return routed.url;
        });
        await envs.setState({name: env, status: 'active', url, release, database, runId: ctx.run.id});
        await built?.markDeployed({preview: 'healthy', image: built.image});
        const build = built ? {image: built.image, layers: built.layers, rebuilt: built.rebuilt} : null;
        return {env, url, database, release, launchId: instance.launchId, cache: db.cache, created: db.created, ...(build ? {build} : {})};
      } catch (err) {
        await envs.setState({name: env, status: 'failed', runId: ctx.run.id}).catch(() => undefined);
        throw err;
      }
    },
  };
}

export function destroyRunType(deps: LifecycleDeps): RunTypeHandler {
  return {
    type: 'destroy',
    summary: 'Stop an environment and remove its Odoo, database and filestore',
    timeoutMs: 10 * 60_000,
    async execute(ctx: RunContext) {
      const env = ctx.run.env;
      if (!env) throw new ProviderError('destroy run without an environment');
      const envs = await deps.environments();
      const provider = await deps.provider();
      const database = (await envs.find(env))?.databaseName ?? databaseName(deps.project, env);
      await envs.setState({name: env, status: 'destroying', runId: ctx.run.id});
      const removed = await ctx.phase('stop', async () => {
        const instances = await provider.list({env}, ctx.signal);
        for (const i of instances) await provider.remove(i, ctx.signal);
        return instances.length;
      });
      const dropped = await ctx.phase('database', async () => {
        const handle = await provider.database(env, ctx.signal);
        const kept = (await deps.dropKept?.(env, ctx.signal)) ?? 0;
        if (kept) await ctx.event('info', `dropped ${kept} database(s) kept by earlier restores`);
        return (await handle.dropDatabase(database, ctx.signal)).dropped;
      });
      const filestore = await ctx.phase('filestore', async () => {
        const removedFilestore = (await provider.filestore.remove({env, database}, ctx.signal)).removed;
        // Config, logs, sessions, routes: nothing of the environment stays behind.
        await provider.removeEnvironment(env, ctx.signal);
        return removedFilestore;
      });
      await envs.setState({name: env, status: 'destroyed', runId: ctx.run.id});
      return {env, instancesRemoved: removed, databaseDropped: dropped, filestoreRemoved: filestore, database};
    },
  };
}
