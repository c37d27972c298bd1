import {describe, expect, it} from 'vitest';
import {UsageError} from '../../../src/core/errors.js';
import {DEFAULT_BRANCH_RULES, resolveBranch} from '../../../src/core/env/branch-rules.js';
import {MAX_ENV_NAME_LENGTH, RESERVED_ENV_NAMES, envNameForBranch} from '../../../src/core/env/env-name.js';
import {validateBranchName} from '../../../src/core/env/git-ref.js';

const DNS = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** mulberry32: a small seeded PRNG so failures reproduce. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const POOLS: readonly string[][] = [
  [...'abcdefghijklmnopqrstuvwxyz0123456789'],
  [...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'],
  [...'-/._'],
  [...' ~^:?*[\\@{}$()`;|&<>!\'"#%+=,'],
  ['\u0000', '\u0007', '\t', '\n', '\u001b', '\u007f'],
  [...'éèàçñüößøåÉ'],
  ['\u0301', '\u0308', '\u0327'], // combining marks
  [...'абвгдеёжзийклмнопрстуфхцчшщъыьэюя'], // Cyrillic, incl. look-alikes а е о р с х
  [...'日本語中文한국어'],
  ['😀', '🚀', '👍🏽', '\u{1d400}', '\u{10ffff}'],
  ['\u200b', '\u200e', '\u202e', '\u2028', '\ufeff', 'ﬁ', 'ｆ', 'Ⅸ', '①'],
  ['\ud800', '\udc00'], // unpaired surrogates
];
const WEIGHTS = [40, 6, 14, 5, 1, 4, 2, 6, 3, 2, 2, 0.3];
const TOTAL = WEIGHTS.reduce((a, b) => a + b, 0);

function randomBranch(rand: () => number): string {
  const long = rand() < 0.05;
  const len = long ? 200 + Math.floor(rand() * 100) : Math.floor(rand() * 24);
  let s = rand() < 0.1 ? 'refs/heads/' : '';
  for (let i = 0; i < len; i++) {
    let r = rand() * TOTAL;
    let p = 0;
    while (r >= (WEIGHTS[p] ?? 0) && p < WEIGHTS.length - 1) r -= WEIGHTS[p++] ?? 0;
    const pool = POOLS[p] ?? [];
    s += pool[Math.floor(rand() * pool.length)] ?? '';
  }
  return s;
}

describe('envNameForBranch on random branches', () => {
  it('yields a UsageError or a valid, distinct, deterministic slug', () => {
    const rand = prng(0x5eed);
    const byName = new Map<string, string>();
    let valid = 0;
    let lossless = 0;
    const inputs = new Set<string>();
    while (inputs.size < 1000) inputs.add(randomBranch(rand));
    // Also near-collisions: case, separators, look-alikes and long shared prefixes.
    for (const base of ['feature', 'release-1', 'x'.repeat(60)]) {
      for (const v of [base, base.toUpperCase(), `${base}/a`, `${base}-a`, `${base}.a`, `${base}_a`]) {
        inputs.add(v);
      }
    }
    inputs.add('f\u0435ature');
    inputs.add('fe\u0430ture');

    for (const input of inputs) {
      let branch: string;
      try {
        branch = validateBranchName(input);
      } catch (err) {
        expect(err, JSON.stringify(input)).toBeInstanceOf(UsageError);
        expect(() => resolveBranch(input, DEFAULT_BRANCH_RULES, {modules: []})).toThrow(UsageError);
        continue;
      }
      valid++;
      const name = envNameForBranch(branch);
      expect(name, JSON.stringify(input)).toMatch(DNS);
      expect(name.length).toBeLessThanOrEqual(MAX_ENV_NAME_LENGTH);
      expect(RESERVED_ENV_NAMES).not.toContain(name);
      expect(envNameForBranch(branch)).toBe(name);
      if (name === branch) lossless++;

      const other = byName.get(name);
      if (other !== undefined && other !== branch) {
        throw new Error(`collision: ${JSON.stringify(other)} and ${JSON.stringify(branch)} → ${name}`);
      }
      byName.set(name, branch);

      const resolved = resolveBranch(input, DEFAULT_BRANCH_RULES, {modules: []});
      expect(resolved.envName).toBe(branch === 'main' ? 'production' : name);
    }
    // The sample must exercise both paths to mean anything.
    expect(valid).toBeGreaterThan(300);
    expect(lossless).toBeGreaterThan(20);
  });
});
