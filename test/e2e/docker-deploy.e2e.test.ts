// Blue/green on the real engine (issue 5, point 6): the docker-local provider (host networking,
// loopback only, the locally built test images) driven in-process by the real blue-green strategy,
// smoke gate and rollback plan/service, the way the deploy and rollback run types call them. A load
// loop of 8 clients goes through the router the whole time; it must see 0 failed requests during
// 20 deploy + rollback cycles, and a green that fails any gate must never get a single request.
// The drain of the old release is a short real wait through an injected clock that records it
// (without it, a request the router already sent to blue can die when blue stops: seen as 502s).
// Afterwards nothing labelled with the test project remains.
import {execFile} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import {request} from 'node:http';
import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {promisify} from 'node:util';
import {afterAll, beforeAll, expect, it} from 'vitest';
import {systemClock, type Clock} from '../../src/core/clock.js';
import {nullLogger} from '../../src/core/logger.js';
import {databaseName} from '../../src/core/odoo/database-name.js';
import {planRollback} from '../../src/core/deploy/rollback-plan.js';
import {applyRollback, type RollbackResult} from '../../src/core/deploy/rollback-service.js';
import {fetchHttpGet, pendingModulesViaPsql, smokeGate} from '../../src/core/deploy/smoke.js';
import {blueGreenStrategy} from '../../src/core/deploy/strategies/blue-green.js';
import {StageError, type DeployOutcome, type DeployRun, type DeployTimings, type SmokeGate} from '../../src/core/deploy/strategy.js';
import {DockerProvider} from '../../src/providers/docker/docker-provider.js';
import {LABELS, type OdooCode, type ReleaseInstance} from '../../src/providers/provider.js';
import {CADDY_IMAGE, ODOO_IMAGE, POSTGRES_IMAGE, describeDocker, docker, leftovers, useDockerTestImages} from '../helpers/docker.js';
import {startLoad, type LoadHandle, type LoadResult} from '../helpers/load-loop.js';

const exec = promisify(execFile);
const BAD_GREEN_CONTEXT = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'docker', 'bad-green');
const project = `bg${randomBytes(3).toString('hex')}`;
const env = 'main';
const database = databaseName(project, env);
const host = `${env}.${project}.localhost`;
const code: OdooCode = {version: '17.0', image: ODOO_IMAGE, addonsPaths: []};
const CYCLES = 20;
/** The drain of the old release after a switch (deploy and rollback); the injected clock records it. */
const DRAIN_MS = 500;
const GOOD: DeployTimings = {healthTimeoutMs: 60_000, healthIntervalMs: 50, drainMs: DRAIN_MS};
/** A bad green is given a few seconds to become healthy (a never-healthy one fails by timeout). */
const BAD: DeployTimings = {healthTimeoutMs: 4_000, healthIntervalMs: 100, drainMs: DRAIN_MS};
const BAD_MODES = ['health-500', 'no-port', 'smoke-500'] as const;
type BadMode = (typeof BAD_MODES)[number];
const badImage = (mode: BadMode) => `odoo-sh-next-test/bad-green:${mode}-${project}`;
const sig = () => AbortSignal.timeout(180_000);

/** Real time; drain sleeps (DRAIN_MS, the health probes' pauses are shorter) are counted. */
const drains: number[] = [];
const clock: Clock = {
  now: () => systemClock.now(),
  sleep: (ms, signal) => {
    if (ms === DRAIN_MS) drains.push(ms);
    return systemClock.sleep(ms, signal);
  },
};

/** The part of a run the strategy uses, recording the phases it went through and when each ended. */
function recorder(): DeployRun & {phases: string[]; events: string[]; endedAt: Record<string, number>} {
  const phases: string[] = [];
  const events: string[] = [];
  const endedAt: Record<string, number> = {};
  return {
    phases,
    events,
    endedAt,
    async phase(name, fn) {
      phases.push(name);
      try {
        return await fn();
      } finally {
        endedAt[name] = performance.now();
      }
    },
    async event(_level, message) {
      events.push(message);
    },
  };
}

let dir: string | undefined;
let p: DockerProvider;
let smoke: SmokeGate;
let routerPort: number;
/** The release serving before every test (deployed once in beforeAll; each test leaves it serving). */
let blue: ReleaseInstance;
/** /web/health's body as the stand-in answers it (the same for every good release). */
let goodBody: string;
let serial = 0;

const routed = async (): Promise<ReleaseInstance | undefined> => (await p.list({env}, sig())).find((i) => i.routed);

/** Release containers of the env, counted by label on the engine (stopped ones too). */
async function releaseContainers(): Promise<string[]> {
  const out = await docker(['ps', '-a', '--no-trunc', '--filter', `label=${LABELS.project}=${project}`, '--filter', `label=${LABELS.env}=${env}`,
    '--filter', 'label=odoo-sh.role=release', '--format', '{{.ID}}']);
  return out.split('\n').map((l) => l.trim()).filter(Boolean).sort();
}

function deploy(release: string, opts: {image?: string; timings?: DeployTimings; run?: DeployRun} = {}): Promise<DeployOutcome> {
  serial += 1;
  return blueGreenStrategy.run({
    provider: p,
    spec: {env, envType: 'production', release, launchId: `${release}-${serial}`, database, code: {...code, image: opts.image ?? ODOO_IMAGE}},
    run: opts.run ?? recorder(),
    clock,
    signal: sig(),
    smoke,
    timings: opts.timings ?? GOOD,
  });
}

/** `deploy rollback` as the rollback run type does it: the newest kept release that is not serving, resumed. */
async function rollback(run: DeployRun = recorder()): Promise<RollbackResult> {
  const instances = await p.list({env}, sig());
  const serving = instances.find((i) => i.routed)?.release;
  const decision = planRollback({env, instances: instances.filter((i) => i.routed || i.release !== serving)});
  return applyRollback(decision, {
    provider: p, run, clock, healthTimeoutMs: 60_000, healthIntervalMs: 50, drainMs: DRAIN_MS, restart: (instance, signal) => p.resume(instance, signal),
  }, sig());
}

/** How many GET /web/health the instance answered, from its (werkzeug-style) request log. */
async function healthRequestsServed(instance: ReleaseInstance): Promise<number> {
  let count = 0;
  for await (const line of p.logs(instance, {}, sig())) if (line.includes('"GET /web/health HTTP/1.1" 200')) count += 1;
  return count;
}

/** GET /web/health through the router with the env's Host header. */
function viaRouter(): Promise<{status: number; body: string}> {
  return new Promise((resolve, reject) => {
    const req = request({host: '127.0.0.1', port: routerPort, path: '/web/health', headers: {host}}, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8').trim()}));
    });
    req.on('error', reject);
    req.end();
  });
}

function load(): LoadHandle {
  return startLoad({url: `http://127.0.0.1:${routerPort}/web/health`, hostHeader: host, clients: 8, timeoutMs: 10_000});
}

function report(label: string, r: LoadResult): void {
  process.stdout.write(`[docker-deploy] ${label}: ok=${r.ok} failed=${r.failed} in ${r.seconds.toFixed(1)} s; byStatus=${JSON.stringify(r.byStatus)}` +
    ` byBody=${JSON.stringify(r.byBody)}${r.errors.length ? `\n  errors: ${r.errors.slice(0, 10).join('\n  ')}` : ''}\n`);
}

describeDocker('blue/green deploys on docker-local (real engine)', () => {
  useDockerTestImages();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'odoo-sh-bluegreen-'));
    p = new DockerProvider(
      {
        config: {
          project, projectRoot: join(dir, 'project'),
          postgres: {image: POSTGRES_IMAGE}, odoo: {image: ODOO_IMAGE}, router: {image: CADDY_IMAGE, domain: 'localhost'},
          provider: {docker: {network: 'host'}},
        },
        clock: systemClock, logger: nullLogger,
      },
      {postgresSettings: {fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off'}, stopGraceSeconds: 5},
    );
    // The bad greens: the stand-in image with `odoo` replaced (test/fixtures/docker/bad-green).
    const building = Promise.all(BAD_MODES.map((mode) => exec('docker', [
      'build', '-q', '-t', badImage(mode), '--build-arg', `BASE=${ODOO_IMAGE}`, '--build-arg', `MODE=${mode}`, BAD_GREEN_CONTEXT,
    ], {env: {...process.env, DOCKER_BUILDKIT: '0'}})));
    await p.prepare(sig());
    routerPort = (await p.state.router()).httpPort;
    await p.initDatabase({env, database, code, modules: ['base'], demo: false}, sig());
    smoke = smokeGate({http: fetchHttpGet(10_000), envType: 'production', pendingModules: pendingModulesViaPsql(await p.database(env, sig()))});
    await building;
    // Production deployed once: the first release has no blue.
    const first = await deploy('base');
    expect(first.previous).toBeUndefined();
    blue = (await routed())!;
    expect(blue).toMatchObject({release: 'base', state: 'running'});
    const res = await viaRouter();
    expect(res.status).toBe(200);
    goodBody = res.body;
  }, 300_000);

  afterAll(async () => {
    if (p) await p.destroyProject().catch(() => undefined);
    if (dir) await rm(dir, {recursive: true, force: true});
    await docker(['rmi', '-f', ...BAD_MODES.map(badImage)]).catch(() => '');
  }, 120_000);

  it(`deploys and rolls back ${CYCLES} times under load (8 clients through the router) with 0 failed requests`, async () => {
    const before = await releaseContainers();
    const loop = load();
    const started = performance.now();
    const deploySecs: number[] = [];
    const rollbackSecs: number[] = [];
    const drained = drains.length;
    let result: LoadResult;
    // Which switch the failed requests (if any) belong to.
    const failedDuring: string[] = [];
    let failedSoFar = 0;
    const noteFailures = (what: string) => {
      const failed = loop.snapshot().failed;
      if (failed > failedSoFar) failedDuring.push(`${what}: ${failed - failedSoFar}`);
      failedSoFar = failed;
    };
    try {
      for (let cycle = 1; cycle <= CYCLES; cycle++) {
        let t = performance.now();
        const outcome = await deploy(`r${cycle}`);
        deploySecs.push((performance.now() - t) / 1000);
        noteFailures(`deploy r${cycle}`);
        // A new container (green) serves; blue is stopped and kept.
        expect(outcome.previous).toEqual({release: 'base', launchId: blue.launchId});
        const green = await routed();
        expect(green).toMatchObject({release: `r${cycle}`, launchId: outcome.launchId, state: 'running'});
        expect(green!.id).not.toBe(blue.id);
        expect((await p.list({env}, sig())).find((i) => i.id === blue.id)?.state).toBe('stopped');
        t = performance.now();
        const back = await rollback();
        rollbackSecs.push((performance.now() - t) / 1000);
        noteFailures(`rollback of r${cycle}`);
        // The very same kept container is resumed; the rolled-away green is stopped.
        expect(back).toMatchObject({release: 'base', launchId: blue.launchId, from: {release: `r${cycle}`, launchId: outcome.launchId}});
        expect((await routed())?.id).toBe(blue.id);
        // The green really served the load between the two switches (not only the gate's probes).
        expect(await healthRequestsServed(green!)).toBeGreaterThan(10);
        // Discard the rolled-away release, so the next rollback's "previous" is base again.
        expect(await p.remove(green!, sig())).toEqual({removed: true});
      }
    } finally {
      result = await loop.stop();
      report(`${CYCLES} deploy+rollback cycles`, result);
      if (failedDuring.length > 0) process.stdout.write(`[docker-deploy] failed requests during: ${failedDuring.join(', ')}\n`);
      const avg = (xs: number[]) => (xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1)).toFixed(2);
      process.stdout.write(`[docker-deploy] cycles took ${((performance.now() - started) / 1000).toFixed(1)} s; ` +
        `deploy avg ${avg(deploySecs)} s max ${Math.max(...deploySecs).toFixed(2)} s; rollback avg ${avg(rollbackSecs)} s max ${Math.max(...rollbackSecs).toFixed(2)} s\n`);
    }
    expect(result.failed).toBe(0);
    expect(result.ok).toBeGreaterThan(CYCLES * 50);
    expect(Object.keys(result.byBody)).toEqual([goodBody]);
    // Every deploy drained blue and every rollback the green (through the injected clock) before stopping it.
    expect(drains.length - drained).toBe(2 * CYCLES);
    expect(await releaseContainers()).toEqual(before);
  }, 240_000);

  const refusals: ReadonlyArray<{mode: BadMode; what: string; stage: string; reason: RegExp}> = [
    {mode: 'health-500', what: 'a green answering 500 on /web/health', stage: 'wait-healthy', reason: /did not become healthy.*HTTP 500/},
    {mode: 'no-port', what: 'a green that never opens its port', stage: 'wait-healthy', reason: /did not become healthy.*ECONNREFUSED/},
    {mode: 'smoke-500', what: 'a green whose smoke page fails (its asset answers 500)', stage: 'smoke-check', reason: /smoke check.*asset: \/web\/assets\/.*HTTP 500/},
  ];
  for (const {mode, what, stage, reason} of refusals) {
    it(`refuses ${what} at ${stage}; blue keeps all traffic`, async () => {
      const before = await releaseContainers();
      const run = recorder();
      const loop = load();
      const err = await deploy(`bad-${mode}`, {image: badImage(mode), timings: BAD, run}).then(() => undefined, (e: unknown) => e);
      const result = await loop.stop();
      report(`refused green (${mode})`, result);
      // Every request was answered by blue: a bad green's bodies name their mode.
      expect(result.failed).toBe(0);
      expect(result.ok).toBeGreaterThan(20);
      expect(Object.keys(result.byBody)).toEqual([goodBody]);
      expect(err).toBeInstanceOf(StageError);
      const failure = err as StageError;
      expect(failure.stage).toBe(stage);
      expect(failure.message).toMatch(reason);
      expect(failure.message).toContain('traffic: stays on the previous release base');
      expect(failure.data?.['traffic']).toBe('previous');
      expect(run.phases).toContain('rollback');
      expect(run.phases).not.toContain('switch-route');
      // The green is removed; the route still points at blue, which still runs.
      expect(await releaseContainers()).toEqual(before);
      const now = await routed();
      expect(now).toMatchObject({id: blue.id, launchId: blue.launchId, state: 'running'});
    }, 60_000);
  }

  it('rolls back to the previous release within seconds by resuming its kept container', async () => {
    const before = await releaseContainers();
    const outcome = await deploy('next');
    const green = (await routed())!;
    expect(green.launchId).toBe(outcome.launchId);
    expect(await releaseContainers()).toHaveLength(before.length + 1);
    const t = performance.now();
    const run = recorder();
    const back = await rollback(run);
    const secs = (performance.now() - t) / 1000;
    const switched = (run.endedAt['switch-route']! - t) / 1000;
    process.stdout.write(`[docker-deploy] rollback next → base: traffic switched after ${switched.toFixed(2)} s, ` +
      `done after ${secs.toFixed(2)} s (${run.phases.join(' → ')}; drain ${DRAIN_MS} ms)\n`);
    expect(switched).toBeLessThan(10);
    expect(run.phases).toEqual(['start-previous', 'wait-healthy', 'switch-route', 'stop-current']);
    expect(back).toMatchObject({release: 'base', launchId: blue.launchId, from: {release: 'next', launchId: outcome.launchId}});
    expect(back.message).toContain('restore the pre-deploy backup');
    // Resumed, not recreated: the same containers exist, blue serves again, the green is kept stopped.
    expect(await releaseContainers()).toEqual([...before, green.id].sort());
    const listed = await p.list({env}, sig());
    expect(listed.find((i) => i.id === blue.id)).toMatchObject({routed: true, state: 'running'});
    expect(listed.find((i) => i.id === green.id)).toMatchObject({routed: false, state: 'stopped'});
    expect(await viaRouter()).toEqual({status: 200, body: goodBody});
  }, 60_000);

  it('leaves nothing labelled with the test project once the project is destroyed', async () => {
    await p.destroyProject();
    expect(await leftovers(project)).toEqual({containers: [], volumes: [], networks: []});
  }, 60_000);
});
