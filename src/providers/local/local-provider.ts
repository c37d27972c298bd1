/**
 * The `local` provider, the zero-setup default: the project's own PostgreSQL cluster
 * (<projectRoot>/.odoo-sh-next/postgres, started on demand) with a dedicated `odoo` role, and
 * Odoo as one detached process per release, configured by a generated file (layout.ts shows
 * where everything lives). No router: an environment's URL is its current release's port URL.
 */
import {existsSync} from 'node:fs';
import {mkdir, readFile, rm} from 'node:fs/promises';
import {join} from 'node:path';
import type {Clock} from '../../core/clock.js';
import {ConflictError, InterruptedError, NotFoundError, ProviderError} from '../../core/errors.js';
import {validateEnvName} from '../../core/env/env-name.js';
import type {Logger} from '../../core/logger.js';
import {validateDatabaseName} from '../../core/odoo/database-name.js';
import {
  ownershipLabels,
  type DatabaseHandle,
  type FreshDatabaseResult,
  type FreshDatabaseSpec,
  type HealthReport,
  type InstanceRef,
  type LogOptions,
  type OdooJobResult,
  type OdooJobSpec,
  type ProjectEndpoints,
  type Provider,
  type ProviderCapabilities,
  type ProviderContext,
  type ReleaseInstance,
  type ReleaseSpec,
  type ToolIo,
} from '../provider.js';
import {probeWebHealth} from '../web-health.js';
import {freePort} from './free-port.js';
import {awaitInstanceState, findLaunch, listInstanceStates, readInstanceState, writeJsonAtomic, type InstanceState} from './instance-state.js';
import {LocalLayout, validateLaunchId} from './layout.js';
import {LocalFilestore} from './local-filestore.js';
import {LocalPostgres} from './local-postgres.js';
import {processAlive, readLogLines, spawnDetached, stopProcess, tailLines} from './odoo-process.js';
import {OdooRunner, odooBin} from './odoo-runner.js';
import {runProcess} from './run-process.js';
import {DEFAULT_TEMPLATE_LIMITS, TemplateCache, type TemplateCacheLimits} from './template-cache.js';

export interface LocalProviderOptions {
  readonly templateCache?: TemplateCacheLimits;
  /** Extra settings of the project cluster (tests turn fsync off). */
  readonly postgresSettings?: Readonly<Record<string, string | number>>;
  /** How long stop() waits after SIGTERM before SIGKILL. */
  readonly stopGraceMs?: number;
}

const abortCheck = (signal: AbortSignal) => {
  if (signal.aborted) throw new InterruptedError('interrupted', {cause: signal.reason});
};

export class LocalProvider implements Provider {
  readonly name = 'local' as const;
  readonly capabilities: ProviderCapabilities = {blueGreen: false, exec: true, router: false};
  readonly layout: LocalLayout;
  readonly filestore: LocalFilestore;
  readonly postgres: LocalPostgres;
  readonly templates: TemplateCache;
  readonly #project: string;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #runner: OdooRunner;
  readonly #stopGraceMs: number;

  constructor(ctx: ProviderContext, opts: LocalProviderOptions = {}) {
    this.#project = ctx.config.project;
    this.#clock = ctx.clock;
    this.#logger = ctx.logger.child({provider: 'local'});
    this.#stopGraceMs = opts.stopGraceMs ?? 5000;
    this.layout = new LocalLayout(ctx.config.projectRoot);
    this.filestore = new LocalFilestore(this.layout);
    this.postgres = new LocalPostgres(this.layout.postgresRoot, this.layout.rolePasswordFile, {
      binDir: ctx.config.postgres.binDir,
      ...(opts.postgresSettings ? {settings: opts.postgresSettings} : {}),
    });
    this.#runner = new OdooRunner(this.postgres, this.#clock);
    this.templates = new TemplateCache({
      pg: this.postgres,
      layout: this.layout,
      filestore: this.filestore,
      clock: this.#clock,
      logger: this.#logger,
      limits: opts.templateCache ?? DEFAULT_TEMPLATE_LIMITS,
      labels: (env) => ownershipLabels({project: this.#project, env}),
      runInit: async ({database, dataDir, jobEnv, spec, signal}) => {
        const endpoint = await this.postgres.ready(signal);
        const ctxEnv = jobEnv ?? 'template';
        await this.#runner.job(
          jobEnv ? this.layout.jobsDir(jobEnv) : join(this.layout.templatesDir, 'jobs'),
          endpoint,
          {database, code: spec.code, envType: 'dev', dataDir, xdgDataHome: jobEnv ? this.layout.xdgDir(jobEnv) : join(this.layout.templatesDir, 'xdg')},
          {args: ['-d', database, '-i', spec.modules.join(','), '--stop-after-init', ...(spec.demo ? [] : ['--without-demo=all'])], signal},
        );
        this.#logger.log('debug', `initialised ${database}`, {env: ctxEnv});
      },
    });
  }

  async prepare(signal: AbortSignal): Promise<ProjectEndpoints> {
    const {port} = await this.postgres.ready(signal);
    await mkdir(this.layout.envsDir, {recursive: true});
    return {postgres: {host: '127.0.0.1', port}};
  }

  async database(env: string, signal: AbortSignal): Promise<DatabaseHandle> {
    validateEnvName(env);
    const endpoint = await this.postgres.ready(signal);
    return this.postgres.handle(endpoint, ownershipLabels({project: this.#project, env}));
  }

  async initDatabase(spec: FreshDatabaseSpec, signal: AbortSignal): Promise<FreshDatabaseResult> {
    validateEnvName(spec.env);
    validateDatabaseName(spec.database);
    odooBin(spec.code);
    const endpoint = await this.postgres.ready(signal);
    return this.templates.createFresh(endpoint, spec, signal);
  }

  async runOdoo(spec: OdooJobSpec, signal: AbortSignal): Promise<OdooJobResult> {
    validateDatabaseName(spec.database);
    const endpoint = await this.postgres.ready(signal);
    return this.#runner.job(this.layout.jobsDir(spec.env), endpoint, this.#context(spec), {command: spec.command, args: spec.args, signal});
  }

  async startRelease(spec: ReleaseSpec, signal: AbortSignal): Promise<ReleaseInstance> {
    validateEnvName(spec.env);
    validateLaunchId(spec.launchId);
    validateDatabaseName(spec.database);
    const bin = odooBin(spec.code);
    for (let attempt = 0; attempt < 3; attempt++) {
      abortCheck(signal);
      const existing = await this.#existingLaunch(spec);
      if (existing) return existing;
      const endpoint = await this.postgres.ready(signal);
      const dir = this.layout.instanceDir(spec.env, spec.launchId);
      await mkdir(this.layout.instancesDir(spec.env), {recursive: true});
      try {
        await mkdir(dir, {mode: 0o700}); // claims the launch id
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw err;
      }
      let pid: number | undefined;
      try {
        const ctx = this.#context(spec);
        await mkdir(ctx.dataDir, {recursive: true});
        await mkdir(ctx.xdgDataHome, {recursive: true});
        const port = await this.#pickPort();
        const configFile = await this.#runner.writeConfig(dir, endpoint, ctx, port);
        const logFile = join(dir, 'odoo.log');
        pid = await spawnDetached({bin, argv: ['-c', configFile], cwd: dir, env: this.#runner.processEnv(ctx), logFile});
        await writeJsonAtomic(join(dir, 'odoo.pid'), pid);
        const state: InstanceState = {
          version: 1,
          labels: ownershipLabels({project: this.#project, env: spec.env, release: spec.release, launchId: spec.launchId}),
          env: spec.env,
          launchId: spec.launchId,
          release: spec.release,
          database: spec.database,
          pid,
          port,
          url: `http://127.0.0.1:${port}`,
          bin,
          configFile,
          logFile,
          xdgDataHome: ctx.xdgDataHome,
          startedAt: this.#clock.now().toISOString(),
        };
        await writeJsonAtomic(join(dir, 'state.json'), state);
        this.#logger.log('info', `started Odoo for ${spec.env}`, {launchId: spec.launchId, pid, port});
        return this.#toInstance(state, true, await this.#routedLaunch(spec.env));
      } catch (err) {
        if (pid !== undefined) await stopProcess(pid, join(dir, 'odoo.conf'), {clock: this.#clock, graceMs: 1000}).catch(() => false);
        await rm(dir, {recursive: true, force: true});
        throw err;
      }
    }
    throw new ConflictError(`launch ${spec.launchId} is being started by another invocation`, {actions: ['retry in a moment']});
  }

  async health(ref: InstanceRef, signal: AbortSignal): Promise<HealthReport> {
    const state = await this.#state(ref);
    if (!(await processAlive(state.pid, state.configFile))) {
      const reason = state.stoppedAt ? `stopped at ${state.stoppedAt}` : `the Odoo process (pid ${state.pid}) has exited`;
      return {healthy: false, alive: false, reason, logTail: await tailLines(state.logFile, 20)};
    }
    return probeWebHealth(state.url, signal, () => tailLines(state.logFile, 20));
  }

  async stop(ref: InstanceRef, signal: AbortSignal): Promise<{readonly stopped: boolean}> {
    abortCheck(signal);
    const dir = this.layout.instanceDir(ref.env, ref.launchId);
    const state = await readInstanceState(dir);
    if (!state) return {stopped: false};
    const stopped = await stopProcess(state.pid, state.configFile, {clock: this.#clock, graceMs: this.#stopGraceMs});
    if (stopped) await writeJsonAtomic(join(dir, 'state.json'), {...state, stoppedAt: this.#clock.now().toISOString()});
    return {stopped};
  }

  async remove(ref: InstanceRef, signal: AbortSignal): Promise<{readonly removed: boolean}> {
    const dir = this.layout.instanceDir(ref.env, ref.launchId);
    if (!existsSync(dir)) return {removed: false};
    await this.stop(ref, signal);
    if ((await this.#routedLaunch(ref.env)) === ref.launchId) await rm(this.layout.routeFile(ref.env), {force: true});
    await rm(dir, {recursive: true, force: true});
    return {removed: true};
  }

  async *logs(ref: InstanceRef, opts: LogOptions, signal: AbortSignal): AsyncIterable<string> {
    const state = await this.#state(ref);
    yield* readLogLines(state.logFile, {
      ...(opts.tail === undefined ? {} : {tail: opts.tail}),
      follow: opts.follow ?? false,
      clock: this.#clock,
      signal,
      stillRunning: () => processAlive(state.pid, state.configFile),
    });
  }

  async exec(ref: InstanceRef, argv: readonly string[], io: ToolIo, signal: AbortSignal): Promise<number> {
    const state = await this.#state(ref);
    if (!(await processAlive(state.pid, state.configFile))) {
      throw new ConflictError(`launch ${ref.launchId} of ${ref.env} is not running`, {actions: ['start a release first']});
    }
    const [first, ...rest] = argv;
    if (!first) throw new ProviderError('exec needs a command');
    const bin = first === 'odoo-bin' ? state.bin : first;
    const env = this.#runner.processEnv(state, {ODOO_RC: state.configFile});
    const {exitCode} = await runProcess(bin, rest, {env, cwd: join(this.layout.instanceDir(ref.env, ref.launchId)), io, signal, label: first});
    return exitCode;
  }

  async route(env: string, ref: InstanceRef, signal: AbortSignal): Promise<{readonly url: string}> {
    abortCheck(signal);
    if (ref.env !== env) throw new ConflictError(`launch ${ref.launchId} belongs to ${ref.env}, not ${env}`);
    const state = await this.#state(ref);
    await writeJsonAtomic(this.layout.routeFile(env), {launchId: state.launchId, url: state.url, routedAt: this.#clock.now().toISOString()});
    return {url: state.url};
  }

  async list(filter: {readonly env?: string}, signal: AbortSignal): Promise<readonly ReleaseInstance[]> {
    abortCheck(signal);
    if (filter.env !== undefined) validateEnvName(filter.env);
    const states = await listInstanceStates(this.layout, this.#project, filter.env);
    const out: ReleaseInstance[] = [];
    for (const s of states) out.push(this.#toInstance(s, await processAlive(s.pid, s.configFile), await this.#routedLaunch(s.env)));
    return out;
  }

  async removeEnvironment(env: string, signal: AbortSignal): Promise<{readonly removed: boolean}> {
    const dir = this.layout.envDir(env);
    for (const instance of await this.list({env}, signal)) await this.remove(instance, signal);
    if (!existsSync(dir)) return {removed: false};
    await rm(dir, {recursive: true, force: true});
    return {removed: true};
  }

  async down(signal: AbortSignal): Promise<void> {
    for (const instance of await this.list({}, signal)) {
      if (instance.state === 'running') await this.stop(instance, signal);
    }
    await this.postgres.stop();
  }

  #context(spec: {readonly env: string; readonly database: string; readonly code: ReleaseSpec['code']; readonly envType: ReleaseSpec['envType']; readonly maxCronThreads?: number}) {
    return {
      database: spec.database,
      code: spec.code,
      envType: spec.envType,
      dataDir: this.layout.dataDir(spec.env),
      xdgDataHome: this.layout.xdgDir(spec.env),
      maxCronThreads: spec.maxCronThreads,
    };
  }

  async #existingLaunch(spec: ReleaseSpec): Promise<ReleaseInstance | undefined> {
    const found = await findLaunch(this.layout, spec.launchId);
    if (!found) return undefined;
    if (found.env !== spec.env) throw new ConflictError(`launch id ${spec.launchId} is already used by environment ${found.env}`);
    const state = await awaitInstanceState(found.dir, this.#clock);
    if (!state) {
      // A claim left behind by an invocation that died before writing its state file.
      await rm(found.dir, {recursive: true, force: true});
      return undefined;
    }
    return this.#toInstance(state, await processAlive(state.pid, state.configFile), await this.#routedLaunch(spec.env));
  }

  async #state(ref: InstanceRef): Promise<InstanceState> {
    const state = await readInstanceState(this.layout.instanceDir(ref.env, ref.launchId));
    if (!state) throw new NotFoundError(`no release launch ${ref.launchId} in environment ${ref.env}`, {data: {env: ref.env, launchId: ref.launchId}});
    return state;
  }

  async #routedLaunch(env: string): Promise<string | undefined> {
    try {
      return (JSON.parse(await readFile(this.layout.routeFile(env), 'utf8')) as {launchId?: string}).launchId;
    } catch {
      return undefined;
    }
  }

  /** A free port not already given to one of our running instances. */
  async #pickPort(): Promise<number> {
    const states = await listInstanceStates(this.layout, this.#project);
    const used = new Set(states.filter((s) => !s.stoppedAt).map((s) => s.port));
    for (let i = 0; i < 20; i++) {
      const port = await freePort();
      if (!used.has(port)) return port;
    }
    throw new ProviderError('no free TCP port found on 127.0.0.1', {retryable: true});
  }

  #toInstance(state: InstanceState, alive: boolean, routedLaunch: string | undefined): ReleaseInstance {
    return {
      provider: 'local',
      id: state.launchId,
      env: state.env,
      launchId: state.launchId,
      release: state.release,
      database: state.database,
      url: state.url,
      port: state.port,
      startedAt: state.startedAt,
      state: alive ? 'running' : state.stoppedAt ? 'stopped' : 'exited',
      routed: routedLaunch === state.launchId,
      labels: state.labels,
    };
  }
}
