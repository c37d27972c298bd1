import {describe, expect, it} from 'vitest';
import {ConfigError, UsageError} from '../../../src/core/errors.js';
import {
  type BranchRule,
  DEFAULT_BRANCH_RULES,
  PRODUCTION_ENV_NAME,
  envTypeAllowsTtl,
  resolveBranch,
  validateBranchRules,
} from '../../../src/core/env/branch-rules.js';
import {MAX_ENV_NAME_LENGTH} from '../../../src/core/env/env-name.js';

const H72 = 72 * 60 * 60 * 1000;
const DEFAULTS = {modules: ['base', 'web']} as const;
const DNS = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

describe('DEFAULT_BRANCH_RULES', () => {
  it('is the documented list and frozen', () => {
    expect(DEFAULT_BRANCH_RULES.map((r) => [r.pattern, r.type])).toEqual([
      ['main', 'production'],
      ['release/*', 'staging'],
      ['feature/*', 'preview'],
      ['**', 'dev'],
    ]);
    expect(Object.isFrozen(DEFAULT_BRANCH_RULES)).toBe(true);
    expect(DEFAULT_BRANCH_RULES.every((r) => Object.isFrozen(r))).toBe(true);
    expect(validateBranchRules(DEFAULT_BRANCH_RULES)).toBe(DEFAULT_BRANCH_RULES);
  });
});

describe('resolveBranch with the default rules', () => {
  it.each([
    // branch, type, envName (or pattern), data, demo, ttl
    ['main', 'production', /^production$/, 'fresh', false, undefined],
    ['refs/heads/main', 'production', /^production$/, 'fresh', false, undefined],
    ['release/18.0', 'staging', /^release-18-0-[0-9a-f]{8}$/, 'clone-production', false, undefined],
    ['feature/login', 'preview', /^feature-login-[0-9a-f]{8}$/, 'fresh', true, H72],
    ['refs/heads/feature/x', 'preview', /^feature-x-[0-9a-f]{8}$/, 'fresh', true, H72],
    ['feature/a/b', 'dev', /^feature-a-b-[0-9a-f]{8}$/, 'fresh', true, H72], // * does not cross /
    ['release/a/b', 'dev', /^release-a-b-[0-9a-f]{8}$/, 'fresh', true, H72],
    ['fix-123', 'dev', /^fix-123$/, 'fresh', true, H72],
    ['production', 'dev', /^production-[0-9a-f]{8}$/, 'fresh', true, H72],
    ['master', 'dev', /^master$/, 'fresh', true, H72],
    ['mainx', 'dev', /^mainx$/, 'fresh', true, H72],
    ['feat/$(touch${IFS}pwned)', 'dev', /^feat-touch-ifs-pwned-[0-9a-f]{8}$/, 'fresh', true, H72],
    ['feature/$(reboot)', 'preview', /^feature-reboot-[0-9a-f]{8}$/, 'fresh', true, H72],
    ['feature/a\u2028b', 'preview', /^feature-a-b-[0-9a-f]{8}$/, 'fresh', true, H72],
    ['dev/\u2029', 'dev', /^dev-[0-9a-f]{8}$/, 'fresh', true, H72],
    ['a;reboot', 'dev', /^a-reboot-[0-9a-f]{8}$/, 'fresh', true, H72],
    ['feature/.x', undefined, undefined, undefined, undefined, undefined],
  ] as const)('%j', (branch, type, envName, data, demo, ttl) => {
    if (type === undefined) {
      expect(() => resolveBranch(branch, DEFAULT_BRANCH_RULES, DEFAULTS)).toThrow(UsageError);
      return;
    }
    const r = resolveBranch(branch, DEFAULT_BRANCH_RULES, DEFAULTS);
    expect(r.branch).toBe(branch.replace(/^refs\/heads\//, ''));
    expect(r.type).toBe(type);
    expect(r.envName).toMatch(envName);
    expect(r.envName).toMatch(DNS);
    expect(r.envName.length).toBeLessThanOrEqual(MAX_ENV_NAME_LENGTH);
    expect(r.data).toBe(data);
    expect(r.demo).toBe(demo);
    expect(r.ttlMs).toBe(ttl);
    expect(r.modules).toEqual(['base', 'web']);
    expect(DEFAULT_BRANCH_RULES).toContain(r.rule);
    expect(Object.isFrozen(r)).toBe(true);
  });

  it('names production "production" and nothing else', () => {
    expect(resolveBranch('main', DEFAULT_BRANCH_RULES, DEFAULTS).envName).toBe(PRODUCTION_ENV_NAME);
    expect(resolveBranch('production', DEFAULT_BRANCH_RULES, DEFAULTS).envName).not.toBe('production');
  });

  it.each(['../x', 'feat/$(touch pwned)', '-rf', 'a..b', 'a.lock', 'x//y', '@', 'foo@{1}', '', 'x'.repeat(300)])(
    'rejects invalid branch %j',
    (branch) => {
      expect(() => resolveBranch(branch, DEFAULT_BRANCH_RULES, DEFAULTS)).toThrow(UsageError);
    },
  );
});

describe('resolveBranch with custom rules', () => {
  const rules: readonly BranchRule[] = [
    {pattern: 'master', type: 'production', modules: ['sale']},
    {pattern: 'staging/**', type: 'staging', data: 'fresh', demo: true},
    {pattern: 'pr/*', type: 'preview'},
    {pattern: '{hotfix,bugfix}/*', type: 'dev', ttlMs: 1000, demo: false, data: 'clone-production'},
  ];

  it('takes the first matching rule and applies defaults', () => {
    const prod = resolveBranch('master', rules, DEFAULTS);
    expect(prod).toMatchObject({type: 'production', envName: 'production', data: 'fresh', demo: false});
    expect(prod.modules).toEqual(['sale']);
    expect(prod.ttlMs).toBeUndefined();
    expect('ttlMs' in prod).toBe(false);

    const staging = resolveBranch('staging/eu/v2', rules, DEFAULTS);
    expect(staging).toMatchObject({type: 'staging', data: 'fresh', demo: true});
    expect(staging.rule).toBe(rules[1]);

    const preview = resolveBranch('pr/12', rules, DEFAULTS);
    expect(preview).toMatchObject({type: 'preview', data: 'fresh', demo: true, modules: ['base', 'web']});
    expect(preview.ttlMs).toBeUndefined();

    const dev = resolveBranch('bugfix/x', rules, DEFAULTS);
    expect(dev).toMatchObject({type: 'dev', data: 'clone-production', demo: false, ttlMs: 1000});
  });

  it('lists the patterns when nothing matches', () => {
    expect(() => resolveBranch('main', rules, DEFAULTS)).toThrow(
      'branch "main" matches no rule in branches: "master", "staging/**", "pr/*", "{hotfix,bugfix}/*"',
    );
    expect(() => resolveBranch('main', [], DEFAULTS)).toThrow(UsageError);
  });

  it('never names a non-production branch "production", even one called production', () => {
    const r = resolveBranch('production', [{pattern: '**', type: 'preview'}], DEFAULTS);
    expect(r.type).toBe('preview');
    expect(r.envName).toMatch(/^production-[0-9a-f]{8}$/);
    const s = resolveBranch('refs/heads/postgres', [{pattern: '*', type: 'staging'}], DEFAULTS);
    expect(s.envName).toMatch(/^postgres-[0-9a-f]{8}$/);
  });

  it('matches dot segments with dot: true', () => {
    const r = resolveBranch('x/a.b', [{pattern: 'x/*', type: 'dev'}], DEFAULTS);
    expect(r.type).toBe('dev');
  });

  it('does not share the modules array with the caller', () => {
    const modules = ['a'];
    const r = resolveBranch('zz', [{pattern: '**', type: 'dev'}], {modules});
    modules.push('b');
    expect(r.modules).toEqual(['a']);
  });
});

describe('validateBranchRules', () => {
  it.each([
    [[{pattern: 'main', type: 'production'}, {pattern: 'master', type: 'production'}], 'at most one'],
    [[{pattern: '{main,master}', type: 'production'}], 'exactly one branch'],
    [[{pattern: 'release/*', type: 'production'}], 'exactly one branch'],
    [[{pattern: '!main', type: 'production'}], 'exactly one branch'],
    [[{pattern: 'refs/heads/main', type: 'production'}], 'exactly one branch'],
    [[{pattern: 'main', type: 'production', ttlMs: 5}], 'do not expire'],
    [[{pattern: 'r/*', type: 'staging', ttlMs: 5}], 'do not expire'],
    [[{pattern: 'main', type: 'production', data: 'clone-production'}], 'cannot clone'],
    [[{pattern: '**', type: 'dev', ttlMs: 0}], 'positive'],
    [[{pattern: '**', type: 'dev', ttlMs: 1.5}], 'positive'],
    [[{pattern: '', type: 'dev'}], 'pattern is empty'],
    [[{pattern: '**', type: 'qa'}], 'unknown type'],
    [[{pattern: '**', type: 'dev', data: 'copy'}], 'unknown data source'],
    [[{pattern: '**', type: 'dev', modules: ['']}], 'modules'],
  ])('rejects %j (%s)', (rules, message) => {
    const run = () => validateBranchRules(rules as unknown as BranchRule[]);
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(message);
    expect(() => resolveBranch('main', rules as unknown as BranchRule[], DEFAULTS)).toThrow(ConfigError);
  });
});

describe('envTypeAllowsTtl', () => {
  it.each([
    ['production', false],
    ['staging', false],
    ['preview', true],
    ['dev', true],
  ] as const)('%s → %s', (type, allowed) => {
    expect(envTypeAllowsTtl(type)).toBe(allowed);
  });
});
