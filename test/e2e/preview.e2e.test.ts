/**
 * The main job through the built CLI on the zero-setup local provider with the Odoo stand-in:
 * no state.url, the project's own PostgreSQL cluster, previews per branch.
 */
import {execa} from 'execa';
import {existsSync} from 'node:fs';
import {readdir, writeFile, mkdir} from 'node:fs/promises';
import {join} from 'node:path';
import pg from 'pg';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {assertContract, runCli, STANDIN, tempProject} from '../helpers/cli.js';
import type {PreviewUpResult} from '../../src/commands/preview/up.js';
import type {EnvListResult} from '../../src/commands/env/list.js';

let project: {dir: string; remove(): Promise<void>};
const cli = <R>(...args: string[]) => runCli<R>([...args, '--json'], {cwd: project.dir});

async function git(...args: string[]) {
  await execa('git', args, {cwd: project.dir, env: {GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.invalid'}});
}

async function login(url: string, user: string, password: string): Promise<number> {
  const page = await fetch(new URL('/web/login', url));
  const cookie = page.headers.get('set-cookie')?.split(';')[0] ?? '';
  const csrf = /name="csrf_token" value="([^"]+)"/.exec(await page.text())?.[1] ?? '';
  const res = await fetch(new URL('/web/login', url), {
    method: 'POST', redirect: 'manual',
    headers: {'content-type': 'application/x-www-form-urlencoded', cookie},
    body: new URLSearchParams({login: user, password, csrf_token: csrf}),
  });
  return res.status;
}

beforeAll(async () => {
  project = await tempProject();
  await mkdir(join(project.dir, 'addons', 'shop'), {recursive: true});
  await writeFile(join(project.dir, 'addons', 'shop', '__manifest__.py'), "{'name': 'Shop', 'version': '1.0', 'depends': ['base']}\n");
  await git('init', '-q', '-b', 'main');
  await git('add', '-A');
  await git('commit', '-q', '-m', 'init');
  await git('branch', 'feature/one');
  await git('branch', 'feature/two');
  const init = await cli('init', '--project', 'shop', '--odoo-bin', STANDIN);
  expect(init.exitCode, init.stderr).toBe(0);
  assertContract('init', init.json.result);
});

afterAll(async () => {
  await runCli(['down'], {cwd: project.dir});
  await project.remove();
});

describe('preview lifecycle on the local provider', () => {
  let one: PreviewUpResult;
  let two: PreviewUpResult;

  it('preview up answers /web/health and the login page, and the seeded user can log in', async () => {
    const res = await cli<PreviewUpResult>('preview', 'up', '--branch', 'feature/one');
    expect(res.exitCode, res.stderr).toBe(0);
    assertContract('preview up', res.json.result);
    one = res.json.result!;
    expect(one.run.state).toBe('succeeded');
    expect(one.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(one.sha).toMatch(/^[0-9a-f]{40}$/);
    const health = await fetch(new URL('/web/health', one.url!));
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({status: 'pass'});
    expect(await login(one.url!, 'admin', 'admin')).toBe(303);
    expect(await login(one.url!, 'admin', 'wrong')).toBe(200);
  });

  it('two previews side by side are isolated: databases, filestores, ports and config files', async () => {
    const res = await cli<PreviewUpResult>('preview', 'up', '--branch', 'feature/two', '--ttl', '2h');
    expect(res.exitCode, res.stderr).toBe(0);
    two = res.json.result!;
    expect(two.env).not.toBe(one.env);
    expect(two.url).not.toBe(one.url);
    const list = await cli<EnvListResult>('env', 'list');
    assertContract('env list', list.json.result);
    const [a, b] = [one.env, two.env].map((n) => list.json.result!.find((e) => e.name === n)!);
    expect(a!.databaseName).not.toBe(b!.databaseName);
    const envsDir = join(project.dir, '.odoo-sh-next', 'envs');
    for (const e of [a!, b!]) {
      expect(existsSync(join(envsDir, e.name, 'data', 'filestore', e.databaseName!))).toBe(true);
      expect((await readdir(join(envsDir, e.name, 'instances'))).length).toBe(1);
    }
    // The second template-built database has its own identity (uuid and secret regenerated).
    const status = await cli<{location: string}>('state', 'status');
    expect(status.exitCode).toBe(0);
  });

  it('the second fresh database came from the template cache', async () => {
    const logs = await cli<{events: {message: string}[]}>('run', 'logs', two.run.id);
    expect(logs.exitCode, logs.stderr).toBe(0);
    expect(JSON.stringify(logs.json.result)).toContain('template cache hit');
  });

  it('updating a preview keeps its URL working and extends its TTL', async () => {
    const res = await cli<PreviewUpResult>('preview', 'up', '--branch', 'feature/one', '--ttl', '72h');
    expect(res.exitCode, res.stderr).toBe(0);
    expect(new Date(res.json.result!.ttlExpiresAt!).getTime()).toBeGreaterThan(new Date(one.ttlExpiresAt!).getTime());
    expect((await fetch(new URL('/web/health', res.json.result!.url!))).status).toBe(200);
    one = res.json.result!;
  });

  it('preview down removes the database, filestore, process and config and marks it destroyed', async () => {
    const env = (await cli<EnvListResult>('env', 'list')).json.result!.find((e) => e.name === two.env)!;
    const res = await cli('preview', 'down', '--branch', 'feature/two');
    expect(res.exitCode, res.stderr).toBe(0);
    assertContract('preview down', res.json.result);
    await expect(fetch(new URL('/web/health', two.url!))).rejects.toThrow();
    expect(existsSync(join(project.dir, '.odoo-sh-next', 'envs', two.env, 'data', 'filestore', env.databaseName!))).toBe(false);
    expect(existsSync(join(project.dir, '.odoo-sh-next', 'envs', two.env))).toBe(false);
    const all = (await cli<EnvListResult>('env', 'list', '--all')).json.result!;
    expect(all.find((e) => e.name === two.env)!.status).toBe('destroyed');
    const socketDir = join(project.dir, '.odoo-sh-next', 'postgres', 'run');
    const pid = (await readdir(socketDir)).find((f) => f.startsWith('.s.PGSQL.') && !f.endsWith('.lock'))!;
    const client = new pg.Client({host: socketDir, port: Number(pid.slice('.s.PGSQL.'.length)), user: 'postgres', database: 'postgres'});
    await client.connect();
    const {rows} = await client.query('select 1 from pg_database where datname = $1', [env.databaseName]);
    await client.end();
    expect(rows).toEqual([]);
  });

  it('preview reap destroys previews past their TTL only', async () => {
    const dry = await cli<{expired: string[]}>('preview', 'reap', '--dry-run');
    expect(dry.json.result!.expired).toEqual([]);
    const short = await cli<PreviewUpResult>('preview', 'up', '--branch', 'feature/two', '--ttl', '1s');
    expect(short.exitCode, short.stderr).toBe(0);
    await new Promise((r) => setTimeout(r, 1200));
    const reap = await cli<{expired: string[]}>('preview', 'reap');
    expect(reap.exitCode, reap.stderr).toBe(0);
    assertContract('preview reap', reap.json.result);
    expect(reap.json.result!.expired).toEqual([short.json.result!.env]);
    const live = (await cli<EnvListResult>('preview', 'list')).json.result!.map((e) => e.name);
    expect(live).toEqual([one.env]);
  });

  it('the runner reaps expired previews too', async () => {
    const short = await cli<PreviewUpResult>('preview', 'up', '--branch', 'feature/two', '--ttl', '1s');
    expect(short.exitCode, short.stderr).toBe(0);
    await new Promise((r) => setTimeout(r, 1200));
    const runner = await cli<{executed: number}>('runner', '--once');
    expect(runner.exitCode, runner.stderr).toBe(0);
    expect(runner.json.result!.executed).toBeGreaterThanOrEqual(1);
    const all = (await cli<EnvListResult>('env', 'list', '--all')).json.result!;
    expect(all.filter((e) => e.name === short.json.result!.env).map((e) => e.status)).toEqual(expect.arrayContaining(['destroyed']));
    expect((await cli<EnvListResult>('preview', 'list')).json.result!.map((e) => e.name)).toEqual([one.env]);
  });

  it('event push applies the branch rules: staging needs production, a push of main deploys production', async () => {
    const staging = await cli('event', 'push', '--ref', 'refs/heads/release/1.0', '--sha', 'a'.repeat(40));
    expect(staging.exitCode).toBe(4);
    expect(staging.json.error!.message).toContain('bring production up first');
    const prod = await cli<{action: string; result: {env: string; release: string}}>('event', 'push', '--ref', 'refs/heads/main', '--sha', 'b'.repeat(40));
    expect(prod.exitCode, prod.stderr).toBe(0);
    expect(prod.json.result).toMatchObject({action: 'deploy', result: {env: 'production', release: expect.stringMatching(/^r-[0-9a-f]{12}$/)}});
    const bad = await cli('event', 'push', '--ref', 'refs/heads/-rf', '--sha', 'c'.repeat(40));
    expect(bad.exitCode).toBe(2);
  });

  it('an Odoo process that dies is reported, not restarted', async () => {
    const status = await cli<{infrastructure: {postgres: {port: number}}; environments: {name: string; instances: {state: string}[]}[]}>('status');
    assertContract('status', status.json.result);
    expect(status.json.result!.infrastructure.postgres.port).toBeGreaterThan(0);
    expect(status.json.result!.environments.find((e) => e.name === one.env)!.instances[0]!.state).toBe('running');
    const statePath = join(project.dir, '.odoo-sh-next', 'envs', one.env, 'instances');
    const [launch] = await readdir(statePath);
    const pid = Number((await import('node:fs')).readFileSync(join(statePath, launch!, 'odoo.pid'), 'utf8'));
    process.kill(pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    const after = await cli<{environments: {name: string; instances: {state: string}[]}[]}>('status');
    expect(after.json.result!.environments.find((e) => e.name === one.env)!.instances[0]!.state).toBe('exited');
  });
});
