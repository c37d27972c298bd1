import {describe, expect, it} from 'vitest';
import {UsageError} from '../../../src/core/errors.js';
import {
  ASK_FALLBACK_ROUTE_ID, ASK_ROUTE_SUFFIX, ASK_SERVER, askFallbackRoute, askRoute, askUrlFor,
  CADDY_SERVER, FALLBACK_ROUTE_ID, GRACE_PERIOD, automaticHttpsFor, buildCaddyConfig, buildFrontConfig, buildRoute, parseRoutes,
  routeHostFor, routeIdFor, serverMatches, validateHost, validateUpstream,
} from '../../../src/providers/router/caddy-config.js';

const fallback = {
  '@id': FALLBACK_ROUTE_ID,
  handle: [{handler: 'static_response', status_code: 404, body: 'odoo-sh-next: no environment is served at this host\n'}],
  terminal: true,
};

describe('buildCaddyConfig', () => {
  it('builds one server with admin, no automatic HTTPS on localhost, routes then the 404 fallback', () => {
    expect(buildCaddyConfig({
      admin: '127.0.0.1:2019',
      server: {listen: '127.0.0.1:8080', domainTls: automaticHttpsFor('localhost')},
      routes: [{id: 'osn-route-acme.main', hosts: ['main.acme.localhost'], upstream: '127.0.0.1:8069'}],
    })).toEqual({
      admin: {listen: '127.0.0.1:2019'},
      apps: {http: {grace_period: GRACE_PERIOD, servers: {[CADDY_SERVER]: {
        listen: ['127.0.0.1:8080'],
        automatic_https: {disable: true},
        routes: [
          {
            '@id': 'osn-route-acme.main',
            match: [{host: ['main.acme.localhost']}],
            handle: [{handler: 'reverse_proxy', upstreams: [{dial: '127.0.0.1:8069'}]}],
            terminal: true,
          },
          fallback,
        ],
      }}}},
    });
  });

  it("leaves Caddy's automatic HTTPS on for a real domain", () => {
    const config = buildCaddyConfig({admin: '127.0.0.1:2019', server: {listen: ':443', domainTls: automaticHttpsFor('odoo.example.com')}});
    expect(config.apps.http.servers[CADDY_SERVER]).toEqual({listen: [':443'], routes: [fallback]});
  });

  it('refuses bad listen and admin addresses', () => {
    expect(() => buildCaddyConfig({admin: 'http://127.0.0.1:2019', server: {listen: '127.0.0.1:80'}})).toThrow(UsageError);
    expect(() => buildCaddyConfig({admin: '127.0.0.1:2019', server: {listen: '127.0.0.1:99999'}})).toThrow(UsageError);
    expect(() => buildCaddyConfig({admin: '127.0.0.1:2019', server: {listen: 'x y:80'}})).toThrow(UsageError);
  });
});

describe('buildFrontConfig (two-tier router)', () => {
  it('passes everything to the routing Caddy on its unix socket, one upstream connection per request', () => {
    expect(buildFrontConfig({listen: '127.0.0.1:8080', inner: 'unix//run/osn/router.sock'})).toEqual({
      admin: {disabled: true},
      apps: {http: {grace_period: GRACE_PERIOD, servers: {[`${CADDY_SERVER}-front`]: {
        listen: ['127.0.0.1:8080'],
        automatic_https: {disable: true},
        routes: [{handle: [{handler: 'reverse_proxy', upstreams: [{dial: 'unix//run/osn/router.sock'}], transport: {protocol: 'http', keep_alive: {enabled: false}}}]}],
      }}}},
    });
    expect(buildFrontConfig({listen: ':80', admin: '127.0.0.1:2020', inner: 'unix//s.sock'}).admin).toEqual({listen: '127.0.0.1:2020'});
  });

  it('refuses a routing Caddy that is not on a unix socket', () => {
    expect(() => buildFrontConfig({listen: '127.0.0.1:8080', inner: '127.0.0.1:8081'})).toThrow(/unix socket/);
    expect(() => buildFrontConfig({listen: '127.0.0.1:8080', inner: 'unix/relative.sock'})).toThrow(UsageError);
    expect(() => buildFrontConfig({listen: '127.0.0.1:8080', inner: 'unix//a/../b.sock'})).toThrow(UsageError);
  });

  it('lets the routing server listen on the unix socket', () => {
    expect(buildCaddyConfig({admin: '127.0.0.1:2019', server: {listen: 'unix//run/osn/router.sock'}}).apps.http.servers[CADDY_SERVER]!.listen)
      .toEqual(['unix//run/osn/router.sock']);
  });
});

describe('automaticHttpsFor', () => {
  it.each([
    ['localhost', false], ['LOCALHOST.', false], ['dev.localhost', false], ['127.0.0.1', false], ['::1', false],
    ['odoo.test', false], ['box.local', false], ['intranet', false],
    ['example.com', true], ['odoo.example.com', true],
  ])('%s → %s', (domain, tls) => {
    expect(automaticHttpsFor(domain)).toBe(tls);
  });
});

describe('names', () => {
  it('derives route ids and hosts from project and env', () => {
    expect(routeIdFor('acme', 'main')).toBe('osn-route-acme.main');
    expect(routeIdFor('a-b', 'c')).not.toBe(routeIdFor('a', 'b-c'));
    expect(routeHostFor('acme', 'feature-x', 'localhost')).toBe('feature-x.acme.localhost');
    expect(routeHostFor('acme', 'main', 'Odoo.Example.com.')).toBe('main.acme.odoo.example.com');
  });

  it.each([
    ['acme', 'Main'], ['acme', 'a.b'], ['acme', '-x'], ['acme', ''], ['ac me', 'main'], ['acme', 'x'.repeat(64)], ['acme', 'é'],
  ])('refuses %s/%s', (project, env) => {
    expect(() => routeHostFor(project, env, 'localhost')).toThrow(UsageError);
    expect(() => routeIdFor(project, env)).toThrow(UsageError);
  });

  it('refuses a domain that does not make DNS names', () => {
    expect(() => routeHostFor('acme', 'main', 'exa mple.com')).toThrow(UsageError);
    expect(() => routeHostFor('acme', 'main', '*.example.com')).toThrow(UsageError);
  });

  it.each(['main.acme.localhost', 'a', '0.example.com'])('accepts host %s', (h) => expect(validateHost(h)).toBe(h));
  it.each(['', 'Main.acme', 'a..b', 'a_b.c', 'a b', `${'x'.repeat(64)}.com`, 'main.acme.localhost:80', '{http.request.host}'])(
    'refuses host %j', (h) => expect(() => validateHost(h)).toThrow(UsageError));

  it.each(['127.0.0.1:8069', 'odoo-main:8069', 'osn-acme_Main.1:8069'])('accepts upstream %s', (u) => expect(validateUpstream(u)).toBe(u));
  it.each(['127.0.0.1', '127.0.0.1:0', '127.0.0.1:70000', 'http://127.0.0.1:80', '{http.request.header.x}:80', '999.0.0.1:80', 'a b:80', '-x:80'])(
    'refuses upstream %j', (u) => expect(() => validateUpstream(u)).toThrow(UsageError));
});

describe('buildRoute', () => {
  it('refuses empty hosts, bad ids and the fallback id', () => {
    expect(() => buildRoute({id: 'r', hosts: [], upstream: '127.0.0.1:1'})).toThrow(/at least one host/);
    expect(() => buildRoute({id: 'a/b', hosts: ['a.b'], upstream: '127.0.0.1:1'})).toThrow(UsageError);
    expect(() => buildRoute({id: FALLBACK_ROUTE_ID, hosts: ['a.b'], upstream: '127.0.0.1:1'})).toThrow(UsageError);
  });
});

describe('serverMatches / parseRoutes', () => {
  const server = buildCaddyConfig({
    admin: '127.0.0.1:2019', server: {listen: '127.0.0.1:8080'},
    routes: [{id: 'osn-route-acme.main', hosts: ['main.acme.localhost'], upstream: '127.0.0.1:8069'}],
  }).apps.http.servers[CADDY_SERVER];

  it('matches the same listen and TLS mode only, with the fallback last', () => {
    expect(serverMatches(server, {listen: '127.0.0.1:8080'})).toBe(true);
    expect(serverMatches(server, {listen: '127.0.0.1:8081'})).toBe(false);
    expect(serverMatches(server, {listen: '127.0.0.1:8080', domainTls: true})).toBe(false);
    expect(serverMatches({...server, routes: server!.routes.slice(0, 1)}, {listen: '127.0.0.1:8080'})).toBe(false);
    expect(serverMatches(undefined, {listen: '127.0.0.1:8080'})).toBe(false);
  });

  it('reads environment routes back, skipping the fallback and foreign routes', () => {
    const routes = [...server!.routes, {handle: [{handler: 'static_response'}]}, {'@id': 'other', handle: []}];
    expect(parseRoutes({...server, routes})).toEqual([{id: 'osn-route-acme.main', hosts: ['main.acme.localhost'], upstream: '127.0.0.1:8069'}]);
    expect(parseRoutes(null)).toEqual([]);
    expect(parseRoutes({routes: 'x'})).toEqual([]);
  });
});

/** A front config as plain JSON (what the front Caddy reads), for assertions. */
const front = (opts: Parameters<typeof buildFrontConfig>[0]) => JSON.parse(JSON.stringify(buildFrontConfig(opts)));

describe('on-demand TLS (a real domain)', () => {
  const inner = 'unix//tmp/router.sock';
  const askUrl = 'http://127.0.0.1:7001/ask';

  it('front: HTTPS with an on-demand policy asking the routing Caddy, HTTP redirecting to HTTPS', () => {
    const config = front({listen: '127.0.0.1:8080', inner, tls: {askUrl}});
    expect(config.admin).toEqual({disabled: true});
    expect(config.apps.tls).toEqual({automation: {policies: [{on_demand: true}], on_demand: {ask: askUrl}}});
    expect(config.apps.http).toMatchObject({grace_period: GRACE_PERIOD, http_port: 80, https_port: 443});
    const server = config.apps.http.servers[`${CADDY_SERVER}-front`];
    expect(server.listen).toEqual([':443']);
    expect(server.automatic_https).toBeUndefined();
    expect(server.tls_connection_policies).toEqual([{}]);
    expect(server.routes[0].handle[0]).toMatchObject({handler: 'reverse_proxy', upstreams: [{dial: inner}], transport: {keep_alive: {enabled: false}}});
    const redirect = config.apps.http.servers[`${CADDY_SERVER}-front-redirect`];
    expect(redirect.listen).toEqual([':80']);
    expect(redirect.routes[0].handle[0]).toEqual({
      handler: 'static_response', status_code: 308, headers: {Location: ['https://{http.request.host}{http.request.uri}']},
    });
  });

  it('front: custom ports go into the listeners, the redirect target and http_port/https_port', () => {
    const config = front({listen: ':80', inner, tls: {askUrl, httpsPort: 8443, httpPort: 8080}});
    expect(config.apps.http).toMatchObject({http_port: 8080, https_port: 8443});
    expect(config.apps.http.servers[`${CADDY_SERVER}-front`].listen).toEqual([':8443']);
    expect(config.apps.http.servers[`${CADDY_SERVER}-front-redirect`].listen).toEqual([':8080']);
    expect(config.apps.http.servers[`${CADDY_SERVER}-front-redirect`].routes[0].handle[0].headers.Location)
      .toEqual(['https://{http.request.host}:8443{http.request.uri}']);
  });

  it('front: refuses a non-loopback ask URL and equal ports; localhost keeps no TLS app', () => {
    expect(() => buildFrontConfig({listen: ':80', inner, tls: {askUrl: 'http://10.0.0.1:7001/ask'}})).toThrow(UsageError);
    expect(() => buildFrontConfig({listen: ':80', inner, tls: {askUrl, httpsPort: 8080, httpPort: 8080}})).toThrow(UsageError);
    const plain = buildFrontConfig({listen: '127.0.0.1:8080', inner}) as {apps: Record<string, unknown>};
    expect(plain.apps.tls).toBeUndefined();
  });

  it('ask routes: one per env route (path + domain query), a 404 fallback last, in a loopback server', () => {
    expect(askUrlFor('127.0.0.1:7001')).toBe(askUrl);
    expect(askRoute({id: 'osn-route-acme.main', hosts: ['main.acme.example.com']})).toEqual({
      '@id': `osn-route-acme.main${ASK_ROUTE_SUFFIX}`,
      match: [{path: ['/ask'], query: {domain: ['main.acme.example.com']}}],
      handle: [{handler: 'static_response', status_code: 200}],
      terminal: true,
    });
    const config = buildCaddyConfig({
      admin: '127.0.0.1:2019',
      server: {listen: inner, ask: '127.0.0.1:7001'},
      routes: [{id: 'osn-route-acme.main', hosts: ['main.acme.example.com'], upstream: '127.0.0.1:8069'}],
    });
    const ask = config.apps.http.servers[ASK_SERVER]!;
    expect(ask.listen).toEqual(['127.0.0.1:7001']);
    expect(ask.automatic_https).toEqual({disable: true});
    expect(ask.routes.map((r) => r['@id'])).toEqual(['osn-route-acme.main.ask', ASK_FALLBACK_ROUTE_ID]);
    expect(askFallbackRoute()).toEqual({'@id': ASK_FALLBACK_ROUTE_ID, handle: [{handler: 'static_response', status_code: 404}], terminal: true});
    // Without ask (localhost/IP domains) there is no ask server.
    expect(Object.keys(buildCaddyConfig({admin: '127.0.0.1:2019', server: {listen: inner}}).apps.http.servers)).toEqual([CADDY_SERVER]);
    // Main route ids cannot collide with ask route ids.
    expect(() => buildRoute({id: 'osn-route-a.b.ask', hosts: ['b.a.localhost'], upstream: '127.0.0.1:1'})).toThrow(UsageError);
  });
});
