import {describe, expect, it} from 'vitest';
import {canonicalJson, layerFiles, layerKey, normalizeFileMode} from '../../../src/core/build/layer-key.js';
import {configErrorMessage, file, sha} from './fixtures.js';

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops undefined members', () => {
    expect(canonicalJson({b: 1, a: {d: [1, {z: null, y: 'é'}], c: undefined}})).toBe('{"a":{"d":[1,{"y":"é","z":null}]},"b":1}');
  });

  it('refuses what JSON cannot carry', () => {
    expect(() => canonicalJson(Number.NaN)).toThrow('canonicalJson: NaN is not JSON');
  });
});

describe('layerKey', () => {
  it('is pinned: changing it rebuilds every cached layer, so bump LAYER_KEY_FORMAT on purpose', () => {
    expect(layerKey('base', {image: 'odoo:17.0', digest: null}, null)).toBe(
      sha('{"format":"odoo-sh-next/layer-key/v1","inputs":{"digest":null,"image":"odoo:17.0"},"kind":"base","parent":null}'),
    );
  });

  it.each<[string, string]>([
    ['the kind', layerKey('config', {a: 1}, 'p')],
    ['the inputs', layerKey('addons', {a: 2}, 'p')],
    ['the parent', layerKey('addons', {a: 1}, 'q')],
    ['no parent', layerKey('addons', {a: 1}, null)],
  ])('changes with %s', (_what, other) => {
    expect(other).not.toBe(layerKey('addons', {a: 1}, 'p'));
  });
});

describe('normalizeFileMode', () => {
  it.each<[number, number]>([
    [0o644, 0o644],
    [0o600, 0o644],
    [0o664, 0o644],
    [0o100644, 0o644],
    [0o755, 0o755],
    [0o700, 0o755],
    [0o100775, 0o755],
    [0o744, 0o755],
  ])('%o → %o', (mode, expected) => {
    expect(normalizeFileMode(mode, 'f')).toBe(expected);
  });

  it.each<[number, string]>([
    [0o120777, 'f: not a regular file (mode 120777): symlinks and special files are not copied into images'],
    [0o40755, 'f: not a regular file (mode 40755): symlinks and special files are not copied into images'],
    [-1, 'f: file mode -1 is not a valid mode'],
    [1.5, 'f: file mode 1.5 is not a valid mode'],
  ])('refuses %o', (mode, message) => {
    expect(configErrorMessage(() => normalizeFileMode(mode, 'f'))).toBe(message);
  });
});

describe('layerFiles', () => {
  it('places, normalizes and sorts files in code-unit order', () => {
    const files = [file('b.py', 'b', 0o100755), file('a/Z.py', 'z'), file('a/a.py', 'a'), file('B.py', 'B')];
    expect(layerFiles(files, '/d', 7, 'src').map((f) => [f.path, f.mode, f.mtime])).toEqual([
      ['/d/B.py', 0o644, 7],
      ['/d/a/Z.py', 0o644, 7],
      ['/d/a/a.py', 0o644, 7],
      ['/d/b.py', 0o755, 7],
    ]);
  });

  it.each<[string, string]>([
    ['/abs', 'src: file path "/abs" is absolute'],
    ['a\\b', 'src: file path "a\\\\b" contains "\\" (use "/")'],
    ['a//b', 'src: file path "a//b" has an empty, "." or ".." component'],
    ['./a', 'src: file path "./a" has an empty, "." or ".." component'],
    ['', 'src: file path "" is empty'],
    ['a\nb', 'src: file path "a\\nb" contains a control character'],
  ])('refuses the path %j', (path, message) => {
    expect(configErrorMessage(() => layerFiles([file(path, 'x')], '/d', 0, 'src'))).toBe(message);
  });

  it('refuses a bad sha256', () => {
    expect(configErrorMessage(() => layerFiles([{path: 'a', sha256: 'XYZ', mode: 0o644}], '/d', 0, 'src'))).toBe(
      'src: file "a" has no valid sha256 (64 lowercase hex digits)',
    );
  });
});
