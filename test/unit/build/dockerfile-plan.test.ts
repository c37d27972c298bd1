import {describe, expect, it} from 'vitest';
import {addonsDirFor} from '../../../src/core/build/addon-sources.js';
import {planBuildGraph} from '../../../src/core/build/build-graph-plan.js';
import {layerTarName, renderDockerfile, tarEntries} from '../../../src/core/build/dockerfile-plan.js';
import {BASE_DIGEST, file, graphInput, sha} from './fixtures.js';

describe('tarEntries', () => {
  it('lists parent directories before their files, sorted, with fixed metadata', () => {
    const input = graphInput();
    const source = {kind: 'path' as const, path: './a', files: [file('m/x.py', 'x'), file('m-2/y.py', 'y', 0o755), file('m/__init__.py', '')]};
    const graph = planBuildGraph({...input, sources: [source], addons: [{name: 'm', source: 0, depends: [], externalPythonDeps: []}], sourceDateEpoch: 5});
    const layer = graph.layers.find((l) => l.kind === 'addons')!;
    const dir = addonsDirFor(source).slice(1);
    const meta = {mtime: 5, uid: 0, gid: 0};
    const d = (path: string) => ({type: 'dir', path, mode: 0o755, ...meta});
    const f = (path: string, content: string, mode = 0o644) => ({type: 'file', path: `${dir}/${path}`, mode, ...meta, sha256: sha(content)});
    expect(tarEntries(layer)).toEqual([
      d('opt'),
      d('opt/odoo-sh'),
      d('opt/odoo-sh/addons'),
      d(dir),
      d(`${dir}/m-2`), // "m-2/" < "m/": each folder's subtree stays contiguous
      f('m-2/y.py', 'y', 0o755),
      d(`${dir}/m`),
      f('m/__init__.py', ''),
      f('m/x.py', 'x'),
    ]);
    expect(tarEntries(graph.layers[0]!)).toEqual([]);
  });

  it('is null for a git layer planned without its files', () => {
    const input = graphInput();
    const graph = planBuildGraph({...input, sources: input.sources.map((s) => (s.kind === 'git' ? {...s, files: undefined} : s))});
    expect(tarEntries(graph.layers.find((l) => l.id.startsWith('addons:https'))!)).toBeNull();
  });
});

describe('renderDockerfile', () => {
  it('adds one tar per layer over the pinned base and runs pip as root', () => {
    const graph = planBuildGraph(graphInput());
    const [, deps, g, a, m, config] = graph.layers;
    expect(renderDockerfile(graph)).toBe(
      [
        `FROM odoo:17.0@${BASE_DIGEST}`,
        `ADD ${layerTarName(deps!)} /`,
        'USER root',
        'RUN ["env","PIP_BREAK_SYSTEM_PACKAGES=1","PIP_DISABLE_PIP_VERSION_CHECK=1","PIP_NO_CACHE_DIR=1","PIP_NO_INPUT=1","PIP_ROOT_USER_ACTION=ignore","SOURCE_DATE_EPOCH=0","python3","-m","pip","install","--no-cache-dir","--requirement","/opt/odoo-sh/requirements.txt"]',
        'USER odoo',
        `ADD ${layerTarName(g!)} /`,
        `ADD ${layerTarName(a!)} /`,
        `ADD ${layerTarName(m!)} /`,
        `ADD ${layerTarName(config!)} /`,
        'ENV ODOO_RC=/etc/odoo/odoo.conf',
        `LABEL odoo-sh.build-key="${config!.key}"`,
        '',
      ].join('\n'),
    );
    expect(layerTarName(config!)).toBe(`layers/${config!.key}.tar`);
  });

  it('uses the base name as given when no digest is known, and the given user', () => {
    const input = graphInput();
    const graph = planBuildGraph({...input, baseImage: {name: 'localhost/odoo-standin:17.0', id: `sha256:${'9'.repeat(64)}`}});
    expect(renderDockerfile(graph, {baseUser: 'app'}).split('\n').filter((l) => /^(FROM|USER)/.test(l))).toEqual([
      'FROM localhost/odoo-standin:17.0',
      'USER root',
      'USER app',
    ]);
    expect(graph.warnings).toEqual([]);
  });
});
