// Bench: data operations on a generated Odoo-like database and filestore, each printed beside the
// raw PostgreSQL / tar / zstd pipeline on the same data in the same run (informational, never asserts).
//
//   backup   `backups create --env E` vs `pg_dump -Fc -Z0 | zstd -T2` or `pg_dump -Fd -j2 -Z1`
//            (the faster), plus `tar -c | zstd -T2` of the filestore              target >= 0.9
//   restore  `backups restore ID --yes` vs `pg_restore -j2` of the raw directory dump into a new
//            database + `zstd -d | tar -x` of the filestore into a new folder       target >= 0.9
//   clone    `db clone --from production --to staging-bench` (CLI wall: live copy, filestore,
//            identity, neutralization, masking of res_partner, Odoo start; its phases printed) of a
//            production deployed and loaded with the bench's backup, vs raw `pg_dump -Fd -j2` +
//            `pg_restore -j2` of the same database; the copy step alone (dumpToDirectory +
//            restoreFromDirectory) as a second row; `CREATE DATABASE ... TEMPLATE` of an idle copy
//            printed as the floor                                                   target >= 0.9
//   masking  maskWithClient (name, email, phone, street, vat of res_partner) vs one hand-written
//            UPDATE of the same columns with md5() on an identical copy             target: no slower
//   RSS      peak RSS of `backups create` (/usr/bin/time -v, else VmHWM polling) at 1/10 of the
//            data and at the full data                                              < 150 MB, flat
//
// Sizes (BENCH_DATA_SCALE, default 1.0): res_partner 1M rows, account_move_line 3M, ir_attachment
// 200k referencing 20,000 filestore files of random bytes (~1 GB, sha1-named as Odoo does).
// Long (minutes at 0.1, much longer at 1.0): run-all.mjs runs it only when asked (`data` on the
// command line or BENCH_DATA=1).
import {execFileSync, spawn} from 'node:child_process';
import {createHash, randomBytes} from 'node:crypto';
import {existsSync, readFileSync, readdirSync} from 'node:fs';
import {chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {performance} from 'node:perf_hooks';
import {setTimeout as sleep} from 'node:timers/promises';
import pg from 'pg';
import {ROOT, fmt, load, log, printTable, row} from '../lib/common.mjs';

const SCALE = Number(process.env.BENCH_DATA_SCALE ?? '1');
const ODOO_BIN = process.env.ODOO_BIN || join(ROOT, 'test', 'fixtures', 'odoo-standin', 'odoo-bin');
const TIME = '/usr/bin/time';
// BENCH_SALT: the masking salt of the clone's rules file (a salt must come from the environment).
const env = {...process.env, PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}`, BENCH_SALT: 'bench-salt-0123456789'};
const MB = 1024 * 1024;
const RSS_LIMIT_MB = 150;

const sizes = (scale) => ({
  partners: Math.round(1_000_000 * scale),
  moveLines: Math.round(3_000_000 * scale),
  attachments: Math.round(200_000 * scale),
  files: scale === 0 ? 0 : Math.max(1, Math.round(20_000 * scale)),
});

// ------------------------------------------------------------------ processes

/** pid -> {ppid, comm} of every process. */
function processTable() {
  const table = new Map();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      table.set(Number(pid), {comm: stat.slice(stat.indexOf('(') + 1, close), ppid: Number(stat.slice(close + 2).split(' ')[1])});
    } catch { /* gone */ }
  }
  return table;
}

/** Peak VmHWM (kB) per command name over the descendants of root, updated by polling. */
function pollTree(root, peaks) {
  const table = processTable();
  const seen = new Set([root]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, p] of table) if (!seen.has(pid) && seen.has(p.ppid)) { seen.add(pid); grew = true; }
  }
  for (const pid of seen) {
    try {
      const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      const comm = table.get(pid)?.comm ?? '?';
      if (m) peaks[comm] = Math.max(peaks[comm] ?? 0, Number(m[1]));
    } catch { /* exited */ }
  }
}

/**
 * Runs a command; resolves {ms, stdout, stderr, maxRssKb, peaksKb} (maxRssKb from /usr/bin/time -v,
 * else VmHWM polling; peaksKb: VmHWM per command name of the process tree, polled every 100 ms).
 */
function runTimed(cmd, args, {cwd, measureRss = false, allowFail = false} = {}) {
  const useTime = measureRss && existsSync(TIME);
  const [bin, argv] = useTime ? [TIME, ['-v', cmd, ...args]] : [cmd, args];
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(bin, argv, {cwd, env, stdio: ['ignore', 'pipe', 'pipe']});
    let stdout = '';
    let stderr = '';
    let hwmKb = 0;
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const peaksKb = {};
    const poll = measureRss ? setInterval(() => {
      try {
        pollTree(child.pid, peaksKb);
      } catch { /* racing exits */ }
      hwmKb = Math.max(hwmKb, ...Object.values(peaksKb));
    }, 100) : null;
    child.on('error', reject);
    child.on('close', (code) => {
      if (poll) clearInterval(poll);
      const ms = performance.now() - t0;
      let maxRssKb = hwmKb || null;
      if (useTime) {
        const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
        maxRssKb = m ? Number(m[1]) : null;
      }
      if (code !== 0 && !allowFail) {
        reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stdout.slice(0, 600)} ${stderr.slice(-800)}`));
        return;
      }
      resolve({ms, code, stdout, stderr, maxRssKb, peaksKb});
    });
  });
}

async function cli(cwd, args, opts = {}) {
  const r = await runTimed(process.execPath, [join(ROOT, 'bin', 'run.js'), ...args, '--json'], {cwd, ...opts});
  return {...r, json: JSON.parse(r.stdout)};
}

/** "database 3.1 s, filestore 1.2 s, ... (run 9.0 s of 10.2 s wall)": from the run's events. */
async function phases(cwd, result) {
  try {
    const run = result.json.result.run;
    const {json} = await cli(cwd, ['run', 'logs', run.id]);
    const spans = new Map();
    // Spans from each phase's own "<phase> started" / "<phase> done|failed" events: phases may run
    // at the same time, and other events are then tagged with whichever phase the run saw last.
    for (const e of json.result.events) {
      if (!e.phase || !new RegExp(`^${e.phase} (started|done|failed)`).test(e.message)) continue;
      const t = Date.parse(e.at);
      const s = spans.get(e.phase) ?? {from: t, to: t};
      spans.set(e.phase, {from: Math.min(s.from, t), to: Math.max(s.to, t)});
    }
    const runMs = Date.parse(run.finishedAt) - Date.parse(run.createdAt);
    const list = [...spans].map(([name, s]) => `${name} ${fmt((s.to - s.from) / 1000, 1)} s`).join(', ');
    return {text: `${list} (run ${fmt(runMs / 1000, 1)} s of ${fmt(result.ms / 1000, 1)} s wall)`, spans: Object.fromEntries([...spans].map(([k, s]) => [k, s.to - s.from])), runMs};
  } catch (err) {
    return {text: `phases unavailable: ${err.message}`, spans: null, runMs: null};
  }
}

const peaks = (r) => Object.entries(r.peaksKb ?? {}).sort((a, b) => b[1] - a[1]).map(([c, kb]) => `${c} ${fmt(kb / 1024)} MB`).join(', ');

/** A shell pipeline (bash, pipefail), timed. */
const sh = (script) => runTimed('bash', ['-c', `set -euo pipefail; ${script}`]);

function git(cwd, ...args) {
  execFileSync('git', args, {cwd, env: {...env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@example.invalid', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@example.invalid'}});
}

const q = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;

/**
 * Waits until the server and the disk are quiet before a timed step: no autovacuum worker running
 * (a restored database gets analyzed and vacuumed after the restore ends), a checkpoint, dirty
 * pages written. Otherwise a step pays for the one before it (measured: the same raw restore took
 * 12 s or 21 s depending on what ran before). Both sides of every comparison get it.
 */
async function settle(admin) {
  for (let i = 0; i < 240; i++) {
    const {rows} = await admin.query(`select count(*)::int as n from pg_stat_activity where backend_type = 'autovacuum worker'`);
    if (rows[0].n === 0) break;
    await sleep(500);
  }
  await admin.query('CHECKPOINT');
  await sh('sync');
  await sleep(1000);
}

// ------------------------------------------------------------------ data generation (set-based)

const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS account_move_line (
  id bigserial PRIMARY KEY, move_id integer NOT NULL, partner_id integer REFERENCES res_partner(id),
  name varchar, debit numeric NOT NULL DEFAULT 0, credit numeric NOT NULL DEFAULT 0, date date NOT NULL);
CREATE INDEX IF NOT EXISTS account_move_line_move_id_index ON account_move_line (move_id);
CREATE INDEX IF NOT EXISTS account_move_line_partner_id_index ON account_move_line (partner_id);
CREATE INDEX IF NOT EXISTS account_move_line_date_index ON account_move_line (date);
CREATE INDEX IF NOT EXISTS res_partner_name_index ON res_partner (name);
CREATE INDEX IF NOT EXISTS res_partner_complete_name_index ON res_partner (complete_name);
CREATE INDEX IF NOT EXISTS res_partner_vat_index ON res_partner (vat);
CREATE INDEX IF NOT EXISTS res_partner_email_index ON res_partner (email);
`;

/** Rows [from, to] of every table (ids offset past the stand-in's own rows). */
async function generateRows(c, from, to, n) {
  const t0 = performance.now();
  await c.query(`
    INSERT INTO res_partner (name, complete_name, email, phone, street, city, zip, vat, is_company, lang, tz, active)
    SELECT 'Partner ' || g || ' ' || left(md5(g::text), 8), 'Partner ' || g || ' ' || left(md5(g::text), 8),
           'p' || g || '@cust' || (g % 997) || '.example.com', '+32 4' || lpad((g % 100)::text, 2, '0') || ' ' || lpad((g % 997)::text, 3, '0') || ' ' || lpad((g % 991)::text, 3, '0'),
           (g % 300 + 1) || ' Rue ' || left(md5('s' || g), 10), 'City ' || (g % 5000), lpad((g % 9999)::text, 4, '0'),
           'BE0' || lpad(g::text, 9, '0'), g % 10 = 0, 'en_US', 'Europe/Brussels', true
      FROM generate_series($1::int, $2::int) g`, [from.partners, to.partners]);
  const {rows: [{min: pmin, max: pmax}]} = await c.query(`SELECT min(id), max(id) FROM res_partner`);
  await c.query(`
    INSERT INTO account_move_line (move_id, partner_id, name, debit, credit, date)
    SELECT g / 3 + 1, $3::int + (g::bigint * 7919) % ($4::int - $3::int + 1), 'Line ' || g || ' INV/' || (g / 3),
           CASE WHEN g % 3 = 0 THEN ((g % 100000) / 100.0) ELSE 0 END, CASE WHEN g % 3 <> 0 THEN ((g % 100000) / 200.0) ELSE 0 END,
           date '2020-01-01' + (g % 2000)
      FROM generate_series($1::int, $2::int) g`, [from.moveLines, to.moveLines, pmin, pmax]);
  await c.query(`
    INSERT INTO ir_attachment (name, type, res_model, res_id, mimetype, store_fname, checksum, file_size, public)
    SELECT 'document-' || g || '.bin', 'binary', 'account.move', g / 3 + 1, 'application/octet-stream', f.store_fname, f.checksum, f.size, false
      FROM generate_series($1::int, $2::int) g
      JOIN bench_files f ON f.n = g % $3::int`, [from.attachments, to.attachments, n.files]);
  return performance.now() - t0;
}

/** Files [from, to) of random bytes (1 KB..99 KB, ~50 KB on average), named filestore/<db>/xx/<sha1>. */
async function generateFiles(dir, from, to) {
  const made = [];
  let bytes = 0;
  const one = async (i) => {
    const size = 1000 + ((i * 7919) % 98_001);
    const data = randomBytes(size);
    const sha = createHash('sha1').update(data).digest('hex');
    await mkdir(join(dir, sha.slice(0, 2)), {recursive: true});
    await writeFile(join(dir, sha.slice(0, 2), sha), data);
    made.push({n: i, storeFname: `${sha.slice(0, 2)}/${sha}`, checksum: sha, size});
    bytes += size;
  };
  for (let i = from; i < to; i += 16) {
    await Promise.all(Array.from({length: Math.min(16, to - i)}, (_, k) => one(i + k)));
  }
  return {made, bytes};
}

async function dirBytes(dir) {
  let total = 0;
  let files = 0;
  for (const e of readdirSync(dir, {withFileTypes: true, recursive: true})) {
    if (e.isFile()) {
      total += (await stat(join(e.parentPath ?? e.path, e.name))).size;
      files += 1;
    }
  }
  return {bytes: total, files};
}

/** Grows the env's database and filestore from sizes(fromScale) to sizes(toScale). */
async function grow(c, filestore, fromScale, toScale) {
  const a = sizes(fromScale);
  const b = sizes(toScale);
  const t0 = performance.now();
  const {made} = await generateFiles(filestore, a.files, b.files);
  const filesMs = performance.now() - t0;
  await c.query(`CREATE TABLE IF NOT EXISTS bench_files (n integer PRIMARY KEY, store_fname text, checksum text, size integer)`);
  await c.query(`INSERT INTO bench_files SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::int[])`,
    [made.map((f) => f.n), made.map((f) => f.storeFname), made.map((f) => f.checksum), made.map((f) => f.size)]);
  const from = {partners: a.partners + 1, moveLines: a.moveLines + 1, attachments: a.attachments + 1};
  const rowsMs = await generateRows(c, from, b, b);
  const t1 = performance.now();
  await c.query('VACUUM ANALYZE');
  await c.query('CHECKPOINT');
  log(`  generated up to scale ${toScale}: ${fmt(b.partners)} partners, ${fmt(b.moveLines)} move lines, ${fmt(b.attachments)} attachments, ${fmt(b.files)} files ` +
    `(files ${fmt(filesMs / 1000, 1)} s, rows ${fmt(rowsMs / 1000, 1)} s, vacuum analyze ${fmt((performance.now() - t1) / 1000, 1)} s)`);
}

/** Masking rules for res_partner: the five PII columns faked, every other text column kept. */
async function maskingYaml(client, saltLine) {
  const strategies = {name: 'fake-name', email: 'fake-email', phone: 'fake-phone', street: 'fake-street', vat: 'fake-vat'};
  const {rows: textCols} = await client.query(
    `select column_name from information_schema.columns where table_schema = 'public' and table_name = 'res_partner'
        and data_type in ('character varying', 'text', 'character') order by ordinal_position`);
  return [saltLine, 'maskedDomains: [example.invalid]', 'rules:', '  - table: res_partner', '    columns:',
    ...textCols.map(({column_name: col}) => `      ${col}: ${strategies[col] ?? 'keep'}`)].join('\n');
}

/** "identity 0.0 s, neutralize 0.2 s, mask 7.1 s": the clone's prepare phase split by its events. */
async function prepareSplit(cwd, result) {
  try {
    const {json} = await cli(cwd, ['run', 'logs', result.json.result.run.id]);
    const at = (re) => {
      const e = json.result.events.find((x) => re.test(x.message));
      return e ? Date.parse(e.at) : null;
    };
    const start = at(/^prepare started/);
    const identity = at(/^new database identity/);
    const neutralized = at(/ neutralized \(/);
    const masked = at(/ masked and scanned|^no masking rules/);
    if ([start, identity, neutralized, masked].includes(null)) return {text: 'prepare split unavailable', ms: null};
    const ms = {identity: identity - start, neutralize: neutralized - identity, mask: masked - neutralized};
    return {text: `identity ${fmt(ms.identity / 1000, 1)} s, neutralize ${fmt(ms.neutralize / 1000, 1)} s, mask ${fmt(ms.mask / 1000, 1)} s`, ms};
  } catch (err) {
    return {text: `prepare split unavailable: ${err.message}`, ms: null};
  }
}

// ------------------------------------------------------------------ the bench

export async function run() {
  if (!Number.isFinite(SCALE) || SCALE <= 0) throw new Error(`BENCH_DATA_SCALE must be a positive number (got ${process.env.BENCH_DATA_SCALE})`);
  const n = sizes(SCALE);
  log(`\n== data operations at BENCH_DATA_SCALE=${SCALE} (${fmt(n.partners)} partners, ${fmt(n.moveLines)} move lines, ${fmt(n.attachments)} attachments, ${fmt(n.files)} files ~${fmt(n.files * 50_000 / MB)} MB); odoo-bin: ${process.env.ODOO_BIN ? ODOO_BIN : 'the stand-in'}`);
  const dir = await mkdtemp(join(tmpdir(), 'odoo-sh-next-bench-data-'));
  await chmod(dir, 0o755);
  const work = join(dir, 'raw');
  const rows = [];
  const details = {scale: SCALE, sizes: n};
  let admin;
  let bindir;
  let pgArgs;
  const ac = new AbortController();
  let services;
  try {
    // --- the project, an env with an Odoo database
    await mkdir(join(dir, 'addons', 'bench_data'), {recursive: true});
    await writeFile(join(dir, 'addons', 'bench_data', '__manifest__.py'), "{'name': 'Bench data', 'version': '1.0', 'depends': ['base']}\n");
    git(dir, 'init', '-q', '-b', 'main');
    git(dir, 'add', '-A');
    git(dir, 'commit', '-q', '-m', 'bench');
    git(dir, 'branch', 'feature/data');
    await cli(dir, ['init', '--project', 'bench', '--odoo-bin', ODOO_BIN]);
    const configFile = join(dir, 'odoo-sh-next.config.yaml');
    await writeFile(configFile, (await readFile(configFile, 'utf8')).replace(/manualPerDay: \d+/, 'manualPerDay: 1000'));
    const up = await cli(dir, ['preview', 'up', '--branch', 'feature/data']);
    const envName = up.json.result.env;
    let database = up.json.result.run.result.database;
    const dataDir = join(dir, '.odoo-sh-next', 'envs', envName, 'data');
    const filestoreOf = (db) => join(dataDir, 'filestore', db);

    const socketDir = join(dir, '.odoo-sh-next', 'postgres', 'run');
    const port = Number(readdirSync(socketDir).find((f) => /^\.s\.PGSQL\.\d+$/.test(f)).slice('.s.PGSQL.'.length));
    pgArgs = `-h ${q(socketDir)} -p ${port} -U postgres`;
    const connect = async (db) => {
      const c = new pg.Client({host: socketDir, port, user: 'postgres', database: db, application_name: 'odoo-sh-next-bench'});
      c.on('error', () => undefined);
      await c.connect();
      return c;
    };
    admin = await connect('postgres');
    bindir = (await admin.query(`select setting from pg_config where name = 'BINDIR'`)).rows[0].setting;
    const bin = (t) => q(join(bindir, t));
    const version = (await admin.query('show server_version')).rows[0].server_version;
    log(`  project ${dir}, env ${envName}, PostgreSQL ${version}`);

    // --- generation: 1/10 first (the small RSS point), then the rest
    const gen = await connect(database);
    await gen.query(SCHEMA_SQL);
    await gen.query('SET synchronous_commit = off');
    const small = SCALE / 10;
    await grow(gen, filestoreOf(database), 0, small);
    const sizeOf = async () => {
      const db = Number((await admin.query('select pg_database_size($1) as s', [database])).rows[0].s);
      const fs = await dirBytes(filestoreOf(database));
      return {dbBytes: db, filestoreBytes: fs.bytes, files: fs.files};
    };
    const smallSize = await sizeOf();
    const rssSmall = await cli(dir, ['backups', 'create', '--env', envName], {measureRss: true});
    log(`  backup at scale ${small} (${fmt(smallSize.dbBytes / MB)} MB + ${fmt(smallSize.filestoreBytes / MB)} MB): ${fmt(rssSmall.ms / 1000, 1)} s, peak RSS ${fmt(rssSmall.maxRssKb / 1024)} MB (polled per process: ${peaks(rssSmall)})`);
    await grow(gen, filestoreOf(database), small, SCALE);
    await gen.query('DROP TABLE bench_files');
    await gen.end();
    const size = await sizeOf();
    const totalMB = (size.dbBytes + size.filestoreBytes) / MB;
    details.size = size;
    log(`  database ${database}: ${fmt(size.dbBytes / MB)} MB; filestore ${fmt(size.files)} files, ${fmt(size.filestoreBytes / MB)} MB; total ${fmt(totalMB)} MB`);

    // --- 1. backup throughput: two rounds in alternating order (raw first, then the project first),
    // each step after settle(); the faster of the two rounds counts on each side.
    await mkdir(work, {recursive: true});
    const fsDir = filestoreOf(database);
    await settle(admin);
    const rawFc = await sh(`${bin('pg_dump')} ${pgArgs} -Fc -Z0 -d ${q(database)} | zstd -q -T2 -3 -o ${q(join(work, 'db.dump.zst'))}`);
    await rm(join(work, 'db.dump.zst'), {force: true});
    const rawFdRounds = [];
    const rawFsRounds = [];
    const backups = [];
    const rawBackupRound = async () => {
      await rm(join(work, 'db.dir'), {recursive: true, force: true});
      await rm(join(work, 'fs.tar.zst'), {force: true});
      await settle(admin);
      rawFsRounds.push(await sh(`tar -c -C ${q(fsDir)} . | zstd -q -T2 -3 -o ${q(join(work, 'fs.tar.zst'))}`));
      await settle(admin);
      rawFdRounds.push(await sh(`${bin('pg_dump')} ${pgArgs} -Fd -j2 -Z1 -f ${q(join(work, 'db.dir'))} -d ${q(database)}`));
    };
    const projectBackupRound = async () => {
      await settle(admin);
      backups.push(await cli(dir, ['backups', 'create', '--env', envName], {measureRss: true}));
    };
    await rawBackupRound();
    await projectBackupRound();
    await projectBackupRound();
    await rawBackupRound();
    const fastest = (list) => list.reduce((a, b) => (b.ms < a.ms ? b : a));
    const backup = fastest(backups);
    const rawFd = fastest(rawFdRounds);
    const rawFilestore = fastest(rawFsRounds);
    // The other project backup goes (the restore below uses the fastest one).
    for (const b of backups) if (b !== backup) await cli(dir, ['backups', 'delete', b.json.result.backup.id, '--yes']);
    const backupId = backup.json.result.backup.id;
    const backupPhases = await phases(dir, backup);
    const rawDumpMs = Math.min(rawFc.ms, rawFd.ms);
    const rawBackupMs = rawDumpMs + rawFilestore.ms;
    const mbps = (ms) => totalMB / (ms / 1000);
    const secs = (list) => list.map((r) => fmt(r.ms / 1000, 1)).join(' / ');
    log(`  backup: project ${secs(backups)} s (${fmt(mbps(backup.ms), 1)} MB/s, ${fmt(backup.json.result.backup.sizeBytes / MB)} MB stored); ` +
      `raw pg_dump -Fc -Z0 | zstd ${fmt(rawFc.ms / 1000, 1)} s, pg_dump -Fd -j2 -Z1 ${secs(rawFdRounds)} s, tar | zstd ${secs(rawFsRounds)} s (rounds: raw first, then project first)`);
    log(`    backup phases: ${backupPhases.text}; peak RSS ${backups.map((b) => fmt(b.maxRssKb / 1024)).join(' / ')} MB (polled per process: ${peaks(backup)})`);
    rows.push(row({metric: `backup throughput (${fmt(totalMB)} MB)`, unit: 'MB/s', project: mbps(backup.ms), raw: mbps(rawBackupMs), target: '>= 0.9',
      pass: rawBackupMs / backup.ms >= 0.9,
      note: `faster of two rounds on each side; raw = faster of pg_dump -Fc -Z0 | zstd -T2 (${fmt(rawFc.ms / 1000, 1)} s) and pg_dump -Fd -j2 -Z1 (${fmt(rawFd.ms / 1000, 1)} s), plus tar | zstd -T2 (${fmt(rawFilestore.ms / 1000, 1)} s); project = CLI wall time incl. manifest, sha256 of every file, logs`}));
    details.backup = {phasesMs: backupPhases.spans, runMs: backupPhases.runMs, rssPeaksKb: backup.peaksKb, projectMs: backup.ms, projectRoundsMs: backups.map((b) => b.ms),
      rawFcMs: rawFc.ms, rawFdMs: rawFd.ms, rawFdRoundsMs: rawFdRounds.map((r) => r.ms), rawFilestoreMs: rawFilestore.ms, rawFilestoreRoundsMs: rawFsRounds.map((r) => r.ms),
      storedBytes: backup.json.result.backup.sizeBytes};

    // --- 5. peak RSS of the backup process
    const rssS = rssSmall.maxRssKb / 1024;
    const rssL = Math.max(...backups.map((b) => b.maxRssKb)) / 1024; // the larger of the two backups
    const flat = rssL - rssS <= 30;
    rows.push(row({metric: `backup peak RSS, scale ${small} -> ${SCALE}`, unit: 'MB', project: rssL, raw: rssS, target: `< ${RSS_LIMIT_MB} MB, flat`,
      pass: rssL < RSS_LIMIT_MB && rssS < RSS_LIMIT_MB && flat,
      note: `largest process of the backups create tree (${existsSync(TIME) ? '/usr/bin/time -v' : 'VmHWM polling'}); "raw" column = the same at ${fmt(smallSize.dbBytes / MB + smallSize.filestoreBytes / MB)} MB of data, ratio = growth`}));
    details.rss = {smallScale: small, smallMB: rssS, fullScale: SCALE, fullMB: rssL};

    // --- 2. restore: two rounds in alternating order (project first, then raw first), each after
    // settle(); the faster of the two rounds counts on each side.
    const rawFs = join(dir, 'raw-filestore');
    const restores = [];
    const rawRestores = [];
    const projectRestore = async () => {
      await settle(admin);
      const r = await cli(dir, ['backups', 'restore', backupId, '--yes']);
      restores.push({...r, phases: await phases(dir, r)});
      const previous = database;
      database = r.json.result.restore.database;
      await cli(dir, ['backups', 'restore', '--confirm', '--env', envName, '--yes']); // drops `previous`
      log(`    (restored into ${database}; dropped ${previous})`);
    };
    const rawRestore = async () => {
      await settle(admin);
      rawRestores.push(await sh(`${bin('createdb')} ${pgArgs} -O odoo bench_raw_restore && ${bin('pg_restore')} ${pgArgs} -j2 --exit-on-error -d bench_raw_restore ${q(join(work, 'db.dir'))} ` +
        `&& mkdir -p ${q(rawFs)} && zstd -q -d -c ${q(join(work, 'fs.tar.zst'))} | tar -x -C ${q(rawFs)}`));
      await admin.query('drop database if exists bench_raw_restore with (force)');
      await rm(rawFs, {recursive: true, force: true});
    };
    await projectRestore();
    await rawRestore();
    await rawRestore();
    await projectRestore();
    const restore = fastest(restores);
    const rawRestoreMs = fastest(rawRestores).ms;
    log(`  restore: project ${secs(restores)} s (new database + filestore, verified, switched); raw pg_restore -j2 + zstd -d | tar -x ${secs(rawRestores)} s (rounds: project first, then raw first)`);
    log(`    restore phases (fastest): ${restore.phases.text}`);
    rows.push(row({metric: 'restore', unit: 's', project: restore.ms / 1000, raw: rawRestoreMs / 1000, ratio: rawRestoreMs / restore.ms, target: '>= 0.9 (raw/project)',
      pass: rawRestoreMs / restore.ms >= 0.9,
      note: 'faster of two rounds on each side; project = CLI wall time: new database + filestore, verification of every attachment sha1, switch; raw = pg_restore -j2 of the -Fd dump + zstd -d | tar -x into a new folder'}));
    details.restore = {phasesMs: restore.phases.spans, runMs: restore.phases.runMs, projectMs: restore.ms, projectRoundsMs: restores.map((r) => r.ms), rawMs: rawRestoreMs, rawRoundsMs: rawRestores.map((r) => r.ms)};

    // --- 3. clone: the real `db clone` of a production env holding this data vs raw dump -Fd -j2 + restore -j2
    // Production is deployed, then given the bench's data the CLI's own way (the backup restored into
    // it, with its safety backup): `db clone` copies production only. Masking rules cover res_partner
    // (as a staging clone of a real production would be masked), salt from BENCH_SALT.
    const deployed = await cli(dir, ['deploy', '--env', 'production', '--yes']);
    const intoProduction = await cli(dir, ['backups', 'restore', backupId, '--to-env', 'production', '--yes']);
    const prodDb = intoProduction.json.result.restore.database;
    log(`  production deployed (${fmt(deployed.ms / 1000, 1)} s) and loaded with the backup (${fmt(intoProduction.ms / 1000, 1)} s, into ${prodDb})`);
    const pc = await connect(prodDb);
    await writeFile(join(dir, 'masking.yaml'), `${await maskingYaml(pc, 'salt: ${BENCH_SALT}')}\n`);
    await pc.end();
    await writeFile(configFile, (await readFile(configFile, 'utf8')).replace(/^masking: \{\}$/m, 'masking: {rules: ./masking.yaml}'));
    const staging = 'staging-bench';
    const connected = Number((await admin.query('select count(*) as n from pg_stat_activity where datname = $1', [prodDb])).rows[0].n);
    const clone = await cli(dir, ['db', 'clone', '--from', 'production', '--to', staging]);
    const clonePhases = await phases(dir, clone);
    const cloneSplit = await prepareSplit(dir, clone);
    const cloneResult = clone.json.result;

    // The clone's copy step alone (staging-database.ts from dist/), on the same production database.
    const {createServices} = await load('cli/services');
    const {dumpToDirectory, restoreFromDirectory} = await load('core/clone/staging-database');
    const {dumpRestoreMode} = await load('core/clone/clone-plan');
    services = createServices({cwd: dir, logLevel: 'error', json: true, stderr: () => undefined, warn: () => undefined, signal: ac.signal});
    const provider = await services.provider();
    const handle = await provider.database('production', ac.signal);
    const mode = dumpRestoreMode({toolsSeeScratch: true, cpus: 2});
    const t0 = performance.now();
    await dumpToDirectory({handle, database: prodDb}, mode, join(work, 'clone.dir'), ac.signal);
    await restoreFromDirectory({handle, database: 'bench_clone_project'}, {mode, dir: join(work, 'clone.dir'), sourceOwner: 'odoo'}, ac.signal);
    const cloneMs = performance.now() - t0;
    const rawClone = await sh(`${bin('pg_dump')} ${pgArgs} -Fd -j2 -Z0 -f ${q(join(work, 'rawclone.dir'))} -d ${q(prodDb)} && ` +
      `${bin('createdb')} ${pgArgs} -O odoo bench_clone_raw && ${bin('pg_restore')} ${pgArgs} -j2 --exit-on-error -d bench_clone_raw ${q(join(work, 'rawclone.dir'))}`);
    const floor = await sh(`${bin('createdb')} ${pgArgs} -O odoo -T bench_clone_raw bench_clone_floor`);
    const s = clonePhases.spans ?? {};
    const copyMs = (s.snapshot ?? 0) + (s.database ?? 0);
    log(`  clone (production live, ${connected} session(s) on it): db clone ${fmt(clone.ms / 1000, 1)} s wall (${cloneResult.strategy}, ${cloneResult.copiedFrom}); ` +
      `raw pg_dump -Fd -j2 + pg_restore -j2 ${fmt(rawClone.ms / 1000, 1)} s; template copy of an idle copy ${fmt(floor.ms / 1000, 1)} s`);
    log(`    db clone phases: database copy (snapshot + database) ${fmt(copyMs / 1000, 1)} s, filestore ${fmt((s.filestore ?? 0) / 1000, 1)} s, ` +
      `${cloneSplit.text}, start + health ${fmt(((s.start ?? 0) + (s.health ?? 0)) / 1000, 1)} s, cleanup ${fmt((s.cleanup ?? 0) / 1000, 1)} s; ${clonePhases.text}`);
    log(`    copy step alone (dumpToDirectory + restoreFromDirectory, mode ${JSON.stringify(mode)}): ${fmt(cloneMs / 1000, 1)} s`);
    rows.push(row({metric: 'db clone --from production (CLI wall)', unit: 's', project: clone.ms / 1000, raw: rawClone.ms / 1000, ratio: rawClone.ms / clone.ms, target: '>= 0.9 (raw/project)',
      pass: rawClone.ms / clone.ms >= 0.9,
      note: `the whole staging build: copy of the live database (${fmt(copyMs / 1000, 1)} s) and filestore, new identity, neutralization, masking of res_partner, Odoo start and health; raw = pg_dump -Fd -j2 + pg_restore -j2 of the same database (copy only), ${connected} session(s) on it`}));
    rows.push(row({metric: 'clone database copy step alone', unit: 's', project: cloneMs / 1000, raw: rawClone.ms / 1000, ratio: rawClone.ms / cloneMs, target: '>= 0.9 (raw/project)',
      pass: rawClone.ms / cloneMs >= 0.9,
      note: 'staging-database.ts dumpToDirectory + restoreFromDirectory (from dist/) of the production database, Odoo up on it'}));
    rows.push(row({metric: 'clone floor: CREATE DATABASE ... TEMPLATE (idle source)', unit: 's', project: cloneMs / 1000, raw: floor.ms / 1000, target: 'floor (informational)', pass: 'info'}));
    details.clone = {cliMs: clone.ms, phasesMs: clonePhases.spans, runMs: clonePhases.runMs, prepareMs: cloneSplit.ms, strategy: cloneResult.strategy,
      copyStepMs: cloneMs, rawMs: rawClone.ms, templateMs: floor.ms, mode, sourceSessions: connected};
    await admin.query('drop database if exists bench_clone_project with (force)');
    await rm(join(work, 'clone.dir'), {recursive: true, force: true});
    await rm(join(work, 'rawclone.dir'), {recursive: true, force: true});

    // --- 4. masking: two identical template copies of the idle raw clone
    const {parseMaskingRules} = await load('core/masking/masking-rules');
    const {maskWithClient} = await load('core/masking/masking-service');
    await admin.query('drop database if exists bench_clone_floor with (force)');
    await admin.query('create database bench_mask_project template bench_clone_raw owner odoo');
    await admin.query('create database bench_mask_raw template bench_clone_raw owner odoo');
    await admin.query('drop database if exists bench_clone_raw with (force)');
    const mp = await connect('bench_mask_project');
    const yaml = await maskingYaml(mp, 'salt: ${BENCH_SALT}');
    const rules = parseMaskingRules(yaml, {variables: {BENCH_SALT: 'bench-salt-0123456789'}, readFile: () => '', baseDir: dir, source: 'bench masking rules'});
    const marks = [];
    const tm = performance.now();
    const maskResult = await maskWithClient(mp, {rules, database: 'bench_mask_project', event: (level, message) => { marks.push({at: performance.now() - tm, message}); }});
    const maskMs = performance.now() - tm;
    await mp.end();
    const snap = marks.find((m) => m.message.startsWith('masking plan built'));
    const upd = marks.find((m) => m.message.startsWith('masked res_partner'));
    const updateMs = snap && upd ? upd.at - snap.at : null;
    const split = snap && upd ? `plan ${fmt(snap.at / 1000, 1)} s, update (unchanged check in its RETURNING, index rebuilds) ${fmt(updateMs / 1000, 1)} s, leak scan ${fmt((maskMs - upd.at) / 1000, 1)} s` : 'no split';
    const mr = await connect('bench_mask_raw');
    const tr = performance.now();
    const rawUpdate = await mr.query(`UPDATE res_partner SET name = md5(name), email = md5(email) || '@example.invalid', phone = '+999 ' || left(md5(phone), 8),
      street = md5(street), vat = left(vat, 2) || left(md5(vat), 10)`);
    const rawMaskMs = performance.now() - tr;
    await mr.end();
    log(`  masking ${fmt(rawUpdate.rowCount)} partners: engine ${fmt(maskMs / 1000, 1)} s (plan + update + scan; the UPDATE with index rebuilds ${updateMs === null ? '-' : fmt(updateMs / 1000, 1)} s, ` +
      `rebuilt ${maskResult.tables[0]?.rebuiltIndexes.length ?? 0} index(es)); hand-written UPDATE ${fmt(rawMaskMs / 1000, 1)} s`);
    log(`    masking engine: ${split}`);
    rows.push(row({metric: `masking ${fmt(rawUpdate.rowCount)} partners (whole engine)`, unit: 's', project: maskMs / 1000, raw: rawMaskMs / 1000, ratio: rawMaskMs / maskMs,
      target: '>= 1.0 (raw/project)', pass: rawMaskMs / maskMs >= 1,
      note: 'maskWithClient: plan, one UPDATE per table that also counts values left unchanged (plain indexes of the table dropped and rebuilt), one-pass leak scan; raw = one UPDATE ... md5() of the same 5 columns'}));
    if (updateMs !== null) {
      rows.push(row({metric: 'masking: the engine\'s UPDATE step alone', unit: 's', project: updateMs / 1000, raw: rawMaskMs / 1000, ratio: rawMaskMs / updateMs,
        target: '>= 1.0 (raw/project)', pass: rawMaskMs / updateMs >= 1}));
    }
    details.masking = {projectMs: maskMs, planMs: snap?.at ?? null, updateMs, scanMs: upd ? maskMs - upd.at : null, rawMs: rawMaskMs, rows: rawUpdate.rowCount, rebuiltIndexes: maskResult.tables[0]?.rebuiltIndexes ?? []};
    await admin.query('drop database if exists bench_mask_project with (force)');
    await admin.query('drop database if exists bench_mask_raw with (force)');
    return {rows, details};
  } catch (err) {
    log(`  !! ${err.stack ?? err}`);
    rows.push({metric: 'data (failed)', unit: null, project: null, raw: null, ratio: null, target: '-', status: 'ERROR', note: String(err.message ?? err).slice(0, 400)});
    return {rows, details: {...details, error: String(err.message ?? err)}};
  } finally {
    await services?.close().catch(() => undefined);
    await admin?.end().catch(() => undefined);
    if (process.env.BENCH_DATA_KEEP === '1') {
      log(`  BENCH_DATA_KEEP=1: the project stays in ${dir} (\`node bin/run.js down\` there, then remove it)`);
    } else {
      await runTimed(process.execPath, [join(ROOT, 'bin', 'run.js'), 'down'], {cwd: dir, allowFail: true}).catch(() => undefined);
      await rm(dir, {recursive: true, force: true});
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await run();
  console.log('');
  printTable(result.rows);
}
