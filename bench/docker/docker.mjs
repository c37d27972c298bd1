// Bench: containers (issue 5). On the local Docker engine with the locally built test images
// (test/helpers/docker-images.json), host networking, loopback only:
//  - the floor: a raw `docker run` of the Odoo image until /web/health answers 200;
//  - the edge router: route switch time through Caddy's admin API (CaddyAdmin.setRoute), the time
//    until a request sees the new upstream, and the requests that fail during 20 switches under
//    8 client loops (test/helpers/load-loop.ts; target 0), for one tier (clients on the Caddy the
//    admin API reloads) and two tiers (a static front Caddy, the routing one on a unix socket).
//    Needs only caddy (/usr/bin/caddy, else the Caddy test image) and two tiny upstreams;
//  - `build`: a full build of a project with two addons sources vs the rebuild after one file of
//    one source changed (ratio);
//  - `preview up` on docker-local with that warm build cache: time until the environment is healthy
//    through the router, vs the floor.
// Rows that cannot be measured (no engine, no image, a command that fails) say why. Informational.
import {execFile, spawn, spawnSync} from 'node:child_process';
import {existsSync, readFileSync} from 'node:fs';
import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {performance} from 'node:perf_hooks';
import {pathToFileURL} from 'node:url';
import {promisify} from 'node:util';
import {ROOT, fmt, load, log, median, printTable, quantile, row, skippedRow} from '../lib/common.mjs';

const execFileP = promisify(execFile);
const IMAGES = JSON.parse(readFileSync(join(ROOT, 'test', 'helpers', 'docker-images.json'), 'utf8'));
const SWITCHES = Number(process.env.BENCH_DOCKER_SWITCHES ?? 20);
const CLIENTS = 8;
const TEST_LABEL = 'odoo-sh-next.test=bench-docker';
const env = {...process.env, PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}`};
const fromSrc = Boolean(process.env.BENCH_FROM_SRC) || !existsSync(join(ROOT, 'dist', 'commands', 'build.js'));

const docker = async (...args) => (await execFileP('docker', args, {maxBuffer: 64 * 1024 * 1024, timeout: 600_000})).stdout.trim();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const {port} = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** GET with a Host header; never throws (status 0 on a connection error). */
function get(port, host, path = '/web/health') {
  return new Promise((resolve) => {
    const req = http.request({host: '127.0.0.1', port, path, agent: false, headers: {host}}, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({status: res.statusCode, body: body.trim()}));
    });
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({status: 0, body: ''}));
    req.end();
  });
}

async function until200(port, host, deadlineMs = 120_000) {
  const end = performance.now() + deadlineMs;
  while (performance.now() < end) {
    if ((await get(port, host)).status === 200) return;
    await sleep(10);
  }
  throw new Error(`127.0.0.1:${port} (Host ${host}) did not answer 200 within ${deadlineMs} ms`);
}

/** The CLI: bin/run.js on dist/, or bin/dev.js through tsx when running from the sources. */
function cli(cwd, ...args) {
  const argv = fromSrc ? ['--import', import.meta.resolve('tsx'), join(ROOT, 'bin', 'dev.js')] : [join(ROOT, 'bin', 'run.js')];
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [...argv, ...args, '--json'], {cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 900_000});
  const ms = performance.now() - t0;
  let json = null;
  try { json = JSON.parse(r.stdout); } catch { /* not JSON */ }
  if (r.status !== 0) {
    const why = json?.error?.message ?? (r.stderr.trim().split('\n').slice(-3).join(' ') || r.stdout.slice(0, 300));
    throw new Error(`odoo-sh-next ${args.join(' ')} exited ${r.status}: ${why}`);
  }
  return {ms, json};
}

async function imagePresent(image) {
  return execFileP('docker', ['image', 'inspect', image]).then(() => true, () => false);
}

// ------------------------------------------------------------------ the floor

/** `docker run` of the Odoo image (host network) until /web/health answers 200; the container is removed. */
async function rawDockerRun() {
  const port = await freePort();
  const t0 = performance.now();
  const id = await docker('run', '-d', '--network', 'host', '--label', TEST_LABEL, IMAGES.odoo, '--http-interface', '127.0.0.1', '--http-port', String(port));
  try {
    await until200(port, `127.0.0.1:${port}`);
    return performance.now() - t0;
  } finally {
    await docker('rm', '-f', '-v', id).catch(() => '');
  }
}

// ------------------------------------------------------------------ the router

/** A caddy with only its admin API (or `config(adminListen)`): /usr/bin/caddy, else the Caddy test image. */
async function startCaddy(configFor = (adminListen) => ({admin: {listen: adminListen}})) {
  const adminPort = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'odoo-sh-next-bench-caddy-'));
  const config = JSON.stringify(configFor(`127.0.0.1:${adminPort}`));
  let stop;
  let kind;
  await writeFile(join(dir, 'caddy.json'), config);
  if (existsSync('/usr/bin/caddy') || process.env.CADDY_BIN) {
    const child = spawn(process.env.CADDY_BIN ?? '/usr/bin/caddy', ['run', '--config', join(dir, 'caddy.json')], {
      env: {PATH: process.env.PATH, HOME: dir, XDG_CONFIG_HOME: join(dir, 'config'), XDG_DATA_HOME: join(dir, 'data')}, stdio: 'ignore',
    });
    kind = 'caddy binary';
    stop = async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
    };
  } else {
    if (!(await imagePresent(IMAGES.caddy))) throw new Error(`no caddy binary and no ${IMAGES.caddy} image (node scripts/docker-test-images.mjs builds it)`);
    // The temp folder is shared so that the front container reaches the routing one's unix socket.
    const id = await docker('run', '-d', '--network', 'host', '--label', TEST_LABEL, '-v', `${tmpdir()}:${tmpdir()}`, IMAGES.caddy,
      'caddy', 'run', '--config', join(dir, 'caddy.json'));
    kind = `${IMAGES.caddy} container`;
    stop = () => docker('rm', '-f', id).catch(() => '');
  }
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  const end = performance.now() + 20_000;
  for (;;) {
    try {
      if ((await fetch(`${adminUrl}/config/`)).ok) break;
    } catch { /* not yet */ }
    if (performance.now() > end) throw new Error(`caddy (${kind}) admin did not answer on ${adminUrl}`);
    await sleep(50);
  }
  return {adminUrl, dir, kind, stop: async () => { await stop(); await rm(dir, {recursive: true, force: true}); }};
}

async function upstream(name) {
  const server = http.createServer((req, res) => {
    req.resume();
    res.end(`${name}\n`);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {address: `127.0.0.1:${server.address().port}`, close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); })};
}

/** The load loop of the tests (TypeScript, through tsx). */
async function loadLoop() {
  const {register} = await import('tsx/esm/api');
  register();
  return import(pathToFileURL(join(ROOT, 'test', 'helpers', 'load-loop.ts')).href);
}

/** Quiet switches (admin round trip; until a fresh request sees the new upstream), then switches under load. */
async function switchFigures({admin, startLoad, port, host, id, a, b}) {
  await admin.setRoute({id, hosts: [host], upstream: a.address});
  await until200(port, host);
  const switchMs = [];
  const visibleMs = [];
  for (let i = 0; i < SWITCHES; i++) {
    const want = i % 2 === 0 ? 'B' : 'A';
    const t0 = performance.now();
    await admin.setRoute({id, hosts: [host], upstream: (i % 2 === 0 ? b : a).address});
    switchMs.push(performance.now() - t0);
    while ((await get(port, host)).body !== want) await sleep(1);
    visibleMs.push(performance.now() - t0);
  }
  const loadHandle = startLoad({url: `http://127.0.0.1:${port}/web/health`, hostHeader: host, clients: CLIENTS});
  await sleep(300);
  for (let i = 0; i < SWITCHES; i++) {
    await admin.setRoute({id, hosts: [host], upstream: (i % 2 === 0 ? b : a).address});
    await sleep(50);
  }
  await sleep(300);
  const load = await loadHandle.stop();
  const kinds = Object.entries(load.byStatus).filter(([k]) => k !== '200').map(([k, n]) => `${n} ${k}`).join(', ') || 'none';
  return {switchMs, visibleMs, load, kinds};
}

async function routerBench() {
  const [{CaddyAdmin}, {buildFrontConfig, routeHostFor, routeIdFor}, {startLoad}] = await Promise.all([
    load('providers/router/caddy-admin'), load('providers/router/caddy-config'), loadLoop(),
  ]);
  const id = routeIdFor('bench', 'main');
  const host = routeHostFor('bench', 'main', 'localhost');
  const [a, b] = await Promise.all([upstream('A'), upstream('B')]);
  const stops = [];
  try {
    // One tier: clients talk to the Caddy that the admin API reconfigures.
    const single = await startCaddy();
    stops.push(single.stop);
    const port1 = await freePort();
    const admin1 = new CaddyAdmin({adminUrl: single.adminUrl});
    await admin1.ensureServer({listen: `127.0.0.1:${port1}`});
    const one = await switchFigures({admin: admin1, startLoad, port: port1, host, id, a, b});

    // Two tiers: a static front Caddy, the routing Caddy on a unix socket (buildFrontConfig).
    const inner = await startCaddy();
    stops.push(inner.stop);
    const socket = `unix/${inner.dir}/router.sock`;
    const admin2 = new CaddyAdmin({adminUrl: inner.adminUrl});
    await admin2.ensureServer({listen: socket});
    const port2 = await freePort();
    const front = await startCaddy((adminListen) => buildFrontConfig({listen: `127.0.0.1:${port2}`, admin: adminListen, inner: socket}));
    stops.push(front.stop);
    const two = await switchFigures({admin: admin2, startLoad, port: port2, host, id, a, b});

    const rows = [];
    for (const [label, f] of [['one tier', one], ['two tiers', two]]) {
      const total = f.load.ok + f.load.failed;
      log(`  router, ${label} (${single.kind}): switch median ${fmt(median(f.switchMs), 1)} ms, p95 ${fmt(quantile(f.switchMs, 0.95), 1)} ms; visible median ${fmt(median(f.visibleMs), 1)} ms; under load ${fmt(total)} requests in ${fmt(f.load.seconds, 1)} s, ${f.load.failed} failed (${f.kinds})`);
      rows.push(
        row({metric: `route switch, ${label}: setRoute round trip (median)`, unit: 'ms', project: median(f.switchMs), target: '< 1000 ms (rollback in seconds)',
          pass: median(f.switchMs) < 1000, note: `p95 ${fmt(quantile(f.switchMs, 0.95), 1)} ms over ${SWITCHES} switches; ${single.kind}`}),
        row({metric: `route switch, ${label}: until a new request reaches the new upstream`, unit: 'ms', project: median(f.visibleMs), target: '< 1000 ms',
          pass: median(f.visibleMs) < 1000, note: `median; p95 ${fmt(quantile(f.visibleMs, 0.95), 1)} ms`}),
        row({metric: `requests failed during ${SWITCHES} switches, ${CLIENTS} clients, ${label}`, unit: null, project: f.load.failed, raw: total,
          ratio: total ? f.load.failed / total : null, target: '0', pass: f.load.failed === 0,
          note: label === 'one tier'
            ? `${f.kinds}; every admin change reloads the client-facing server (see GRACE_PERIOD in src/providers/router/caddy-config.ts)`
            : `${f.kinds}; static front Caddy -> routing Caddy on a unix socket, no upstream keep-alive (buildFrontConfig)`}),
      );
    }
    return {rows, details: {oneTier: one, twoTiers: two, caddy: single.kind}};
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await a.close();
    await b.close();
  }
}

// ------------------------------------------------------------------ build and preview on docker-local

async function writeProject(dir, project) {
  const write = async (path, text) => {
    await mkdir(join(dir, path, '..'), {recursive: true});
    await writeFile(join(dir, path), text);
  };
  await write('addons-a/bench_sale/__manifest__.py', "{'name': 'Bench sale', 'version': '17.0.1.0.0', 'depends': ['base']}\n");
  await write('addons-a/bench_sale/__init__.py', '');
  await write('addons-b/bench_stock/__manifest__.py', "{'name': 'Bench stock', 'version': '17.0.1.0.0', 'depends': ['bench_sale']}\n");
  await write('addons-b/bench_stock/__init__.py', '');
  await write('addons-b/bench_stock/models.py', 'X = 1\n');
  await writeFile(join(dir, 'odoo-sh-next.config.yaml'), [
    `project: ${project}`,
    'provider: {name: docker-local, docker: {network: host}}',
    `odoo: {version: "17.0", image: ${JSON.stringify(IMAGES.odoo)}, addons: [{path: ./addons-a}, {path: ./addons-b}]}`,
    `postgres: {image: ${JSON.stringify(IMAGES.postgres)}}`,
    `router: {image: ${JSON.stringify(IMAGES.caddy)}, domain: localhost}`,
    '',
  ].join('\n'));
  const git = (...args) => spawnSync('git', args, {cwd: dir, env: {...env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@example.invalid', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@example.invalid'}});
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-q', '-m', 'bench');
  for (const branch of ['feature/first', 'feature/warm']) git('branch', branch);
  return write;
}

async function removeProject(dir, project) {
  spawnSync(process.execPath, [...(fromSrc ? ['--import', import.meta.resolve('tsx'), join(ROOT, 'bin', 'dev.js')] : [join(ROOT, 'bin', 'run.js')]), 'down'], {cwd: dir, env, stdio: 'ignore', timeout: 120_000});
  const filter = `label=odoo-sh.project=${project}`;
  const ids = (s) => s.split('\n').filter(Boolean);
  const containers = ids(await docker('ps', '-aq', '--filter', filter).catch(() => ''));
  if (containers.length) await docker('rm', '-f', '-v', ...containers).catch(() => '');
  const volumes = ids(await docker('volume', 'ls', '-q', '--filter', filter).catch(() => ''));
  if (volumes.length) await docker('volume', 'rm', '-f', ...volumes).catch(() => '');
  const networks = ids(await docker('network', 'ls', '-q', '--filter', filter).catch(() => ''));
  if (networks.length) await docker('network', 'rm', ...networks).catch(() => '');
  const images = ids(await docker('images', '--format', '{{.Repository}}:{{.Tag}}').catch(() => ''))
    .filter((t) => t.startsWith(`odoo-sh-next/${project}:`) || t.startsWith(`odoo-sh-next-cache/${project}:`));
  if (images.length) await docker('rmi', '-f', ...images).catch(() => '');
}

async function projectBench(floorMs) {
  const rows = [];
  const details = {};
  const project = `bd${Math.random().toString(16).slice(2, 8)}`;
  const dir = await mkdtemp(join(tmpdir(), 'odoo-sh-next-bench-docker-'));
  const buildTarget = 'informational (< 1: only the changed layer rebuilds)';
  const previewTarget = 'informational';
  try {
    const write = await writeProject(dir, project);

    // build: full, then after one file of one source changed.
    if (!existsSync(join(ROOT, 'src', 'commands', 'build.ts'))) {
      rows.push(skippedRow('build: rebuild after one addon change vs full build', buildTarget, 'not built yet (no `build` command)'));
    } else {
      try {
        const full = cli(dir, 'build');
        await write('addons-b/bench_stock/models.py', 'X = 2\n');
        const rebuild = cli(dir, 'build');
        const same = cli(dir, 'build');
        details.build = {fullMs: full.ms, rebuildMs: rebuild.ms, unchangedMs: same.ms,
          rebuilt: [full.json.result.rebuilt, rebuild.json.result.rebuilt, same.json.result.rebuilt]};
        log(`  build: full ${fmt(full.ms)} ms (${full.json.result.rebuilt} layers), one addon changed ${fmt(rebuild.ms)} ms (${rebuild.json.result.rebuilt}), unchanged ${fmt(same.ms)} ms (${same.json.result.rebuilt})`);
        rows.push(row({metric: 'build: rebuild after one addon change vs full build', unit: 'ms', project: rebuild.ms, raw: full.ms, target: buildTarget, pass: 'info',
          note: `CLI wall time${fromSrc ? ' (CLI from src through tsx)' : ''}; layers rebuilt ${rebuild.json.result.rebuilt} vs ${full.json.result.rebuilt}; unchanged inputs: ${fmt(same.ms)} ms, ${same.json.result.rebuilt} rebuilt`}));
      } catch (err) {
        rows.push(skippedRow('build: rebuild after one addon change vs full build', buildTarget, `not measured: ${err.message}`));
      }
    }

    // preview up on docker-local: the first one also starts the project's PostgreSQL and router.
    try {
      const first = cli(dir, 'preview', 'up', '--branch', 'feature/first');
      const warm = cli(dir, 'preview', 'up', '--branch', 'feature/warm');
      const url = new URL(warm.json.result.url ?? warm.json.result.environment?.url);
      const answer = await get(Number(url.port || 80), url.host.replace(/:\d+$/, ''));
      details.preview = {firstMs: first.ms, warmMs: warm.ms, url: url.href, throughRouter: answer.status};
      log(`  preview up: first ${fmt(first.ms)} ms, warm ${fmt(warm.ms)} ms; ${url.href} answers ${answer.status}`);
      if (answer.status !== 200) throw new Error(`${url.href}web/health answered ${answer.status} through the router after preview up`);
      rows.push(row({metric: 'preview up (docker-local, warm) healthy through the router vs raw docker run', unit: 'ms', project: warm.ms, raw: floorMs,
        target: previewTarget, pass: 'info', note: `CLI wall time${fromSrc ? ' (CLI from src through tsx)' : ''}: database, container, route, health and smoke check; first preview ${fmt(first.ms)} ms`}));
    } catch (err) {
      rows.push(skippedRow('preview up (docker-local, warm) healthy through the router', previewTarget, `not measured: ${err.message}`));
    }
    return {rows, details};
  } finally {
    await removeProject(dir, project);
    await rm(dir, {recursive: true, force: true});
  }
}

export async function run() {
  log(`\n== docker: raw docker run floor, router switches (${SWITCHES}, ${CLIENTS} clients), build cache, preview up on docker-local (images ${Object.values(IMAGES).join(', ')})`);
  const rows = [];
  const details = {};
  try {
    await docker('info', '--format', '{{.ServerVersion}}');
  } catch (err) {
    const reason = `no Docker engine answers (${String(err.message).split('\n')[0]}); start dockerd --bridge=none --iptables=false`;
    rows.push(skippedRow('raw docker run -> first HTTP 200 (floor)', 'floor', reason));
  }
  let floorMs = null;
  if (!rows.length) {
    if (!(await imagePresent(IMAGES.odoo))) {
      rows.push(skippedRow('raw docker run -> first HTTP 200 (floor)', 'floor', `no ${IMAGES.odoo} image: node scripts/docker-test-images.mjs`));
    } else {
      const runs = [];
      for (let i = 0; i < 3; i++) runs.push(await rawDockerRun());
      floorMs = median(runs);
      details.floorMs = runs;
      log(`  raw docker run -> 200: ${runs.map((ms) => fmt(ms)).join(' / ')} ms`);
      rows.push(row({metric: 'raw docker run -> first HTTP 200 (floor)', unit: 'ms', project: floorMs, target: 'floor', pass: 'info', note: 'median of 3; the Odoo image alone, no database'}));
    }
  }
  try {
    const r = await routerBench();
    rows.push(...r.rows);
    details.router = r.details;
  } catch (err) {
    rows.push(skippedRow('route switch / requests failed during switches', '0 failed', `not measured: ${err.message}`));
  }
  if (floorMs !== null) {
    const p = await projectBench(floorMs);
    rows.push(...p.rows);
    Object.assign(details, p.details);
  } else {
    rows.push(skippedRow('build and preview up on docker-local', 'informational', 'not measured: no engine or no Odoo image'));
  }
  return {rows, details};
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await run();
  console.log('');
  printTable(result.rows);
}
