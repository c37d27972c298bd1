import {describe, expect, it} from 'vitest';
import {addonsDirFor} from '../../../src/core/build/addon-sources.js';
import {planBuildGraph, planRebuild, type BuildGraphInput} from '../../../src/core/build/build-graph-plan.js';
import {ConfigError} from '../../../src/core/errors.js';
import {BASE_DIGEST, file, GIT_COMMIT, graphInput, sha} from './fixtures.js';

const GIT_LABEL = 'https://github.com/x/y@abc1234 (subdir z)';
const ALL = ['base', 'python-deps', `addons:${GIT_LABEL}`, 'addons:./addons', 'addons:./more', 'config'];

type Change = (input: BuildGraphInput) => BuildGraphInput;
const withSource = (index: number, change: (s: BuildGraphInput['sources'][number]) => BuildGraphInput['sources'][number]): Change =>
  (input) => ({...input, sources: input.sources.map((s, i) => (i === index ? change(s) : s))});
const withAddon = (name: string, change: (a: BuildGraphInput['addons'][number]) => BuildGraphInput['addons'][number]): Change =>
  (input) => ({...input, addons: input.addons.map((a) => (a.name === name ? change(a) : a))});
const editFile = (index: number, path: string, content: string, mode = 0o644): Change =>
  withSource(index, (s) => ({...s, files: (s.files ?? []).map((f) => (f.path === path ? file(path, content, mode) : f))}) as typeof s);

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('no error thrown');
}

describe('planBuildGraph', () => {
  it('orders layers base → python-deps → git addons → folder addons → config, each keyed on its parent', () => {
    const graph = planBuildGraph(graphInput());
    expect(graph.layers.map((l) => l.id)).toEqual(ALL);
    expect(graph.layers[0]?.parentKey).toBeNull();
    graph.layers.forEach((layer, i) => {
      expect(layer.key).toMatch(/^[0-9a-f]{64}$/);
      if (i > 0) expect(layer.parentKey).toBe(graph.layers[i - 1]?.key);
    });
    expect(new Set(graph.layers.map((l) => l.key)).size).toBe(ALL.length);
    expect(graph.warnings).toEqual([]);
  });

  it('describes the contents exactly: sorted files, normalized modes, fixed mtime, owner 0:0', () => {
    const graph = planBuildGraph({...graphInput(), sourceDateEpoch: 1_700_000_000});
    const gitDir = addonsDirFor(graphInput().sources[1]!);
    const [base, deps, git, , , config] = graph.layers;
    const meta = {mtime: 1_700_000_000, uid: 0, gid: 0};
    expect(base?.contents).toEqual({kind: 'base', image: `odoo:17.0@${BASE_DIGEST}`});
    expect(graph.requirements).toBe('phonenumbers==8.13.0\nrequests==2.31\n');
    expect(deps?.contents).toEqual({
      kind: 'python-deps',
      files: [{path: '/opt/odoo-sh/requirements.txt', sha256: sha(graph.requirements), mode: 0o644, ...meta}],
      run: {
        user: 'root',
        env: {
          PIP_BREAK_SYSTEM_PACKAGES: '1', PIP_NO_CACHE_DIR: '1', PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_NO_INPUT: '1',
          PIP_ROOT_USER_ACTION: 'ignore', SOURCE_DATE_EPOCH: '1700000000',
        },
        argv: ['python3', '-m', 'pip', 'install', '--no-cache-dir', '--requirement', '/opt/odoo-sh/requirements.txt'],
      },
    });
    expect(git?.contents).toEqual({
      kind: 'addons',
      source: GIT_LABEL,
      dest: gitDir,
      addons: ['crm_ext'],
      files: [
        {path: `${gitDir}/crm_ext/__manifest__.py`, sha256: sha("{'name': 'CRM ext'}"), mode: 0o644, ...meta},
        {path: `${gitDir}/crm_ext/bin/tool`, sha256: sha('#!/bin/sh'), mode: 0o755, ...meta},
      ],
      git: {url: 'https://github.com/x/y', commit: GIT_COMMIT, subdir: 'z'},
    });
    expect(config?.contents).toEqual({
      kind: 'config',
      files: [{path: '/etc/odoo/odoo.conf', sha256: sha(graphInput().odooConfigText), mode: 0o644, ...meta}],
    });
    expect(graph.addonsPath).toEqual(graphInput().sources.map(addonsDirFor));
    expect(graph.addonsPath.every((p) => /^\/opt\/odoo-sh\/addons\/(path|git)-[0-9a-f]{12}$/.test(p))).toBe(true);
  });

  it('gives the same keys for the same files listed in another order, or modes with the same execute bits', () => {
    const reordered = withSource(0, (s) => ({...s, files: [...(s.files ?? [])].reverse()}) as typeof s)(graphInput());
    const umask = editFile(0, 'sale_ext/models/sale.py', 'x = 1', 0o100664)(graphInput());
    const keys = planBuildGraph(graphInput()).layers.map((l) => l.key);
    expect(planBuildGraph(reordered).layers.map((l) => l.key)).toEqual(keys);
    expect(planBuildGraph(umask).layers.map((l) => l.key)).toEqual(keys);
    expect(planBuildGraph({...graphInput(), addons: [...graphInput().addons].reverse()})).toEqual(planBuildGraph(graphInput()));
  });

  it('keys a git layer on its commit, whether or not its files are listed', () => {
    const unlisted = withSource(1, (s) => (s.kind === 'git' ? {...s, files: undefined} : s))(graphInput());
    expect(planBuildGraph(unlisted).layers.map((l) => l.key)).toEqual(planBuildGraph(graphInput()).layers.map((l) => l.key));
  });

  it('maps import names in manifests to PyPI names', () => {
    const graph = planBuildGraph(withAddon('stock_ext', (a) => ({...a, externalPythonDeps: ['dateutil', 'OpenSSL', 'PIL', 'zeep']}))(graphInput()));
    expect(graph.requirements).toBe('phonenumbers==8.13.0\npillow\npyopenssl\npython-dateutil\nrequests==2.31\nzeep\n');
  });

  it('keeps a git layer key when the URL credentials change, and omits them everywhere', () => {
    const withToken = withSource(1, (s) => ({...s, url: 'https://bot:s3cret@github.com/x/y'}))(graphInput());
    const graph = planBuildGraph(withToken);
    expect(graph.layers.map((l) => l.key)).toEqual(planBuildGraph(graphInput()).layers.map((l) => l.key));
    expect(JSON.stringify(graph)).not.toContain('s3cret');
  });

  it('leaves out the python-deps layer when no addon needs a package', () => {
    const input = graphInput();
    const graph = planBuildGraph({...input, addons: input.addons.map((a) => ({...a, externalPythonDeps: [], requirementsTxt: undefined}))});
    expect(graph.layers.map((l) => l.id)).toEqual(ALL.filter((id) => id !== 'python-deps'));
    expect(graph.requirements).toBe('');
  });

  it('warns about an unpinned base image, loose requirements, foreign-series addons and empty sources', () => {
    const input = graphInput();
    const graph = planBuildGraph({
      ...input,
      baseImage: {name: 'odoo:17.0'},
      sources: [...input.sources, {kind: 'path', path: './empty', files: []}],
      addons: input.addons.map((a) => (a.name === 'stock_ext' ? {...a, manifestVersion: '16.0.1.0.0', externalPythonDeps: ['xlrd>=2']} : a)),
    });
    expect(graph.warnings).toEqual([
      'addon "stock_ext" in ./more has version 16.0.1.0.0, made for Odoo 16.0, not 17.0',
      'base image odoo:17.0 is not pinned to a digest or image id: a new pull may change it without changing the cache keys',
      'Python requirements without an exact pin (a rebuild without cache may install other versions): xlrd',
      'addons source ./empty holds no addons',
    ]);
  });
});

describe('planRebuild', () => {
  const previous = planBuildGraph(graphInput()).layers;
  const rebuildFrom = (first: string) => ({build: ALL.slice(ALL.indexOf(first)), cached: ALL.slice(0, ALL.indexOf(first))});

  it.each<[string, Change, {build: string[]; cached: string[]}]>([
    ['nothing changed', (i) => i, {build: [], cached: ALL}],
    ['nothing changed but the file order', withSource(2, (s) => ({...s, files: [...(s.files ?? [])].reverse()}) as typeof s), {build: [], cached: ALL}],
    ['a file of the last folder source', editFile(2, 'stock_ext/__manifest__.py', "{'name': 'Stock ext 2'}"), rebuildFrom('addons:./more')],
    ['a file of ./addons', editFile(0, 'sale_ext/models/sale.py', 'x = 2'), rebuildFrom('addons:./addons')],
    ['a file mode of ./addons', editFile(0, 'sale_ext/models/sale.py', 'x = 1', 0o755), rebuildFrom('addons:./addons')],
    ['a new file in ./addons', withSource(0, (s) => ({...s, files: [...(s.files ?? []), file('sale_ext/data/a.xml', '<odoo/>')]}) as typeof s), rebuildFrom('addons:./addons')],
    ['the config text', (i) => ({...i, odooConfigText: `${i.odooConfigText}workers = 2\n`}), rebuildFrom('config')],
    ['a requirement', withAddon('sale_ext', (a) => ({...a, requirementsTxt: 'requests==2.32\n'})), rebuildFrom('python-deps')],
    ['the base digest', (i) => ({...i, baseImage: {name: 'odoo:17.0', digest: `sha256:${'2'.repeat(64)}`}}), rebuildFrom('base')],
    ['the local base image id', (i) => ({...i, baseImage: {...i.baseImage, id: `sha256:${'3'.repeat(64)}`}}), rebuildFrom('base')],
    ['SOURCE_DATE_EPOCH', (i) => ({...i, sourceDateEpoch: 1}), rebuildFrom('python-deps')],
  ])('%s', (_what, change, expected) => {
    expect(planRebuild(previous, planBuildGraph(change(graphInput())).layers)).toEqual(expected);
  });

  it('rebuilds the git layer and the later ones when the pinned commit moves', () => {
    const commit = 'f'.repeat(40);
    const next = planBuildGraph(withSource(1, (s) => ({...s, commit}))(graphInput()));
    expect(planRebuild(previous, next.layers)).toEqual({
      build: ['addons:https://github.com/x/y@fffffff (subdir z)', 'addons:./addons', 'addons:./more', 'config'],
      cached: ['base', 'python-deps'],
    });
    expect(next.addonsPath).toEqual(planBuildGraph(graphInput()).addonsPath);
  });

  it('does not reinstall Python packages when a requirement moves from one addon to another', () => {
    const moved = withAddon('crm_ext', (a) => ({...a, externalPythonDeps: []}))(
      withAddon('stock_ext', (a) => ({...a, externalPythonDeps: ['phonenumbers==8.13.0']}))(graphInput()),
    );
    expect(planRebuild(previous, planBuildGraph(moved).layers)).toEqual({build: [], cached: ALL});
  });

  it('accepts the cached keys as plain strings, and builds everything from an empty cache', () => {
    const next = planBuildGraph(graphInput()).layers;
    expect(planRebuild(previous.map((l) => l.key), next)).toEqual({build: [], cached: ALL});
    expect(planRebuild([], next)).toEqual({build: ALL, cached: []});
  });
});

describe('planBuildGraph refuses', () => {
  it.each<[string, Change, string]>([
    [
      'an addon in two sources, naming both',
      withAddon('crm_ext', (a) => ({...a, name: 'sale_ext'})),
      'addon "sale_ext" is in ./addons and in https://github.com/x/y@abc1234 (subdir z): keep one',
    ],
    [
      'an addon twice in one source',
      (i) => ({...i, addons: [...i.addons, {name: 'stock_ext', source: 2, depends: [], externalPythonDeps: []}]}),
      'addon "stock_ext" is twice in ./more: keep one',
    ],
    [
      'an unpinned git source, naming it',
      withSource(1, (s) => ({...s, commit: 'main'})),
      'addons source https://github.com/x/y is not pinned to a commit ("main"): give the full 40-character lowercase sha',
    ],
    [
      'a short sha',
      withSource(1, (s) => ({...s, commit: 'abc1234'})),
      'addons source https://github.com/x/y is not pinned to a commit ("abc1234"): give the full 40-character lowercase sha',
    ],
    [
      'conflicting pins, naming both addons',
      withAddon('crm_ext', (a) => ({...a, externalPythonDeps: ['Requests==2.32']})),
      'conflicting pins for Python package "requests": requests==2.31 (addon sale_ext in ./addons) and requests==2.32 (addon crm_ext in https://github.com/x/y@abc1234 (subdir z)): pin one version',
    ],
    [
      'a symlink',
      editFile(0, 'sale_ext/models/sale.py', 'x', 0o120777),
      'addons source ./addons: sale_ext/models/sale.py: not a regular file (mode 120777): symlinks and special files are not copied into images',
    ],
    [
      'a path escaping the source',
      withSource(2, (s) => ({...s, files: [file('../etc/passwd', 'x')]}) as typeof s),
      'addons source ./more: file path "../etc/passwd" has an empty, "." or ".." component',
    ],
    [
      'a file listed twice',
      withSource(2, (s) => ({...s, files: [file('a/b.py', 'x'), file('a/b.py', 'y')]}) as typeof s),
      'addons source ./more: file "a/b.py" is listed twice',
    ],
    [
      'a source listed twice',
      (i) => ({...i, sources: [...i.sources, {kind: 'path', path: 'addons/', files: []}]}),
      'addons source addons/ is listed twice (also as ./addons): keep one',
    ],
    ['an addon of an unknown source', withAddon('stock_ext', (a) => ({...a, source: 7})), 'addon "stock_ext" names source #7, which does not exist'],
    [
      'a pip option in requirements.txt',
      withAddon('sale_ext', (a) => ({...a, requirementsTxt: '# deps\n-r other.txt\n'})),
      'addon sale_ext in ./addons: requirements.txt line 2: pip options ("-r") are not supported in addon requirements',
    ],
    [
      'a bad base image name',
      (i) => ({...i, baseImage: {name: 'Odoo:17.0'}}),
      'invalid image reference "Odoo:17.0": path component "Odoo" must be lowercase letters and digits separated by ".", "_", "__" or "-" (repository names must be lowercase)',
    ],
  ])('%s', (_what, change, message) => {
    expect(errorOf(() => planBuildGraph(change(graphInput()))).message).toBe(message);
  });

  it('names both sources in the duplicate error data', () => {
    const err = errorOf(() => planBuildGraph(withAddon('crm_ext', (a) => ({...a, name: 'sale_ext'}))(graphInput())));
    expect(err.data).toEqual({addon: 'sale_ext', sources: ['./addons', GIT_LABEL]});
  });
});
