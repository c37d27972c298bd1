/**
 * The docker-local provider's edge router: one container (router.image) running the two-tier
 * router of src/providers/router/caddy-config.ts (see GRACE_PERIOD there): a static front Caddy
 * that takes the client connections on 127.0.0.1:<router port> and passes every request, over a
 * new connection, to the routing Caddy on a unix socket inside the container; the routing Caddy's
 * admin API answers on 127.0.0.1:<admin port> (both ports remembered in
 * .odoo-sh-next/docker/router.json). Routes are set through that admin API
 * (src/providers/router/caddy-admin.ts): `<env>.<project>.<domain>` → the release's upstream. Only
 * the routing Caddy ever reloads, and it keeps its unix listener across reloads, so a route switch
 * drops no client connection.
 *
 * With a real domain (automaticHttpsFor(router.domain)), the front serves HTTPS with Caddy's
 * on-demand TLS on the public ports (router.json httpsPort/publicHttpPort, default 443/80, on all
 * host addresses: a publicly trusted certificate needs a publicly reachable server, so the
 * 127.0.0.1-only rule cannot hold for the front then), and HTTP redirects to HTTPS. The front's
 * config still never changes: before each new certificate it asks the routing Caddy's ask server
 * (127.0.0.1:<askPort>), whose routes CaddyAdmin keeps next to the env routes, so only hosts with
 * a route ever get a certificate. The admin API and the ask server stay on 127.0.0.1.
 */
import type {Clock} from '../../core/clock.js';
import {InterruptedError, ProviderError} from '../../core/errors.js';
import {CaddyAdmin} from '../router/caddy-admin.js';
import {automaticHttpsFor, routeHostFor, routeIdFor} from '../router/caddy-config.js';
import type {DockerEngine} from './engine.js';
import type {DockerState, RouterState} from './docker-state.js';
import {
  DOCKER_LABELS, ROUTER_CONFIG_FILE, ROUTER_FRONT_CONFIG_FILE, ROUTER_INNER_LISTEN, ROUTER_SCRIPT, networkSpec, projectLabels,
  routerBootConfig, routerContainerSpec, routerFrontConfig, routerFrontMode, type DockerNetworkMode,
} from './specs.js';

export interface RouterEndpoint {
  readonly containerId: string;
  readonly state: RouterState;
  readonly admin: CaddyAdmin;
}

export class DockerRouter {
  #ready: Promise<RouterEndpoint> | undefined;

  constructor(
    private readonly deps: {
      readonly engine: DockerEngine;
      readonly state: DockerState;
      readonly clock: Clock;
      readonly project: string;
      readonly image: string;
      readonly domain: string;
      readonly network: DockerNetworkMode;
    },
  ) {}

  /** Whether the front serves HTTPS with automatic certificates (a real router.domain). */
  get tls(): boolean {
    return automaticHttpsFor(this.deps.domain);
  }

  async container(): Promise<string | undefined> {
    return (await this.deps.engine.findContainers(projectLabels(this.deps.project, 'router')))[0]?.Id;
  }

  ready(signal: AbortSignal): Promise<RouterEndpoint> {
    if (signal.aborted) return Promise.reject(new InterruptedError('interrupted', {cause: signal.reason}));
    this.#ready ??= this.#prepare(signal).catch((err: unknown) => {
      this.#ready = undefined;
      throw err;
    });
    return this.#ready;
  }

  async stop(): Promise<boolean> {
    this.#ready = undefined;
    const id = await this.container();
    return id ? this.deps.engine.stop(id, 10) : false;
  }

  /** The environment's host name and URL through the router. */
  envUrl(env: string, state: RouterState): {host: string; url: string} {
    const host = routeHostFor(this.deps.project, env, this.deps.domain);
    if (!this.tls) return {host, url: `http://${host}:${state.httpPort}`};
    return {host, url: state.httpsPort === 443 ? `https://${host}` : `https://${host}:${state.httpsPort}`};
  }

  async setRoute(env: string, upstream: string, signal: AbortSignal): Promise<string> {
    const r = await this.ready(signal);
    const {host, url} = this.envUrl(env, r.state);
    await r.admin.setRoute({id: routeIdFor(this.deps.project, env), hosts: [host], upstream});
    return url;
  }

  /** Removes an env's route when the router runs (a stopped router has nothing to serve). */
  async removeRoute(env: string): Promise<boolean> {
    const id = await this.container();
    if (!id || !(await this.deps.engine.inspect(id))?.State.Running) return false;
    const state = await this.deps.state.router();
    return new CaddyAdmin({adminUrl: `http://127.0.0.1:${state.adminPort}`, ask: this.tls}).removeRoute(routeIdFor(this.deps.project, env));
  }

  async #prepare(signal: AbortSignal): Promise<RouterEndpoint> {
    const {engine, project, network} = this.deps;
    const state = await this.deps.state.router();
    if (network === 'bridge') await engine.ensureNetwork(networkSpec(project));
    const tls = this.tls ? {askPort: state.askPort, httpsPort: state.httpsPort, publicHttpPort: state.publicHttpPort} : undefined;
    let id = await this.container();
    const existing = id ? await engine.inspect(id) : undefined;
    if (id && (existing?.Config.Cmd?.[0] !== ROUTER_SCRIPT || (existing.Config.Labels?.[DOCKER_LABELS.front] ?? 'http') !== routerFrontMode(tls))) {
      // A router container of an earlier layout (one Caddy) or another front mode (the domain
      // changed): replace it (routes are set again by callers).
      await engine.stop(id, 10);
      await engine.remove(id);
      id = undefined;
    }
    if (!id) {
      await engine.requireImage(this.deps.image);
      const created = await engine.create(routerContainerSpec({project, image: this.deps.image, network, ...state, tls}));
      if (created) {
        await engine.putFile(created, '/', ROUTER_CONFIG_FILE.slice(1), routerBootConfig({network, adminPort: state.adminPort}));
        await engine.putFile(created, '/', ROUTER_FRONT_CONFIG_FILE.slice(1), routerFrontConfig({network, httpPort: state.httpPort, tls}));
      }
      id = created ?? (await this.container());
      if (!id) throw new ProviderError('docker: the router container vanished while being created', {retryable: true});
    }
    await engine.start(id);
    const admin = new CaddyAdmin({adminUrl: `http://127.0.0.1:${state.adminPort}`, ask: tls !== undefined});
    const deadline = this.deps.clock.now().getTime() + 30_000;
    for (;;) {
      if (signal.aborted) throw new InterruptedError('interrupted', {cause: signal.reason});
      try {
        // TLS belongs to the client-facing front: the inner server is plain HTTP; with a real
        // domain it also serves the front's on-demand TLS ask endpoint on loopback.
        await admin.ensureServer({listen: ROUTER_INNER_LISTEN, domainTls: false, ask: tls ? `127.0.0.1:${tls.askPort}` : undefined});
        break;
      } catch (err) {
        const info = await engine.inspect(id);
        if (!info?.State.Running || this.deps.clock.now().getTime() > deadline) {
          throw new ProviderError(`the router (Caddy) does not answer on 127.0.0.1:${state.adminPort}: ${(err as Error).message}`, {
            cause: err, retryable: true, data: {logTail: await engine.logTail(id, 20)},
          });
        }
        await this.deps.clock.sleep(200);
      }
    }
    return {containerId: id, state, admin};
  }
}
