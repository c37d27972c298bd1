/**
 * Releases and production deploys through the built CLI on the local provider with the Odoo stand-in,
 * the state store in a real PostgreSQL test database (direct SQL there for a second admin's approval).
 * One project, steps in order: first deploy → deploy of a moved manifest version (-u, pre-deploy backup)
 * → promotion refusals → promotion after an approval → rollback → `event push refs/heads/main`.
 */
import {execa} from 'execa';
import {mkdir, readdir, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import pg from 'pg';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import type {DeployResult} from '../../../src/commands/deploy/index.js';
import type {DeployRollbackResult} from '../../../src/commands/deploy/rollback.js';
import type {ReleasesListResult} from '../../../src/commands/releases/list.js';
import {assertContract, runCli, STANDIN, tempProject} from '../../helpers/cli.js';
import {createTestDatabase, type TestDatabase, stateUrlFor as stateUrl} from '../../helpers/db.js';

let db: TestDatabase;
let project: {dir: string; remove(): Promise<void>};
const cli = <R>(...args: string[]) => runCli<R>([...args, '--json'], {cwd: project.dir});
const gitEnv = {GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.invalid'};
const git = async (...args: string[]) => (await execa('git', args, {cwd: project.dir, env: gitEnv})).stdout.trim();
const manifest = (v: string) => `{'name': 'Shop', 'version': '${v}', 'depends': ['base']}\n`;


/** latest_version of a module in the production database (the local provider's own cluster). */
async function latestVersion(module: string): Promise<string | null> {
  const socketDir = join(project.dir, '.odoo-sh-next', 'postgres', 'run');
  const sock = (await readdir(socketDir)).find((f) => f.startsWith('.s.PGSQL.') && !f.endsWith('.lock'))!;
  const client = new pg.Client({host: socketDir, port: Number(sock.slice('.s.PGSQL.'.length)), user: 'postgres', database: 'shop_production'});
  await client.connect();
  try {
    return (await client.query<{v: string}>('select latest_version as v from ir_module_module where name = $1', [module])).rows[0]?.v ?? null;
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  db = await createTestDatabase('release_cli');
  project = await tempProject('odoo-sh-next-release-');
  await mkdir(join(project.dir, 'addons', 'shop'), {recursive: true});
  await writeFile(join(project.dir, 'addons', 'shop', '__manifest__.py'), manifest('1.0'));
  await writeFile(join(project.dir, 'odoo-sh-next.config.yaml'), [
    'project: shop', 'provider: {name: local}',
    `odoo: {version: "17.0", bin: ${JSON.stringify(STANDIN)}, addons: [{path: ./addons}], modules: [base, shop]}`,
    `state: {url: ${JSON.stringify(stateUrl(db.name))}}`, '',
  ].join('\n'));
  await git('init', '-q', '-b', 'main');
  await git('add', '-A');
  await git('commit', '-q', '-m', 'shop 1.0');
}, 120_000);

afterAll(async () => {
  await runCli(['down'], {cwd: project.dir});
  await project.remove();
  await db?.drop();
});

describe('deploy, promote, rollback on the local provider', () => {
  let first: DeployResult;
  let second: DeployResult;

  it('deploy --env production creates production, records a release and serves it', async () => {
    const res = await cli<DeployResult>('deploy', '--env', 'production', '--yes');
    expect(res.exitCode, res.stderr).toBe(0);
    assertContract('deploy index', res.json.result);
    first = res.json.result!;
    expect(first.release.id).toMatch(/^r-[0-9a-f]{12}$/);
    expect(first.release).toMatchObject({env: 'production', status: 'deployed', commit: await git('rev-parse', 'HEAD'), modules: {shop: '1.0'}});
    expect((await fetch(new URL('/web/health', first.url!))).status).toBe(200);
    expect(await latestVersion('shop')).toBe('17.0.1.0');
  });

  it('production without --yes and without a terminal is refused (exit 2)', async () => {
    expect((await cli('deploy', '--env', 'production')).exitCode).toBe(2);
  });

  it('a deploy of a commit whose manifest version moved takes a pre-deploy backup and runs -u of that module', async () => {
    await writeFile(join(project.dir, 'addons', 'shop', '__manifest__.py'), manifest('1.1'));
    await git('commit', '-q', '-am', 'shop 1.1');
    const res = await cli<DeployResult>('deploy', '--env', 'production', '--yes');
    expect(res.exitCode, res.stderr).toBe(0);
    second = res.json.result!;
    expect(second.release.id).not.toBe(first.release.id);
    expect(second.updatedModules).toEqual(['shop']);
    expect(second.backupId).toMatch(/[0-9a-f-]{36}/);
    expect(second.release.preDeployBackup).toBe(second.backupId);
    expect(await latestVersion('shop')).toBe('17.0.1.1');
    expect((await fetch(new URL('/web/health', second.url!))).status).toBe(200);
    const list = await cli<ReleasesListResult>('releases', 'list', '--env', 'production');
    assertContract('releases list', list.json.result);
    expect(list.json.result!.map((r) => r.id)).toEqual([second.release.id, first.release.id]);
    expect(list.json.result![0]!.gates).toMatchObject({policy: true, health: true, smoke: true, modules: ['shop']});
  });

  it('promotion of a release that never ran on staging is refused (exit 8, reason)', async () => {
    await db.pool.query(`select ops.upsert_environment(id, 'staging-x', 'staging', 'release/x') from ops.projects where name = 'shop'`);
    const res = await cli('deploy', 'promote', '--from', 'staging-x', '--to', 'production', '--release', first.release.id, '--yes');
    expect(res.exitCode).toBe(8);
    expect(JSON.stringify(res.json.error)).toContain(`release ${first.release.id} never ran on staging`);
  });

  it('promotion is denied without the approval the policy asks for, allowed after an admin approves that release', async () => {
    const staged = await cli<DeployResult>('deploy', '--env', 'staging-x');
    expect(staged.exitCode, staged.stderr).toBe(0);
    const rel = staged.json.result!.release.id;
    expect(rel).toBe(second.release.id);
    expect((await cli('policy', 'set', '--env-type', 'production', '--rule', 'approvals >= 1 from role admin')).exitCode).toBe(0);
    const denied = await cli('deploy', 'promote', '--from', 'staging-x', '--to', 'production', '--yes');
    expect(denied.exitCode).toBe(8);
    expect(JSON.stringify(denied.json.error)).toContain('needs 1 approval(s) from role admin');

    const req = await cli<{id: string}>('approvals', 'request', '--for', 'promote', '--env', 'production', '--release', rel);
    expect(req.exitCode, req.stderr).toBe(0);
    await db.pool.query(`do $$ begin
      if not exists (select 1 from pg_roles where rolname = 'rel_auth') then create role rel_auth login in role ops_app, ops_authenticator; end if; end $$`);
    await db.pool.query(`select ops.add_member(id, 'alice@example.com', 'admin') from ops.projects where name = 'shop'`);
    const alice = new pg.Client({connectionString: db.urlAs('rel_auth')});
    await alice.connect();
    try {
      await alice.query(`select set_config('request.jwt.claims', '{"sub":"alice@example.com"}', false)`);
      await alice.query(`select ops.decide_approval($1, 'approve')`, [req.json.result!.id]);
    } finally {
      await alice.end();
    }
    const res = await cli<DeployResult & {from: string}>('deploy', 'promote', '--from', 'staging-x', '--to', 'production', '--yes');
    expect(res.exitCode, res.stderr).toBe(0);
    expect(res.json.result).toMatchObject({from: 'staging-x', release: {id: rel, env: 'production', sourceEnv: 'staging-x', status: 'deployed'}});
  });

  it('rollback returns production to the previous release, restoring the pre-deploy backup when asked', async () => {
    const res = await cli<DeployRollbackResult>('deploy', 'rollback', '--env', 'production', '--restore-backup', '--yes');
    expect(res.exitCode, res.stderr).toBe(0);
    assertContract('deploy rollback', res.json.result);
    expect(res.json.result!.preDeployBackup).toMatch(/[0-9a-f-]{36}/);
    expect(res.json.result!.restoreRun?.state).toBe('succeeded');
    expect(res.json.result!.release).toBe(first.release.id);
    expect((await fetch(new URL('/web/health', res.json.result!.url!))).status).toBe(200);
    const list = (await cli<ReleasesListResult>('releases', 'list', '--env', 'production')).json.result!;
    expect(list.find((r) => r.id === second.release.id)!.status).toBe('rolled_back');
    expect(list.find((r) => r.id === first.release.id)!.status).toBe('deployed');
  });

  it('event push refs/heads/main deploys production', async () => {
    await cli('policy', 'set', '--env-type', 'production', '--reset');
    const sha = await git('rev-parse', 'HEAD');
    const res = await cli<{action: string; result: {release: string; env: string}}>('event', 'push', '--ref', 'refs/heads/main', '--sha', sha);
    expect(res.exitCode, res.stderr).toBe(0);
    expect(res.json.result).toMatchObject({action: 'deploy', result: {env: 'production', release: second.release.id}});
  });
});

describe('promotion of a staging build', () => {
  it('push of release/x builds staging from production; promote deploys the release that ran there', async () => {
    const sha = await git('rev-parse', 'HEAD');
    const push = await cli<{action: string; result: {env: string}}>('event', 'push', '--ref', 'refs/heads/release/x', '--sha', sha);
    expect(push.exitCode, push.stderr).toBe(0);
    expect(push.json.result!.action).toBe('staging-clone');
    const from = push.json.result!.result.env;
    const res = await cli<DeployResult & {from: string}>('deploy', 'promote', '--from', from, '--to', 'production', '--yes');
    expect(res.exitCode, res.stderr).toBe(0);
    expect(res.json.result!.release).toMatchObject({env: 'production', sourceEnv: from, commit: sha, status: 'deployed'});
    const staged = (await cli<ReleasesListResult>('releases', 'list', '--env', from)).json.result!;
    expect(staged.map((r) => r.id)).toEqual([res.json.result!.release.id]);
  });
});
