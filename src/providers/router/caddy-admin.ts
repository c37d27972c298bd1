/**
 * Client of Caddy's admin API (plain fetch, loopback only). Every change is one admin request, so
 * Caddy applies it as one config reload: a route switch replaces the route object in place
 * (PATCH /id/<id>), and there is never a moment where the host has no route. The config itself
 * is built by caddy-config.ts (pure).
 */
import {ProviderError, UsageError} from '../../core/errors.js';
import {
  ASK_FALLBACK_ROUTE_ID, ASK_ROUTE_SUFFIX, ASK_SERVER, CADDY_SERVER, askRoute, buildCaddyConfig, buildRoute, parseRoutes,
  serverMatches, validateListen, validateRouteId,
  type CaddyAdminSection, type RouteSpec, type ServerSpec,
} from './caddy-config.js';

export interface CaddyAdminOptions {
  /** The admin endpoint, e.g. http://127.0.0.1:2019 (loopback only). */
  readonly adminUrl: string;
  readonly fetch?: typeof fetch | undefined;
  /** Per-request timeout (default 10 s). */
  readonly timeoutMs?: number | undefined;
  /**
   * Also maintain the on-demand TLS ask routes (a real domain, ServerSpec.ask set): setRoute and
   * removeRoute then keep `<id>.ask` in the ask server next to the main route. Off by default.
   */
  readonly ask?: boolean | undefined;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

export class CaddyAdmin {
  readonly adminUrl: string;
  /** The admin listen address written into loaded configs (host:port of adminUrl). */
  readonly adminAddress: string;
  private readonly fetch: typeof fetch;
  private readonly timeoutMs: number;
  private readonly ask: boolean;

  constructor(opts: CaddyAdminOptions) {
    let url: URL;
    try {
      url = new URL(opts.adminUrl);
    } catch {
      throw new UsageError(`Invalid Caddy admin URL ${JSON.stringify(opts.adminUrl)}`);
    }
    if (url.protocol !== 'http:' || !LOOPBACK.has(url.hostname) || url.port === '' || url.pathname !== '/') {
      throw new UsageError(`The Caddy admin URL must be http://127.0.0.1:<port> (got ${opts.adminUrl})`);
    }
    this.adminUrl = url.origin;
    this.adminAddress = url.host;
    this.fetch = opts.fetch ?? globalThis.fetch;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.ask = opts.ask ?? false;
  }

  /**
   * Makes sure the router server exists as asked. Loads the base config (POST /load) only when the
   * server is missing or different, carrying the existing environment routes over.
   */
  async ensureServer(spec: ServerSpec): Promise<{readonly loaded: boolean}> {
    const config0 = await this.request('GET', '/config/');
    const current = serverOf(config0);
    if (serverMatches(current, spec) && askServerMatches(serverOf(config0, ASK_SERVER), spec.ask)) return {loaded: false};
    // Keep the running admin section (a container listens on 0.0.0.0:2019 behind a published
    // 127.0.0.1 port, with its own origins); write ours only when there is none.
    const running = (config0 as {admin?: unknown} | null)?.admin;
    const admin = isAdminSection(running) ? running : this.adminAddress;
    const config = buildCaddyConfig({admin, server: spec, routes: parseRoutes(current)});
    await this.request('POST', '/load', config);
    return {loaded: true};
  }

  /**
   * Points a route at an upstream, atomically: an existing route is replaced in place by `@id` in
   * one request; a new one is inserted at the front of the routes (never after the catch-all 404;
   * hosts of different routes are disjoint, so their order does not matter).
   */
  async setRoute(spec: RouteSpec): Promise<void> {
    await this.setMainRoute(spec);
    if (this.ask) await this.setAskRoute(spec);
  }

  /**
   * The ask route of `spec` (on-demand TLS, see askRoute()), when the ask server exists (a real
   * domain): written only when missing or different, so a plain upstream switch costs no extra reload.
   */
  private async setAskRoute(spec: RouteSpec): Promise<void> {
    const route = askRoute(spec);
    const byId = `/id/${encodeURIComponent(String(route['@id']))}`;
    let existing: unknown;
    try {
      existing = await this.request('GET', byId);
    } catch (err) {
      if (!isUnknownId(err)) throw err;
    }
    if (existing !== undefined) {
      if (JSON.stringify(existing) !== JSON.stringify(route)) await this.request('PATCH', byId, route);
      return;
    }
    // No ask server (localhost/IP domain): nothing to do.
    if (!(await this.hasAskServer())) return;
    try {
      await this.request('PUT', `/config/apps/http/servers/${ASK_SERVER}/routes/0`, route);
    } catch (err) {
      if (err instanceof ProviderError && /duplicate/i.test(err.message)) await this.request('PATCH', byId, route);
      else throw err;
    }
  }

  private async hasAskServer(): Promise<boolean> {
    try {
      return (await this.request('GET', `/config/apps/http/servers/${ASK_SERVER}`)) !== null;
    } catch (err) {
      if (err instanceof ProviderError && err.data?.status !== undefined && Number(err.data.status) < 500) return false;
      throw err;
    }
  }

  private async setMainRoute(spec: RouteSpec): Promise<void> {
    const route = buildRoute(spec);
    const byId = `/id/${encodeURIComponent(spec.id)}`;
    try {
      await this.request('PATCH', byId, route);
      return;
    } catch (err) {
      if (!isUnknownId(err)) throw err;
    }
    try {
      await this.request('PUT', `/config/apps/http/servers/${CADDY_SERVER}/routes/0`, route);
    } catch (err) {
      // Someone inserted the same id meanwhile: replace theirs.
      if (err instanceof ProviderError && /duplicate/i.test(err.message)) await this.request('PATCH', byId, route);
      else throw err;
    }
  }

  /** Removes a route; false when there was none. Its hosts then get the catch-all 404. */
  async removeRoute(id: string): Promise<boolean> {
    validateRouteId(id);
    // The ask route first: from now on no certificate is issued for the host.
    if (this.ask) {
      try {
        await this.request('DELETE', `/id/${encodeURIComponent(`${id}${ASK_ROUTE_SUFFIX}`)}`);
      } catch (err) {
        if (!isUnknownId(err)) throw err;
      }
    }
    try {
      await this.request('DELETE', `/id/${encodeURIComponent(id)}`);
      return true;
    } catch (err) {
      if (isUnknownId(err)) return false;
      throw err;
    }
  }

  /** The environment routes as Caddy has them now (read back from GET /config/). */
  async routes(): Promise<RouteSpec[]> {
    return parseRoutes(serverOf(await this.request('GET', '/config/')));
  }

  private async request(method: string, path: string, body?: unknown): Promise<unknown> {
    const res = await this.send(method, path, body);
    const text = await res.text();
    if (!res.ok) {
      let message = text.trim();
      try {
        const parsed = JSON.parse(text) as {error?: unknown};
        if (typeof parsed.error === 'string') message = parsed.error;
      } catch { /* not JSON: keep the text */ }
      throw new ProviderError(`Caddy admin ${method} ${path} failed (${res.status}): ${message}`, {
        retryable: res.status >= 500, data: {status: res.status, caddyError: message},
      });
    }
    return text.trim() === '' ? null : JSON.parse(text);
  }

  /**
   * One admin request. Caddy restarts its admin endpoint after every config change, closing the
   * keep-alive connections fetch pools: the next request may go out on a socket the server already
   * closed (or meet the endpoint while it restarts) and fail before Caddy saw it. Such connection
   * failures are retried (3 attempts); a timeout is not.
   */
  private async send(method: string, path: string, body: unknown): Promise<Response> {
    for (let attempt = 1; ; attempt++) {
      const signal = AbortSignal.timeout(this.timeoutMs);
      try {
        return await this.fetch(`${this.adminUrl}${path}`, {
          method,
          headers: body === undefined ? {} : {'content-type': 'application/json'},
          ...(body === undefined ? {} : {body: JSON.stringify(body)}),
          signal,
        });
      } catch (err) {
        if (attempt >= 3 || signal.aborted) {
          throw new ProviderError(`Caddy admin API at ${this.adminUrl} did not answer ${method} ${path}: ${(err as Error).message}`, {
            cause: err, retryable: true, actions: ['Check that the router (Caddy) is running'],
          });
        }
        await new Promise((r) => setTimeout(r, 25 * attempt));
      }
    }
  }
}

function serverOf(config: unknown, name = CADDY_SERVER): unknown {
  const c = config as {apps?: {http?: {servers?: Record<string, unknown>}}} | null;
  return c?.apps?.http?.servers?.[name];
}

/** Whether the ask server read back is what `ask` asks for (absent when undefined). */
function askServerMatches(existing: unknown, ask: string | undefined): boolean {
  if (ask === undefined) return existing === undefined;
  validateListen(ask);
  const s = existing as {listen?: unknown; routes?: unknown} | undefined;
  const routes = Array.isArray(s?.routes) ? (s.routes as unknown[]) : [];
  const last = routes[routes.length - 1] as {'@id'?: unknown} | undefined;
  return Array.isArray(s?.listen) && s.listen.length === 1 && s.listen[0] === ask && last?.['@id'] === ASK_FALLBACK_ROUTE_ID;
}

function isAdminSection(v: unknown): v is CaddyAdminSection {
  return typeof v === 'object' && v !== null && typeof (v as {listen?: unknown}).listen === 'string';
}

function isUnknownId(err: unknown): boolean {
  return err instanceof ProviderError && err.data?.status === 404 && /unknown object ID/i.test(String(err.data.caddyError));
}
