import {createHash} from 'node:crypto';
import {readFileSync} from 'node:fs';
import {describe, expect, it} from 'vitest';
import {UsageError} from '../../../src/core/errors.js';
import {
  ENV_NAME_PATTERN,
  MAX_ENV_NAME_LENGTH,
  RESERVED_ENV_NAMES,
  envNameForBranch,
  validateEnvName,
} from '../../../src/core/env/env-name.js';

const DNS = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

function hash8(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex').slice(0, 8);
}

function expectSlug(name: string): void {
  expect(name).toMatch(DNS);
  expect(name).toMatch(ENV_NAME_PATTERN);
  expect(name.length).toBeLessThanOrEqual(MAX_ENV_NAME_LENGTH);
  expect(Buffer.byteLength(name, 'utf8')).toBe(name.length);
  expect(RESERVED_ENV_NAMES).not.toContain(name);
}

describe('envNameForBranch', () => {
  it('caps names at 40 characters', () => {
    expect(MAX_ENV_NAME_LENGTH).toBe(40);
  });

  it.each([
    ['main', 'main'],
    ['feature-x', 'feature-x'],
    ['staging2', 'staging2'],
    ['a', 'a'],
    ['0', '0'],
    ['x'.repeat(40), 'x'.repeat(40)],
    ['release-2024', 'release-2024'],
  ])('keeps slug-form branch %j as is', (branch, expected) => {
    expect(envNameForBranch(branch)).toBe(expected);
  });

  it.each([
    ['feature/login', 'feature-login'],
    ['Feature-X', 'feature-x'],
    ['feat/$(touch pwned)', 'feat-touch-pwned'],
    ['a;reboot', 'a-reboot'],
    ['../x', 'x'],
    ['feature--x', 'feature-x'],
    ['feature-x-', 'feature-x'],
    ['café', 'cafe'],
    ['ﬁx/ｆｏｏ', 'fix-foo'], // NFKD folds the ligature and fullwidth letters
    ['f\u0435ature', 'f-ature'], // Cyrillic е
    ['production', 'production'], // reserved
    ['postgres', 'postgres'],
    ['template0', 'template0'],
    ['template1', 'template1'],
    ['fix-deadbeef', 'fix-deadbeef'], // looks like a hash suffix already
    ['x'.repeat(41), 'x'.repeat(31)],
  ])('hashes lossy or reserved branch %j', (branch, readable) => {
    const name = envNameForBranch(branch);
    expect(name).toBe(`${readable}-${hash8(branch)}`);
    expectSlug(name);
  });

  it.each(['---', '\u0444\u0438\u0447\u0430', '日本語', '🚀', '$', '.', '-'])(
    'falls back to b-<hash> when nothing readable is left (%j)',
    (branch) => {
      expect(envNameForBranch(branch)).toBe(`b-${hash8(branch)}`);
    },
  );

  it('never returns a reserved name, including caller-reserved ones', () => {
    expect(envNameForBranch('production')).not.toBe('production');
    expect(envNameForBranch('staging')).toBe('staging');
    const name = envNameForBranch('staging', {reserved: ['staging']});
    expect(name).toBe(`staging-${hash8('staging')}`);
  });

  it('gives feature/a and feature-a distinct names', () => {
    expect(envNameForBranch('feature/a')).not.toBe(envNameForBranch('feature-a'));
  });

  it('gives a Cyrillic look-alike a different name from the Latin branch', () => {
    const latin = envNameForBranch('feature');
    const cyrillic = envNameForBranch('f\u0435ature');
    expect(latin).toBe('feature');
    expect(cyrillic).not.toBe(latin);
    expect(cyrillic.startsWith('feature')).toBe(false);
    // Also against the Latin branch already carrying a hash-like suffix.
    expect(envNameForBranch(cyrillic)).not.toBe(cyrillic);
  });

  it('cannot be spoofed by a branch named like another branch\'s hashed slug', () => {
    const hashed = envNameForBranch('feature/login');
    expect(envNameForBranch(hashed)).not.toBe(hashed);
  });

  it('keeps a 250-character branch within 40 characters', () => {
    const branch = `feature/${'long-name-'.repeat(24)}xy`;
    expect(branch.length).toBe(250);
    const name = envNameForBranch(branch);
    expectSlug(name);
    expect(name.length).toBeLessThanOrEqual(40);
    expect(name.startsWith('feature-long-name')).toBe(true);
  });

  it('separates long names that share a long prefix', () => {
    const prefix = 'p'.repeat(200);
    const a = `${prefix}${'a'.repeat(50)}`;
    const b = `${prefix}${'b'.repeat(50)}`;
    expect(envNameForBranch(a)).not.toBe(envNameForBranch(b));
    const c = `${'q'.repeat(63)}/${'c'.repeat(236)}`;
    const d = `${'q'.repeat(63)}/${'d'.repeat(236)}`;
    expect(c.length).toBe(300);
    expect(envNameForBranch(c)).not.toBe(envNameForBranch(d));
    expectSlug(envNameForBranch(c));
  });

  it('is deterministic', () => {
    for (const b of ['main', 'feature/login', 'f\u0435ature', '---', 'x'.repeat(300)]) {
      expect(envNameForBranch(b)).toBe(envNameForBranch(b));
    }
  });

  it('rejects empty and ill-formed input', () => {
    expect(() => envNameForBranch('')).toThrow(UsageError);
    expect(() => envNameForBranch('a\ud800')).toThrow(UsageError);
  });

  it('does not execute anything for shell-looking names', () => {
    const name = envNameForBranch('feat/$(touch pwned)');
    expect(name).toMatch(/^feat-touch-pwned-[0-9a-f]{8}$/);
    expectSlug(name);
  });
});

describe('validateEnvName', () => {
  it.each(['main', 'production', 'feature-login-1a2b3c4d', 'a', '0', 'x'.repeat(40)])(
    'accepts %j',
    (name) => {
      expect(validateEnvName(name)).toBe(name);
    },
  );

  it.each([
    ['', 'is empty'],
    ['x'.repeat(41), 'longer than 40 characters'],
    ['Main', 'lowercase'],
    ['-main', 'start and end'],
    ['main-', 'start and end'],
    ['feature/x', 'lowercase'],
    ['a b', 'lowercase'],
    ['a_b', 'lowercase'],
    ['ma\u0131n', 'lowercase'], // dotless ı
    ['$(id)', 'lowercase'],
    ['main\n', 'lowercase'],
  ])('rejects %j (%s)', (name, rule) => {
    let err: unknown;
    try {
      validateEnvName(name);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).message).toContain('invalid environment name');
    expect((err as UsageError).message).toContain(rule);
  });
});

describe('purity', () => {
  it.each(['git-ref.ts', 'env-name.ts', 'branch-rules.ts'])('%s does no IO', (file) => {
    const source = readFileSync(new URL(`../../../src/core/env/${file}`, import.meta.url), 'utf8');
    const imports = [...source.matchAll(/from\s+'([^']+)'/g)].map((m) => m[1]);
    for (const spec of imports) {
      expect(spec).not.toMatch(/^(node:)?(fs|fs\/promises|child_process|net|http|https)$/);
      expect(spec).not.toBe('pg');
      expect(spec).not.toBe('execa');
    }
  });
});
