import {describe, expect, it} from 'vitest';
import {addonsDirFor, parseRequirement, parseRequirementsTxt, redactUrl, sourceLabel, validateSources, type BuildSource} from '../../../src/core/build/addon-sources.js';
import {mergeRequirements, requirementsText} from '../../../src/core/build/python-deps-plan.js';
import {configErrorMessage, GIT_COMMIT} from './fixtures.js';

const git = (extra: Partial<Extract<BuildSource, {kind: 'git'}>> = {}): BuildSource => ({kind: 'git', url: 'https://github.com/x/y', commit: GIT_COMMIT, ...extra});

describe('sources', () => {
  it.each<[BuildSource, string]>([
    [{kind: 'path', path: './addons', files: []}, './addons'],
    [git(), 'https://github.com/x/y@abc1234'],
    [git({subdir: 'z', url: 'https://u:tok@github.com/x/y'}), 'https://github.com/x/y@abc1234 (subdir z)'],
  ])('labels %j as %s', (source, label) => {
    expect(sourceLabel(source)).toBe(label);
  });

  it('redacts credentials of any scheme', () => {
    expect(redactUrl('ssh://git:pw@host/r.git')).toBe('ssh://host/r.git');
    expect(redactUrl('git@github.com:x/y.git')).toBe('git@github.com:x/y.git');
  });

  it('keeps the image folder of a source across commits and credentials, and separates subdirs', () => {
    expect(addonsDirFor(git({commit: 'f'.repeat(40), url: 'https://a:b@github.com/x/y'}))).toBe(addonsDirFor(git()));
    expect(addonsDirFor(git({subdir: 'a'}))).not.toBe(addonsDirFor(git({subdir: 'b'})));
    expect(addonsDirFor({kind: 'path', path: './addons/', files: []})).toBe(addonsDirFor({kind: 'path', path: 'addons', files: []}));
  });

  it.each<[string, BuildSource[], string]>([
    ['a branch', [git({commit: 'main'})], 'addons source https://github.com/x/y is not pinned to a commit ("main"): give the full 40-character lowercase sha'],
    ['an uppercase sha', [git({commit: GIT_COMMIT.toUpperCase()})], `addons source https://github.com/x/y is not pinned to a commit ("${GIT_COMMIT.toUpperCase()}"): give the full 40-character lowercase sha`],
    ['a subdir escaping the repository', [git({subdir: '../x'})], 'addons source https://github.com/x/y@abc1234 (subdir ../x): subdir must be a relative folder inside the repository'],
    ['the same repository twice', [git(), git({commit: 'e'.repeat(40)})], 'addons source https://github.com/x/y@eeeeeee is listed twice (also as https://github.com/x/y@abc1234): keep one'],
    ['an empty path', [{kind: 'path', path: ' ', files: []}], 'an addons source has an empty path'],
  ])('refuses %s', (_what, sources, message) => {
    expect(configErrorMessage(() => validateSources(sources))).toBe(message);
  });
});

describe('parseRequirement', () => {
  it.each<[string, object]>([
    ['requests', {name: 'requests', extras: [], specifiers: []}],
    ['Python_Dateutil >= 2.8 , <3', {name: 'python-dateutil', extras: [], specifiers: ['<3', '>=2.8']}],
    ['requests[Socks, security]==2.31', {name: 'requests', extras: ['security', 'socks'], specifiers: ['==2.31']}],
    ['pywin32 ; sys_platform  == "win32"', {name: 'pywin32', extras: [], specifiers: [], marker: 'sys_platform == "win32"'}],
    ['foo (>=1.0)', {name: 'foo', extras: [], specifiers: ['>=1.0']}],
    ['pkg @ https://example.com/pkg-1.0.tar.gz', {name: 'pkg', extras: [], specifiers: ['@ https://example.com/pkg-1.0.tar.gz']}],
  ])('parses %j', (text, expected) => {
    expect(parseRequirement(text, 'x')).toEqual(expected);
  });

  it.each<[string, string]>([
    ['-e .', 'no package name'],
    ['requests=2', 'bad version clause "=2"'],
    ['requests>=2;', 'empty marker after ";"'],
  ])('refuses %j', (text, why) => {
    expect(configErrorMessage(() => parseRequirement(text, 'addon a'))).toBe(`addon a: ${JSON.stringify(text)} is not a Python requirement (${why})`);
  });

  it('parses a requirements.txt with comments, blank lines and continuations', () => {
    const text = '# header\r\nrequests==2.31  # pinned\n\nlxml \\\n  >=4\n';
    expect(parseRequirementsTxt(text, 'r')).toEqual([
      {name: 'requests', extras: [], specifiers: ['==2.31']},
      {name: 'lxml', extras: [], specifiers: ['>=4']},
    ]);
  });

  it('names the line of a bad requirement, counting continued lines', () => {
    expect(configErrorMessage(() => parseRequirementsTxt('a \\\n >=1\nb=2\n', 'r'))).toBe('r line 3: "b=2" is not a Python requirement (bad version clause "=2")');
  });
});

describe('mergeRequirements', () => {
  const reqs = (origin: string, ...lines: string[]) => ({origin, requirements: lines.map((l) => parseRequirement(l, origin))});

  it('merges, de-duplicates and sorts deterministically', () => {
    const lines = mergeRequirements([
      reqs('addon b', 'Requests>=2', 'zeep', 'pywin32; sys_platform == "win32"'),
      reqs('addon a', 'requests[socks]==2.31', 'Zeep', 'phonenumbers', 'pkg @ https://e.com/p.tgz ; python_version >= "3.10"'),
    ]);
    expect(lines).toEqual([
      'phonenumbers',
      'pkg @ https://e.com/p.tgz ; python_version >= "3.10"',
      'pywin32; sys_platform == "win32"',
      'requests[socks]==2.31,>=2',
      'zeep',
    ]);
    expect(requirementsText(lines)).toBe(`${lines.join('\n')}\n`);
    expect(requirementsText([])).toBe('');
  });

  it('gives the same lines whatever the addon order', () => {
    const a = reqs('a', 'x>=1', 'y==2');
    const b = reqs('b', 'y', 'x<3', 'w');
    expect(mergeRequirements([a, b])).toEqual(mergeRequirements([b, a]));
  });

  it('accepts the same pin twice and keeps separate markers apart', () => {
    expect(mergeRequirements([reqs('a', 'x==1'), reqs('b', 'X==1'), reqs('c', 'x==2; os_name == "nt"')])).toEqual(['x==1', 'x==2; os_name == "nt"']);
  });

  it.each<[string, string, string]>([
    ['x==1', 'x==2', 'x==1 (addon a) and x==2 (addon b)'],
    ['x===1', 'x==1', 'x===1 (addon a) and x==1 (addon b)'],
    ['x @ https://e/1.tgz', 'x==1', 'x @ https://e/1.tgz (addon a) and x==1 (addon b)'],
  ])('refuses %s with %s, naming both addons', (first, second, both) => {
    expect(configErrorMessage(() => mergeRequirements([reqs('addon a', first), reqs('addon b', second)]))).toBe(
      `conflicting pins for Python package "x": ${both}: pin one version`,
    );
  });

  it('does not treat wildcard == as a pin', () => {
    expect(mergeRequirements([reqs('a', 'x==1.*'), reqs('b', 'x==1.2')])).toEqual(['x==1.*,==1.2']);
  });
});
