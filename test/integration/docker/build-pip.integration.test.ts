/**
 * The buildpack's python-deps layer running pip for real, on the Docker engine, offline: the base is
 * the odoo-py test image (Debian bookworm's python3 + pip 23, which refuses a plain `pip install`
 * with "externally-managed-environment", PEP 668, like the official odoo:18 image), pip installs a
 * wheel generated here from a PEP 503 "simple" index this test serves on 127.0.0.1 (config
 * build.pip.indexUrl; the project has `docker.network: host`, so the build runs with host
 * networking and reaches it). Steps: first build (python-deps built, the package imports as the
 * image's user, no pip cache in the layer) → same inputs (0 layers rebuilt, the index not asked
 * again) → one addon file changed (only that addon's layer and config) → an index URL with
 * credentials is refused before anything is built.
 */
import {createHash, randomBytes} from 'node:crypto';
import {readFile, writeFile} from 'node:fs/promises';
import http from 'node:http';
import type {AddressInfo} from 'node:net';
import {join} from 'node:path';
import {PassThrough} from 'node:stream';
import {afterAll, beforeAll, expect, it} from 'vitest';
import type {BuildResult} from '../../../src/commands/build.js';
import {ZipWriter} from '../../../src/core/backup/odoo-zip-writer.js';
import {layerCacheTag} from '../../../src/core/build/dockerfile-plan.js';
import {assertContract, runCli, tempProject, writeProjectFile} from '../../helpers/cli.js';
import {createTestDatabase, type TestDatabase, stateUrlFor as stateUrl} from '../../helpers/db.js';
import {describeDocker, docker, ensurePythonTestImage, ODOO_PY_IMAGE, projectImageTags} from '../../helpers/docker.js';

const PROJECT = `bp-${randomBytes(4).toString('hex')}`;
const SHA = 'b1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
const DIST = 'osn-pip-probe';
const MODULE = 'osn_pip_probe';
const VERSION = '1.0.3';
const WHEEL = `${MODULE}-${VERSION}-py3-none-any.whl`;

// ---------------------------------------------------------------- a wheel and a PEP 503 index

const b64 = (data: Buffer) => createHash('sha256').update(data).digest('base64url');

/** A pure-Python wheel (a zip: the package, its dist-info with METADATA, WHEEL and RECORD). */
async function buildWheel(): Promise<Buffer> {
  const info = `${MODULE}-${VERSION}.dist-info`;
  const files: [string, string][] = [
    [`${MODULE}/__init__.py`, `VALUE = "probe ${VERSION}"\n`],
    [`${info}/METADATA`, `Metadata-Version: 2.1\nName: ${DIST}\nVersion: ${VERSION}\nSummary: odoo-sh-next test package\n`],
    [`${info}/WHEEL`, 'Wheel-Version: 1.0\nGenerator: odoo-sh-next-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n'],
  ];
  const record = [...files.map(([name, text]) => `${name},sha256=${b64(Buffer.from(text))},${Buffer.byteLength(text)}`), `${info}/RECORD,,`];
  files.push([`${info}/RECORD`, `${record.join('\n')}\n`]);
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const zip = new ZipWriter(out);
  for (const [name, text] of files) await zip.addFile(name, Buffer.from(text), {mtime: new Date(2020, 0, 1)});
  await zip.finish();
  out.end();
  return Buffer.concat(chunks);
}

interface Index {
  readonly url: string;
  /** Paths asked so far. */
  readonly requests: string[];
  close(): Promise<void>;
}

/** A PEP 503 "simple" index on 127.0.0.1 holding one wheel. */
async function startIndex(wheel: Buffer): Promise<Index> {
  const requests: string[] = [];
  const sha = createHash('sha256').update(wheel).digest('hex');
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    requests.push(path);
    const html = (body: string) => {
      res.writeHead(200, {'content-type': 'text/html'});
      res.end(`<!DOCTYPE html><html><body>\n${body}\n</body></html>\n`);
    };
    if (path === '/simple/') html(`<a href="/simple/${DIST}/">${DIST}</a>`);
    else if (path === `/simple/${DIST}/`) html(`<a href="/files/${WHEEL}#sha256=${sha}">${WHEEL}</a>`);
    else if (path === `/files/${WHEEL}`) {
      res.writeHead(200, {'content-type': 'application/octet-stream', 'content-length': wheel.length});
      res.end(wheel);
    } else {
      res.writeHead(404, {'content-type': 'text/plain'});
      res.end('not found\n');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const {port} = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/simple`, requests,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

// ---------------------------------------------------------------- the project

let db: TestDatabase;
let project: {dir: string; remove(): Promise<void>};
let index: Index;
const build = () => runCli<BuildResult>(['build', '--sha', SHA, '--json'], {cwd: project.dir, timeout: 300_000});


const write = (path: string, text: string) => writeProjectFile(project.dir, path, text);

async function writeConfig(pip: string): Promise<void> {
  await writeFile(join(project.dir, 'odoo-sh-next.config.yaml'), [
    `project: ${PROJECT}`, 'provider: {name: docker-local, docker: {network: host}}',
    `odoo: {version: "17.0", image: ${JSON.stringify(ODOO_PY_IMAGE)}, addons: [{path: ./addons-a}, {path: ./addons-b}]}`,
    `build: {pip: ${pip}}`,
    `state: {url: ${JSON.stringify(stateUrl(db.name))}}`, '',
  ].join('\n'));
}

const projectTags = () => projectImageTags(PROJECT);

const imageSize = async (image: string): Promise<number> => Number(await docker(['image', 'inspect', '--format', '{{.Size}}', image]));

describeDocker('build: the python-deps layer runs pip (PEP 668 base, private index on loopback)', () => {
  beforeAll(async () => {
    await ensurePythonTestImage();
    [db, project, index] = await Promise.all([createTestDatabase('build_pip'), tempProject('odoo-sh-next-build-pip-'), buildWheel().then(startIndex)]);
    await write('addons-a/probe_ext/__manifest__.py', "{'name': 'Probe ext', 'version': '17.0.1.0.0', 'depends': ['base']}\n");
    await write('addons-a/probe_ext/requirements.txt', `${DIST}==${VERSION}\n`);
    await write('addons-b/other_ext/__manifest__.py', "{'name': 'Other ext', 'depends': ['probe_ext']}\n");
    await write('addons-b/other_ext/models.py', 'X = 1\n');
    await writeConfig(`{indexUrl: ${JSON.stringify(index.url)}, trustedHosts: [${JSON.stringify(new URL(index.url).host)}]}`);
  }, 600_000);

  afterAll(async () => {
    const tags = await projectTags().catch(() => []);
    if (tags.length > 0) await docker(['rmi', ...tags]).catch(() => '');
    await index?.close();
    await project?.remove();
    await db?.drop();
  });

  let first: BuildResult;

  it('builds python-deps with pip from the index: the package imports as the image user, no pip cache in the layer', async () => {
    const res = await build();
    expect(res.exitCode, res.stderr || JSON.stringify(res.json.error)).toBe(0);
    assertContract('build', res.json.result);
    first = res.json.result!;
    expect(first.layers.map((l) => [l.name, l.cached])).toEqual([['python-deps', false], ['addons:addons-a', false], ['addons:addons-b', false], ['config', false]]);
    expect(first.rebuilt).toBe(4);
    expect(index.requests).toContain(`/simple/${DIST}/`);
    expect(index.requests).toContain(`/files/${WHEEL}`);

    const imported = await docker(['run', '--rm', '--network', 'none', '--entrypoint', 'python3', first.digest, '-c', `import ${MODULE}, os; print(${MODULE}.VALUE, os.getuid())`]);
    expect(imported.trim()).toBe(`probe ${VERSION} 101`);
    // pip ran as root (USER root), the image is given back to the base image's user
    expect((await docker(['image', 'inspect', '--format', '{{.Config.User}}', first.digest])).trim()).toBe('odoo');
    const leftovers = await docker(['run', '--rm', '--network', 'none', '--user', 'root', '--entrypoint', 'sh', first.digest, '-c',
      'ls -d /root/.cache/pip /var/lib/odoo/.cache/pip 2>/dev/null; pip3 list 2>/dev/null | grep -i osn-pip-probe']);
    expect(leftovers.trim().split('\n')).toEqual([expect.stringMatching(new RegExp(`^${DIST}\\s+${VERSION.replaceAll('.', '\\.')}$`))]);
    // the layer holds the package (and its .pyc), not pip's downloads: a few kB over the base
    const layerImage = layerCacheTag(PROJECT, first.layers[0]!);
    expect((await imageSize(layerImage)) - (await imageSize(ODOO_PY_IMAGE))).toBeLessThan(64 * 1024);
    const history = await docker(['history', '--no-trunc', '--format', '{{.CreatedBy}}', layerImage]);
    expect(history).toContain(`--index-url ${index.url}`);
  });

  it('same inputs: zero layers rebuilt, the same image, the index not asked again', async () => {
    const asked = index.requests.length;
    const res = await build();
    expect(res.exitCode, res.stderr).toBe(0);
    const again = res.json.result!;
    expect(again.rebuilt).toBe(0);
    expect(again.digest).toBe(first.digest);
    expect(index.requests.length).toBe(asked);
  });

  it('one addon changed: only its layer and config rebuild, not python-deps', async () => {
    const asked = index.requests.length;
    await write('addons-b/other_ext/models.py', 'X = 2\n');
    const res = await build();
    expect(res.exitCode, res.stderr).toBe(0);
    const changed = res.json.result!;
    expect(changed.layers.map((l) => [l.name, l.cached])).toEqual([['python-deps', true], ['addons:addons-a', true], ['addons:addons-b', false], ['config', false]]);
    expect(changed.rebuilt).toBe(2);
    expect(changed.layers[0]!.key).toBe(first.layers[0]!.key);
    expect(index.requests.length).toBe(asked);
    const imported = await docker(['run', '--rm', '--network', 'none', '--entrypoint', 'python3', changed.digest, '-c', `import ${MODULE}; print(${MODULE}.VALUE)`]);
    expect(imported.trim()).toBe(`probe ${VERSION}`);
  });

  it('a version the index does not have: the build fails naming the layer and pip\'s reason, nothing left tagged', async () => {
    await write('addons-a/probe_ext/requirements.txt', `${DIST}==9.9.9\n`);
    try {
      const res = await build();
      expect(res.exitCode).toBe(6);
      expect(res.json.error?.message).toMatch(new RegExp(`layer python-deps: docker build failed: .*\\(ERROR: No matching distribution found for ${DIST}==9\\.9\\.9\\)$`));
      const dangling = await docker(['images', '-a', '-q', '--filter', 'dangling=true', '--filter', `label=odoo-sh.project=${PROJECT}`]);
      expect(dangling.trim()).toBe('');
    } finally {
      await write('addons-a/probe_ext/requirements.txt', `${DIST}==${VERSION}\n`);
    }
  });

  it('an index URL with credentials is refused (config error), nothing built', async () => {
    const config = join(project.dir, 'odoo-sh-next.config.yaml');
    const before = await readFile(config, 'utf8');
    await writeConfig(`{indexUrl: "http://ci:hunter2@127.0.0.1:9/simple"}`);
    try {
      const res = await build();
      expect(res.exitCode).toBe(3);
      expect(res.json.error?.message).toMatch(/build\.pip\.indexUrl: .*credentials.*image history/);
      expect(res.json.error?.message).not.toContain('hunter2');
    } finally {
      await writeFile(config, before);
    }
  });
});
