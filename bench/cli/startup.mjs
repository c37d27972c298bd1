// Bench 4: CLI start-up, `node bin/run.js --version` against bare `node -e 0`, median of N runs
// each (alternating, after one warm-up of each). For reference it also times importing
// @oclif/core and nothing else, the floor of any oclif CLI. Needs `npm run build` (dist/ and
// oclif.manifest.json). No database.
import {spawnSync} from 'node:child_process';
import {existsSync} from 'node:fs';
import {join} from 'node:path';
import {performance} from 'node:perf_hooks';
import {ROOT, fmt, log, median, printTable, row, skippedRow} from '../lib/common.mjs';

const RUNS = Number(process.env.BENCH_STARTUP_RUNS ?? 15);
const TARGET = 2.5; // within 2.5x of bare node

function time(args) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, {cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8'});
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited with ${r.status}: ${(r.stderr || '').trim().slice(0, 300)}`);
  return {ms, stdout: r.stdout.trim()};
}

export async function run() {
  log(`\n== CLI start-up: node bin/run.js --version vs node -e 0 (median of ${RUNS} runs each)`);
  const missing = ['dist', 'oclif.manifest.json'].filter((p) => !existsSync(join(ROOT, p)));
  const metric = 'CLI start-up (--version)';
  const target = `<= ${TARGET} x bare node`;
  if (missing.length) {
    const reason = `${missing.join(' and ')} missing: run \`npm run build\` first (npm run bench does)`;
    log(`  skipped: ${reason}`);
    return {rows: [skippedRow(metric, target, reason)], details: {skipped: reason}};
  }
  const cli = [join(ROOT, 'bin', 'run.js'), '--version'];
  const bare = ['-e', '0'];
  let version;
  try {
    version = time(cli).stdout;
    time(bare);
  } catch (err) {
    log(`  skipped: ${err.message}`);
    return {rows: [skippedRow(metric, target, err.message)], details: {skipped: err.message}};
  }
  // The floor any oclif CLI pays: importing @oclif/core and nothing else.
  const oclifOnly = ['--input-type=module', '-e', "await import('@oclif/core')"];
  time(oclifOnly);
  const project = [];
  const raw = [];
  const oclif = [];
  for (let i = 0; i < RUNS; i++) {
    // Alternate the order so neither side always runs right after the other.
    const order = i % 2 === 0 ? [[cli, project], [bare, raw], [oclifOnly, oclif]] : [[oclifOnly, oclif], [bare, raw], [cli, project]];
    for (const [args, into] of order) into.push(time(args).ms);
  }
  const details = {
    version, projectMs: median(project), rawMs: median(raw), oclifImportMs: median(oclif),
    projectRuns: project, rawRuns: raw, oclifImportRuns: oclif,
  };
  const ratio = details.projectMs / details.rawMs;
  log(`  ${version}: median ${fmt(details.projectMs, 1)} ms; node -e 0: median ${fmt(details.rawMs, 1)} ms; ratio ${fmt(ratio, 2)}`);
  log(`  for reference, importing @oclif/core alone: median ${fmt(details.oclifImportMs, 1)} ms (${fmt(details.oclifImportMs / details.rawMs, 2)}x bare node)`);
  const info = row({metric: 'import @oclif/core alone', unit: 'ms', project: details.oclifImportMs, raw: details.rawMs, target: '(reference)', pass: 'info'});
  return {rows: [row({metric, unit: 'ms', project: details.projectMs, raw: details.rawMs, target, pass: ratio <= TARGET}), info], details};
}

if (import.meta.main) {
  const {rows} = await run();
  log('');
  printTable(rows);
}
