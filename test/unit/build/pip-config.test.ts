/**
 * build.pip in the config file, and how the Docker image builder uses it and provider.docker.network
 * (a fake engine records the build options; the real engine is in
 * test/integration/docker/build-pip.integration.test.ts).
 */
import {PassThrough} from 'node:stream';
import type Docker from 'dockerode';
import {afterEach, describe, expect, it} from 'vitest';
import {systemClock} from '../../../src/core/clock.js';
import {loadConfig} from '../../../src/core/config/load-config.js';
import {ConfigError} from '../../../src/core/errors.js';
import {DockerImageBuilder} from '../../../src/providers/docker/image-builder.js';
import {rejection, tempProject, type TempProject} from '../config/temp-project.js';

let project: TempProject | undefined;
afterEach(async () => {
  await project?.cleanup();
  project = undefined;
});

async function load(yaml: string) {
  project = await tempProject({'odoo-sh-next.config.yaml': yaml});
  return loadConfig({cwd: project.dir, env: {}});
}

describe('config build.pip', () => {
  it('defaults to PyPI (no settings)', async () => {
    expect((await load('project: shop\n')).build).toEqual({pip: {extraIndexUrls: [], trustedHosts: []}});
  });

  it('takes an index, extra indexes and trusted hosts', async () => {
    const config = await load([
      'project: shop',
      'build:',
      '  pip:',
      '    indexUrl: https://pypi.example.com/simple',
      '    extraIndexUrls: [http://127.0.0.1:3141/simple]',
      '    trustedHosts: ["127.0.0.1:3141"]',
      '',
    ].join('\n'));
    expect(config.build.pip).toEqual({indexUrl: 'https://pypi.example.com/simple', extraIndexUrls: ['http://127.0.0.1:3141/simple'], trustedHosts: ['127.0.0.1:3141']});
  });

  it('refuses an index URL with credentials, saying why, without printing them', async () => {
    const error = await rejection(() => load('project: shop\nbuild: {pip: {indexUrl: "https://ci:hunter2@pypi.example.com/simple"}}\n'));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(/build\.pip\.indexUrl: .*carries credentials .*kept in the image history/);
    expect(error.message).not.toContain('hunter2');
  });

  it('refuses other URLs and hosts, and unknown keys', async () => {
    const error = await rejection(() => load([
      'project: shop',
      'build: {pip: {extraIndexUrls: ["file:///srv/wheels"], trustedHosts: ["https://x"], index: x}}',
      '',
    ].join('\n')));
    expect(error.message).toContain('build.pip.extraIndexUrls[0]: expected an http(s) URL of a package index (this one is not an http(s) URL (file)), found "file:///srv/wheels"');
    expect(error.message).toContain('build.pip.trustedHosts[0]: expected a host name or host:port, found "https://x"');
    expect(error.message).toMatch(/build\.pip\.index: unknown key/);
  });
});

/** A Docker engine that knows only the base image and records each build's options and Dockerfile. */
function fakeEngine() {
  const builds: {opts: Record<string, unknown>}[] = [];
  const images = new Map<string, Docker.ImageInspectInfo>([['odoo:17.0', {Id: `sha256:${'1'.repeat(64)}`, Config: {User: 'odoo'}} as Docker.ImageInspectInfo]]);
  const docker = {
    getImage: (ref: string) => ({
      inspect: async () => {
        const found = images.get(ref);
        if (!found) throw Object.assign(new Error('no such image'), {statusCode: 404});
        return found;
      },
      tag: async () => undefined,
    }),
    buildImage: async (_context: unknown, opts: Record<string, unknown>) => {
      builds.push({opts});
      const id = `sha256:${String(builds.length).repeat(64).slice(0, 64)}`;
      images.set(String(opts.t), {Id: id, Config: {Labels: {}}} as unknown as Docker.ImageInspectInfo);
      const stream = new PassThrough();
      stream.end();
      return Object.assign(stream, {id});
    },
    modem: {
      followProgress: (stream: PassThrough & {id: string}, done: (err: Error | null) => void, progress: (e: unknown) => void) => {
        progress({aux: {ID: stream.id}});
        done(null);
      },
    },
  };
  return {docker: docker as unknown as Docker, builds};
}

describe('DockerImageBuilder: build networking', () => {
  async function buildWith(network: 'host' | 'bridge' | undefined) {
    project = await tempProject({'addons/probe/__manifest__.py': "{'name': 'Probe'}\n", 'addons/probe/requirements.txt': 'six==1.16.0\n'});
    const engine = fakeEngine();
    const builder = new DockerImageBuilder({docker: engine.docker, clock: systemClock, network, pip: {indexUrl: 'http://127.0.0.1:3141/simple'}});
    const out = await builder.build({
      project: 'shop', projectRoot: project.dir, odooVersion: '17.0', baseImage: 'odoo:17.0', addons: [{path: `${project.dir}/addons`}],
      repository: 'odoo-sh-next/shop', references: ['odoo-sh-next/shop:t'], sourceDateEpoch: 0, event: async () => undefined,
      signal: new AbortController().signal,
    });
    return {engine, out};
  }

  it('a host-network project builds with networkmode host (pip reaches 127.0.0.1)', async () => {
    const {engine, out} = await buildWith('host');
    expect(out.layers.map((l) => l.name)).toEqual(['python-deps', 'addons:addons', 'config']);
    expect(engine.builds.map((b) => b.opts.networkmode)).toEqual(['host', 'host', 'host']);
  });

  it.each(['bridge', undefined] as const)('network %s keeps Docker\'s default build network', async (network) => {
    const {engine} = await buildWith(network);
    expect(engine.builds).toHaveLength(3);
    for (const b of engine.builds) expect(b.opts).not.toHaveProperty('networkmode');
  });
});
