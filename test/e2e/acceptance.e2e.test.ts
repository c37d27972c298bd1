/**
 * The platform's acceptance criteria (issue 6, point 6) end to end through the built CLI, on the local provider
 * with the Odoo stand-in and no state.url (the project's own PostgreSQL cluster holds the state store too).
 * One project, steps in order, sharing state: production from a push of main → a preview from feature/x → staging
 * from release/x on a neutralized, masked production clone → promotion denied without approval, allowed after
 * another admin approves, same release id, rollback → backup/restore round trip and retention plan → audit.
 */
import {execa} from 'execa';
import {mkdir, readFile, readdir, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import pg from 'pg';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {assertContract, runCli, STANDIN, tempProject} from '../helpers/cli.js';

const SALT = {MASKING_SALT: 'acceptance-salt-0123456789abcdef'};
const CANARY = 'canary.customer@real-company.test';
const RULES = `salt: \${MASKING_SALT}
rules:
  - table: res_partner
    columns: {name: fake-name, complete_name: fake-name, email: fake-email, phone: fake-phone, mobile: fake-phone, street: fake-street,
              street2: null, vat: fake-vat, website: keep, zip: keep, city: keep, lang: keep, tz: keep, type: keep}
`;

let project: {dir: string; remove(): Promise<void>};
const run = <R>(args: string[], env: Record<string, string> = {}) => runCli<R>([...args, '--json'], {cwd: project.dir, env: {...SALT, ...env}});
const cli = <R>(...args: string[]) => run<R>(args);
const gitEnv = {GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.invalid'};
const git = async (...args: string[]) => (await execa('git', args, {cwd: project.dir, env: gitEnv})).stdout.trim();

interface EnvInfo {name: string; databaseName: string | null; url?: string | null; currentRelease?: string | null}
interface Release {id: string; env: string; status: string; sourceEnv?: string | null}

/** A query against a database of the project's cluster, as the superuser over its socket. */
async function sql<T extends pg.QueryResultRow>(database: string, text: string, params: unknown[] = [], user = 'postgres'): Promise<T[]> {
  const socketDir = join(project.dir, '.odoo-sh-next', 'postgres', 'run');
  const sock = (await readdir(socketDir)).find((f) => f.startsWith('.s.PGSQL.') && !f.endsWith('.lock'))!;
  const client = new pg.Client({host: socketDir, port: Number(sock.slice('.s.PGSQL.'.length)), user, database});
  await client.connect();
  try {
    return (await client.query<T>(text, params)).rows;
  } finally {
    await client.end();
  }
}

async function envInfo(name: string): Promise<EnvInfo> {
  const res = await cli<EnvInfo>('env', 'show', name);
  expect(res.exitCode, res.stderr).toBe(0);
  return res.json.result!;
}

async function healthy(url: string): Promise<void> {
  const health = await fetch(new URL('/web/health', url));
  expect(health.status).toBe(200);
  expect(await health.json()).toEqual({status: 'pass'});
}

beforeAll(async () => {
  project = await tempProject('odoo-sh-next-acceptance-');
  await mkdir(join(project.dir, 'addons', 'shop'), {recursive: true});
  await writeFile(join(project.dir, 'addons', 'shop', '__manifest__.py'), "{'name': 'Shop', 'version': '1.0', 'depends': ['base']}\n");
  await writeFile(join(project.dir, 'masking.yaml'), RULES);
  await git('init', '-q', '-b', 'main');
  await git('add', '-A');
  await git('commit', '-q', '-m', 'shop 1.0');
  await git('branch', 'feature/x');
  // release/x carries a change: its release differs from production's (shop 1.1).
  await git('checkout', '-q', '-b', 'release/x');
  await writeFile(join(project.dir, 'addons', 'shop', '__manifest__.py'), "{'name': 'Shop', 'version': '1.1', 'depends': ['base']}\n");
  await git('commit', '-q', '-am', 'shop 1.1');
  await git('checkout', '-q', 'main');
}, 60_000);

afterAll(async () => {
  await runCli(['down'], {cwd: project.dir});
  await project.remove();
});

describe('acceptance criteria of the platform (local provider, Odoo stand-in)', () => {
  const mainSha = () => git('rev-parse', 'main');
  let production: {release: string; url: string; database: string};
  let staging: {env: string; release: string; database: string};
  let preview: string;
  let promoted: string;

  it('init, with a masking rules file whose salt comes from the environment', async () => {
    const init = await cli('init', '--project', 'shop', '--odoo-bin', STANDIN);
    expect(init.exitCode, init.stderr).toBe(0);
    assertContract('init', init.json.result);
    const file = join(project.dir, 'odoo-sh-next.config.yaml');
    const config = (await readFile(file, 'utf8'))
      .replace('masking: {}', 'masking: {rules: ./masking.yaml}')
      .replace('addons: []', 'addons: [{path: ./addons}]')
      .replace('modules: [base]', 'modules: [base, shop]');
    await writeFile(file, config);
    const show = await cli<{masking: {rules: string}}>('config', 'show');
    expect(show.exitCode, show.stderr).toBe(0);
    expect(show.json.result!.masking.rules).toBe(join(project.dir, 'masking.yaml'));
  });

  it('a push of main deploys production, which serves', async () => {
    const res = await cli<{action: string; result: {env: string; release: string; url: string | null}}>('event', 'push', '--ref', 'refs/heads/main', '--sha', await mainSha());
    expect(res.exitCode, res.stderr).toBe(0);
    expect(res.json.result).toMatchObject({action: 'deploy', result: {env: 'production', release: expect.stringMatching(/^r-[0-9a-f]{12}$/)}});
    const env = await envInfo('production');
    const url = res.json.result!.result.url ?? env.url!;
    await healthy(url);
    production = {release: res.json.result!.result.release, url, database: env.databaseName!};
    // A real customer in production: the staging clone must not keep this address.
    await sql(production.database, `insert into res_partner (name, complete_name, email, phone, street) values ('Canary Customer', 'Canary Customer', $1, '+32 470 12 34 56', 'Rue Réelle 1')`, [CANARY]);
  });

  it('a push of feature/x gives a running preview', async () => {
    const res = await cli<{action: string; result: {env: string; url: string | null; run: {state: string}}}>('event', 'push', '--ref', 'refs/heads/feature/x', '--sha', await git('rev-parse', 'feature/x'));
    expect(res.exitCode, res.stderr).toBe(0);
    expect(res.json.result).toMatchObject({action: 'preview-up', result: {run: {state: 'succeeded'}}});
    preview = res.json.result!.result.env;
    const url = res.json.result!.result.url!;
    await healthy(url);
    const login = await fetch(new URL('/web/login', url));
    expect(login.status).toBe(200);
    expect(await login.text()).toContain('csrf_token');
  });

  it('a push of release/x gives staging on a fresh, neutralized, masked production clone', async () => {
    const res = await cli<{action: string; result: {env: string; database: string | null; url: string | null; run: {state: string}}}>('event', 'push', '--ref', 'refs/heads/release/x', '--sha', await git('rev-parse', 'release/x'));
    expect(res.exitCode, res.stderr).toBe(0);
    expect(res.json.result).toMatchObject({action: 'staging-clone', result: {run: {state: 'succeeded'}}});
    const env = res.json.result!.result.env;
    const database = res.json.result!.result.database!;
    expect(database).not.toBe(production.database);
    await healthy(res.json.result!.result.url ?? (await envInfo(env)).url!);
    const param = (db: string, key: string) => sql<{value: string}>(db, 'select value from ir_config_parameter where key = $1', [key]).then((r) => r[0]?.value ?? null);
    expect(await param(database, 'database.is_neutralized')).toBe('true');
    expect(await param(database, 'database.uuid')).not.toBe(await param(production.database, 'database.uuid'));
    expect(await sql(database, 'select id from res_partner where email = $1 or name = $2', [CANARY, 'Canary Customer'])).toEqual([]);
    expect(await sql(production.database, 'select id from res_partner where email = $1', [CANARY])).toHaveLength(1);
    // The build recorded the release it runs, so it can be approved and promoted right away.
    const built = (await cli<Release[]>('releases', 'list', '--env', env)).json.result!;
    expect(built).toHaveLength(1);
    expect(built[0]!.id).toMatch(/^r-[0-9a-f]{12}$/);
    staging = {env, release: built[0]!.id, database};

    // A second build of the branch is a fresh clone again: a new database.
    const again = await cli<{result: {database: string | null}}>('event', 'push', '--ref', 'refs/heads/release/x', '--sha', await git('rev-parse', 'release/x'));
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.json.result!.result.database).not.toBe(database);
    staging = {...staging, database: again.json.result!.result.database!};
  });

  it('promotion is denied without approval (exit 8, reasons), allowed after another admin approves, and rolls back', async () => {
    const policy = await cli('policy', 'set', '--env-type', 'production', '--rule', 'approvals >= 1 from role admin');
    expect(policy.exitCode, policy.stderr).toBe(0);
    const denied = await cli('deploy', 'promote', '--from', staging.env, '--to', 'production', '--yes');
    expect(denied.exitCode).toBe(8);
    expect(JSON.stringify(denied.json.error)).toContain('needs 1 approval(s) from role admin');
    expect(denied.json.error!.data).toMatchObject({reasons: [expect.stringContaining('approvals >= 1 from role admin')]});
    // The release that ran on staging (recorded by the build; the same code built twice is one release), distinct from production's.
    const staged = (await cli<Release[]>('releases', 'list', '--env', staging.env)).json.result!;
    expect(staged.map((r) => r.id)).toEqual([staging.release]);
    expect(staging.release).not.toBe(production.release);

    const req = await cli<{id: string}>('approvals', 'request', '--for', 'promote', '--env', 'production', '--release', staging.release);
    expect(req.exitCode, req.stderr).toBe(0);
    // The requester cannot approve their own request.
    expect((await cli('approvals', 'approve', req.json.result!.id)).exitCode).toBe(8);

    // Another admin, with its own Postgres role, acting through the CLI with a config whose state.url logs in as that role.
    const added = await run(['members', 'add', 'alice', '--role', 'admin', '--password-from-env', 'ALICE_PASSWORD'], {ALICE_PASSWORD: 'alice-password-0123456789'});
    expect(added.exitCode, added.stderr).toBe(0);
    const status = await cli<{location: string; actor: string}>('state', 'status');
    expect(status.json.result!.actor).toBe('postgres');
    const stateDb = /database ([a-z0-9_]+)\)$/.exec(status.json.result!.location)![1]!;
    const socketDir = join(project.dir, '.odoo-sh-next', 'postgres', 'run');
    const sock = (await readdir(socketDir)).find((f) => f.startsWith('.s.PGSQL.') && !f.endsWith('.lock'))!;
    const aliceUrl = `postgresql:///${stateDb}?host=${encodeURIComponent(socketDir)}&port=${sock.slice('.s.PGSQL.'.length)}&user=alice&password=\${ALICE_PASSWORD}`;
    const config = await readFile(join(project.dir, 'odoo-sh-next.config.yaml'), 'utf8');
    await writeFile(join(project.dir, 'alice.config.yaml'), config.replace('state:\n', `state:\n  url: ${JSON.stringify(aliceUrl)}\n`));
    const approved = await run(['approvals', 'approve', req.json.result!.id, '--config', 'alice.config.yaml'], {ALICE_PASSWORD: 'alice-password-0123456789'});
    expect(approved.exitCode, approved.stderr + approved.stdout).toBe(0);
    expect(approved.json.result).toMatchObject({status: 'approved', release: staging.release, requestedBy: 'postgres', votes: [{voter: 'alice', vote: 'approve'}]});

    const res = await cli<{from: string; url: string | null; release: Release}>('deploy', 'promote', '--from', staging.env, '--to', 'production', '--yes');
    expect(res.exitCode, res.stderr).toBe(0);
    expect(res.json.result!.release).toMatchObject({id: staging.release, env: 'production', sourceEnv: staging.env, status: 'deployed'});
    promoted = staging.release;
    const list = (await cli<Release[]>('releases', 'list', '--env', 'production')).json.result!;
    expect(list[0]!.id).toBe(promoted);
    await healthy(res.json.result!.url ?? (await envInfo('production')).url!);

    const back = await cli<{release: string; url: string | null}>('deploy', 'rollback', '--env', 'production', '--yes');
    expect(back.exitCode, back.stderr).toBe(0);
    expect(back.json.result!.release).toBe(production.release);
    await healthy(back.json.result!.url ?? (await envInfo('production')).url!);
    const after = (await cli<Release[]>('releases', 'list', '--env', 'production')).json.result!;
    expect(after.find((r) => r.id === production.release)!.status).toBe('deployed');
  });

  it('a backup/restore round trip works, and retention keeps only the newest backup of a day in the daily tier', async () => {
    const created = await cli<{backup: {id: string; status: string}}>('backups', 'create', '--env', 'production');
    expect(created.exitCode, created.stderr).toBe(0);
    assertContract('backups create', created.json.result);
    const id = created.json.result!.backup!.id;
    const verified = await cli('backups', 'verify', id);
    expect(verified.exitCode, verified.stderr).toBe(0);

    const before = (await envInfo('production')).databaseName!;
    await sql(before, `insert into res_partner (name, complete_name, email) values ('After Backup', 'After Backup', 'after.backup@example.invalid')`);
    expect(await sql(before, `select id from res_partner where name = 'After Backup'`)).toHaveLength(1);
    const restored = await cli<{restore: {database: string; url: string}}>('backups', 'restore', id, '--yes');
    expect(restored.exitCode, restored.stderr).toBe(0);
    const after = (await envInfo('production')).databaseName!;
    expect(after).toBe(restored.json.result!.restore!.database);
    expect(await sql(after, `select id from res_partner where name = 'After Backup'`)).toEqual([]);
    expect(await sql(after, 'select id from res_partner where email = $1', [CANARY])).toHaveLength(1);
    await healthy(restored.json.result!.restore!.url);

    const daily: string[] = [];
    for (let i = 0; i < 3; i++) {
      const b = await cli<{backup: {id: string}}>('backups', 'create', '--env', 'production', '--kind', 'daily');
      expect(b.exitCode, b.stderr).toBe(0);
      daily.push(b.json.result!.backup!.id);
    }
    const plan = await cli<{dryRun: boolean; kept: {id: string; reason: string}[]; removed: {id: string}[]}>('backups', 'prune', '--dry-run', '--env', 'production');
    expect(plan.exitCode, plan.stderr).toBe(0);
    assertContract('backups prune', plan.json.result);
    expect(plan.json.result!.dryRun).toBe(true);
    const kept = plan.json.result!.kept.map((b) => b.id);
    const removed = plan.json.result!.removed.map((b) => b.id);
    expect(plan.json.result!.kept.find((b) => b.id === daily[2])!.reason).toMatch(/daily/);
    expect(removed).toEqual(expect.arrayContaining([daily[0], daily[1]]));
    expect(kept).toContain(id);
    // A dry run deletes nothing.
    const list = await cli<{id: string}[]>('backups', 'list', '--env', 'production');
    expect(list.json.result!.map((b) => b.id)).toEqual(expect.arrayContaining(daily));
  });

  it('every step is in the audit log, and the audit chain verifies', async () => {
    const audit = await cli<{entries: {action: string; actor: string; env: string | null; target: string | null}[]}>('audit', 'list', '--limit', '10000');
    expect(audit.exitCode, audit.stderr).toBe(0);
    assertContract('audit list', audit.json.result);
    const entries = audit.json.result!.entries;
    const has = (action: string, where: {env?: string; actor?: string} = {}) =>
      entries.some((e) => e.action === action && (where.env === undefined || e.env === where.env) && (where.actor === undefined || e.actor === where.actor));
    const expected: [string, {env?: string; actor?: string}][] = [
      ['project.create', {}],
      ['run.queue', {env: 'production'}], ['release.record', {env: 'production'}], ['release.deployed', {env: 'production'}],
      ['env.create', {env: preview}], ['run.queue', {env: preview}],
      ['env.create', {env: staging.env}], ['run.queue', {env: staging.env}],
      ['policy.set', {}], ['policy.deny', {}], ['approval.request', {}], ['member.add', {}], ['approval.approve', {actor: 'alice'}],
      ['release.rolled_back', {env: 'production'}],
      ['backup.create', {env: 'production'}], ['backup.complete', {env: 'production'}], ['backup.verify', {}],
      ['restore.start', {env: 'production'}], ['restore.switch', {env: 'production'}],
    ];
    expect(expected.filter(([action, where]) => !has(action, where))).toEqual([]);
    const verify = await cli('audit', 'verify');
    expect(verify.exitCode, verify.stderr).toBe(0);
  });
});
