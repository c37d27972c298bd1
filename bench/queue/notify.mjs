// Bench 3: LISTEN/NOTIFY latency from ops.append_event to a reader LISTENing on ops_run_<id>, the
// mechanism `run logs --follow` uses. Writer and reader are two connections in this process; the
// latency is from the writer's call to the reader's notification (it includes the commit). Beside
// it: the raw equivalent, one INSERT INTO ops.run_events + pg_notify statement. The two sides
// alternate in blocks. When the CLI's `run logs` command is built, also end to end: from the
// append_event call to the line in the output of `node bin/run.js run logs <id> --follow --json`.
import {spawn} from 'node:child_process';
import {existsSync} from 'node:fs';
import {mkdtemp, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {performance} from 'node:perf_hooks';
import {randomBytes} from 'node:crypto';
import {ROOT, connect, createMigratedDatabase, dropDatabase, fmt, log, median, quantile, row, runStandalone, skippedRow} from '../lib/common.mjs';

const EVENTS = Number(process.env.BENCH_NOTIFY_EVENTS ?? 2_000); // per side
const BLOCK = 250;
const E2E_EVENTS = Number(process.env.BENCH_E2E_EVENTS ?? 300);
const P99_TARGET_MS = 20;

const PROJECT_APPEND = `select ops.append_event($1, 'info', $2) as id`;
const RAW_APPEND = `with e as (
  insert into ops.run_events (run_id, project_id, level, message, attempt)
  values ($1, $3, 'info', $2, 0) returning id)
select pg_notify('ops_run_' || $1, e.id::text), e.id from e`;

/** Resolves with the next notification's payload (or rejects after ms). */
function notificationWaiter(listener) {
  let resolve;
  const pending = [];
  listener.on('notification', (n) => {
    if (resolve) {
      const r = resolve;
      resolve = undefined;
      r(n.payload);
    } else {
      pending.push(n.payload);
    }
  });
  return (ms = 5000) => {
    if (pending.length) return Promise.resolve(pending.shift());
    return new Promise((res, rej) => {
      const timer = setTimeout(() => {
        resolve = undefined;
        rej(new Error(`no notification within ${ms} ms`));
      }, ms);
      resolve = (payload) => {
        clearTimeout(timer);
        res(payload);
      };
    });
  };
}

async function measureBlock(writer, next, sql, runId, projectId, n, into) {
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const wait = next();
    const values = sql === PROJECT_APPEND ? [runId, `bench event ${i}`] : [runId, `bench event ${i}`, projectId];
    const {rows} = await writer.query(sql, values);
    const payload = await wait;
    const t1 = performance.now();
    if (payload !== String(rows[0].id)) throw new Error(`notification ${payload} does not match event ${rows[0].id}`);
    into.push(t1 - t0);
  }
}

function summary(values) {
  return {events: values.length, medianMs: median(values), p99Ms: quantile(values, 0.99), maxMs: Math.max(...values)};
}

/**
 * End to end through the CLI, when dist/commands/run/logs.js exists: `run logs <id> --follow
 * --json` first; when that prints no line per event (the --json envelope may only come at the
 * end of the run), the human output of `run logs <id> --follow`, saying so.
 */
async function endToEnd(ctx, db, runId, writer) {
  const logsCommand = join(ROOT, 'dist', 'commands', 'run', 'logs.js');
  if (!existsSync(logsCommand)) return {skipped: 'dist/commands/run/logs.js does not exist (run `npm run build` once `run logs` is implemented)'};
  if (!existsSync(join(ROOT, 'oclif.manifest.json'))) return {skipped: 'oclif.manifest.json is missing (run `npm run build`)'};
  const dir = await mkdtemp(join(tmpdir(), 'odoo-sh-next-bench-cli-'));
  try {
    await writeFile(join(dir, 'odoo-sh-next.config.yaml'), 'project: bench\nstate:\n  url: ${BENCH_STATE_URL}\n');
    const json = await follow(ctx, db, runId, writer, dir, ['--json'], 8_000);
    if (!json.noStream) return {...json, command: 'run logs --follow --json'};
    const human = await follow(ctx, db, runId, writer, dir, [], 20_000);
    const why = 'with --json, `run logs --follow` printed no line per event (the envelope comes when the run ends)';
    if (human.skipped) return {skipped: `${why}; without --json: ${human.skipped}`};
    return {...human, command: 'run logs --follow (human output)', note: `${why}; measured the human output instead`};
  } finally {
    await rm(dir, {recursive: true, force: true});
  }
}

async function follow(ctx, db, runId, writer, dir, extraArgs, warmUpMs) {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'run.js'), 'run', 'logs', String(runId), '--follow', ...extraArgs], {
    cwd: dir,
    env: {...process.env, BENCH_STATE_URL: await ctx.tcpUrl(db), NO_COLOR: '1'},
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-2000)));
  const waiters = new Map(); // token -> resolve
  let buffer = '';
  child.stdout.on('data', (d) => {
    const now = performance.now();
    buffer += d;
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      for (const [token, resolve] of waiters) {
        if (line.includes(token)) {
          waiters.delete(token);
          resolve(now);
        }
      }
    }
  });
  const exited = new Promise((res) => child.on('exit', (code) => res(code)));
  const seen = (token, ms) =>
    Promise.race([
      new Promise((res) => waiters.set(token, res)),
      new Promise((_, rej) => setTimeout(() => rej(new Error(`no output line with ${token} within ${ms} ms`)), ms)),
      exited.then((code) => {
        throw new Error(`run logs exited with code ${code}: ${stderr.trim().split('\n').slice(-3).join(' / ')}`);
      }),
    ]).finally(() => waiters.delete(token));
  const nonce = randomBytes(4).toString('hex');
  const append = (message) => writer.query(PROJECT_APPEND, [runId, message]);
  try {
    // Warm-up: until the follower prints our events (it has started and is listening).
    const warmDeadline = performance.now() + warmUpMs;
    for (let k = 0; ; k++) {
      const token = `warm-${nonce}-${k}`;
      const s = seen(token, 1000);
      await append(token);
      try {
        await s;
        break;
      } catch (err) {
        if (String(err.message).startsWith('run logs exited')) throw err;
        if (performance.now() > warmDeadline) return {noStream: true, skipped: `no output line per event within ${warmUpMs / 1000} s`};
      }
    }
    const latencies = [];
    for (let i = 0; i < E2E_EVENTS; i++) {
      const token = `e2e-${nonce}-${i}`;
      const s = seen(token, 5000);
      const t0 = performance.now();
      await append(token);
      latencies.push((await s) - t0);
    }
    return summary(latencies);
  } catch (err) {
    return {skipped: `end-to-end measurement failed: ${err.message}`};
  } finally {
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((res) => setTimeout(res, 3000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

export async function run(ctx) {
  log(`\n== LISTEN/NOTIFY latency: ops.append_event -> reader on ops_run_<id> (${fmt(EVENTS)} events per side, alternating blocks of ${BLOCK})`);
  const db = 'bench_notify';
  const projectId = await createMigratedDatabase(ctx, db);
  const writer = await connect(ctx.url(db));
  const listener = await connect(ctx.url(db));
  const rows = [];
  const details = {};
  try {
    const {rows: created} = await writer.query(
      `insert into ops.runs (project_id, type, created_by) values ($1, 'bench', 'bench') returning id`,
      [projectId],
    );
    const runId = created[0].id;
    await listener.query(`listen "ops_run_${runId}"`);
    const next = notificationWaiter(listener);
    const warm = [];
    await measureBlock(writer, next, PROJECT_APPEND, runId, projectId, 50, warm);
    await measureBlock(writer, next, RAW_APPEND, runId, projectId, 50, warm);
    const project = [];
    const raw = [];
    for (let done = 0, k = 0; done < EVENTS; done += BLOCK, k++) {
      const n = Math.min(BLOCK, EVENTS - done);
      const sides = k % 2 === 0 ? [[PROJECT_APPEND, project], [RAW_APPEND, raw]] : [[RAW_APPEND, raw], [PROJECT_APPEND, project]];
      for (const [sql, into] of sides) await measureBlock(writer, next, sql, runId, projectId, n, into);
    }
    details.project = summary(project);
    details.raw = summary(raw);
    log(`  ops.append_event: median ${fmt(details.project.medianMs, 2)} ms, p99 ${fmt(details.project.p99Ms, 2)} ms, max ${fmt(details.project.maxMs, 1)} ms`);
    log(`  raw insert + pg_notify: median ${fmt(details.raw.medianMs, 2)} ms, p99 ${fmt(details.raw.p99Ms, 2)} ms, max ${fmt(details.raw.maxMs, 1)} ms`);
    rows.push(row({metric: 'notify latency median', unit: 'ms', project: details.project.medianMs, raw: details.raw.medianMs, target: '(informational)', pass: 'info'}));
    rows.push(row({
      metric: 'notify latency p99', unit: 'ms', project: details.project.p99Ms, raw: details.raw.p99Ms,
      target: `p99 < ${P99_TARGET_MS} ms`, pass: details.project.p99Ms < P99_TARGET_MS,
    }));

    const e2e = await endToEnd(ctx, db, runId, writer);
    details.endToEnd = e2e;
    if (e2e.skipped) {
      log(`  run logs --follow end to end: skipped: ${e2e.skipped}`);
      rows.push(skippedRow('run logs --follow p99', `p99 < ${P99_TARGET_MS} ms`, e2e.skipped));
    } else {
      if (e2e.note) log(`  note: ${e2e.note}`);
      log(`  ${e2e.command} end to end: median ${fmt(e2e.medianMs, 2)} ms, p99 ${fmt(e2e.p99Ms, 2)} ms over ${fmt(e2e.events)} events`);
      rows.push(row({
        metric: 'run logs --follow p99', unit: 'ms', project: e2e.p99Ms, raw: details.project.p99Ms,
        target: `p99 < ${P99_TARGET_MS} ms`, pass: e2e.p99Ms < P99_TARGET_MS,
        note: `${e2e.command}, end to end (median ${fmt(e2e.medianMs, 2)} ms); raw = this bench's in-process LISTEN reader` +
          (e2e.note ? `; ${e2e.note}` : ''),
      }));
    }
  } finally {
    await writer.end().catch(() => undefined);
    await listener.end().catch(() => undefined);
    await dropDatabase(ctx, db);
  }
  return {rows, details};
}

if (import.meta.main) await runStandalone(run);
