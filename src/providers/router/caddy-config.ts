/**
 * Caddy configuration for the edge router (pure): one HTTP server, one route per environment
 * (matched by host, `@id`-tagged so the admin API can replace it in place), and a catch-all 404
 * for unknown hosts, always last. Also reads routes back out of a Caddy config. No I/O here:
 * caddy-admin.ts sends what this builds.
 */
import {UsageError} from '../../core/errors.js';

/** Name of the HTTP server in apps.http.servers. */
export const CADDY_SERVER = 'odoo-sh-next';
/** `@id` of the catch-all 404 route (always the last route). */
export const FALLBACK_ROUTE_ID = 'osn-fallback';
/** Prefix of every environment route's `@id`. */
export const ROUTE_ID_PREFIX = 'osn-route-';
/** Name of the routing Caddy's on-demand TLS "ask" server (only with a real domain). */
export const ASK_SERVER = 'odoo-sh-next-ask';
/** `@id` of the ask server's catch-all 404 (always last). */
export const ASK_FALLBACK_ROUTE_ID = 'osn-ask-fallback';
/** Suffix of an ask route's `@id` (`<route id>.ask`; main route ids may not end with it). */
export const ASK_ROUTE_SUFFIX = '.ask';
/** Path of the ask endpoint (the front's `on_demand.ask` URL). */
export const ASK_PATH = '/ask';

/**
 * How long a replaced server keeps serving the requests it already accepted after a config change.
 * Every admin change is a full config reload in Caddy: the new server starts, the old one stops
 * accepting and finishes its in-flight requests within this grace period (measured: a 2 s request
 * in flight during a switch completes on the old upstream; the admin call returns in ~5 ms, it does
 * not wait for it). Caddy's default is an eternal grace period, which would let a stuck request
 * keep an old server (and its upstream) alive forever; 30 s is enough for a slow Odoo page.
 *
 * Measured limit of reload-based switching (Caddy 2.6.2, the Debian bookworm package), 8 client
 * loops through the router during 50 switches: no request ever got a 404 or 502 (the route is
 * replaced in place, never missing), but about 2 connections are reset per switch:
 *  - idle keep-alive client connections of the old server are closed at once (Go's
 *    http.Server.Shutdown); a client that sends its next request at that instant gets a reset with
 *    no response byte. Browsers resend in that case (RFC 9112 §9.3.1.1); Node's http.Agent does not.
 *  - Caddy ≥ 2.6 reopens listeners with SO_REUSEPORT and closes the old socket after the new one
 *    listens; connections the kernel queued on the old socket are reset (a known SO_REUSEPORT
 *    limitation). These are fresh connections: nobody retries them.
 * No setting of Caddy 2.6.2 avoids either (grace_period only covers in-flight requests; idle_timeout
 * and keepalive_interval do not apply; a `Connection: close` response header just moves all
 * failures to the second kind). What does avoid both is a two-tier router, see buildFrontConfig():
 * clients talk to a static front Caddy that is never reloaded; the Caddy that CaddyAdmin
 * reconfigures listens on a unix socket (`ensureServer({listen: 'unix//path'})`).
 */
export const GRACE_PERIOD = '30s';

export interface RouteSpec {
  /** `@id` of the route; see routeIdFor(). */
  readonly id: string;
  /** Host names matched (each a dotted DNS name). */
  readonly hosts: readonly string[];
  /** The single upstream, `host:port` (e.g. 127.0.0.1:8069). */
  readonly upstream: string;
}

export interface ServerSpec {
  /** Address the router listens on, e.g. `127.0.0.1:8080` or `:443`. */
  readonly listen: string;
  /** Use Caddy's automatic HTTPS (a real domain); false for localhost/IPs. See automaticHttpsFor(). */
  readonly domainTls?: boolean | undefined;
  /**
   * With a real domain: where the on-demand TLS ask endpoint listens (`127.0.0.1:<askPort>`). A
   * second server then answers `GET /ask?domain=<host>` 200 for routed hosts, 404 otherwise (see askRoute()).
   */
  readonly ask?: string | undefined;
}

export type CaddyRoute = Record<string, unknown> & {'@id'?: string};

export interface CaddyServer {
  listen: string[];
  routes: CaddyRoute[];
  automatic_https?: {disable?: boolean};
  [key: string]: unknown;
}

/** Caddy's `admin` section (listen, origins, ...). */
export type CaddyAdminSection = {listen: string} & Record<string, unknown>;

export interface CaddyConfig {
  admin: CaddyAdminSection;
  apps: {http: {grace_period: string; servers: Record<string, CaddyServer>}};
}

/** The on-demand TLS ask URL for an ask listen address (`127.0.0.1:<port>`). */
export function askUrlFor(askListen: string): string {
  return `http://${validateListen(askListen)}${ASK_PATH}`;
}

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const ROUTE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/** True when `name` is a dotted DNS name of lowercase labels (RFC 1123), at most 253 characters, not all-numeric at the end. */
export function isDnsName(name: string): boolean {
  const labels = name.split('.');
  return name.length > 0 && name.length <= 253 && labels.every((l) => LABEL.test(l)) && !/^\d+$/.test(labels[labels.length - 1]!);
}

/** Throws UsageError unless `host` is a DNS name routes may match. */
export function validateHost(host: string): string {
  if (!isDnsName(host)) {
    throw new UsageError(`Invalid router host name ${JSON.stringify(host)}: expected dot-separated DNS labels (a-z, 0-9, inner "-")`);
  }
  return host;
}

/** Throws UsageError unless `upstream` is `host:port` with an IPv4 host or a host/container name. */
export function validateUpstream(upstream: string): string {
  const m = /^(.+):(\d{1,5})$/.exec(upstream);
  const port = Number(m?.[2]);
  const host = m?.[1] ?? '';
  // Accepted hosts: IPv4, or a host/container name (Docker allows upper case, "_" and "." in
  // names); refused: a Caddy {placeholder}, a bare number, anything without a port.
  const name = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,252}$/.test(host) && !/^[\d.]+$/.test(host);
  if (!m || !(IPV4.test(host) || name) || port < 1 || port > 65535) {
    throw new UsageError(`Invalid upstream ${JSON.stringify(upstream)}: expected host:port, e.g. 127.0.0.1:8069`);
  }
  return upstream;
}

/** Throws UsageError unless `listen` is `[host]:port` or `unix/<absolute path>` (Caddy network addresses). */
export function validateListen(listen: string): string {
  if (/^unix\/\/[A-Za-z0-9._/-]+$/.test(listen) && !listen.includes('/../')) return listen;
  const m = /^(.*):(\d{1,5})$/.exec(listen);
  const port = Number(m?.[2]);
  if (!m || (m[1] !== '' && !IPV4.test(m[1]!) && !isDnsName(m[1]!) && m[1] !== '[::1]') || port < 1 || port > 65535) {
    throw new UsageError(`Invalid router listen address ${JSON.stringify(listen)}: expected host:port (e.g. 127.0.0.1:8080) or unix//<path>`);
  }
  return listen;
}

/** Throws UsageError unless `id` is a URL-safe route id (it is sent in admin API paths). */
export function validateRouteId(id: string): string {
  if (!ROUTE_ID.test(id) || id === FALLBACK_ROUTE_ID || id === ASK_FALLBACK_ROUTE_ID || id.endsWith(ASK_ROUTE_SUFFIX)) {
    throw new UsageError(`Invalid route id ${JSON.stringify(id)}: letters, digits, ".", "_", "-" only`);
  }
  return id;
}

/** `@id` of an environment's route. The "." keeps `a-b`/`c` apart from `a`/`b-c` (labels have no dots). */
export function routeIdFor(project: string, env: string): string {
  return `${ROUTE_ID_PREFIX}${validateLabel(project)}.${validateLabel(env)}`;
}

/** The host an environment is served at: `<env>.<project>.<domain>`. */
export function routeHostFor(project: string, env: string, domain: string): string {
  return validateHost(`${validateLabel(env)}.${validateLabel(project)}.${domain.toLowerCase().replace(/\.$/, '')}`);
}

function validateLabel(name: string): string {
  if (!LABEL.test(name)) throw new UsageError(`Invalid name ${JSON.stringify(name)} for the router: expected one DNS label`);
  return name;
}

/**
 * Whether Caddy's automatic HTTPS applies to a domain: not for localhost (and *.localhost), IP
 * addresses or other loopback-only names (no public CA can issue for them); yes for a real domain.
 */
export function automaticHttpsFor(domain: string): boolean {
  const d = domain.toLowerCase().replace(/\.$/, '');
  if (d === '' || d === 'localhost' || d.endsWith('.localhost')) return false;
  if (IPV4.test(d) || d.includes(':')) return false;
  if (d.endsWith('.local') || d.endsWith('.internal') || d.endsWith('.test') || d.endsWith('.invalid')) return false;
  return d.includes('.');
}

/** A route: host match → reverse proxy to one upstream, terminal. */
export function buildRoute(spec: RouteSpec): CaddyRoute {
  validateRouteId(spec.id);
  validateUpstream(spec.upstream);
  if (spec.hosts.length === 0) throw new UsageError(`Route ${spec.id} needs at least one host`);
  return {
    '@id': spec.id,
    match: [{host: spec.hosts.map(validateHost)}],
    handle: [{handler: 'reverse_proxy', upstreams: [{dial: spec.upstream}]}],
    terminal: true,
  };
}

/**
 * The ask route of an environment route (on-demand TLS): Caddy's front asks
 * `GET /ask?domain=<host>` before getting a certificate for a host; only hosts that have a route
 * answer 200, so certificates are never issued for arbitrary names pointed at the server.
 */
export function askRoute(spec: Pick<RouteSpec, 'id' | 'hosts'>): CaddyRoute {
  validateRouteId(spec.id);
  if (spec.hosts.length === 0) throw new UsageError(`Route ${spec.id} needs at least one host`);
  return {
    '@id': `${spec.id}${ASK_ROUTE_SUFFIX}`,
    match: [{path: [ASK_PATH], query: {domain: spec.hosts.map(validateHost)}}],
    handle: [{handler: 'static_response', status_code: 200}],
    terminal: true,
  };
}

/** The ask server's catch-all: no certificate for a host without a route. */
export function askFallbackRoute(): CaddyRoute {
  return {'@id': ASK_FALLBACK_ROUTE_ID, handle: [{handler: 'static_response', status_code: 404}], terminal: true};
}

/** The ask server (plain HTTP on loopback, ask routes first, the 404 last). */
export function buildAskServer(listen: string, routes: readonly Pick<RouteSpec, 'id' | 'hosts'>[] = []): CaddyServer {
  validateListen(listen);
  return {listen: [listen], automatic_https: {disable: true}, routes: [...routes.map(askRoute), askFallbackRoute()]};
}

/** The catch-all: any host without a route gets a plain 404. */
export function fallbackRoute(): CaddyRoute {
  return {
    '@id': FALLBACK_ROUTE_ID,
    handle: [{handler: 'static_response', status_code: 404, body: 'odoo-sh-next: no environment is served at this host\n'}],
    terminal: true,
  };
}

/** The server object (routes first, the fallback last). */
export function buildServer(server: ServerSpec, routes: readonly RouteSpec[] = []): CaddyServer {
  validateListen(server.listen);
  return {
    listen: [server.listen],
    ...(server.domainTls ? {} : {automatic_https: {disable: true}}),
    routes: [...routes.map(buildRoute), fallbackRoute()],
  };
}

/**
 * The whole config loaded with POST /load. `admin` is the admin listen address (`127.0.0.1:PORT`),
 * or a whole admin section to keep as it is (e.g. a container's `0.0.0.0:2019` with its origins).
 */
export function buildCaddyConfig(opts: {admin: string | CaddyAdminSection; server: ServerSpec; routes?: readonly RouteSpec[]}): CaddyConfig {
  const admin = typeof opts.admin === 'string' ? {listen: opts.admin} : {...opts.admin};
  validateListen(admin.listen);
  const servers: Record<string, CaddyServer> = {[CADDY_SERVER]: buildServer(opts.server, opts.routes)};
  if (opts.server.ask !== undefined) servers[ASK_SERVER] = buildAskServer(opts.server.ask, opts.routes);
  return {admin, apps: {http: {grace_period: GRACE_PERIOD, servers}}};
}

/** With a real domain: the front's TLS settings (on-demand certificates, ask URL, public ports). */
export interface FrontTls {
  /** The ask endpoint of the routing Caddy, e.g. http://127.0.0.1:<askPort>/ask (see askUrlFor()). */
  readonly askUrl: string;
  /** Port of the HTTPS listener (default 443). */
  readonly httpsPort?: number | undefined;
  /** Port of the plain HTTP listener: redirects to HTTPS, answers ACME HTTP-01 challenges (default 80). */
  readonly httpPort?: number | undefined;
  /** Host part of both listeners ('' = all addresses, the only choice for a public domain). */
  readonly host?: string | undefined;
}

/**
 * The static front of the two-tier router (see GRACE_PERIOD): a second Caddy process whose config
 * never changes. It takes the client connections on `listen` and passes every request, Host header
 * unchanged, to the routing Caddy (the one CaddyAdmin drives) listening on the unix socket `inner`
 * (`unix//path`), one new upstream connection per request: Caddy shares a unix listener across
 * reloads (no SO_REUSEPORT), and without upstream keep-alive no idle connection can be closed
 * under a request, so route switches in the routing Caddy fail nothing (measured: 0 of ~2,300
 * requests over 50 switches, 8 client loops, while the one-tier layout reset ~2 per switch).
 *
 * Without `tls` (localhost/IP domains): plain HTTP on `listen`, automatic HTTPS off.
 * With `tls` (a real domain, see automaticHttpsFor()): Caddy's automatic HTTPS with on-demand TLS,
 * so the config still never changes when environments come and go: HTTPS on `:<httpsPort>` gets a
 * certificate for a host on its first TLS handshake, after asking `tls.askUrl` (the routing Caddy's
 * ask server, which answers 200 only for routed hosts: no certificate for arbitrary names);
 * plain HTTP on `:<httpPort>` redirects to HTTPS (and serves ACME HTTP-01 challenges, which Caddy
 * handles before any route). `listen` is ignored then. Field names checked against Caddy 2.6.2
 * (`caddy adapt` of `on_demand_tls { ask ... }` + `tls { on_demand }`).
 */
export function buildFrontConfig(opts: {listen: string; admin?: string | undefined; inner: string; tls?: FrontTls | undefined}): Record<string, unknown> {
  if (!opts.inner.startsWith('unix/')) throw new UsageError(`The routing Caddy must listen on a unix socket (unix//path), got ${opts.inner}`);
  validateListen(opts.inner);
  // No admin endpoint unless asked: nothing ever changes this config.
  const admin = opts.admin === undefined ? {disabled: true} : {listen: validateListen(opts.admin)};
  const proxy = {handle: [{
    handler: 'reverse_proxy',
    upstreams: [{dial: opts.inner}],
    transport: {protocol: 'http', keep_alive: {enabled: false}},
  }]};
  if (!opts.tls) {
    validateListen(opts.listen);
    return {
      admin,
      apps: {http: {grace_period: GRACE_PERIOD, servers: {[`${CADDY_SERVER}-front`]: {
        listen: [opts.listen], automatic_https: {disable: true}, routes: [proxy],
      }}}},
    };
  }
  const {askUrl, httpsPort = 443, httpPort = 80, host = ''} = opts.tls;
  const ask = new URL(askUrl);
  if (ask.protocol !== 'http:' || !['127.0.0.1', 'localhost', '[::1]'].includes(ask.hostname)) {
    throw new UsageError(`The on-demand TLS ask URL must be on loopback (http://127.0.0.1:<port>/ask), got ${askUrl}`);
  }
  if (httpsPort === httpPort) throw new UsageError(`The router's HTTPS and HTTP ports must differ (both ${httpsPort})`);
  const https = validateListen(`${host}:${httpsPort}`);
  const http = validateListen(`${host}:${httpPort}`);
  const target = httpsPort === 443 ? 'https://{http.request.host}{http.request.uri}' : `https://{http.request.host}:${httpsPort}{http.request.uri}`;
  return {
    admin,
    apps: {
      http: {
        grace_period: GRACE_PERIOD,
        http_port: httpPort,
        https_port: httpsPort,
        servers: {
          [`${CADDY_SERVER}-front`]: {listen: [https], tls_connection_policies: [{}], routes: [proxy]},
          [`${CADDY_SERVER}-front-redirect`]: {
            listen: [http],
            routes: [{handle: [{handler: 'static_response', status_code: 308, headers: {Location: [target]}}]}],
          },
        },
      },
      tls: {automation: {policies: [{on_demand: true}], on_demand: {ask: askUrl}}},
    },
  };
}

/** Whether a server read back from Caddy already is what `spec` asks for (same listen, same TLS mode, fallback present). */
export function serverMatches(existing: unknown, spec: ServerSpec): boolean {
  if (!isRecord(existing)) return false;
  const listen = existing.listen;
  const disabled = isRecord(existing.automatic_https) && existing.automatic_https.disable === true;
  const routes = Array.isArray(existing.routes) ? existing.routes : [];
  const last = routes[routes.length - 1];
  return Array.isArray(listen) && listen.length === 1 && listen[0] === spec.listen
    && disabled === !spec.domainTls
    && isRecord(last) && last['@id'] === FALLBACK_ROUTE_ID;
}

/** The environment routes of a server read back from Caddy (routes this module did not build are skipped). */
export function parseRoutes(server: unknown): RouteSpec[] {
  if (!isRecord(server) || !Array.isArray(server.routes)) return [];
  const out: RouteSpec[] = [];
  for (const r of server.routes) {
    if (!isRecord(r) || typeof r['@id'] !== 'string' || r['@id'] === FALLBACK_ROUTE_ID) continue;
    const match = Array.isArray(r.match) ? r.match[0] : undefined;
    const handler = Array.isArray(r.handle) ? r.handle[0] : undefined;
    const upstream = isRecord(handler) && Array.isArray(handler.upstreams) ? handler.upstreams[0] : undefined;
    if (!isRecord(match) || !Array.isArray(match.host) || !isRecord(upstream) || typeof upstream.dial !== 'string') continue;
    out.push({id: r['@id'], hosts: match.host.filter((h): h is string => typeof h === 'string'), upstream: upstream.dial});
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
