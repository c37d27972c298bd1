/**
 * Branch rules: which environment type (and data, demo, modules, lifetime) a git branch gets.
 * The first rule whose glob matches the branch wins. Pure; no IO.
 *
 * The production environment is always named `production`, and exactly one branch maps to it:
 * at most one rule may have type production and its pattern must be a literal branch name.
 * Every other branch's environment is named envNameForBranch(branch), which never yields a
 * reserved name such as `production`.
 */
import picomatch from 'picomatch';
import {ConfigError, UsageError} from '../errors.js';
import {envNameForBranch} from './env-name.js';
import {quoteRef, validateBranchName} from './git-ref.js';

export type EnvType = 'production' | 'staging' | 'preview' | 'dev';
export type DataSource = 'fresh' | 'clone-production';

export interface BranchRule {
  readonly pattern: string;
  readonly type: EnvType;
  readonly ttlMs?: number;
  readonly data?: DataSource;
  readonly demo?: boolean;
  readonly modules?: readonly string[];
}

export interface ResolvedBranch {
  readonly branch: string;
  readonly envName: string;
  readonly type: EnvType;
  readonly rule: BranchRule;
  readonly ttlMs?: number;
  readonly data: DataSource;
  readonly demo: boolean;
  readonly modules: readonly string[];
}

/** The name of the one production environment. */
export const PRODUCTION_ENV_NAME = 'production';

const HOURS_72 = 72 * 60 * 60 * 1000;

export const DEFAULT_BRANCH_RULES: readonly BranchRule[] = Object.freeze([
  Object.freeze({pattern: 'main', type: 'production'} as const),
  Object.freeze({pattern: 'release/*', type: 'staging', data: 'clone-production'} as const),
  Object.freeze({
    pattern: 'feature/*',
    type: 'preview',
    ttlMs: HOURS_72,
    data: 'fresh',
    demo: true,
  } as const),
  Object.freeze({pattern: '**', type: 'dev', ttlMs: HOURS_72, data: 'fresh', demo: true} as const),
]);

const ENV_TYPES: ReadonlySet<string> = new Set(['production', 'staging', 'preview', 'dev']);
const DATA_SOURCES: ReadonlySet<string> = new Set(['fresh', 'clone-production']);

/** Whether environments of this type may expire (a ttlMs in their rule). */
export function envTypeAllowsTtl(type: EnvType): boolean {
  return type === 'preview' || type === 'dev';
}

function ruleLabel(rule: BranchRule, index: number): string {
  return `branches[${index}] (pattern ${quoteRef(String(rule.pattern))})`;
}

/**
 * Checks a rule list and returns it: non-empty glob patterns, known types and data sources,
 * ttlMs a positive integer and only on types that expire, at most one production rule whose
 * pattern is a literal valid branch name, and production not cloning itself.
 * Throws ConfigError listing every problem.
 */
export function validateBranchRules(rules: readonly BranchRule[]): readonly BranchRule[] {
  const problems: string[] = [];
  let productionRules = 0;
  rules.forEach((rule, i) => {
    const label = ruleLabel(rule, i);
    if (typeof rule.pattern !== 'string' || rule.pattern.length === 0) {
      problems.push(`${label}: pattern is empty`);
    }
    if (!ENV_TYPES.has(rule.type)) {
      problems.push(`${label}: unknown type ${quoteRef(String(rule.type))}`);
      return;
    }
    if (rule.data !== undefined && !DATA_SOURCES.has(rule.data)) {
      problems.push(`${label}: unknown data source ${quoteRef(String(rule.data))}`);
    }
    if (rule.ttlMs !== undefined) {
      if (!envTypeAllowsTtl(rule.type)) {
        problems.push(`${label}: ${rule.type} environments do not expire; remove ttl`);
      } else if (!Number.isSafeInteger(rule.ttlMs) || rule.ttlMs <= 0) {
        problems.push(`${label}: ttl must be a positive whole number of milliseconds`);
      }
    }
    if (rule.modules !== undefined && !rule.modules.every((m) => typeof m === 'string' && m !== '')) {
      problems.push(`${label}: modules must be non-empty strings`);
    }
    if (rule.type === 'production') {
      productionRules += 1;
      if (rule.data === 'clone-production') {
        problems.push(`${label}: production cannot clone production data`);
      }
      if (typeof rule.pattern === 'string' && rule.pattern.length > 0) {
        const scan = picomatch.scan(rule.pattern);
        let literal = !scan.isGlob && !scan.negated;
        try {
          if (validateBranchName(rule.pattern) !== rule.pattern) literal = false;
        } catch {
          literal = false;
        }
        if (!literal) {
          problems.push(
            `${label}: the production rule must name exactly one branch (a valid branch name, no glob characters)`,
          );
        }
      }
    }
  });
  if (productionRules > 1) {
    problems.push(`branches: ${productionRules} rules have type production; at most one may`);
  }
  if (problems.length > 0) {
    throw new ConfigError(`invalid branch rules: ${problems.join('; ')}`, {data: {problems}});
  }
  return rules;
}

const matcherCache = new Map<string, (s: string) => boolean>();

function matches(rule: BranchRule, branch: string): boolean {
  if (rule.type === 'production') return rule.pattern === branch;
  let m = matcherCache.get(rule.pattern);
  if (m === undefined) {
    // flags 's': git allows U+2028/U+2029 in branch names, and without dotAll the `.` in
    // picomatch's regexes does not match them (so `**` would not match such a branch).
    m = picomatch(rule.pattern, {dot: true, flags: 's'});
    if (matcherCache.size >= 256) matcherCache.clear();
    matcherCache.set(rule.pattern, m);
  }
  return m(branch);
}

/**
 * Resolves a branch (optionally `refs/heads/...`) against the rules: the first matching rule
 * wins (picomatch with dot: true; `*` stays within one path component, `**` crosses `/`).
 * Throws UsageError for an invalid branch name or when no rule matches, ConfigError for an
 * invalid rule list.
 */
export function resolveBranch(
  branch: string,
  rules: readonly BranchRule[],
  defaults: {modules: readonly string[]},
): ResolvedBranch {
  const name = validateBranchName(branch);
  validateBranchRules(rules);
  const rule = rules.find((r) => matches(r, name));
  if (rule === undefined) {
    const patterns = rules.map((r) => quoteRef(r.pattern)).join(', ');
    throw new UsageError(
      `branch ${quoteRef(name)} matches no rule in branches: ${patterns === '' ? '(none)' : patterns}`,
      {data: {branch: name, patterns: rules.map((r) => r.pattern)}},
    );
  }
  const type = rule.type;
  const resolved: ResolvedBranch = {
    branch: name,
    envName: type === 'production' ? PRODUCTION_ENV_NAME : envNameForBranch(name),
    type,
    rule,
    ...(rule.ttlMs === undefined ? {} : {ttlMs: rule.ttlMs}),
    data: rule.data ?? (type === 'staging' ? 'clone-production' : 'fresh'),
    demo: rule.demo ?? (type === 'preview' || type === 'dev'),
    modules: Object.freeze([...(rule.modules ?? defaults.modules)]),
  };
  return Object.freeze(resolved);
}
