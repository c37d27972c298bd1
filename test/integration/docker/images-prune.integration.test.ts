/**
 * `images list` / `images prune` on the real Docker engine, through the built CLI, the state store
 * in a PostgreSQL test database. Three builds whose second addons source differs (the first source's
 * layer is shared), nothing in use: a dry run removes nothing; --keep 1 removes the two older release
 * images and their own addons-b layers and keeps the newest one's whole chain (the classic builder
 * records Parent). The local provider has no images: usage error. Every image tagged here is removed
 * afterwards (unique project name).
 */
import {randomBytes} from 'node:crypto';
import {writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import type {BuildResult} from '../../../src/commands/build.js';
import type {ImagesListResult} from '../../../src/commands/images/list.js';
import type {ImagesPruneResult} from '../../../src/commands/images/prune.js';
import {assertContract, runCli, tempProject, writeProjectFile} from '../../helpers/cli.js';
import {createTestDatabase, type TestDatabase, stateUrlFor as stateUrl} from '../../helpers/db.js';
import {docker, removeContainers, requireDocker, useDockerTestImages, ODOO_IMAGE, TEST_LABEL, projectImageTags} from '../../helpers/docker.js';
import {EnvironmentRepository} from '../../../src/core/environments/environment-repository.js';
import {ReleaseRepository} from '../../../src/core/release/release-repository.js';

const PROJECT = `ip-${randomBytes(4).toString('hex')}`;
const SHAS = ['1', '2', '3', '4', '5'].map((d) => d.repeat(40));
const containers: string[] = [];
let db: TestDatabase;
let project: {dir: string; remove(): Promise<void>};
const cli = <T>(...args: string[]) => runCli<T>([...args, '--json'], {cwd: project.dir, timeout: 300_000});


const write = (path: string, text: string) => writeProjectFile(project.dir, path, text);

const projectTags = () => projectImageTags(PROJECT);

const cacheTag = (key: string) => `odoo-sh-next-cache/${PROJECT}:${key.slice(0, 24)}`;
const exists = async (id: string) => docker(['image', 'inspect', '--format', '{{.Id}}', id]).then(() => true, () => false);

beforeAll(async () => {
  await requireDocker();
  db = await createTestDatabase('images_prune');
  project = await tempProject('odoo-sh-next-images-');
  await write('addons-a/sale_ext/__manifest__.py', "{'name': 'Sale ext', 'version': '17.0.1.0.0', 'depends': ['base']}\n");
  await write('addons-b/stock_ext/__manifest__.py', "{'name': 'Stock ext', 'depends': ['sale_ext']}\n");
  await writeFile(join(project.dir, 'odoo-sh-next.config.yaml'), [
    `project: ${PROJECT}`, 'provider: {name: docker-local, docker: {network: host}}',
    `odoo: {version: "17.0", image: ${JSON.stringify(ODOO_IMAGE)}, addons: [{path: ./addons-a}, {path: ./addons-b}]}`,
    `state: {url: ${JSON.stringify(stateUrl(db.name))}}`, '',
  ].join('\n'));
}, 120_000);

afterAll(async () => {
  await removeContainers(containers);
  const tags = await projectTags().catch(() => []);
  if (tags.length > 0) await docker(['rmi', ...tags]).catch(() => '');
  await project?.remove();
  await db?.drop();
});

describe('images prune on the Docker engine', () => {
  useDockerTestImages();
  const builds: BuildResult[] = [];
  /** Per build: the image id of each layer (addons-a, addons-b, config), from its cache tag. */
  const layers: string[][] = [];

  it('three builds: release images chained by Parent to their cache layers', async () => {
    for (const [n, sha] of SHAS.slice(0, 3).entries()) {
      await write('addons-b/stock_ext/models/stock.py', `X = ${n}\n`);
      const res = await cli<BuildResult>('build', '--sha', sha);
      expect(res.exitCode, res.stderr).toBe(0);
      builds.push(res.json.result!);
      layers.push(await Promise.all(res.json.result!.layers.map(async (l) => (await docker(['image', 'inspect', '--format', '{{.Id}}', cacheTag(l.key)])).trim())));
    }
    expect(new Set(layers.map((l) => l[0])).size).toBe(1);
    expect(layers.map((l) => l[2])).toEqual(builds.map((b) => b.digest));
    expect(new Set(builds.map((b) => b.digest)).size).toBe(3);
    expect((await docker(['image', 'inspect', '--format', '{{.Parent}}', builds[0]!.digest])).trim()).toMatch(/^sha256:/);

    const listed = await cli<ImagesListResult>('images', 'list');
    expect(listed.exitCode, listed.stderr).toBe(0);
    assertContract('images list', listed.json.result);
    const images = listed.json.result!.images;
    // addons-a (shared), 3 x addons-b, 3 x config (= the release images).
    expect(images).toHaveLength(7);
    expect(images.filter((i) => i.kind === 'release').map((i) => i.id)).toEqual(builds.map((b) => b.digest).reverse());
    expect(images.every((i) => i.keep)).toBe(true);
  }, 240_000);

  it('a dry run plans the older two release images and their own layers, removes nothing', async () => {
    const before = await projectTags();
    const res = await cli<ImagesPruneResult>('images', 'prune', '--keep', '1', '--dry-run');
    expect(res.exitCode, res.stderr).toBe(0);
    assertContract('images prune', res.json.result);
    const plan = res.json.result!;
    expect(plan.removed.map((i) => i.outcome)).toEqual(['would remove', 'would remove', 'would remove', 'would remove']);
    expect(plan.removed.map((i) => i.id).sort()).toEqual([layers[0]!, layers[1]!].flatMap((l) => [l[2]!, l[1]!]).sort());
    const human = await runCli(['images', 'prune', '--keep', '1', '--dry-run'], {cwd: project.dir});
    expect(human.exitCode, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^IMAGE +KIND +TAGS +CREATED +SIZE +ACTION/m);
    expect(human.stdout).toContain('kept: newest 1');
    expect(human.stdout).toContain('Would remove 4 image(s), kept 3.');
    const list = await runCli(['images', 'list'], {cwd: project.dir});
    expect(list.stdout).toMatch(/^IMAGE +KIND +TAGS +CREATED +SIZE +KEPT BECAUSE/m);
    if (process.env['OSN_SHOW_OUTPUT']) process.stderr.write(`${human.stdout}\n${list.stdout}\n`);
    expect(await projectTags()).toEqual(before);
    const audit = await db.pool.query(`select 1 from ops.audit_log where action = 'images.prune'`);
    expect(audit.rowCount).toBe(0);
  });

  it('--keep 1 removes them and keeps the newest one\'s whole chain; audited', async () => {
    const intermediates = await Promise.all(layers.slice(0, 2).map(async (l) => (await docker(['image', 'inspect', '--format', '{{.Parent}}', l[2]!])).trim()));
    const res = await cli<ImagesPruneResult>('images', 'prune', '--keep', '1');
    expect(res.exitCode, res.stderr).toBe(0);
    assertContract('images prune', res.json.result);
    const out = res.json.result!;
    expect(out.removed.map((i) => i.outcome)).toEqual(['removed', 'removed', 'removed', 'removed']);
    const newest = builds[2]!;
    expect(Object.fromEntries(out.kept.map((i) => [i.id, i.reasons]))).toEqual({
      [newest.digest]: ['newest 1'], [layers[2]![1]!]: ['layer of a kept image'], [layers[2]![0]!]: ['layer of a kept image'],
    });
    for (const l of layers.slice(0, 2)) {
      expect(await exists(l[2]!)).toBe(false);
      expect(await exists(l[1]!)).toBe(false);
    }
    for (const id of layers[2]!) expect(await exists(id)).toBe(true);
    // The untagged intermediate images under the removed ones went with them.
    for (const id of intermediates) expect(await exists(id)).toBe(false);
    expect(await projectTags()).toEqual([...newest.tags, ...newest.layers.map((l) => cacheTag(l.key))].sort());
    expect(await exists(ODOO_IMAGE)).toBe(true);
    const audit = await db.pool.query<{payload: {keep: number; images: string[]}}>(`select payload from ops.audit_log where action = 'images.prune'`);
    expect(audit.rows.map((r) => [r.payload.keep, r.payload.images.length])).toEqual([[1, 4]]);

    const again = await cli<ImagesPruneResult>('images', 'prune', '--keep', '1');
    expect(again.json.result!.removed).toEqual([]);
  });

  it('keeps the image an environment runs and its rollback target; an image a container uses is reported, not fatal', async () => {
    const {rows: [row]} = await db.pool.query<{id: string}>('select id::text from ops.projects where name = $1', [PROJECT]);
    const envs = new EnvironmentRepository(db.pool, row!.id);
    const releases = new ReleaseRepository(db.pool, row!.id);
    await envs.upsert({name: 'production', type: 'production', branch: 'main', ttlExpiresAt: null});
    // Build 3 again on production (all cached, same image), deployed; then build 4 deployed over it: 3 is the rollback target.
    const recorded: BuildResult[] = [];
    for (const [n, sha] of [[2, SHAS[2]!], [3, SHAS[3]!]] as const) {
      await write('addons-b/stock_ext/models/stock.py', `X = ${n}\n`);
      const res = await cli<BuildResult>('build', '--sha', sha, '--env', 'production');
      expect(res.exitCode, res.stderr).toBe(0);
      recorded.push(res.json.result!);
      await releases.mark({id: res.json.result!.release!, env: 'production', status: 'deployed'});
      await envs.setState({name: 'production', status: 'active', release: res.json.result!.release!});
    }
    expect(recorded[0]!.digest).toBe(builds[2]!.digest);
    await write('addons-b/stock_ext/models/stock.py', 'X = 4\n');
    const fifth = await cli<BuildResult>('build', '--sha', SHAS[4]!);
    expect(fifth.exitCode, fifth.stderr).toBe(0);
    containers.push((await docker(['create', '--label', TEST_LABEL, '--network', 'none', fifth.json.result!.digest])).trim());

    const res = await cli<ImagesPruneResult>('images', 'prune', '--keep', '0');
    expect(res.exitCode, res.stderr).toBe(0);
    const out = res.json.result!;
    const kept = Object.fromEntries(out.kept.filter((i) => i.kind === 'release').map((i) => [i.id, i.reasons]));
    expect(kept).toEqual({[recorded[1]!.digest]: ['in use by production'], [recorded[0]!.digest]: ['rollback target of production']});
    const refused = out.removed.filter((i) => i.outcome === 'refused');
    expect(refused.map((i) => i.id)).toEqual([fifth.json.result!.digest]);
    expect(refused[0]!.reason).toMatch(/container .* is using its referenced image/);
    expect(res.json.warnings?.join('\n')).toContain(`image ${fifth.json.result!.digest.slice(0, 19)} not removed`);
    expect(await exists(fifth.json.result!.digest)).toBe(true);
  }, 120_000);

  it('the local provider has no images: usage error naming the provider', async () => {
    const local = await tempProject('odoo-sh-next-images-local-');
    try {
      await writeFile(join(local.dir, 'odoo-sh-next.config.yaml'), `project: ${PROJECT}-local\nodoo: {version: "17.0"}\n`);
      const res = await runCli(['images', 'list', '--json'], {cwd: local.dir});
      expect(res.exitCode).toBe(2);
      expect(res.json.error?.message).toContain('images exist only on container providers (docker-local, ssh-host); this project uses the "local" provider');
    } finally {
      await local.remove();
    }
  });
});
