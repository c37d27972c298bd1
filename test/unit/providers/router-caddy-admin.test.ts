import {describe, expect, it} from 'vitest';
import {ProviderError, UsageError} from '../../../src/core/errors.js';
import {CaddyAdmin} from '../../../src/providers/router/caddy-admin.js';

/** A fetch that records requests and answers from a queue of [status, body]. */
function fakeFetch(answers: Array<[number, unknown]>) {
  const calls: Array<{method: string; url: string; body: unknown}> = [];
  const fetch = (async (url: string, init: RequestInit) => {
    calls.push({method: init.method ?? 'GET', url, body: init.body === undefined ? undefined : JSON.parse(String(init.body))});
    const [status, body] = answers.shift() ?? [200, null];
    return new Response(body === null ? '' : JSON.stringify(body), {status});
  }) as unknown as typeof globalThis.fetch;
  return {fetch, calls};
}

const route = {id: 'osn-route-acme.main', hosts: ['main.acme.localhost'], upstream: '127.0.0.1:8069'};

describe('CaddyAdmin', () => {
  it.each(['http://10.0.0.1:2019', 'https://127.0.0.1:2019', 'http://127.0.0.1', 'http://127.0.0.1:2019/x', 'nope'])(
    'refuses admin URL %s', (adminUrl) => expect(() => new CaddyAdmin({adminUrl})).toThrow(UsageError));

  it('replaces an existing route in one PATCH by id', async () => {
    const {fetch, calls} = fakeFetch([[200, null]]);
    await new CaddyAdmin({adminUrl: 'http://127.0.0.1:2019', fetch}).setRoute(route);
    expect(calls.map((c) => `${c.method} ${c.url}`)).toEqual(['PATCH http://127.0.0.1:2019/id/osn-route-acme.main']);
  });

  it('inserts a missing route at the front, before the 404 fallback', async () => {
    const {fetch, calls} = fakeFetch([[404, {error: "unknown object ID 'osn-route-acme.main'"}], [200, null]]);
    await new CaddyAdmin({adminUrl: 'http://127.0.0.1:2019', fetch}).setRoute(route);
    expect(calls.map((c) => `${c.method} ${c.url}`)).toEqual([
      'PATCH http://127.0.0.1:2019/id/osn-route-acme.main',
      'PUT http://127.0.0.1:2019/config/apps/http/servers/odoo-sh-next/routes/0',
    ]);
    expect(calls[1]!.body).toMatchObject({'@id': route.id, match: [{host: route.hosts}]});
  });

  it("turns Caddy's errors into ProviderError with its message", async () => {
    const {fetch} = fakeFetch([[400, {error: 'loading config: bad thing'}]]);
    const err = await new CaddyAdmin({adminUrl: 'http://127.0.0.1:2019', fetch}).routes().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).message).toBe('Caddy admin GET /config/ failed (400): loading config: bad thing');
    expect((err as ProviderError).retryable).toBe(false);
  });

  it('removeRoute is a no-op on an unknown id', async () => {
    const {fetch} = fakeFetch([[404, {error: "unknown object ID 'x'"}]]);
    expect(await new CaddyAdmin({adminUrl: 'http://127.0.0.1:2019', fetch}).removeRoute('x')).toBe(false);
  });

  it('ensureServer loads only when the server differs, keeping routes', async () => {
    const {fetch, calls} = fakeFetch([[200, {apps: {http: {servers: {'odoo-sh-next': {listen: ['127.0.0.1:1'], routes: [
      {'@id': route.id, match: [{host: route.hosts}], handle: [{handler: 'reverse_proxy', upstreams: [{dial: route.upstream}]}]},
    ]}}}}}], [200, null]]);
    expect(await new CaddyAdmin({adminUrl: 'http://127.0.0.1:2019', fetch}).ensureServer({listen: '127.0.0.1:8080'})).toEqual({loaded: true});
    expect(calls[1]!.method).toBe('POST');
    expect(calls[1]!.url).toBe('http://127.0.0.1:2019/load');
    const body = calls[1]!.body as {admin: unknown; apps: {http: {servers: Record<string, {listen: string[]; routes: Array<{'@id': string}>}>}}};
    expect(body.admin).toEqual({listen: '127.0.0.1:2019'});
    expect(body.apps.http.servers['odoo-sh-next']!.listen).toEqual(['127.0.0.1:8080']);
    expect(body.apps.http.servers['odoo-sh-next']!.routes.map((r) => r['@id'])).toEqual([route.id, 'osn-fallback']);
  });

  it("ensureServer keeps the running admin section (a container's 0.0.0.0:2019 and origins)", async () => {
    const admin = {listen: '0.0.0.0:2019', origins: ['127.0.0.1:41000']};
    const {fetch, calls} = fakeFetch([[200, {admin}], [200, null]]);
    await new CaddyAdmin({adminUrl: 'http://127.0.0.1:41000', fetch}).ensureServer({listen: ':80'});
    expect((calls[1]!.body as {admin: unknown}).admin).toEqual(admin);
  });

  it('ensureServer does nothing when the server is already as asked', async () => {
    const {fetch, calls} = fakeFetch([[200, {admin: {listen: '127.0.0.1:2019'}, apps: {http: {servers: {'odoo-sh-next': {
      listen: ['127.0.0.1:8080'], automatic_https: {disable: true}, routes: [{'@id': 'osn-fallback'}],
    }}}}}]]);
    expect(await new CaddyAdmin({adminUrl: 'http://127.0.0.1:2019', fetch}).ensureServer({listen: '127.0.0.1:8080'})).toEqual({loaded: false});
    expect(calls).toHaveLength(1);
  });
});

describe('CaddyAdmin with on-demand TLS ask routes', () => {
  const tlsRoute = {id: 'osn-route-acme.main', hosts: ['main.acme.example.com'], upstream: '127.0.0.1:8069'};
  const ask = {
    '@id': 'osn-route-acme.main.ask',
    match: [{path: ['/ask'], query: {domain: ['main.acme.example.com']}}],
    handle: [{handler: 'static_response', status_code: 200}],
    terminal: true,
  };
  const unknown = (id: string): [number, unknown] => [404, {error: `unknown object ID '${id}'`}];

  it('adds the ask route to the ask server after the main route', async () => {
    const {fetch, calls} = fakeFetch([[200, null], unknown('osn-route-acme.main.ask'), [200, {listen: ['127.0.0.1:7001']}], [200, null]]);
    await new CaddyAdmin({adminUrl: 'http://127.0.0.1:2019', fetch, ask: true}).setRoute(tlsRoute);
    expect(calls.map((c) => `${c.method} ${c.url}`)).toEqual([
      'PATCH http://127.0.0.1:2019/id/osn-route-acme.main',
      'GET http://127.0.0.1:2019/id/osn-route-acme.main.ask',
      'GET http://127.0.0.1:2019/config/apps/http/servers/odoo-sh-next-ask',
      'PUT http://127.0.0.1:2019/config/apps/http/servers/odoo-sh-next-ask/routes/0',
    ]);
    expect(calls[3]!.body).toEqual(ask);
  });

  it('leaves an unchanged ask route alone on a switch (no extra reload)', async () => {
    const {fetch, calls} = fakeFetch([[200, null], [200, ask]]);
    await new CaddyAdmin({adminUrl: 'http://127.0.0.1:2019', fetch, ask: true}).setRoute(tlsRoute);
    expect(calls.map((c) => c.method)).toEqual(['PATCH', 'GET']);
  });

  it('skips the ask route when the ask server is missing', async () => {
    const {fetch, calls} = fakeFetch([[200, null], unknown('osn-route-acme.main.ask'), [200, null]]);
    await new CaddyAdmin({adminUrl: 'http://127.0.0.1:2019', fetch, ask: true}).setRoute(tlsRoute);
    expect(calls).toHaveLength(3);
  });

  it('removes the ask route before the main route', async () => {
    const {fetch, calls} = fakeFetch([[200, null], [200, null]]);
    expect(await new CaddyAdmin({adminUrl: 'http://127.0.0.1:2019', fetch, ask: true}).removeRoute('osn-route-acme.main')).toBe(true);
    expect(calls.map((c) => `${c.method} ${c.url}`)).toEqual([
      'DELETE http://127.0.0.1:2019/id/osn-route-acme.main.ask',
      'DELETE http://127.0.0.1:2019/id/osn-route-acme.main',
    ]);
  });
});
