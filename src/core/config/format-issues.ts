/**
 * Turns zod issues into config issues: a key path (`backups.retention.daily`, `branches[2].ttl`)
 * and a message saying what was expected and what was found. Pure.
 */
import type {z} from 'zod';
import {isSecret} from '../secret.js';
import {didYouMean} from './did-you-mean.js';
import type {UnknownKeysIssueExtra} from './schema-helpers.js';

export type PathSegment = string | number | symbol;

/** One problem in the configuration; `path` is '' for the whole file. */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
}

/** `['branches', 2, 'ttl']` -> `branches[2].ttl`. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (typeof segment === 'string' && /^[A-Za-z_$][\w$-]*$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out;
}

/** A short, safe description of a value for "found ..." (secrets never show). */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value (null)';
  if (isSecret(value)) return `a secret from ${value.source}`;
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a mapping (key: value)',
  array: 'a list',
};

type Issue = z.core.$ZodIssue & {input?: unknown};

function expectation(issue: Issue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${TYPE_NAMES[issue.expected] ?? issue.expected}`;
    case 'invalid_value':
      return `expected ${issue.values.length === 1 ? '' : 'one of '}${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_small':
      if (issue.origin === 'string') return Number(issue.minimum) <= 1 ? 'expected a non-empty string' : `expected at least ${issue.minimum} characters`;
      if (issue.origin === 'array') return `expected at least ${issue.minimum} entries`;
      return `expected a number ${issue.inclusive ? '>=' : '>'} ${issue.minimum}`;
    case 'too_big':
      if (issue.origin === 'string') return `expected at most ${issue.maximum} characters`;
      if (issue.origin === 'array') return `expected at most ${issue.maximum} entries`;
      return `expected a number ${issue.inclusive ? '<=' : '<'} ${issue.maximum}`;
    case 'invalid_format':
      return `expected ${issue.format === 'regex' ? `a value matching ${issue.pattern ?? 'the required pattern'}` : `a valid ${issue.format}`}`;
    default:
      return undefined;
  }
}

function finish(issue: Issue, base: string): string {
  if (!base.startsWith('expected ') || base.includes(', found ')) return base;
  if (issue.code === 'invalid_type' && issue.input === undefined) return `required key is missing (${base})`;
  return `${base}, found ${describeValue(issue.input)}`;
}

/** Converts zod issues (parsed with `reportInput: true`) into config issues. */
export function formatIssues(issues: readonly z.core.$ZodIssue[], prefix: readonly PathSegment[] = []): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const raw of issues) {
    const issue = raw as Issue;
    const path = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      const known = (issue as UnknownKeysIssueExtra).knownKeys ?? [];
      const where = path.length === 0 ? 'the top level' : formatPath(path);
      for (const key of issue.keys) {
        const suggestion = didYouMean(key, known);
        const hint = suggestion === undefined ? (known.length > 0 ? ` (known keys: ${known.join(', ')})` : '') : `; did you mean "${suggestion}"?`;
        out.push({path: formatPath([...path, key]), message: `unknown key "${key}" at ${where}${hint}`});
      }
      continue;
    }
    if (issue.code === 'invalid_union' && !issue.message.startsWith('expected ') && issue.errors.length > 0) {
      // Report the branch that came closest (fewest issues; the first on a tie).
      const best = issue.errors.reduce((a, b) => (b.length < a.length ? b : a));
      out.push(...formatIssues(best, path));
      continue;
    }
    const custom = issue.code === 'custom' || issue.message.startsWith('expected ');
    const base = custom ? issue.message : (expectation(issue) ?? issue.message);
    out.push({path: formatPath(path), message: finish(issue, base)});
  }
  return out;
}
