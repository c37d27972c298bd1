// Integration tests of the Odoo stand-in (test/fixtures/odoo-standin/odoo-bin) against a real
// PostgreSQL cluster: the behaviours of odoo-bin the platform relies on (see odoo-facts.md).
import {execa, type ResultPromise} from 'execa';
import {createHash, pbkdf2Sync} from 'node:crypto';
import {existsSync} from 'node:fs';
import {chmod, mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join, resolve} from 'node:path';
import pg from 'pg';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {freePort} from '../../../src/providers/local/free-port.js';
import {PostgresCluster} from '../../../src/providers/local/postgres-cluster.js';

const BIN = resolve(import.meta.dirname, '../../fixtures/odoo-standin/odoo-bin');

let tmp: string;
let cluster: PostgresCluster;
let socketDir: string;
let pgPort: number;
let dataDir: string;

const connArgs = () => ['--db_host', socketDir, '--db_port', String(pgPort), '--db_user', 'odoo', '--db_password', 'odoo', '--data-dir', dataDir];

interface Run {
  readonly exitCode: number | undefined;
  readonly stdout: string;
  readonly stderr: string;
}

async function odoo(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  const r = await execa(process.execPath, [BIN, ...args], {reject: false, env, timeout: 60_000, stdin: 'ignore'});
  return {exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr)};
}

/** Runs SQL as the superuser (over the cluster's socket). */
async function sql<T extends pg.QueryResultRow = Record<string, unknown>>(db: string, text: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client(cluster.socketUrl(db, socketDir, pgPort));
  await client.connect();
  try {
    return (await client.query<T>(text, params)).rows;
  } finally {
    await client.end();
  }
}

async function params(db: string): Promise<Record<string, string>> {
  const rows = await sql<{key: string; value: string}>(db, 'SELECT key, value FROM ir_config_parameter');
  return Object.fromEntries(rows.map((r) => [r.key, r.value]));
}

interface Server {
  readonly proc: ResultPromise;
  readonly url: string;
  readonly port: number;
  stderr(): string;
}

/** Starts the HTTP server and waits until the database's registry is loaded. */
async function startServer(db: string, extra: readonly string[] = []): Promise<Server> {
  const port = await freePort();
  const proc = execa(process.execPath, [BIN, ...connArgs(), '-d', db, '--http-interface', '127.0.0.1', '--http-port', String(port), '--max-cron-threads', '0', ...extra], {
    reject: false, stdin: 'ignore', all: false, env: {},
  });
  let err = '';
  proc.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while (!/Modules loaded\.|Failed to initialize|not initialized/.test(err)) {
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`stand-in did not start:\n${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {proc, url, port, stderr: () => err};
}

async function stopServer(server: Server | undefined): Promise<void> {
  if (!server || server.proc.exitCode !== null) return;
  server.proc.kill('SIGTERM');
  await server.proc;
}

const cookieOf = (res: Response): string | undefined =>
  res.headers.getSetCookie().map((c) => /^session_id=([^;]+)/.exec(c)?.[1]).find(Boolean);

async function rpc(url: string, path: string, body: Record<string, unknown>, cookie?: string) {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: {'Content-Type': 'application/json', ...(cookie ? {Cookie: `session_id=${cookie}`} : {})},
    body: JSON.stringify({jsonrpc: '2.0', method: 'call', id: 7, ...body}),
  });
  return {res, json: (await res.json()) as {jsonrpc: string; id: number; result?: unknown; error?: {code: number; data: {name: string; message: string}}}};
}

/** GET /web/login, then POST the form: returns the POST response and the cookie used. */
async function login(url: string, user: string, password: string, csrfOverride?: string) {
  const page = await fetch(`${url}/web/login`);
  const html = await page.text();
  const sid = cookieOf(page);
  const csrf = /name="csrf_token" value="([^"]+)"/.exec(html)?.[1];
  const res = await fetch(`${url}/web/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: {'Content-Type': 'application/x-www-form-urlencoded', Cookie: `session_id=${sid}`},
    body: new URLSearchParams({login: user, password, csrf_token: csrfOverride ?? csrf ?? ''}).toString(),
  });
  return {res, sid, csrf, html};
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'standin-'));
  await chmod(tmp, 0o755);
  cluster = new PostgresCluster({root: join(tmp, 'pg')});
  const started = await cluster.start();
  socketDir = started.socketDir;
  pgPort = started.port;
  await sql('postgres', "CREATE ROLE odoo LOGIN CREATEDB PASSWORD 'odoo'");
  dataDir = join(tmp, 'data');
});

afterAll(async () => {
  await cluster?.destroy();
  if (tmp) await rm(tmp, {recursive: true, force: true});
});

describe('command line', () => {
  it('--help says it is the stand-in, not Odoo; --version answers like odoo-bin', async () => {
    const help = await odoo(['--help']);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain('odoo-sh-next Odoo STAND-IN');
    expect(help.stdout).toContain('NOT ODOO');
    const version = await odoo(['--version']);
    expect(version.stdout.trim()).toBe('Odoo Server 17.0');
  });

  it('rejects unknown options like optparse (exit 2)', async () => {
    const r = await odoo(['--no-such-flag', '-d', 'x']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('odoo-bin: error: no such option: --no-such-flag');
  });

  it('rejects an addons path without modules, as Odoo does', async () => {
    const empty = join(tmp, 'empty-addons');
    await mkdir(empty, {recursive: true});
    const r = await odoo([...connArgs(), '-d', 'x', '--addons-path', empty, '--stop-after-init']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('is not a valid addons directory');
  });

  it('refuses the postgres database user', async () => {
    const r = await odoo(['--db_host', socketDir, '--db_port', String(pgPort), '--db_user', 'postgres', '-d', 'x', '--stop-after-init']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("Using the database user 'postgres' is a security risk, aborting.");
    const viaEnv = await odoo(['--db_host', socketDir, '-d', 'x', '--stop-after-init'], {PGUSER: 'postgres'});
    expect(viaEnv.exitCode).toBe(1);
  });

  it('reads -c FILE and lets the command line override it', async () => {
    const conf = join(tmp, 'odoo.conf');
    await writeFile(conf, `[options]\ndb_host = ${socketDir}\ndb_port = ${pgPort}\ndb_user = odoo\ndb_password = odoo\n`
      + `data_dir = ${dataDir}\nhttp_port = 12345\nwithout_demo = False\ndb_name = from_conf\nlogfile = False\n`);
    const r = await odoo(['-c', conf, '-d', 'conf_cli', '--http-port=18999', '--without-demo=all', '--stop-after-init']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain(`Using configuration file at ${conf}`);
    const dbs = (await sql<{datname: string}>('postgres', 'SELECT datname FROM pg_database')).map((d) => d.datname);
    expect(dbs).toContain('conf_cli');
    expect(dbs).not.toContain('from_conf');
    expect((await params('conf_cli'))['web.base.url']).toBe('http://localhost:18999');
    expect((await sql('conf_cli', "SELECT 1 FROM res_users WHERE login = 'demo'")).length).toBe(0);
  });
});

describe('-i / -u', () => {
  it('-i base --stop-after-init creates the database, the tables, the parameters, admin and demo data', async () => {
    const r = await odoo([...connArgs(), '-d', 'db_demo', '-i', 'base', '--stop-after-init', '--http-port', '8069']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \d+ INFO db_demo odoo\.modules\.loading: /m);
    const [info] = await sql<{enc: string; collate: string; owner: string}>('postgres',
      "SELECT pg_encoding_to_char(encoding) AS enc, datcollate AS collate, pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = 'db_demo'");
    expect(info).toEqual({enc: 'UTF8', collate: 'C', owner: 'odoo'});
    for (const t of ['ir_module_module', 'ir_config_parameter', 'res_users', 'res_partner', 'ir_attachment', 'ir_cron', 'ir_mail_server', 'ir_model_data']) {
      expect((await sql<{t: string | null}>('db_demo', 'SELECT to_regclass($1)::text AS t', [t]))[0]?.t).toBe(t);
    }
    // tables of mail/payment only come with those modules, as in Odoo
    expect((await sql<{t: string | null}>('db_demo', "SELECT to_regclass('payment_provider')::text AS t"))[0]?.t).toBeNull();

    const p = await params('db_demo');
    expect(p['database.uuid']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(p['database.secret']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(p['database.create_date']).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    expect(p['web.base.url']).toBe('http://localhost:8069');
    expect(p['base.login_cooldown_after']).toBe('10');
    expect(p['base.login_cooldown_duration']).toBe('60');

    const mods = await sql<{name: string; state: string; latest_version: string; demo: boolean}>('db_demo',
      "SELECT name, state, latest_version, demo FROM ir_module_module WHERE state = 'installed' ORDER BY name");
    expect(mods).toEqual([
      {name: 'base', state: 'installed', latest_version: '17.0.1.3', demo: true},
      {name: 'web', state: 'installed', latest_version: '17.0.1.0', demo: true},
    ]);
    expect((await sql('db_demo', "SELECT 1 FROM ir_module_module WHERE name = 'mail' AND state = 'uninstalled'")).length).toBe(1);

    const [admin] = await sql<{id: number; password: string; active: boolean}>('db_demo', "SELECT id, password, active FROM res_users WHERE login = 'admin'");
    expect(admin?.id).toBe(2);
    const m = /^\$pbkdf2-sha512\$(\d+)\$([./A-Za-z0-9]+)\$([./A-Za-z0-9]+)$/.exec(admin?.password ?? '');
    expect(m).not.toBeNull();
    const ab64 = (s: string) => Buffer.from(s.replaceAll('.', '+'), 'base64');
    const dk = pbkdf2Sync('admin', ab64(m?.[2] ?? ''), Number(m?.[1]), 64, 'sha512');
    expect(dk.toString('base64').replace(/=+$/, '').replaceAll('+', '.')).toBe(m?.[3]);

    const partners = await sql<{name: string; email: string | null; phone: string | null; street: string | null; vat: string | null}>('db_demo', 'SELECT name, email, phone, street, vat FROM res_partner');
    expect(partners.length).toBeGreaterThanOrEqual(20);
    expect(partners.filter((x) => x.email && x.phone && x.street).length).toBeGreaterThanOrEqual(18);
    expect(partners.some((x) => x.vat)).toBe(true);

    const files = await sql<{store_fname: string; checksum: string; file_size: number}>('db_demo',
      "SELECT store_fname, checksum, file_size FROM ir_attachment WHERE type = 'binary' AND store_fname IS NOT NULL");
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const f of files) {
      const content = await readFile(join(dataDir, 'filestore', 'db_demo', f.store_fname));
      const sha = createHash('sha1').update(content).digest('hex');
      expect(f.checksum).toBe(sha);
      expect(f.store_fname).toBe(`${sha.slice(0, 2)}/${sha}`);
      expect(f.file_size).toBe(content.length);
    }
    expect(new Set(files.map((f) => f.store_fname)).size).toBeLessThan(files.length); // deduplicated

    const crons = await sql<{cron_name: string; code: string}>('db_demo',
      "SELECT c.cron_name, a.code FROM ir_cron c JOIN ir_act_server a ON a.id = c.ir_actions_server_id JOIN ir_model_data d ON d.model = 'ir.cron' AND d.res_id = c.id AND d.module = 'base' AND d.name = 'autovacuum_job'");
    expect(crons).toEqual([{cron_name: 'Base: Auto-vacuum internal data', code: 'model._run_vacuum_cleaner()'}]);
    expect((await sql('db_demo', 'SELECT 1 FROM ir_mail_server WHERE smtp_user IS NOT NULL AND smtp_pass IS NOT NULL')).length).toBe(1);
  });

  it('--without-demo=all: only the company, OdooBot and admin partners, no demo flag', async () => {
    const r = await odoo([...connArgs(), '-d', 'db_nodemo', '-i', 'base', '--without-demo=all', '--stop-after-init']);
    expect(r.exitCode, r.stderr).toBe(0);
    const partners = await sql<{name: string}>('db_nodemo', 'SELECT name FROM res_partner ORDER BY id');
    expect(partners.map((x) => x.name)).toEqual(['My Company', 'OdooBot', 'Administrator']);
    expect(await sql('db_nodemo', "SELECT demo FROM ir_module_module WHERE name = 'base'")).toEqual([{demo: false}]);
    expect(await sql('db_nodemo', 'SELECT id FROM ir_attachment')).toEqual([]);
    expect(await sql('db_nodemo', "SELECT login FROM res_users WHERE active ORDER BY id")).toEqual([{login: 'admin'}]);
  });

  it('-u moves latest_version to the manifest on disk; -i of unknown modules only warns, a missing dependency fails', async () => {
    const addons = join(tmp, 'custom-addons');
    const mod = join(addons, 'standin_custom');
    await mkdir(mod, {recursive: true});
    const manifest = (v: string, deps = "'base'") => `# -*- coding: utf-8 -*-\n{\n    'name': "Custom",\n    'version': '${v}',\n    'depends': [${deps}],\n    'license': 'LGPL-3',\n}\n`;
    await writeFile(join(mod, '__manifest__.py'), manifest('1.0'));
    const args = [...connArgs(), '-d', 'db_upd', '--addons-path', addons, '--without-demo=all', '--stop-after-init'];
    expect((await odoo([...args, '-i', 'standin_custom'])).exitCode).toBe(0);
    const version = async (name: string) =>
      (await sql<{v: string; state: string}>('db_upd', 'SELECT latest_version AS v, state FROM ir_module_module WHERE name = $1', [name]))[0];
    expect(await version('standin_custom')).toEqual({v: '17.0.1.0', state: 'installed'});

    await writeFile(join(mod, '__manifest__.py'), manifest('17.0.1.2.1'));
    const up = await odoo([...args, '-u', 'standin_custom']);
    expect(up.exitCode, up.stderr).toBe(0);
    expect(await version('standin_custom')).toEqual({v: '17.0.1.2.1', state: 'installed'});

    await writeFile(join(mod, '__manifest__.py'), manifest('2.0'));
    expect((await odoo([...args, '-u', 'all'])).exitCode).toBe(0);
    expect(await version('standin_custom')).toEqual({v: '17.0.2.0', state: 'installed'});

    // another series (test knob): -u base moves base and every module depending on it
    const other = await odoo([...args, '-u', 'base'], {ODOO_STANDIN_SERIES: '18.0'});
    expect(other.exitCode).toBe(0);
    expect(await version('base')).toEqual({v: '18.0.1.3', state: 'installed'});
    expect(await version('standin_custom')).toEqual({v: '18.0.2.0', state: 'installed'});

    const unknown = await odoo([...args, '-i', 'no_such_module']);
    expect(unknown.exitCode).toBe(0);
    expect(unknown.stderr).toContain('WARNING db_upd odoo.modules.loading: invalid module names, ignored: no_such_module');

    const broken = join(addons, 'standin_broken');
    await mkdir(broken, {recursive: true});
    await writeFile(join(broken, '__manifest__.py'), manifest('1.0', "'base', 'not_there'"));
    const fail = await odoo([...args, '-i', 'standin_broken']);
    expect(fail.exitCode).toBe(255);
    expect(fail.stderr).toContain('CRITICAL db_upd odoo.service.server: Failed to initialize database `db_upd`.');
    expect((await version('standin_broken'))?.state).not.toBe('installed'); // the whole load is rolled back
  });
});

describe('HTTP server', () => {
  let server: Server;
  beforeAll(async () => {
    const r = await odoo([...connArgs(), '-d', 'db_http', '-i', 'mail', '--stop-after-init']);
    expect(r.exitCode, r.stderr).toBe(0);
    server = await startServer('db_http');
  });
  afterAll(async () => {
    await stopServer(server);
  });

  it('GET /web/health answers without the database; ?db_server_status=1 checks PostgreSQL', async () => {
    const res = await fetch(`${server.url}/web/health`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.text()).toBe('{"status": "pass"}');
    const db = await fetch(`${server.url}/web/health?db_server_status=1`);
    expect(db.status).toBe(200);
    expect(await db.json()).toEqual({status: 'pass', db_server_status: true});
  });

  it('health reports a PostgreSQL it cannot reach with HTTP 500', async () => {
    const port = await freePort();
    const proc = execa(process.execPath, [BIN, '--db_host', join(tmp, 'no-socket-here'), '--db_user', 'odoo', '--data-dir', dataDir,
      '--http-interface', '127.0.0.1', '--http-port', String(port)], {reject: false, stdin: 'ignore', env: {}});
    try {
      let res: Response | undefined;
      for (let i = 0; i < 100 && !res; i++) {
        res = await fetch(`http://127.0.0.1:${port}/web/health?db_server_status=1`).catch(() => undefined);
        if (!res) await new Promise((r) => setTimeout(r, 50));
      }
      expect(res?.status).toBe(500);
      expect(await res?.json()).toEqual({status: 'fail', db_server_status: false});
      expect((await fetch(`http://127.0.0.1:${port}/web/health`)).status).toBe(200);
    } finally {
      proc.kill('SIGTERM');
      await proc;
    }
  });

  it('serves the login page with a csrf_token and a session cookie', async () => {
    const res = await fetch(`${server.url}/web/login`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toMatch(/<input type="hidden" name="csrf_token" value="[0-9a-f]{40}o\d+"\/>/);
    expect(html).toContain('name="login"');
    expect(html).toContain('name="password"');
    expect(cookieOf(res)).toMatch(/^[A-Za-z0-9_-]{84}$/);
  });

  it('logs admin/admin in: 303 to /web, a new session cookie stored under data_dir/sessions', async () => {
    const {res, sid} = await login(server.url, 'admin', 'admin');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/web');
    const cookie = cookieOf(res);
    expect(cookie).toBeDefined();
    expect(cookie).not.toBe(sid); // rotated on login
    expect(existsSync(join(dataDir, 'sessions', cookie!.slice(0, 2), cookie!))).toBe(true);
    const web = await fetch(`${server.url}/web`, {headers: {Cookie: `session_id=${cookie}`}, redirect: 'manual'});
    expect(web.status).toBe(200);
    const partners = await fetch(`${server.url}/web/partners`, {headers: {Cookie: `session_id=${cookie}`}, redirect: 'manual'});
    expect(partners.status).toBe(200);
    expect(await partners.text()).toContain('Azure Interior');
    // an admin login rewrites web.base.url from the request
    expect((await params('db_http'))['web.base.url']).toBe(server.url);
  });

  it('without a session /web redirects to /web/login', async () => {
    const web = await fetch(`${server.url}/web`, {redirect: 'manual'});
    expect(web.status).toBe(303);
    expect(web.headers.get('location')).toBe('/web/login');
    expect((await fetch(`${server.url}/web/partners`, {redirect: 'manual'})).status).toBe(303);
  });

  it('refuses a wrong password (200, "Wrong login/password") and a bad CSRF token (400)', async () => {
    const wrong = await login(server.url, 'admin', 'nope');
    expect(wrong.res.status).toBe(200);
    expect(await wrong.res.text()).toContain('Wrong login/password');
    expect(cookieOf(wrong.res)).toBeUndefined();
    const csrf = await login(server.url, 'admin', 'admin', 'deadbeefo1');
    expect(csrf.res.status).toBe(400);
  });

  it('accepts a plaintext password written into res_users.password and hashes it', async () => {
    await sql('db_http', "UPDATE res_users SET password = 'plain-secret' WHERE login = 'demo'");
    const {res} = await login(server.url, 'demo', 'plain-secret');
    expect(res.status).toBe(303);
    const [row] = await sql<{password: string}>('db_http', "SELECT password FROM res_users WHERE login = 'demo'");
    expect(row?.password).toMatch(/^\$pbkdf2-sha512\$/);
  });

  it('answers version_info, /jsonrpc common.version/login and /web/session/authenticate', async () => {
    const expected = {server_version: '17.0', server_version_info: [17, 0, 0, 'final', 0, ''], server_serie: '17.0', protocol_version: 1};
    const v = await rpc(server.url, '/web/webclient/version_info', {params: {}});
    expect(v.json).toEqual({jsonrpc: '2.0', id: 7, result: expected});
    expect((await rpc(server.url, '/jsonrpc', {params: {service: 'common', method: 'version', args: []}})).json.result).toEqual(expected);
    expect((await rpc(server.url, '/jsonrpc', {params: {service: 'common', method: 'login', args: ['db_http', 'admin', 'admin']}})).json.result).toBe(2);
    expect((await rpc(server.url, '/jsonrpc', {params: {service: 'common', method: 'login', args: ['db_http', 'admin', 'bad']}})).json.result).toBe(false);

    const auth = await rpc(server.url, '/web/session/authenticate', {params: {db: 'db_http', login: 'admin', password: 'admin'}});
    expect((auth.json.result as {uid: number}).uid).toBe(2);
    const cookie = cookieOf(auth.res);
    expect(cookie).toBeDefined();
    const read = await rpc(server.url, '/web/dataset/call_kw/res.partner/search_read', {
      params: {model: 'res.partner', method: 'search_read', args: [[['name', '=', 'Deco Addict']]], kwargs: {fields: ['name', 'email']}},
    }, cookie);
    expect(read.json.result).toEqual([expect.objectContaining({name: 'Deco Addict', email: 'deco.addict82@example.com'})]);
    const denied = await rpc(server.url, '/web/session/authenticate', {params: {db: 'db_http', login: 'admin', password: 'x'}});
    expect(denied.json.error?.data.name).toBe('odoo.exceptions.AccessDenied');
  });

  it('serves attachments from the filestore, and HTTP 500 once the file is gone', async () => {
    const auth = await rpc(server.url, '/web/session/authenticate', {params: {db: 'db_http', login: 'admin', password: 'admin'}});
    const cookie = cookieOf(auth.res);
    const [att] = await sql<{id: number; store_fname: string}>('db_http',
      "SELECT id, store_fname FROM ir_attachment WHERE name = 'Quotation - Azure Interior.txt'");
    expect(att).toBeDefined();
    const file = join(dataDir, 'filestore', 'db_http', att!.store_fname);
    const ok = await fetch(`${server.url}/web/content/${att!.id}`, {headers: {Cookie: `session_id=${cookie}`}});
    expect(ok.status).toBe(200);
    expect(Buffer.from(await ok.arrayBuffer()).equals(await readFile(file))).toBe(true);
    expect((await fetch(`${server.url}/web/content/${att!.id}`)).status).toBe(404); // no session: not found
    await rm(file);
    const gone = await fetch(`${server.url}/web/content/${att!.id}`, {headers: {Cookie: `session_id=${cookie}`}});
    expect(gone.status).toBe(500);
  });

  it('generates asset bundles on first request as ir_attachment + file; HTTP 500 when the file is missing', async () => {
    const html = await (await fetch(`${server.url}/web/login`)).text();
    const path = /href="(\/web\/assets\/[^"]+\.css)"/.exec(html)?.[1];
    expect(path).toBeDefined();
    const first = await fetch(`${server.url}${path}`);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('text/css');
    const rows = await sql<{store_fname: string; url: string}>('db_http', "SELECT store_fname, url FROM ir_attachment WHERE url LIKE '/web/assets/%'");
    expect(rows).toEqual([expect.objectContaining({url: path})]);
    const file = join(dataDir, 'filestore', 'db_http', rows[0]!.store_fname);
    expect(existsSync(file)).toBe(true);
    expect((await fetch(`${server.url}${path}`)).status).toBe(200); // read back, not regenerated
    expect((await sql('db_http', "SELECT 1 FROM ir_attachment WHERE url LIKE '/web/assets/%'")).length).toBe(1);
    await rm(file);
    expect((await fetch(`${server.url}${path}`)).status).toBe(500);
    expect((await fetch(`${server.url}/web/health`)).status).toBe(200);
    // deleting the asset attachments makes Odoo regenerate them
    await sql('db_http', "DELETE FROM ir_attachment WHERE url LIKE '/web/assets/%'");
    expect((await fetch(`${server.url}${path}`)).status).toBe(200);
  });

  it('stops promptly on SIGTERM with exit status 0', async () => {
    await fetch(`${server.url}/web/health`); // a keep-alive connection must not delay the stop
    const t0 = Date.now();
    server.proc.kill('SIGTERM');
    const result = await server.proc;
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(result.exitCode).toBe(0);
    expect(server.stderr()).toContain('odoo.service.server: Initiating shutdown');
  });
});

describe('neutralize', () => {
  it('--stdout prints the SQL without applying it; neutralize applies it in one transaction', async () => {
    const r = await odoo([...connArgs(), '-d', 'db_neutral', '-i', 'mail,payment_stripe', '--stop-after-init']);
    expect(r.exitCode, r.stderr).toBe(0);
    const before = await params('db_neutral');
    const active = async () => ({
      mail: await sql<{name: string; smtp_host: string; smtp_port: number}>('db_neutral', 'SELECT name, smtp_host, smtp_port FROM ir_mail_server WHERE active ORDER BY id'),
      crons: await sql<{cron_name: string}>('db_neutral', 'SELECT cron_name FROM ir_cron WHERE active ORDER BY id'),
      fetchmail: await sql('db_neutral', 'SELECT id FROM fetchmail_server WHERE active'),
      providers: await sql<{state: string; stripe_secret_key: string | null}>('db_neutral', "SELECT state, stripe_secret_key FROM payment_provider WHERE code = 'stripe'"),
    });
    const initial = await active();
    expect(initial.mail.length).toBe(1);
    expect(initial.crons.length).toBeGreaterThan(1);
    expect(initial.fetchmail.length).toBe(1);
    expect(initial.providers).toEqual([{state: 'enabled', stripe_secret_key: expect.stringMatching(/^sk_live_/)}]);

    const dry = await odoo(['neutralize', ...connArgs(), '-d', 'db_neutral', '--stdout']);
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.stdout.startsWith('BEGIN;\n')).toBe(true);
    expect(dry.stdout.trimEnd().endsWith('COMMIT;')).toBe(true);
    expect(dry.stdout).toContain('UPDATE ir_mail_server');
    expect(dry.stdout).toContain('UPDATE fetchmail_server');
    expect(dry.stdout).toContain('stripe_secret_key = NULL');
    expect(await active()).toEqual(initial);

    const run = await odoo(['neutralize', ...connArgs(), '-d', 'db_neutral']);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stderr).toContain('odoo.modules.neutralize: Neutralization finished');
    const after = await active();
    expect(after.mail).toEqual([{name: 'neutralization - disable emails', smtp_host: 'invalid', smtp_port: 1025}]);
    expect(after.crons).toEqual([{cron_name: 'Base: Auto-vacuum internal data'}]);
    expect(after.fetchmail).toEqual([]);
    expect(after.providers).toEqual([{state: 'disabled', stripe_secret_key: null}]);
    expect(await sql('db_neutral', "SELECT 1 FROM payment_provider WHERE state NOT IN ('test', 'disabled')")).toEqual([]);
    const p = await params('db_neutral');
    expect(p['database.is_neutralized']).toBe('true');
    for (const k of ['database.uuid', 'database.secret', 'database.create_date', 'web.base.url']) expect(p[k]).toBe(before[k]);
  });

  it('fails with THE DATABASE IS NOT NEUTRALIZED! and exit 1 on error', async () => {
    const r = await odoo(['neutralize', ...connArgs(), '-d', 'no_such_db']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('THE DATABASE IS NOT NEUTRALIZED!');
    const noDb = await odoo(['neutralize', ...connArgs()]);
    expect(noDb.exitCode).toBe(1);
  });
});
