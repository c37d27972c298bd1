/**
 * Buildpack v1 on the real Docker engine, through the built CLI (`build --json`), the state store in
 * a PostgreSQL test database. One project with two folder sources, steps in order: first build (every
 * layer built, release recorded with the image id) → same inputs (zero layers rebuilt, same image)
 * → one file of the second source changed (only its layer and the config layer rebuilt) → a fresh
 * cache (every image of the project removed) gives layers with identical diff ids → a module in both
 * sources fails naming both. Every image tagged here is removed afterwards (unique project name).
 */
import {randomBytes} from 'node:crypto';
import {execa} from 'execa';
import {mkdir, readFile, rm, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import type {BuildResult} from '../../../src/commands/build.js';
import type {RunArtifactsResult} from '../../../src/commands/run/artifacts.js';
import {assertContract, runCli, tempProject, writeProjectFile} from '../../helpers/cli.js';
import {createTestDatabase, type TestDatabase, stateUrlFor as stateUrl} from '../../helpers/db.js';
import {docker, ensureTestImages, ODOO_IMAGE, projectImageTags} from '../../helpers/docker.js';

const BASE = process.env['OSN_BUILD_TEST_BASE'] ?? ODOO_IMAGE;
const PROJECT = `bt-${randomBytes(4).toString('hex')}`;
const SHA = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
let db: TestDatabase;
let project: {dir: string; remove(): Promise<void>};
const build = (...args: string[]) => runCli<BuildResult>(['build', ...args, '--json'], {cwd: project.dir, timeout: 300_000});


const write = (path: string, text: string) => writeProjectFile(project.dir, path, text);

const projectTags = () => projectImageTags(PROJECT);

async function removeProjectImages(): Promise<void> {
  const tags = await projectTags();
  if (tags.length > 0) await docker(['rmi', ...tags]);
}

const diffIds = async (image: string): Promise<string[]> => JSON.parse(await docker(['image', 'inspect', '--format', '{{json .RootFS.Layers}}', image])) as string[];

beforeAll(async () => {
  if (BASE === ODOO_IMAGE) await ensureTestImages();
  db = await createTestDatabase('build_cli');
  project = await tempProject('odoo-sh-next-build-');
  await write('addons-a/sale_ext/__manifest__.py', "{'name': 'Sale ext', 'version': '17.0.1.0.0', 'depends': ['base']}\n");
  await write('addons-a/sale_ext/__init__.py', 'from . import models\n');
  await write('addons-a/sale_ext/models/__init__.py', '');
  await write('addons-b/stock_ext/__manifest__.py', "{'name': 'Stock ext', 'depends': ['sale_ext']}\n");
  await write('addons-b/stock_ext/models/stock.py', 'X = 1\n');
  await writeFile(join(project.dir, 'odoo-sh-next.config.yaml'), [
    `project: ${PROJECT}`, 'provider: {name: docker-local, docker: {network: host}}',
    `odoo: {version: "17.0", image: ${JSON.stringify(BASE)}, addons: [{path: ./addons-a}, {path: ./addons-b}]}`,
    `state: {url: ${JSON.stringify(stateUrl(db.name))}}`, '',
  ].join('\n'));
}, 600_000);

afterAll(async () => {
  await removeProjectImages().catch(() => undefined);
  await project?.remove();
  await db?.drop();
  expect(await projectTags()).toEqual([]);
});

describe('build on the Docker engine', () => {
  let first: BuildResult;

  it('builds every layer, tags <short_sha> and <date>, records the image on the release', async () => {
    const res = await build('--sha', SHA, '--env', 'production');
    expect(res.exitCode, res.stderr).toBe(0);
    assertContract('build', res.json.result);
    first = res.json.result!;
    expect(first.layers.map((l) => [l.name, l.cached])).toEqual([['addons:addons-a', false], ['addons:addons-b', false], ['config', false]]);
    expect(first.rebuilt).toBe(3);
    expect(first.image).toBe(`odoo-sh-next/${PROJECT}:${SHA.slice(0, 12)}`);
    expect(first.tags).toHaveLength(2);
    expect(first.tags[1]).toMatch(new RegExp(`^odoo-sh-next/${PROJECT}:\\d{8}-\\d{6}$`));
    for (const tag of first.tags) expect((await docker(['image', 'inspect', '--format', '{{.Id}}', tag])).trim()).toBe(first.digest);
    const {rows} = await db.pool.query<{image_digest: string; commit: string}>('select image_digest, commit from ops.releases where id = $1', [first.release]);
    expect(rows).toEqual([{image_digest: first.digest, commit: SHA}]);
    const events = await db.pool.query<{message: string}>('select message from ops.run_events where run_id = $1 order by id', [first.run]);
    expect(events.rows.map((e) => e.message)).toContain('Step 3/3 : ADD layer.tar /');
    // Docker's output is kept as the run's artifact build.log (it outlives the events' retention).
    expect(first.log).toMatchObject({name: 'build.log', truncated: false});
    const listed = await runCli<RunArtifactsResult>(['run', 'artifacts', first.run, '--json'], {cwd: project.dir});
    expect(listed.exitCode, listed.stderr).toBe(0);
    expect(listed.json.result!.artifacts.map((a) => [a.id, a.kind, a.name, a.sizeBytes, a.sha256])).toEqual([
      [first.log!.artifact, 'log', 'build.log', first.log!.sizeBytes, first.log!.sha256],
    ]);
    const read = await runCli<RunArtifactsResult>(['run', 'artifacts', first.run, '--name', 'build.log', '--json'], {cwd: project.dir});
    expect(read.json.result!.content).toMatch(/^\S+Z INFO \[build\] build started\n/);
    expect(read.json.result!.content).toContain(' INFO [build] Step 3/3 : ADD layer.tar /\n');
    const conf = await docker(['run', '--rm', '--entrypoint', 'cat', first.digest, '/etc/odoo/odoo.conf']);
    expect(conf).toMatch(/^addons_path = \/opt\/odoo-sh\/addons\/path-[0-9a-f]{12},\/opt\/odoo-sh\/addons\/path-[0-9a-f]{12}$/m);
  });

  it('--env names an environment that does not exist: not found, nothing built', async () => {
    const res = await build('--sha', SHA, '--env', 'nope');
    expect(res.exitCode).toBe(4);
    expect(res.json.error?.message).toContain('environment "nope" not found');
  });

  it('same inputs: zero layers rebuilt, the same image; --tag-latest adds latest', async () => {
    const res = await build('--sha', SHA, '--tag-latest');
    expect(res.exitCode, res.stderr).toBe(0);
    const again = res.json.result!;
    expect(again.rebuilt).toBe(0);
    expect(again.layers.map((l) => l.cached)).toEqual([true, true, true]);
    expect(again.layers.map((l) => l.key)).toEqual(first.layers.map((l) => l.key));
    expect(again.digest).toBe(first.digest);
    expect(again.tags.at(-1)).toBe(`odoo-sh-next/${PROJECT}:latest`);
    expect(again.release).toBeNull();
  });

  let changed: BuildResult;
  it('one file of the second source changed: only its layer and the later ones rebuild', async () => {
    await write('addons-b/stock_ext/models/stock.py', 'X = 2\n');
    const res = await build('--sha', SHA);
    expect(res.exitCode, res.stderr).toBe(0);
    changed = res.json.result!;
    expect(changed.layers.map((l) => [l.name, l.cached])).toEqual([['addons:addons-a', true], ['addons:addons-b', false], ['config', false]]);
    expect(changed.rebuilt).toBe(2);
    expect(changed.layers[0]!.key).toBe(first.layers[0]!.key);
    expect(changed.digest).not.toBe(first.digest);
    const shared = (await diffIds(first.digest)).slice(0, -2);
    expect((await diffIds(changed.digest)).slice(0, shared.length)).toEqual(shared);
  });

  it('the same inputs in a fresh cache give identical layer contents (diff ids)', async () => {
    const before = await diffIds(changed.digest);
    await removeProjectImages();
    expect(await projectTags()).toEqual([]);
    const res = await build('--sha', SHA);
    expect(res.exitCode, res.stderr).toBe(0);
    const fresh = res.json.result!;
    expect(fresh.rebuilt).toBe(3);
    expect(fresh.layers.map((l) => l.key)).toEqual(changed.layers.map((l) => l.key));
    expect(await diffIds(fresh.digest)).toEqual(before);
  });

  it('Python requirements: a python-deps layer right after the base; a failing install fails the build naming the layer', async () => {
    await write('addons-a/sale_ext/requirements.txt', 'requests==2.31.0\n');
    const res = await build('--sha', SHA);
    expect(res.exitCode).toBe(6);
    // The test base image has no Python: the pip step fails (exit 127) and nothing is tagged for it.
    expect(res.json.error?.message).toMatch(/layer python-deps: docker build failed: .*non-zero code: 127/);
    // The failed build's log is kept too, and the command says where.
    const {rows: [failed]} = await db.pool.query<{id: string}>(`select id::text from ops.runs where type = 'build' order by id desc limit 1`);
    expect(res.json.warnings).toContain(`the build log is kept: odoo-sh-next run artifacts ${failed!.id} --name build.log`);
    const failedLog = await runCli<RunArtifactsResult>(['run', 'artifacts', failed!.id, '--name', 'build.log', '--json'], {cwd: project.dir});
    expect(failedLog.json.result!.content).toMatch(/ERROR \[build\] build failed: layer python-deps: docker build failed/);
    const dangling = await docker(['images', '-a', '-q', '--filter', 'dangling=true', '--filter', `label=odoo-sh.project=${PROJECT}`]);
    expect(dangling.trim()).toBe('');
    await rm(join(project.dir, 'addons-a/sale_ext/requirements.txt'));
  });

  it('a module in two sources fails, naming both', async () => {
    await write('addons-b/sale_ext/__manifest__.py', "{'name': 'Sale ext copy'}\n");
    const res = await build('--sha', SHA);
    expect(res.exitCode).toBe(3);
    expect(res.json.error?.message).toContain('addon "sale_ext" is in addons-a and in addons-b');
  });

  it('a base image that is not on the engine and cannot be pulled: not found, saying how to get it', async () => {
    const config = join(project.dir, 'odoo-sh-next.config.yaml');
    await writeFile(config, (await readFile(config, 'utf8')).replace(JSON.stringify(BASE), '"localhost:1/none/odoo:17.0"'));
    const res = await build('--sha', SHA);
    expect(res.exitCode).toBe(4);
    expect(res.json.error?.message).toMatch(/base image localhost:1\/none\/odoo:17.0 is not on the Docker engine and cannot be pulled/);
    expect(res.json.error?.actions).toContain('docker pull localhost:1/none/odoo:17.0');
  });
});

describe('build with a git source pinned to a commit', () => {
  const GIT_PROJECT = `${PROJECT}-git`;
  let repo: {dir: string; remove(): Promise<void>};
  let commit: string;
  let gitProject: {dir: string; remove(): Promise<void>};
  const gitBuild = () => runCli<BuildResult>(['build', '--sha', SHA, '--json'], {cwd: gitProject.dir, timeout: 300_000});

  beforeAll(async () => {
    repo = await tempProject('odoo-sh-next-build-repo-');
    gitProject = await tempProject('odoo-sh-next-build-git-');
    const env = {GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.invalid'};
    const git = async (...args: string[]) => (await execa('git', args, {cwd: repo.dir, env})).stdout.trim();
    await mkdir(join(repo.dir, 'addons', 'crm_ext'), {recursive: true});
    await writeFile(join(repo.dir, 'addons', 'crm_ext', '__manifest__.py'), "{'name': 'CRM ext', 'depends': ['base']}\n");
    await git('init', '-q', '-b', 'main');
    await git('add', '-A');
    await git('commit', '-q', '-m', 'crm_ext');
    commit = await git('rev-parse', 'HEAD');
    // A later commit on the branch must not leak into the pinned build.
    await writeFile(join(repo.dir, 'addons', 'crm_ext', 'later.py'), 'LATER = 1\n');
    await git('add', '-A');
    await git('commit', '-q', '-m', 'later');
    await mkdir(join(gitProject.dir, 'addons'), {recursive: true});
    await writeFile(join(gitProject.dir, 'addons', 'README'), 'no addons yet\n');
    await writeFile(join(gitProject.dir, 'odoo-sh-next.config.yaml'), [
      `project: ${GIT_PROJECT}`, 'provider: {name: docker-local, docker: {network: host}}',
      `odoo: {version: "17.0", image: ${JSON.stringify(BASE)}, addons: [{path: ./addons}, {git: ${JSON.stringify(`file://${repo.dir}`)}, commit: ${commit}, subdir: addons}]}`,
      `state: {url: ${JSON.stringify(stateUrl(db.name))}}`, '',
    ].join('\n'));
  }, 120_000);

  afterAll(async () => {
    const out = await docker(['images', '--format', '{{.Repository}}:{{.Tag}}']);
    const tags = out.split('\n').filter((t) => t.startsWith(`odoo-sh-next/${GIT_PROJECT}:`) || t.startsWith(`odoo-sh-next-cache/${GIT_PROJECT}:`));
    if (tags.length > 0) await docker(['rmi', ...tags]);
    await repo?.remove();
    await gitProject?.remove();
  });

  it('checks the commit out once, puts its layer before the folders, and caches it', async () => {
    const res = await gitBuild();
    expect(res.exitCode, res.stderr).toBe(0);
    const built = res.json.result!;
    expect(built.layers.map((l) => [l.name, l.cached])).toEqual([
      [`addons:file://${repo.dir}@${commit.slice(0, 7)} (subdir addons)`, false], ['addons:addons', false], ['config', false],
    ]);
    const listing = await docker(['run', '--rm', '--entrypoint', 'sh', built.digest, '-c', 'cd /opt/odoo-sh/addons && find . -type f | sort']);
    expect(listing.split('\n').filter(Boolean)).toEqual([
      expect.stringMatching(/^\.\/git-[0-9a-f]{12}\/crm_ext\/__manifest__\.py$/),
      expect.stringMatching(/^\.\/path-[0-9a-f]{12}\/README$/),
    ]);
    const again = (await gitBuild()).json.result!;
    expect(again.rebuilt).toBe(0);
    expect(again.digest).toBe(built.digest);
  });
});
