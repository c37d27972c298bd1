/**
 * The on-demand TLS "ask" endpoint on a real Caddy (Debian's caddy binary): with a real domain the
 * front Caddy asks the routing Caddy `GET /ask?domain=<host>` before getting a certificate, and only
 * hosts that have a route may answer 2xx. CaddyAdmin({ask: true}) keeps the ask routes next to the
 * environment routes; this checks what the real Caddy answers (the unit tests only check the JSON).
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {CaddyAdmin} from '../../../src/providers/router/caddy-admin.js';
import {ASK_SERVER, askUrlFor, routeHostFor, routeIdFor} from '../../../src/providers/router/caddy-config.js';
import {freePort, startCaddy, startUpstream, type CaddyProcess, type Upstream} from './caddy-process.js';
import {getWithHost} from '../../helpers/http.js';

const DOMAIN = 'odoo.example.com';

const get = getWithHost;

describe('on-demand TLS ask endpoint on a real Caddy', () => {
  let caddy: CaddyProcess;
  let upstream: Upstream;
  let admin: CaddyAdmin;
  let listenPort: number;
  let askPort: number;
  const id = routeIdFor('acme', 'main');
  const host = routeHostFor('acme', 'main', DOMAIN);
  const ask = async (domain: string): Promise<number> => {
    const url = new URL(askUrlFor(`127.0.0.1:${askPort}`));
    url.searchParams.set('domain', domain);
    return (await fetch(url, {signal: AbortSignal.timeout(5000)})).status;
  };

  beforeAll(async () => {
    [caddy, upstream, listenPort, askPort] = await Promise.all([startCaddy(), startUpstream('A'), freePort(), freePort()]);
    admin = new CaddyAdmin({adminUrl: caddy.adminUrl, ask: true});
    // The routing Caddy of the two-tier router: plain HTTP behind the front (which holds the certificates).
    expect(await admin.ensureServer({listen: `127.0.0.1:${listenPort}`, domainTls: false, ask: `127.0.0.1:${askPort}`})).toEqual({loaded: true});
  });
  afterAll(async () => {
    await caddy?.stop();
    await upstream?.close();
  });

  it('before any route: every host is refused', async () => {
    expect(await ask(host)).toBe(404);
    expect(await ask('')).toBe(404);
  });

  it('a routed host answers 200; unknown hosts, other paths and look-alikes do not', async () => {
    await admin.setRoute({id, hosts: [host], upstream: upstream.address});
    expect(await ask(host)).toBe(200);
    expect(await ask(`x.${host}`)).toBe(404);
    expect(await ask(`staging.acme.${DOMAIN}`)).toBe(404);
    expect(await ask('evil.example.net')).toBe(404);
    expect((await fetch(`http://127.0.0.1:${askPort}/other?domain=${host}`)).status).toBe(404);
    // the routing server itself serves the host
    expect(await get(listenPort, host)).toEqual({status: 200, body: 'A'});
  });

  it('a route switch keeps the host allowed; ensureServer again changes nothing', async () => {
    const other = await startUpstream('B');
    try {
      await admin.setRoute({id, hosts: [host], upstream: other.address});
      expect(await ask(host)).toBe(200);
      expect(await admin.ensureServer({listen: `127.0.0.1:${listenPort}`, domainTls: false, ask: `127.0.0.1:${askPort}`})).toEqual({loaded: false});
      expect(await ask(host)).toBe(200);
    } finally {
      await admin.setRoute({id, hosts: [host], upstream: upstream.address});
      await other.close();
    }
  });

  it('a second environment is allowed beside the first; removing a route refuses its host again', async () => {
    const staging = routeHostFor('acme', 'staging', DOMAIN);
    await admin.setRoute({id: routeIdFor('acme', 'staging'), hosts: [staging], upstream: upstream.address});
    expect([await ask(host), await ask(staging)]).toEqual([200, 200]);

    expect(await admin.removeRoute(id)).toBe(true);
    expect(await ask(host)).toBe(404);
    expect(await ask(staging)).toBe(200);
    expect(await admin.removeRoute(routeIdFor('acme', 'staging'))).toBe(true);
    expect(await ask(staging)).toBe(404);
    const servers = (await (await fetch(`${caddy.adminUrl}/config/apps/http/servers/${ASK_SERVER}/routes`)).json()) as {'@id'?: string}[];
    expect(servers.map((r) => r['@id'])).toEqual(['osn-ask-fallback']);
  });

  it('the ask server survives a reload of the main server (routes carried over)', async () => {
    await admin.setRoute({id, hosts: [host], upstream: upstream.address});
    const moved = await freePort();
    expect(await admin.ensureServer({listen: `127.0.0.1:${moved}`, domainTls: false, ask: `127.0.0.1:${askPort}`})).toEqual({loaded: true});
    expect(await ask(host)).toBe(200);
    expect(await ask('unknown.acme.odoo.example.com')).toBe(404);
    await admin.removeRoute(id);
    expect(await ask(host)).toBe(404);
  });
});
