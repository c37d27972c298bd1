// The docker-local router under load: the two-tier router container (a static front Caddy, the
// routing Caddy on a unix socket) switches an environment's route between two running releases 20
// times while 8 client loops (half keep-alive, half a new connection per request) go through it:
// no request may fail. Afterwards nothing labelled with the project remains.
import {randomBytes, randomUUID} from 'node:crypto';
import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {systemClock} from '../../../src/core/clock.js';
import {nullLogger} from '../../../src/core/logger.js';
import {databaseName} from '../../../src/core/odoo/database-name.js';
import {DockerProvider} from '../../../src/providers/docker/docker-provider.js';
import {waitHealthy, type OdooCode, type ReleaseInstance} from '../../../src/providers/provider.js';
import {CADDY_IMAGE, ODOO_IMAGE, POSTGRES_IMAGE, docker, ensureTestImages, leftovers} from '../../helpers/docker.js';
import {startLoad} from '../../helpers/load-loop.js';

const project = `rs${randomBytes(3).toString('hex')}`;
const env = 'main';
const code: OdooCode = {version: '17.0', image: ODOO_IMAGE, addonsPaths: []};
const sig = () => AbortSignal.timeout(120_000);
let dir: string | undefined;
let p: DockerProvider | undefined;

beforeAll(async () => {
  await ensureTestImages();
  dir = await mkdtemp(join(tmpdir(), 'odoo-sh-router-'));
  p = new DockerProvider(
    {
      config: {
        project, projectRoot: join(dir, 'project'),
        postgres: {image: POSTGRES_IMAGE}, odoo: {image: ODOO_IMAGE}, router: {image: CADDY_IMAGE, domain: 'localhost'},
        provider: {docker: {network: 'host'}},
      },
      clock: systemClock, logger: nullLogger,
    },
    {postgresSettings: {fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off'}, stopGraceSeconds: 5, templateCache: false},
  );
}, 600_000);

afterAll(async () => {
  if (p) {
    await p.down(sig()).catch(() => undefined);
    await p.destroyProject();
  }
  if (dir) await rm(dir, {recursive: true, force: true});
  expect(await leftovers(project)).toEqual({containers: [], volumes: [], networks: []});
}, 120_000);

describe('docker-local router: route switches under load', () => {
  it('runs the front and the routing Caddy in one labelled container', async () => {
    const {adminPort, httpPort} = await p!.state.router();
    await p!.router.ready(sig());
    const id = (await p!.router.container())!;
    const top = await docker(['top', id]);
    const caddies = top.split('\n').filter((l) => /caddy run --config \S+\s*$/.test(l) && !l.includes('/bin/sh') && !l.includes('docker-init'));
    expect(caddies).toHaveLength(2);
    const routing = await (await fetch(`http://127.0.0.1:${adminPort}/config/apps/http/servers`)).json() as Record<string, {listen: string[]}>;
    expect(Object.values(routing).flatMap((s) => s.listen)).toEqual(['unix//tmp/odoo-sh-router.sock']);
    // Unknown hosts get the routing Caddy's 404 through the front.
    const res = await fetch(`http://127.0.0.1:${httpPort}/`);
    expect(res.status).toBe(404);
  });

  it('switches the route 20 times between two releases with 8 client loops: 0 failed requests', async () => {
    const database = databaseName(project, env);
    await p!.initDatabase({env, database, code, modules: ['base'], demo: false}, sig());
    const start = async (release: string): Promise<ReleaseInstance> => {
      const i = await p!.startRelease({env, envType: 'dev', release, launchId: randomUUID(), database, code}, sig());
      await waitHealthy(p!, i, {timeoutMs: 60_000, clock: systemClock, signal: sig()});
      return i;
    };
    const blue = await start('blue');
    const green = await start('green');
    await p!.route(env, blue, sig());
    const {httpPort} = await p!.state.router();
    const load = startLoad({url: `http://127.0.0.1:${httpPort}/web/health`, hostHeader: `${env}.${project}.localhost`, clients: 8});
    try {
      await systemClock.sleep(500);
      for (let i = 0; i < 20; i++) {
        await p!.route(env, i % 2 === 0 ? green : blue, sig());
        await systemClock.sleep(150);
      }
      await systemClock.sleep(500);
    } finally {
      const result = await load.stop();
      expect(result.errors).toEqual([]);
      expect(result.failed).toBe(0);
      expect(result.ok).toBeGreaterThan(100);
    }
    const listed = await p!.list({env}, sig());
    expect(listed.find((i) => i.id === blue.id)?.routed).toBe(true);
  }, 300_000);
});
