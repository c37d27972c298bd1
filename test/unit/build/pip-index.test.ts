import {describe, expect, it} from 'vitest';
import {planBuildGraph, planRebuild, type BuildGraphInput} from '../../../src/core/build/build-graph-plan.js';
import {renderLayerDockerfile} from '../../../src/core/build/dockerfile-plan.js';
import {pipIndexArgs, pipIndexUrlProblem, validatePipIndex, type PipIndex} from '../../../src/core/build/pip-index.js';
import {ConfigError} from '../../../src/core/errors.js';
import {graphInput} from './fixtures.js';

const ALL = ['base', 'python-deps', 'addons:https://github.com/x/y@abc1234 (subdir z)', 'addons:./addons', 'addons:./more', 'config'];
const withPip = (pip: PipIndex): BuildGraphInput => ({...graphInput(), pip});
const pythonDeps = (input: BuildGraphInput) => planBuildGraph(input).layers.find((l) => l.id === 'python-deps')!;

describe('pip index settings (build.pip)', () => {
  it('become pip arguments of the python-deps RUN, in order', () => {
    const pip = {indexUrl: 'http://127.0.0.1:3141/simple', extraIndexUrls: ['https://a.example/simple', 'https://b.example/simple/'], trustedHosts: ['127.0.0.1:3141']};
    expect(pipIndexArgs(pip)).toEqual([
      '--index-url', 'http://127.0.0.1:3141/simple',
      '--extra-index-url', 'https://a.example/simple', '--extra-index-url', 'https://b.example/simple/',
      '--trusted-host', '127.0.0.1:3141',
    ]);
    const layer = pythonDeps(withPip(pip));
    expect(layer.contents.kind === 'python-deps' && layer.contents.run.argv).toEqual([
      'python3', '-m', 'pip', 'install', '--no-cache-dir', ...pipIndexArgs(pip), '--requirement', '/opt/odoo-sh/requirements.txt',
    ]);
    const dockerfile = renderLayerDockerfile(layer, {from: 'sha256:abc', baseUser: 'odoo', project: 'shop', last: false});
    expect(dockerfile).toContain('"--index-url","http://127.0.0.1:3141/simple"');
    expect(dockerfile.trimEnd().split('\n').at(-1)).toBe('USER odoo');
    expect(pipIndexArgs({})).toEqual([]);
  });

  it('the defaults (PyPI) key the same as no settings at all', () => {
    expect(pythonDeps(withPip({extraIndexUrls: [], trustedHosts: []})).key).toBe(pythonDeps(graphInput()).key);
  });

  const previous = planBuildGraph(graphInput()).layers;
  it.each<[string, PipIndex]>([
    ['an index URL', {indexUrl: 'https://pypi.example.com/simple'}],
    ['an extra index', {extraIndexUrls: ['https://extra.example.com/simple']}],
    ['a trusted host', {trustedHosts: ['pypi.example.com']}],
  ])('changing %s rebuilds python-deps and every later layer, not the base', (_what, pip) => {
    expect(planRebuild(previous, planBuildGraph(withPip(pip)).layers)).toEqual({build: ALL.slice(1), cached: ['base']});
  });

  it('changes nothing when no addon needs a Python package (no python-deps layer)', () => {
    const bare = (pip?: PipIndex): BuildGraphInput => ({
      ...graphInput(), pip, addons: graphInput().addons.map((a) => ({...a, requirementsTxt: undefined, externalPythonDeps: []})),
    });
    const before = planBuildGraph(bare()).layers;
    expect(planRebuild(before, planBuildGraph(bare({indexUrl: 'https://pypi.example.com/simple'})).layers)).toEqual({build: [], cached: ALL.filter((id) => id !== 'python-deps')});
  });

  it('refuses an index URL with credentials, saying why and without echoing the password', () => {
    let error: unknown;
    try {
      planBuildGraph(withPip({extraIndexUrls: ['https://bob:s3cret@pypi.example.com/simple']}));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const {message, actions} = error as ConfigError;
    expect(message).toMatch(/^build\.pip\.extraIndexUrls\[0\] "https:\/\/\*\*\*@pypi\.example\.com\/simple" carries credentials/);
    expect(message).toContain('image history');
    expect(message).not.toContain('s3cret');
    expect(actions.join(' ')).toMatch(/without credentials/);
    expect(() => validatePipIndex({indexUrl: 'https://token@pypi.example.com/simple'})).toThrow(/carries credentials/);
  });

  it.each<[string, string | undefined]>([
    ['https://pypi.example.com/simple', undefined],
    ['http://127.0.0.1:8080/simple/', undefined],
    ['file:///srv/wheels', 'is not an http(s) URL (file)'],
    ['pypi.example.com/simple', 'is not a URL'],
    ['https://pypi.example.com/ simple', 'contains white space'],
  ])('index URL %s', (url, problem) => {
    expect(pipIndexUrlProblem(url)).toBe(problem);
  });

  it('refuses a trusted host that is not host[:port]', () => {
    expect(() => validatePipIndex({trustedHosts: ['https://pypi.example.com']})).toThrow(/build\.pip\.trustedHosts\[0\] .* is not a host name or host:port/);
    expect(validatePipIndex({trustedHosts: ['pypi.example.com', '10.0.0.1:3141', '[::1]:8080']}).trustedHosts).toHaveLength(3);
  });
});
