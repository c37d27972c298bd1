// Shared helpers of the benchmarks: loading the project's code (dist/ after `npm run build`, else
// src/ through tsx), a throwaway PostgreSQL cluster, databases, statistics and the result rows.
import {existsSync} from 'node:fs';
import {chmod, mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {fileURLToPath, pathToFileURL} from 'node:url';
import pg from 'pg';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

let tsxRegistered = false;

/**
 * Imports a module of the project by its path under src/ without extension, e.g.
 * 'core/store/migrate'. Uses the built dist/ copy when it exists (what `npm run bench` runs),
 * else the TypeScript source through tsx. BENCH_FROM_SRC=1 forces the source.
 */
export async function load(rel) {
  const dist = join(ROOT, 'dist', `${rel}.js`);
  if (!process.env.BENCH_FROM_SRC && existsSync(dist)) return import(pathToFileURL(dist).href);
  if (!tsxRegistered) {
    const {register} = await import('tsx/esm/api');
    register();
    tsxRegistered = true;
  }
  return import(pathToFileURL(join(ROOT, 'src', `${rel}.ts`)).href);
}

export function codeSource() {
  return !process.env.BENCH_FROM_SRC && existsSync(join(ROOT, 'dist', 'core', 'store', 'migrate.js')) ? 'dist' : 'src (tsx)';
}

/**
 * Starts a throwaway cluster with the project's PostgresCluster and its default (durable) settings:
 * fsync and synchronous_commit stay on for both sides of every comparison.
 */
export async function startCluster() {
  const {PostgresCluster} = await load('providers/local/postgres-cluster');
  const dir = await mkdtemp(join(tmpdir(), 'odoo-sh-next-bench-'));
  await chmod(dir, 0o755);
  const cluster = new PostgresCluster({root: join(dir, 'pg')});
  let started;
  try {
    started = await cluster.start();
  } catch (err) {
    await rm(dir, {recursive: true, force: true});
    throw err;
  }
  const {socketDir, port} = started;
  const url = (db) => cluster.socketUrl(db, socketDir, port);
  const admin = new pg.Client({connectionString: url('postgres')});
  await admin.connect();
  const {rows} = await admin.query(
    `select current_setting('server_version') as version,
            current_setting('fsync') as fsync, current_setting('synchronous_commit') as synchronous_commit`,
  );
  await admin.end();
  return {
    cluster,
    socketDir,
    port,
    url,
    server: rows[0],
    async tcpUrl(db) {
      const pw = (await cluster.superuserPassword()).reveal();
      return `postgresql://postgres:${encodeURIComponent(pw)}@127.0.0.1:${port}/${db}`;
    },
    async stop() {
      await cluster.stop().catch(() => false);
      await rm(dir, {recursive: true, force: true});
    },
  };
}

export async function connect(url) {
  const client = new pg.Client({connectionString: url, application_name: 'odoo-sh-next-bench'});
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** Runs fn with a superuser connection to the cluster's postgres database. */
export async function withAdmin(ctx, fn) {
  const admin = await connect(ctx.url('postgres'));
  try {
    return await fn(admin);
  } finally {
    await admin.end();
  }
}

export async function createDatabase(ctx, name, template) {
  await withAdmin(ctx, async (admin) => {
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.query(`create database ${name}${template ? ` template ${template}` : ''}`);
  });
}

export async function dropDatabase(ctx, name) {
  await withAdmin(ctx, (admin) => admin.query(`drop database if exists ${name} with (force)`));
}

/** A fresh database migrated with migrate() holding the project 'bench'; returns its id. */
export async function createMigratedDatabase(ctx, name) {
  const {migrate} = await load('core/store/migrate');
  await createDatabase(ctx, name);
  const pool = new pg.Pool({connectionString: ctx.url(name), max: 1});
  pool.on('error', () => undefined);
  try {
    await migrate(pool);
    const {rows} = await pool.query(`select (ops.create_project('bench')).id as id`);
    return rows[0].id;
  } finally {
    await pool.end();
  }
}

/** Bulk-inserts n queued runs of type 'bench' (superuser: RLS does not apply). */
export async function fillQueue(client, projectId, n) {
  await client.query(
    `insert into ops.runs (project_id, type, created_by)
     select $1, 'bench', 'bench' from generate_series(1, $2::integer)`,
    [projectId, n],
  );
  await client.query('vacuum analyze ops.runs');
}

// ------------------------------------------------------------------ statistics

export function quantile(values, q) {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[pos];
}

export const median = (values) => quantile(values, 0.5);

export function fmt(value, digits = 0) {
  if (value === null || value === undefined || Number.isNaN(value)) return '-';
  return value.toLocaleString('en-US', {minimumFractionDigits: digits, maximumFractionDigits: digits});
}

// ------------------------------------------------------------------ result rows

/**
 * One line of the summary: the project's figure, the raw tool's figure on the same data in the
 * same run, their ratio (project / raw), the target and whether it was met (pass: true/false;
 * 'info' for a reference figure without a target; null/undefined for SKIP). Informational only.
 */
export function row({metric, unit, project, raw, ratio, target, pass, note}) {
  const r = ratio ?? (Number.isFinite(project) && Number.isFinite(raw) && raw !== 0 ? project / raw : null);
  const status = pass === 'info' ? 'INFO' : pass === null || pass === undefined ? 'SKIP' : pass ? 'PASS' : 'MISS';
  return {metric, unit, project: project ?? null, raw: raw ?? null, ratio: r, target, status, ...(note ? {note} : {})};
}

export function skippedRow(metric, target, reason) {
  return {metric, unit: null, project: null, raw: null, ratio: null, target, status: 'SKIP', note: reason};
}

function cell(value, unit) {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'string') return value;
  const digits = unit === 'ms' ? 2 : Math.abs(value) < 10 ? 2 : 0;
  return `${fmt(value, digits)}${unit ? ` ${unit}` : ''}`;
}

export function printTable(rows, out = console.log) {
  const head = ['metric', 'project', 'raw', 'ratio', 'target', 'result'];
  const body = rows.map((r) => [
    r.metric,
    cell(r.project, r.unit),
    cell(r.raw, r.unit),
    r.ratio === null || r.ratio === undefined ? '-' : `${fmt(r.ratio, 2)}x`,
    r.target,
    r.status,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => String(b[i]).length)));
  const line = (cols) => cols.map((c, i) => (i === 0 || i === 4 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  out(line(head));
  out(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const b of body) out(line(b));
  const notes = rows.filter((r) => r.note);
  if (notes.length) {
    out('');
    for (const r of notes) out(`  ${r.metric}: ${r.note}`);
  }
}

/**
 * Runs a bench module's `run(ctx)` on its own cluster when the file is executed directly
 * (`node bench/queue/claims.mjs`); run-all.mjs shares one cluster between all benches instead.
 */
export async function runStandalone(run) {
  const ctx = await startCluster();
  try {
    const result = await run(ctx);
    console.log('');
    printTable(result.rows);
  } finally {
    await ctx.stop();
  }
}

export const log = (msg) => console.log(msg);
