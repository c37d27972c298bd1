// `npm run bench` (after `npm run build`): runs every bench on one throwaway PostgreSQL cluster,
// prints each bench's figures, then a summary table (metric, project, raw, ratio, target,
// PASS/MISS) and writes the same to bench/results/latest.json. The figures are informational:
// the exit code is 0 whether targets are met or missed, 1 only when a bench itself crashed.
import {mkdir, writeFile} from 'node:fs/promises';
import {cpus, loadavg} from 'node:os';
import {join} from 'node:path';
import {performance} from 'node:perf_hooks';
import {ROOT, codeSource, log, printTable, startCluster} from './lib/common.mjs';
import {run as startup} from './cli/startup.mjs';
import {run as claims} from './queue/claims.mjs';
import {run as drain} from './queue/drain.mjs';
import {run as notify} from './queue/notify.mjs';
import {run as preview} from './preview/preview.mjs';
import {run as data} from './data/data.mjs';
import {run as dockerBench} from './docker/docker.mjs';

const BENCHES = [
  ['startup', startup, false],
  ['notify', notify, true],
  ['claims', claims, true],
  ['drain', drain, true],
  ['preview', preview, false],
  // Long (generates ~1 GB of database and ~1 GB of filestore at BENCH_DATA_SCALE=1): only when asked.
  ['data', data, false],
  // Needs a Docker engine and the test images (builds images, starts containers): only when asked.
  ['docker', dockerBench, false],
];
const ON_REQUEST = {data: 'BENCH_DATA', docker: 'BENCH_DOCKER'};

const only = process.argv.slice(2);
const wanted = (name) => (only.length ? only.includes(name) : !(name in ON_REQUEST) || process.env[ON_REQUEST[name]] === '1');
const selected = BENCHES.filter(([name]) => wanted(name));

const started = performance.now();
const load = loadavg()[0];
log(`odoo-sh-next benchmarks: ${selected.map(([n]) => n).join(', ')}; code from ${codeSource()}; ${cpus().length} CPUs, load average ${load.toFixed(2)}`);
if (!selected.some(([n]) => n === 'data')) {
  log('(the data bench is long and runs only when asked: `node bench/run-all.mjs data` or BENCH_DATA=1 npm run bench; BENCH_DATA_SCALE=0.1 for a quick run)');
}
if (!selected.some(([n]) => n === 'docker')) {
  log('(the docker bench needs a Docker engine and the test images; it runs only when asked: `node bench/run-all.mjs docker` or BENCH_DOCKER=1 npm run bench)');
}
if (load > cpus().length * 0.75) {
  log(`warning: the machine is busy (load ${load.toFixed(2)} on ${cpus().length} CPUs): throughput and latency figures will be noisy`);
}

let ctx;
const rows = [];
const details = {};
let crashed = false;
try {
  if (selected.some(([, , needsDb]) => needsDb)) {
    ctx = await startCluster();
    log(`PostgreSQL ${ctx.server.version} (fsync=${ctx.server.fsync}, synchronous_commit=${ctx.server.synchronous_commit}), default durable settings for both sides`);
  }
  for (const [name, bench] of selected) {
    try {
      const result = await bench(ctx);
      rows.push(...result.rows);
      details[name] = result.details;
    } catch (err) {
      crashed = true;
      log(`\n!! bench ${name} crashed: ${err.stack ?? err}`);
      rows.push({metric: `${name} (crashed)`, unit: null, project: null, raw: null, ratio: null, target: '-', status: 'ERROR', note: String(err.message ?? err)});
      details[name] = {error: String(err.message ?? err)};
    }
  }
} finally {
  await ctx?.stop();
}

const seconds = (performance.now() - started) / 1000;
log(`\n== summary (ratio = project / raw; for claims the median of paired windows; informational, ${seconds.toFixed(0)} s)\n`);
printTable(rows);

const dir = join(ROOT, 'bench', 'results');
await mkdir(dir, {recursive: true});
const file = join(dir, 'latest.json');
await writeFile(file, `${JSON.stringify({
  generatedAt: new Date().toISOString(),
  seconds: Math.round(seconds),
  machine: {cpus: cpus().length, loadAverageAtStart: load, loadAverageAtEnd: loadavg()[0], node: process.version},
  postgres: ctx?.server ?? null,
  code: codeSource(),
  rows,
  details,
}, null, 2)}\n`);
log(`\nwritten to ${file}`);
process.exitCode = crashed ? 1 : 0;
