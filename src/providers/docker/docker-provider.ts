/**
 * The `docker-local` provider: the project's PostgreSQL container (docker-postgres.ts), one Odoo
 * container per release launch, a named volume per environment for Odoo's data_dir (filestores,
 * sessions), and a Caddy router container (docker-router.ts) switching `<env>.<project>.<domain>`
 * between releases. Everything created carries ownership labels (specs.ts); listing and teardown
 * go by label and never touch anything unlabelled. A stopped release container is kept, so a
 * rollback is `resume()` (docker start) plus a route switch.
 */
import type Docker from 'dockerode';
import type {Clock} from '../../core/clock.js';
import {ConflictError, InterruptedError, NotFoundError, ProviderError} from '../../core/errors.js';
import {validateEnvName} from '../../core/env/env-name.js';
import type {Logger} from '../../core/logger.js';
import {validateDatabaseName} from '../../core/odoo/database-name.js';
import {freePort} from '../local/free-port.js';
import {validateLaunchId} from '../local/layout.js';
import {
  LABELS,
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
import {DockerFilestore} from './docker-filestore.js';
import {DockerOdoo} from './docker-odoo.js';
import {DockerTemplates} from './docker-templates.js';
import {DockerPostgres} from './docker-postgres.js';
import {DockerRouter} from './docker-router.js';
import {DockerState} from './docker-state.js';
import {DockerEngine} from './engine.js';
import {
  DOCKER_LABELS, ODOO_CONFIG_FILE, dataVolumeName, envLabels, odooContainerSpec, ownedBy, projectLabels,
  releaseContainerName, routerUpstream, type DockerNetworkMode,
} from './specs.js';
import {dockerClient} from './transport.js';

export interface DockerProviderOptions {
  /** A dockerode client (default: from provider.docker.socketPath). */
  readonly docker?: Docker;
  /** Overrides provider.docker.network. */
  readonly network?: DockerNetworkMode;
  /** Extra `-c k=v` settings of the project PostgreSQL (tests turn fsync off). */
  readonly postgresSettings?: Readonly<Record<string, string | number>>;
  /** How long stop() waits after SIGTERM before SIGKILL. */
  readonly stopGraceSeconds?: number;
  /** Keep template databases of fresh initialisations (default true; false: cache 'off'). */
  readonly templateCache?: boolean;
}

const STARTED_AT = 'odoo-sh.started-at';

const abortCheck = (signal: AbortSignal) => {
  if (signal.aborted) throw new InterruptedError('interrupted', {cause: signal.reason});
};

type Labels = Readonly<Record<string, string>>;

export class DockerProvider implements Provider {
  readonly name = 'docker-local' as const;
  readonly capabilities: ProviderCapabilities = {blueGreen: true, exec: true, router: true};
  readonly engine: DockerEngine;
  readonly state: DockerState;
  readonly postgres: DockerPostgres;
  readonly router: DockerRouter;
  readonly filestore: DockerFilestore;
  readonly odoo: DockerOdoo;
  readonly templates: DockerTemplates;
  readonly network: DockerNetworkMode;
  readonly #project: string;
  readonly #odooImage: string;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #stopGrace: number;

  constructor(ctx: ProviderContext, opts: DockerProviderOptions = {}) {
    const cfg = ctx.config;
    const docker = cfg.provider?.docker;
    this.#project = cfg.project;
    this.#clock = ctx.clock;
    this.#logger = ctx.logger.child({provider: 'docker-local'});
    this.#stopGrace = opts.stopGraceSeconds ?? 10;
    this.#odooImage = cfg.odoo?.image ?? 'odoo:17.0';
    this.network = opts.network ?? docker?.network ?? 'bridge';
    this.engine = new DockerEngine(opts.docker ?? dockerClient({kind: 'socket', socketPath: docker?.socketPath}));
    this.state = new DockerState(cfg.projectRoot);
    this.postgres = new DockerPostgres({
      engine: this.engine, state: this.state, clock: this.#clock, project: this.#project,
      image: cfg.postgres.image ?? 'postgres:16', network: this.network, settings: opts.postgresSettings,
    });
    this.router = new DockerRouter({
      engine: this.engine, state: this.state, clock: this.#clock, project: this.#project,
      image: cfg.router?.image ?? 'caddy:2', domain: cfg.router?.domain ?? 'localhost', network: this.network,
    });
    this.filestore = new DockerFilestore({engine: this.engine, project: this.#project, image: () => this.#odooImage});
    this.odoo = new DockerOdoo({engine: this.engine, project: this.#project, network: this.network, defaultImage: this.#odooImage});
    this.templates = new DockerTemplates({
      engine: this.engine, postgres: this.postgres, filestore: this.filestore, odoo: this.odoo, clock: this.#clock, project: this.#project,
      enabled: opts.templateCache ?? true,
    });
  }

  async prepare(signal: AbortSignal): Promise<ProjectEndpoints> {
    const pg = await this.postgres.ready(signal);
    const router = await this.router.ready(signal);
    return {postgres: {host: '127.0.0.1', port: pg.port}, router: {url: `http://127.0.0.1:${router.state.httpPort}`}};
  }

  async database(env: string, signal: AbortSignal): Promise<DatabaseHandle> {
    validateEnvName(env);
    const pg = await this.postgres.ready(signal);
    return this.postgres.handle(pg, ownershipLabels({project: this.#project, env}));
  }

  async initDatabase(spec: FreshDatabaseSpec, signal: AbortSignal): Promise<FreshDatabaseResult> {
    validateEnvName(spec.env);
    validateDatabaseName(spec.database);
    return this.templates.createFresh(await this.postgres.ready(signal), spec, signal);
  }

  async runOdoo(spec: OdooJobSpec, signal: AbortSignal): Promise<OdooJobResult> {
    validateEnvName(spec.env);
    validateDatabaseName(spec.database);
    return this.odoo.job(await this.postgres.ready(signal), spec, signal);
  }

  async startRelease(spec: ReleaseSpec, signal: AbortSignal): Promise<ReleaseInstance> {
    validateEnvName(spec.env);
    validateLaunchId(spec.launchId);
    validateDatabaseName(spec.database);
    abortCheck(signal);
    const existing = await this.#byLaunch(spec.launchId, spec.env);
    if (existing) return existing;
    const pg = await this.postgres.ready(signal);
    const image = this.odoo.image(spec.code);
    await this.engine.requireImage(image);
    await this.odoo.ensureDataVolume(spec.env);
    const port = await this.#pickPort();
    const labels = {
      ...envLabels(this.#project, spec.env, 'release', {release: spec.release, launchId: spec.launchId}),
      [DOCKER_LABELS.port]: String(port),
      [DOCKER_LABELS.database]: spec.database,
      [STARTED_AT]: this.#clock.now().toISOString(),
    };
    const create = odooContainerSpec({
      project: this.#project, env: spec.env, image, network: this.network, role: 'release',
      name: releaseContainerName(this.#project, spec.env, spec.launchId), labels, hostPort: port, args: ['-c', ODOO_CONFIG_FILE],
    });
    const id = await this.engine.create(create);
    if (!id) {
      // The name is taken: the same launch started concurrently (return it once the engine lists
      // it: it reserves the name before the container shows up), or a name clash.
      for (let attempt = 0; attempt < 20; attempt++) {
        const again = await this.#byLaunch(spec.launchId, spec.env);
        if (again) return again;
        await this.#clock.sleep(100, signal);
      }
      throw new ConflictError(`container ${String(create.name)} exists but is not launch ${spec.launchId}`, {actions: ['use another launch id']});
    }
    try {
      await this.odoo.putConfig(id, pg, {...spec, httpPort: port});
      await this.engine.start(id);
    } catch (err) {
      await this.engine.remove(id).catch(() => false);
      throw err;
    }
    this.#logger.log('info', `started Odoo container for ${spec.env}`, {launchId: spec.launchId, port, id: id.slice(0, 12)});
    return this.#instanceOf(id);
  }

  async health(ref: InstanceRef, signal: AbortSignal): Promise<HealthReport> {
    const info = await this.#inspect(ref);
    const port = Number(info.Config.Labels[DOCKER_LABELS.port]);
    if (!info.State.Running) {
      const reason = this.state.isStopped(info.Id)
        ? `stopped at ${info.State.FinishedAt}`
        : `the Odoo container has exited (status ${info.State.ExitCode}${info.State.Error ? `: ${info.State.Error}` : ''})`;
      return {healthy: false, alive: false, reason, logTail: await this.engine.logTail(info.Id, 20)};
    }
    return probeWebHealth(`http://127.0.0.1:${port}`, signal, () => this.engine.logTail(info.Id, 20));
  }

  async stop(ref: InstanceRef, signal: AbortSignal): Promise<{readonly stopped: boolean}> {
    abortCheck(signal);
    const info = await this.#inspect(ref).catch((err: unknown) => {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    });
    if (!info?.State.Running) return {stopped: false};
    await this.state.markStopped(info.Id, true);
    return {stopped: await this.engine.stop(info.Id, this.#stopGrace)};
  }

  async resume(ref: InstanceRef, signal: AbortSignal): Promise<ReleaseInstance> {
    abortCheck(signal);
    const info = await this.#inspect(ref);
    if (!info.State.Running) {
      await this.postgres.ready(signal);
      await this.state.markStopped(info.Id, false);
      await this.engine.start(info.Id);
    }
    return this.#instanceOf(info.Id);
  }

  async remove(ref: InstanceRef, signal: AbortSignal): Promise<{readonly removed: boolean}> {
    abortCheck(signal);
    const info = await this.#inspect(ref).catch((err: unknown) => {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    });
    if (!info) return {removed: false};
    if (info.State.Running) await this.engine.stop(info.Id, this.#stopGrace);
    const removed = await this.engine.remove(info.Id);
    await this.state.markStopped(info.Id, false);
    const env = info.Config.Labels[LABELS.env] ?? ref.env;
    if ((await this.state.routes())[env]?.launchId === info.Config.Labels[LABELS.launchId]) {
      await this.router.removeRoute(env).catch(() => false);
      await this.state.setRoute(env, undefined);
    }
    return {removed};
  }

  async *logs(ref: InstanceRef, opts: LogOptions, signal: AbortSignal): AsyncIterable<string> {
    const info = await this.#inspect(ref);
    yield* this.engine.logLines(info.Id, {...(opts.tail === undefined ? {} : {tail: opts.tail}), follow: opts.follow ?? false}, signal);
  }

  async exec(ref: InstanceRef, argv: readonly string[], io: ToolIo, signal: AbortSignal): Promise<number> {
    const info = await this.#inspect(ref);
    if (!info.State.Running) throw new ConflictError(`launch ${ref.launchId} of ${ref.env} is not running`, {actions: ['start a release first']});
    const [first, ...rest] = argv;
    if (!first) throw new ProviderError('exec needs a command');
    const {exitCode} = await this.engine.exec(info.Id, [first === 'odoo-bin' ? 'odoo' : first, ...rest], {}, io, signal);
    return exitCode;
  }

  async route(env: string, ref: InstanceRef, signal: AbortSignal): Promise<{readonly url: string}> {
    abortCheck(signal);
    validateEnvName(env);
    if (ref.env !== env) throw new ConflictError(`launch ${ref.launchId} belongs to ${ref.env}, not ${env}`);
    const info = await this.#inspect(ref);
    const upstream = routerUpstream({network: this.network, hostPort: Number(info.Config.Labels[DOCKER_LABELS.port]), containerName: info.Name.replace(/^\//, '')});
    const url = await this.router.setRoute(env, upstream, signal);
    await this.state.setRoute(env, {launchId: info.Config.Labels[LABELS.launchId] ?? ref.launchId, upstream, routedAt: this.#clock.now().toISOString()});
    return {url};
  }

  async list(filter: {readonly env?: string}, signal: AbortSignal): Promise<readonly ReleaseInstance[]> {
    abortCheck(signal);
    if (filter.env !== undefined) validateEnvName(filter.env);
    const labels = {...projectLabels(this.#project, 'release'), ...(filter.env === undefined ? {} : {[LABELS.env]: filter.env})};
    const routes = await this.state.routes();
    const found = await this.engine.findContainers(labels);
    return found
      .filter((c) => ownedBy(c.Labels, this.#project))
      .map((c) => this.#toInstance(c.Id, c.Labels, c.State === 'running', routes))
      .sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  }

  async removeEnvironment(env: string, signal: AbortSignal): Promise<{readonly removed: boolean}> {
    validateEnvName(env);
    abortCheck(signal);
    let removed = false;
    for (const c of await this.engine.findContainers({...projectLabels(this.#project, 'release'), [LABELS.env]: env})) {
      removed = (await this.remove({provider: this.name, id: c.Id, env, launchId: c.Labels[LABELS.launchId] ?? ''}, signal)).removed || removed;
    }
    // Jobs and helpers left behind by an interrupted invocation.
    for (const c of await this.engine.findContainers({[LABELS.managed]: 'true', [LABELS.project]: this.#project, [LABELS.env]: env})) {
      removed = (await this.engine.remove(c.Id)) || removed;
    }
    if ((await this.state.routes())[env]) {
      await this.router.removeRoute(env).catch(() => false);
      await this.state.setRoute(env, undefined);
      removed = true;
    }
    removed = (await this.engine.removeVolume(dataVolumeName(this.#project, env))) || removed;
    return {removed};
  }

  async down(signal: AbortSignal): Promise<void> {
    for (const instance of await this.list({}, signal)) {
      if (instance.state === 'running') await this.stop(instance, signal);
    }
    await this.router.stop();
    await this.postgres.stop();
  }

  /**
   * Removes every container, volume and network labelled with this project (databases included):
   * the end of a project, or of a test. Not part of the Provider contract.
   */
  async destroyProject(): Promise<void> {
    const owned = {[LABELS.managed]: 'true', [LABELS.project]: this.#project};
    for (const c of await this.engine.findContainers(owned)) await this.engine.remove(c.Id);
    for (const v of await this.engine.findVolumes(owned)) await this.engine.removeVolume(v.Name);
    for (const n of await this.engine.findNetworks(owned)) await this.engine.removeNetwork(n.Id);
  }

  // ------------------------------------------------------------------ internals

  async #byLaunch(launchId: string, env: string): Promise<ReleaseInstance | undefined> {
    const found = await this.engine.findContainers({...projectLabels(this.#project, 'release'), [LABELS.launchId]: launchId});
    const c = found.find((x) => ownedBy(x.Labels, this.#project));
    if (!c) return undefined;
    if (c.Labels[LABELS.env] !== env) throw new ConflictError(`launch id ${launchId} is already used by environment ${c.Labels[LABELS.env]}`);
    return this.#toInstance(c.Id, c.Labels, c.State === 'running', await this.state.routes());
  }

  /** The owned release container behind a ref, or NotFoundError. */
  async #inspect(ref: InstanceRef): Promise<Docker.ContainerInspectInfo> {
    const info = ref.id ? await this.engine.inspect(ref.id) : undefined;
    const labels = info?.Config.Labels;
    if (!info || !ownedBy(labels, this.#project) || labels?.[DOCKER_LABELS.role] !== 'release' || labels[LABELS.env] !== ref.env) {
      throw new NotFoundError(`no release launch ${ref.launchId} in environment ${ref.env}`, {data: {env: ref.env, launchId: ref.launchId}});
    }
    return info;
  }

  async #instanceOf(id: string): Promise<ReleaseInstance> {
    const info = await this.engine.inspect(id);
    if (!info) throw new ProviderError(`docker: container ${id} vanished`, {retryable: true});
    return this.#toInstance(info.Id, info.Config.Labels, info.State.Running, await this.state.routes());
  }

  #toInstance(id: string, labels: Labels, running: boolean, routes: Record<string, {launchId: string}>): ReleaseInstance {
    const env = labels[LABELS.env] ?? '';
    const launchId = labels[LABELS.launchId] ?? '';
    const port = Number(labels[DOCKER_LABELS.port]);
    return {
      provider: 'docker-local',
      id,
      env,
      launchId,
      release: labels[LABELS.release] ?? '',
      database: labels[DOCKER_LABELS.database] ?? '',
      url: `http://127.0.0.1:${port}`,
      port,
      startedAt: labels[STARTED_AT] ?? '',
      state: running ? 'running' : this.state.isStopped(id) ? 'stopped' : 'exited',
      routed: routes[env]?.launchId === launchId,
      labels,
    };
  }

  /** A free port not already given to one of our release containers. */
  async #pickPort(): Promise<number> {
    const used = new Set((await this.engine.findContainers(projectLabels(this.#project, 'release'))).map((c) => c.Labels[DOCKER_LABELS.port]));
    for (let i = 0; i < 20; i++) {
      const port = await freePort();
      if (!used.has(String(port))) return port;
    }
    throw new ProviderError('no free TCP port found on 127.0.0.1', {retryable: true});
  }
}
