// Bench: time to healthy for `preview up`, cold (first initialisation of the module set: template
// cache miss) and warm (template cache hit), through the built CLI on the local provider, printed
// beside the floor measured on the same cluster in the same run: a raw `createdb -T <template>`
// plus starting the same Odoo server until /web/health answers. Uses the Odoo stand-in unless
// ODOO_BIN points at a real odoo-bin. Target: warm within 1.5x of the floor. Informational.
import {execFileSync, spawn, spawnSync} from 'node:child_process';
import {readFileSync, readdirSync} from 'node:fs';
import {chmod, mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {performance} from 'node:perf_hooks';
import pg from 'pg';
import {ROOT, fmt, log, printTable, row, skippedRow} from '../lib/common.mjs';

const TARGET = 1.5;
const ODOO_BIN = process.env.ODOO_BIN || join(ROOT, 'test', 'fixtures', 'odoo-standin', 'odoo-bin');
const env = {...process.env, PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}`};

function cli(cwd, ...args) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'run.js'), ...args, '--json'], {cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']});
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`odoo-sh-next ${args.join(' ')} exited ${r.status}: ${r.stdout.slice(0, 400)} ${r.stderr.slice(-400)}`);
  return {ms, json: JSON.parse(r.stdout)};
}

function git(cwd, ...args) {
  execFileSync('git', args, {cwd, env: {...env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@example.invalid', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@example.invalid'}});
}

async function untilHealthy(url, deadlineMs = 120_000) {
  const end = performance.now() + deadlineMs;
  while (performance.now() < end) {
    try {
      if ((await fetch(new URL('/web/health', url))).status === 200) return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${url} did not become healthy`);
}

/** The floor: createdb -T from the cached template, then the same Odoo server until healthy. */
async function floor(dir) {
  const pgRoot = join(dir, '.odoo-sh-next', 'postgres');
  const socketDir = join(pgRoot, 'run');
  const port = Number(readdirSync(socketDir).find((f) => /^\.s\.PGSQL\.\d+$/.test(f)).slice('.s.PGSQL.'.length));
  const admin = new pg.Client({host: socketDir, port, user: 'postgres', database: 'postgres'});
  await admin.connect();
  const template = (await admin.query(`select datname from pg_database where datname like 'tpl\\_%' order by datname limit 1`)).rows[0]?.datname;
  const bin = (await admin.query(`select setting from pg_config where name = 'BINDIR'`)).rows[0].setting;
  await admin.end();
  if (!template) throw new Error('no template database in the cache');
  const password = readFileSync(join(dir, '.odoo-sh-next', 'odoo-role.password'), 'utf8').trim();
  const httpPort = 20000 + Math.floor(Math.random() * 20000);
  const data = await mkdtemp(join(tmpdir(), 'odoo-sh-next-bench-floor-'));
  const t0 = performance.now();
  execFileSync(join(bin, 'createdb'), ['-h', socketDir, '-p', String(port), '-U', 'postgres', '-O', 'odoo', '-T', template, 'bench_floor']);
  const odoo = spawn(ODOO_BIN, ['--db_host', '127.0.0.1', '--db_port', String(port), '--db_user', 'odoo', '--db_password', password,
    '-d', 'bench_floor', '--http-interface', '127.0.0.1', '--http-port', String(httpPort), '--data-dir', data, '--max-cron-threads', '0'],
  {env: {...env, XDG_DATA_HOME: data}, stdio: 'ignore'});
  try {
    await untilHealthy(`http://127.0.0.1:${httpPort}`);
    return performance.now() - t0;
  } finally {
    odoo.kill('SIGTERM');
    await rm(data, {recursive: true, force: true});
    execFileSync(join(bin, 'dropdb'), ['-h', socketDir, '-p', String(port), '-U', 'postgres', '--force', 'bench_floor']);
  }
}

export async function run() {
  log(`\n== preview up: cold (template miss) and warm (template hit) vs createdb -T + Odoo start (odoo-bin: ${process.env.ODOO_BIN ? ODOO_BIN : 'the stand-in'})`);
  const dir = await mkdtemp(join(tmpdir(), 'odoo-sh-next-bench-preview-'));
  await chmod(dir, 0o755);
  const target = `warm <= ${TARGET} x floor`;
  try {
    await mkdir(join(dir, 'addons', 'bench_shop'), {recursive: true});
    await writeFile(join(dir, 'addons', 'bench_shop', '__manifest__.py'), "{'name': 'Bench', 'version': '1.0', 'depends': ['base']}\n");
    git(dir, 'init', '-q', '-b', 'main');
    git(dir, 'add', '-A');
    git(dir, 'commit', '-q', '-m', 'bench');
    for (const b of ['feature/cold', 'feature/warm', 'feature/warm2']) git(dir, 'branch', b);
    cli(dir, 'init', '--project', 'bench', '--odoo-bin', ODOO_BIN);
    const cold = cli(dir, 'preview', 'up', '--branch', 'feature/cold');
    const warm = cli(dir, 'preview', 'up', '--branch', 'feature/warm');
    const warm2 = cli(dir, 'preview', 'up', '--branch', 'feature/warm2');
    const warmMs = Math.min(warm.ms, warm2.ms);
    const runMs = (r) => new Date(r.json.result.run.finishedAt).getTime() - new Date(r.json.result.run.createdAt).getTime();
    const warmRunMs = Math.min(runMs(warm), runMs(warm2));
    const floorMs = await floor(dir);
    log(`  cold ${fmt(cold.ms)} ms, warm ${fmt(warm.ms)} / ${fmt(warm2.ms)} ms, floor ${fmt(floorMs)} ms`);
    const rows = [
      row({metric: 'preview up warm vs cold', unit: 'ms', project: warmMs, raw: cold.ms, target: 'informational', pass: null,
        note: 'ratio < 1: the template cache pays'}),
      row({metric: 'preview up warm (CLI wall) vs createdb -T + start', unit: 'ms', project: warmMs, raw: floorMs, target,
        pass: warmMs / floorMs <= TARGET, note: 'includes CLI start-up (~0.4 s of imports), config, state writes and the login smoke check'}),
      row({metric: 'preview-up run (queued -> healthy) vs createdb -T + start', unit: 'ms', project: warmRunMs, raw: floorMs, target,
        pass: warmRunMs / floorMs <= TARGET, note: 'the run alone: template copy, identity regeneration, filestore, start, health, smoke check'}),
    ];
    return {rows, details: {coldMs: cold.ms, warmMs: [warm.ms, warm2.ms], floorMs, odooBin: ODOO_BIN}};
  } catch (err) {
    return {rows: [skippedRow('preview up', target, err.message)], details: {error: err.message}};
  } finally {
    spawnSync(process.execPath, [join(ROOT, 'bin', 'run.js'), 'down'], {cwd: dir, env, stdio: 'ignore'});
    await rm(dir, {recursive: true, force: true});
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await run();
  console.log('');
  printTable(result.rows);
}
