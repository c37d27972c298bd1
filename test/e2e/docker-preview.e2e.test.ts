/**
 * A preview on the docker-local provider end to end, through the built CLI (`preview up --json`):
 * build (the project's image: base + the local addons source + config, as run events) → database →
 * container of the built image → route → /web/health through the router (Host header to the
 * router port) → `preview down`. Host networking, the locally built test images, the state store in
 * a PostgreSQL test database. Afterwards nothing labelled with the project remains (containers,
 * volumes, networks) and every image of the project is removed.
 */
import {randomBytes} from 'node:crypto';
import {execa} from 'execa';
import {mkdir, readFile, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import type {PreviewUpResult} from '../../src/commands/preview/up.js';
import {systemClock} from '../../src/core/clock.js';
import {nullLogger} from '../../src/core/logger.js';
import {DockerProvider} from '../../src/providers/docker/docker-provider.js';
import {assertContract, runCli, tempProject} from '../helpers/cli.js';
import {createTestDatabase, type TestDatabase, stateUrlFor as stateUrl} from '../helpers/db.js';
import {CADDY_IMAGE, ODOO_IMAGE, POSTGRES_IMAGE, docker, leftovers, useDockerTestImages} from '../helpers/docker.js';
import {getWithHost} from '../helpers/http.js';

const PROJECT = `dp-${randomBytes(3).toString('hex')}`;
let db: TestDatabase | undefined;
let project: {dir: string; remove(): Promise<void>} | undefined;
const cli = <R>(...args: string[]) => runCli<R>([...args, '--json'], {cwd: project!.dir, timeout: 600_000});


async function git(...args: string[]) {
  await execa('git', args, {cwd: project!.dir, env: {GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.invalid'}});
}

/** Every tag of the project's release and layer-cache repositories. */
async function projectImages(): Promise<string[]> {
  const out = await docker(['images', '--format', '{{.Repository}}:{{.Tag}}']);
  return out.split('\n').filter((t) => t.startsWith(`odoo-sh-next/${PROJECT}:`) || t.startsWith(`odoo-sh-next-cache/${PROJECT}:`));
}

const viaRouter = getWithHost;

beforeAll(async () => {
  db = await createTestDatabase('docker_preview');
  project = await tempProject('odoo-sh-next-docker-preview-');
  await mkdir(join(project.dir, 'addons', 'shop'), {recursive: true});
  await writeFile(join(project.dir, 'addons', 'shop', '__manifest__.py'), "{'name': 'Shop', 'version': '17.0.1.0.0', 'depends': ['base']}\n");
  await writeFile(join(project.dir, 'odoo-sh-next.config.yaml'), [
    `project: ${PROJECT}`, 'provider: {name: docker-local, docker: {network: host}}',
    `odoo: {version: "17.0", image: ${JSON.stringify(ODOO_IMAGE)}, addons: [{path: ./addons}]}`,
    `postgres: {image: ${JSON.stringify(POSTGRES_IMAGE)}}`,
    `router: {image: ${JSON.stringify(CADDY_IMAGE)}, domain: localhost}`,
    `state: {url: ${JSON.stringify(stateUrl(db.name))}}`, '',
  ].join('\n'));
  await writeFile(join(project.dir, '.gitignore'), '.odoo-sh-next/\n');
  await git('init', '-q', '-b', 'main');
  await git('add', '-A');
  await git('commit', '-q', '-m', 'init');
  await git('branch', 'feature/one');
}, 120_000);

afterAll(async () => {
  if (project) {
    // The project-wide resources (Postgres, router, their volumes) outlive `preview down`: remove them.
    const provider = new DockerProvider({
      config: {
        project: PROJECT, projectRoot: project.dir,
        postgres: {image: POSTGRES_IMAGE}, odoo: {image: ODOO_IMAGE}, router: {image: CADDY_IMAGE, domain: 'localhost'},
        provider: {docker: {network: 'host'}},
      },
      clock: systemClock, logger: nullLogger,
    });
    await provider.down(AbortSignal.timeout(120_000)).catch(() => undefined);
    await provider.destroyProject();
  }
  const images = await projectImages();
  if (images.length > 0) await docker(['rmi', ...images]).catch(() => '');
  await project?.remove();
  await db?.drop();
  expect(await leftovers(PROJECT)).toEqual({containers: [], volumes: [], networks: []});
  expect(await projectImages()).toEqual([]);
}, 180_000);

describe('preview on docker-local', () => {
  useDockerTestImages();

  it('preview up builds the image, runs it and routes the env: /web/health 200 through the router; preview down removes it', async () => {
    const up = await cli<PreviewUpResult>('preview', 'up', '--branch', 'feature/one');
    expect(up.exitCode, up.stderr).toBe(0);
    assertContract('preview up', up.json.result);
    const result = up.json.result!;
    expect(result.run.state).toBe('succeeded');
    const runResult = result.run.result as {release: string; build?: {image: string; layers: {name: string; cached: boolean}[]; rebuilt: number}};
    // The build happened in the run: one layer per addons source, then the config layer.
    expect(runResult.build?.layers.map((l) => l.name)).toEqual(['addons:addons', 'config']);
    expect(runResult.build?.image).toMatch(/^sha256:[0-9a-f]{64}$/);
    // The container runs the built image, and the release records it.
    const ids = (await docker(['ps', '-q', '--filter', `label=odoo-sh.project=${PROJECT}`, '--filter', 'label=odoo-sh.role=release'])).trim().split('\n');
    expect(ids).toHaveLength(1);
    expect((await docker(['inspect', '--format', '{{.Image}}', ids[0]!])).trim()).toBe(runResult.build!.image);
    const {rows} = await db!.pool.query<{image_digest: string}>('select image_digest from ops.releases where id = $1', [runResult.release]);
    expect(rows).toEqual([{image_digest: runResult.build!.image}]);
    // Through the router: <env>.<project>.localhost on 127.0.0.1:<router port>.
    const url = new URL(result.url!);
    expect(url.hostname).toBe(`${result.env}.${PROJECT}.localhost`);
    const health = await viaRouter(Number(url.port), url.hostname, '/web/health');
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toEqual({status: 'pass'});

    // Deploying the recorded release again runs the very same image (blue/green), never a rebuild.
    const deploy = await cli('deploy', '--env', result.env, '--release', runResult.release, '--strategy', 'blue-green', '--yes');
    expect(deploy.exitCode, deploy.stderr).toBe(0);
    const deployed = (deploy.json.result as {run: {state: string; result: {strategy: string; instance?: {id: string}}}}).run;
    expect(deployed).toMatchObject({state: 'succeeded', result: {strategy: 'blue-green'}});
    const routed = (await docker(['ps', '-q', '--filter', `label=odoo-sh.project=${PROJECT}`, '--filter', 'label=odoo-sh.role=release'])).trim().split('\n');
    const images = await Promise.all(routed.map(async (id) => (await docker(['inspect', '--format', '{{.Image}}', id])).trim()));
    expect(new Set(images)).toEqual(new Set([runResult.build!.image]));
    expect((await viaRouter(Number(url.port), url.hostname, '/web/health')).status).toBe(200);

    const down = await cli('preview', 'down', '--branch', 'feature/one');
    expect(down.exitCode, down.stderr).toBe(0);
    const left = (await docker(['ps', '-a', '--filter', `label=odoo-sh.project=${PROJECT}`, '--filter', 'label=odoo-sh.role=release', '--format', '{{.Names}}'])).trim();
    expect(left).toBe('');
    expect((await viaRouter(Number(url.port), url.hostname, '/web/health')).status).toBe(404);
  }, 600_000);

  it('main deploys production as a built image; release/x gives staging on a neutralized clone (pg tools in the container); promotion and rollback', async () => {
    const sha = async (ref: string) => (await execa('git', ['rev-parse', ref], {cwd: project!.dir})).stdout.trim();
    const prod = await cli<{action: string; result: {env: string; release: string; url: string | null}}>('event', 'push', '--ref', 'refs/heads/main', '--sha', await sha('main'));
    expect(prod.exitCode, prod.stderr).toBe(0);
    expect(prod.json.result).toMatchObject({action: 'deploy', result: {env: 'production'}});
    const base = prod.json.result!.result.release;
    const image = async (release: string) => (await db!.pool.query<{image_digest: string | null}>(
      `select image_digest from ops.releases where id = $1 and env = 'production'`, [release])).rows[0]?.image_digest;
    expect(await image(base)).toMatch(/^sha256:/);
    const prodUrl = new URL(prod.json.result!.result.url!);
    expect((await viaRouter(Number(prodUrl.port), prodUrl.hostname, '/web/health')).status).toBe(200);

    // A release branch with a change of the addon: its own image, built by the staging build.
    await git('checkout', '-q', '-b', 'release/x');
    await writeFile(join(project!.dir, 'addons', 'shop', '__manifest__.py'), "{'name': 'Shop', 'version': '17.0.1.1.0', 'depends': ['base']}\n");
    await git('commit', '-q', '-am', 'shop 1.1');
    const staged = await cli<{action: string; result: {env: string; database: string | null; url: string | null; run: {state: string}}}>(
      'event', 'push', '--ref', 'refs/heads/release/x', '--sha', await sha('release/x'));
    expect(staged.exitCode, staged.stderr).toBe(0);
    expect(staged.json.result).toMatchObject({action: 'staging-clone', result: {run: {state: 'succeeded'}}});
    const {env: stagingEnv, database} = staged.json.result!.result;
    const stagingUrl = new URL(staged.json.result!.result.url!);
    expect((await viaRouter(Number(stagingUrl.port), stagingUrl.hostname, '/web/health')).status).toBe(200);
    // The clone is neutralized: read inside the project's Postgres container (its tools, its socket).
    const pg = (await docker(['ps', '-q', '--filter', `label=odoo-sh.project=${PROJECT}`, '--filter', 'label=odoo-sh.role=postgres'])).trim();
    const {port} = JSON.parse(await readFile(join(project!.dir, '.odoo-sh-next', 'docker', 'postgres.json'), 'utf8')) as {port: number};
    const neutralized = await docker(['exec', pg, 'psql', '-U', 'postgres', '-p', String(port), '-d', database!, '-At', '-c',
      `select value from ir_config_parameter where key = 'database.is_neutralized'`]);
    expect(neutralized.trim()).toBe('true');

    const promoted = await cli<{release: {id: string; env: string; sourceEnv: string | null; status: string}; url: string | null}>(
      'deploy', 'promote', '--from', stagingEnv, '--to', 'production', '--yes');
    expect(promoted.exitCode, promoted.stderr).toBe(0);
    const release = promoted.json.result!.release;
    expect(release).toMatchObject({env: 'production', sourceEnv: stagingEnv, status: 'deployed'});
    expect(release.id).not.toBe(base);
    // The image that ran on staging, never a rebuild.
    const stagingImage = (await db!.pool.query<{image_digest: string}>('select image_digest from ops.releases where id = $1 and env = $2', [release.id, stagingEnv])).rows[0]!.image_digest;
    expect(await image(release.id)).toBe(stagingImage);
    expect((await viaRouter(Number(prodUrl.port), prodUrl.hostname, '/web/health')).status).toBe(200);

    const back = await cli<{release: string}>('deploy', 'rollback', '--env', 'production', '--yes');
    expect(back.exitCode, back.stderr).toBe(0);
    expect(back.json.result!.release).toBe(base);
    expect((await viaRouter(Number(prodUrl.port), prodUrl.hostname, '/web/health')).status).toBe(200);
  }, 600_000);
});
