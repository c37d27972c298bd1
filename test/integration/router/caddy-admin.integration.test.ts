/**
 * CaddyAdmin against a real Caddy (Debian's caddy binary): routes by host, atomic switches, removal,
 * the catch-all 404, and the property blue/green deploys rely on: switching a route back and
 * forth under load fails no request.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {ProviderError} from '../../../src/core/errors.js';
import {CaddyAdmin} from '../../../src/providers/router/caddy-admin.js';
import {buildFrontConfig, routeHostFor, routeIdFor} from '../../../src/providers/router/caddy-config.js';
import {startLoad, type LoadResult} from '../../helpers/load-loop.js';
import {freePort, startCaddy, startUpstream, type CaddyProcess, type Upstream} from './caddy-process.js';
import {getWithHost} from '../../helpers/http.js';

const get = getWithHost;

describe('CaddyAdmin on a real Caddy', () => {
  let caddy: CaddyProcess;
  let a: Upstream;
  let b: Upstream;
  let admin: CaddyAdmin;
  let port: number;
  const id = routeIdFor('acme', 'main');
  const host = routeHostFor('acme', 'main', 'localhost');

  beforeAll(async () => {
    [caddy, a, b, port] = await Promise.all([startCaddy(), startUpstream('A'), startUpstream('B'), freePort()]);
    admin = new CaddyAdmin({adminUrl: caddy.adminUrl});
  });
  afterAll(async () => {
    await caddy?.stop();
    await a?.close();
    await b?.close();
  });

  it('loads the server once, and again only when it changes, keeping the routes', async () => {
    expect(await admin.ensureServer({listen: `127.0.0.1:${port}`})).toEqual({loaded: true});
    expect(await admin.ensureServer({listen: `127.0.0.1:${port}`})).toEqual({loaded: false});
    await admin.setRoute({id: 'osn-route-keep.me', hosts: ['keep.me.localhost'], upstream: a.address});
    const other = await freePort();
    expect(await admin.ensureServer({listen: `127.0.0.1:${other}`})).toEqual({loaded: true});
    expect(await admin.routes()).toEqual([{id: 'osn-route-keep.me', hosts: ['keep.me.localhost'], upstream: a.address}]);
    expect(await get(other, 'keep.me.localhost')).toEqual({status: 200, body: 'A'});
    await admin.ensureServer({listen: `127.0.0.1:${port}`});
    expect(await admin.removeRoute('osn-route-keep.me')).toBe(true);
  });

  it('routes by host, switches atomically, reads routes back, and removes them', async () => {
    await admin.setRoute({id, hosts: [host], upstream: a.address});
    expect(await get(port, host)).toEqual({status: 200, body: 'A'});
    await admin.setRoute({id, hosts: [host], upstream: b.address});
    expect(await get(port, host, '/web/health')).toEqual({status: 200, body: 'B'});
    expect(await admin.routes()).toEqual([{id, hosts: [host], upstream: b.address}]);

    expect(await admin.removeRoute(id)).toBe(true);
    expect((await get(port, host)).status).toBe(404);
    expect(await admin.removeRoute(id)).toBe(false);
    expect(await admin.routes()).toEqual([]);
  });

  it('answers 404 for unknown hosts, beside routed ones', async () => {
    await admin.setRoute({id, hosts: [host], upstream: a.address});
    await admin.setRoute({id: routeIdFor('acme', 'staging'), hosts: [routeHostFor('acme', 'staging', 'localhost')], upstream: b.address});
    expect(await get(port, 'nope.acme.localhost')).toMatchObject({status: 404});
    expect(await get(port, '127.0.0.1')).toMatchObject({status: 404});
    expect(await get(port, 'staging.acme.localhost')).toEqual({status: 200, body: 'B'});
    expect(await get(port, host)).toEqual({status: 200, body: 'A'});
    expect((await admin.routes()).map((r) => r.id).sort()).toEqual([id, routeIdFor('acme', 'staging')]);
    await admin.removeRoute(routeIdFor('acme', 'staging'));
  });

  it('admin calls right after a change succeed (Caddy restarts its admin endpoint on every change)', async () => {
    for (let i = 0; i < 30; i++) {
      await admin.setRoute({id, hosts: [host], upstream: (i % 2 === 0 ? a : b).address});
      expect(await admin.routes()).toEqual([{id, hosts: [host], upstream: (i % 2 === 0 ? a : b).address}]);
    }
    expect(await admin.removeRoute(id)).toBe(true);
  });

  it("reports Caddy's errors as ProviderError", async () => {
    // A route into a server that does not exist (no ensureServer on this Caddy).
    const fresh = await startCaddy();
    try {
      const err = await new CaddyAdmin({adminUrl: fresh.adminUrl}).setRoute({id, hosts: [host], upstream: a.address}).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProviderError);
      expect((err as ProviderError).message).toMatch(/Caddy admin PUT .* failed \(\d+\): .+/);
    } finally {
      await fresh.stop();
    }
    const down = await new CaddyAdmin({adminUrl: `http://127.0.0.1:${await freePort()}`}).routes().catch((e: unknown) => e);
    expect(down).toBeInstanceOf(ProviderError);
    expect((down as ProviderError).retryable).toBe(true);
  });

  // The property blue/green deploys rely on. Every admin change is a full config reload in Caddy,
  // and Caddy 2.6.2 (Debian bookworm) drops a few connections on each reload whatever the settings:
  // see the comment on GRACE_PERIOD in src/providers/router/caddy-config.ts. The route itself is
  // never missing (no 404/502 ever); the connection resets are counted and asserted separately.
  let underLoad: LoadResult | undefined;
  it('switches A↔B 50 times under 8 client loops: the route is never missing, and resets are counted', async () => {
    await admin.setRoute({id, hosts: [host], upstream: a.address});
    const load = startLoad({url: `http://127.0.0.1:${port}/web/health`, hostHeader: host, clients: 8});
    await new Promise((r) => setTimeout(r, 200));
    const switchMs: number[] = [];
    for (let i = 0; i < 50; i++) {
      const t0 = performance.now();
      await admin.setRoute({id, hosts: [host], upstream: (i % 2 === 0 ? b : a).address});
      switchMs.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 200));
    underLoad = await load.stop();
    const summary = JSON.stringify({ok: underLoad.ok, failed: underLoad.failed, byStatus: underLoad.byStatus, byBody: underLoad.byBody,
      errors: underLoad.errors.slice(0, 5), switchMsMax: Math.max(...switchMs).toFixed(1)});
    const httpFailures = Object.keys(underLoad.byStatus).filter((k) => /^\d+$/.test(k) && k !== '200');
    expect(httpFailures, summary).toEqual([]);
    expect(underLoad.ok).toBeGreaterThan(100);
    expect(Object.keys(underLoad.byBody).sort()).toEqual(['A', 'B']);
    expect(await get(port, host)).toEqual({status: 200, body: 'A'});
    expect(Math.max(...switchMs)).toBeLessThan(2000);
  });

  // Expected to fail on Caddy 2.6.2 with one tier: the two-tier layout below is the fix.
  it.fails('one tier: fails no request at all during those switches (connection resets included)', () => {
    expect(underLoad?.failed, JSON.stringify(underLoad?.byStatus)).toBe(0);
  });
});

/** Switches A↔B `n` times while 8 client loops (half keep-alive) go through port `port`. */
async function switchUnderLoad(admin: CaddyAdmin, port: number, host: string, id: string, a: Upstream, b: Upstream, n: number): Promise<LoadResult> {
  const load = startLoad({url: `http://127.0.0.1:${port}/web/health`, hostHeader: host, clients: 8});
  await new Promise((r) => setTimeout(r, 200));
  for (let i = 0; i < n; i++) {
    await admin.setRoute({id, hosts: [host], upstream: (i % 2 === 0 ? b : a).address});
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 200));
  return load.stop();
}

describe('two-tier router: a static front Caddy, the routing Caddy on a unix socket', () => {
  let front: CaddyProcess;
  let inner: CaddyProcess;
  let a: Upstream;
  let b: Upstream;
  let port: number;
  let admin: CaddyAdmin;
  const id = routeIdFor('acme', 'main');
  const host = routeHostFor('acme', 'main', 'localhost');

  beforeAll(async () => {
    [inner, a, b, port] = await Promise.all([startCaddy(), startUpstream('A'), startUpstream('B'), freePort()]);
    const socket = `unix/${inner.dir}/router.sock`;
    admin = new CaddyAdmin({adminUrl: inner.adminUrl});
    await admin.ensureServer({listen: socket});
    front = await startCaddy({config: (adminListen) => buildFrontConfig({listen: `127.0.0.1:${port}`, admin: adminListen, inner: socket})});
  });
  afterAll(async () => {
    await front?.stop();
    await inner?.stop();
    await a?.close();
    await b?.close();
  });

  it('routes by host through the front; unknown hosts get the 404', async () => {
    await admin.setRoute({id, hosts: [host], upstream: a.address});
    expect(await get(port, host)).toEqual({status: 200, body: 'A'});
    expect((await get(port, 'other.acme.localhost')).status).toBe(404);
  });

  it('switches A↔B 50 times under 8 client loops without failing a single request', async () => {
    const result = await switchUnderLoad(admin, port, host, id, a, b, 50);
    const summary = JSON.stringify({ok: result.ok, failed: result.failed, byStatus: result.byStatus, byBody: result.byBody, errors: result.errors.slice(0, 5)});
    expect(result.failed, summary).toBe(0);
    expect(result.ok).toBeGreaterThan(100);
    expect(Object.keys(result.byBody).sort()).toEqual(['A', 'B']);
    expect(await get(port, host)).toEqual({status: 200, body: 'A'});
  });
});
