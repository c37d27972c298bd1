/**
 * Git ref names: validation of branch names, commit SHAs and the refs a push or a webhook
 * reports. Pure string work; nothing here touches the file system, a shell or git itself.
 *
 * Branch names follow `git check-ref-format --branch` (see git-check-ref-format(1)), applied
 * to the name without its `refs/heads/` prefix, plus a length cap of our own.
 */
import {UsageError} from '../errors.js';

/** Our own cap on a branch name (git has none; most hosts stop near 255 bytes). */
export const MAX_BRANCH_NAME_BYTES = 255;

const HEADS_PREFIX = 'refs/heads/';
const TAGS_PREFIX = 'refs/tags/';
const PULL_REF = /^refs\/pull\/([1-9][0-9]{0,15})\/(head|merge)$/;
const SHA = /^[0-9a-f]{7,40}$/i;

/** Characters git refuses anywhere in a ref name, besides control characters. */
const FORBIDDEN_CHARS: ReadonlyMap<string, string> = new Map([
  [' ', 'contains a space'],
  ['~', 'contains "~"'],
  ['^', 'contains "^"'],
  [':', 'contains ":"'],
  ['?', 'contains "?"'],
  ['*', 'contains "*"'],
  ['[', 'contains "["'],
  ['\\', 'contains "\\"'],
]);

const encoder = new TextEncoder();

/**
 * Quotes a user-supplied name for an error message: JSON-style quotes, control, format
 * (bidi), private-use and unpaired surrogate characters escaped, and long names shortened,
 * so a hostile name cannot garble the terminal or hide its real content.
 */
export function quoteRef(name: string, maxChars = 100): string {
  const chars = [...name];
  const shown = chars.length > maxChars ? chars.slice(0, maxChars).join('') : name;
  const quoted = JSON.stringify(shown).replace(/[\p{C}\u2028\u2029]/gu, (c) => {
    const cp = c.codePointAt(0) ?? 0;
    return `\\u{${cp.toString(16).toUpperCase()}}`;
  });
  return chars.length > maxChars ? `${quoted}… (${chars.length} characters)` : quoted;
}

/** The first `check-ref-format` rule `name` breaks (without any `refs/...` prefix), or undefined. */
function refNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (/\p{Cs}/u.test(name)) return 'is not well-formed Unicode (unpaired surrogate)';
  if (encoder.encode(name).length > MAX_BRANCH_NAME_BYTES) {
    return `is longer than ${MAX_BRANCH_NAME_BYTES} bytes`;
  }
  for (const ch of name) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp < 0x20 || cp === 0x7f) {
      return `contains a control character (U+${cp.toString(16).toUpperCase().padStart(4, '0')})`;
    }
    const problem = FORBIDDEN_CHARS.get(ch);
    if (problem !== undefined) return problem;
  }
  if (name === '@') return 'is "@"';
  if (name.includes('..')) return 'contains ".."';
  if (name.includes('@{')) return 'contains "@{"';
  if (name.startsWith('-')) return 'starts with "-"';
  if (name.startsWith('/')) return 'starts with "/"';
  if (name.endsWith('/')) return 'ends with "/"';
  if (name.includes('//')) return 'contains "//"';
  if (name.endsWith('.')) return 'ends with "."';
  for (const component of name.split('/')) {
    if (component.startsWith('.')) {
      return `has a path component starting with "." (${quoteRef(component)})`;
    }
    if (component.endsWith('.lock')) {
      return `has a path component ending with ".lock" (${quoteRef(component)})`;
    }
  }
  return undefined;
}

function fail(kind: 'branch' | 'tag', ref: string, problem: string): never {
  throw new UsageError(`invalid git ${kind} ${quoteRef(ref)}: ${problem}`, {
    data: {ref, rule: problem},
  });
}

/**
 * Validates a branch name with git's `check-ref-format --branch` rules and returns it without
 * a leading `refs/heads/` (which is accepted and stripped). Also refuses `HEAD` (as recent git
 * does for branches) and names over MAX_BRANCH_NAME_BYTES UTF-8 bytes.
 * Throws UsageError naming the branch and the rule broken.
 */
export function validateBranchName(name: string): string {
  const branch = name.startsWith(HEADS_PREFIX) ? name.slice(HEADS_PREFIX.length) : name;
  const problem = refNameProblem(branch) ?? (branch === 'HEAD' ? 'is "HEAD"' : undefined);
  if (problem !== undefined) fail('branch', name, problem);
  return branch;
}

function validateTagName(name: string, ref: string): string {
  const problem = refNameProblem(name);
  if (problem !== undefined) fail('tag', ref, problem);
  return name;
}

/** Validates an abbreviated or full commit SHA (7–40 hex digits) and returns it lowercased. */
export function validateSha(sha: string): string {
  if (!SHA.test(sha)) {
    throw new UsageError(
      `invalid commit SHA ${quoteRef(sha)}: expected 7 to 40 hexadecimal digits`,
      {data: {sha}},
    );
  }
  return sha.toLowerCase();
}

export type PushRef =
  | {readonly kind: 'branch'; readonly name: string}
  | {readonly kind: 'tag'; readonly name: string}
  | {readonly kind: 'pr'; readonly number: number};

/**
 * Parses the ref of a push or webhook: `refs/heads/X` and a bare branch name give a branch,
 * `refs/tags/X` a tag, `refs/pull/N/head` and `refs/pull/N/merge` a pull request.
 * Anything else under `refs/`, or an invalid name, throws UsageError.
 */
export function parsePushRef(ref: string): PushRef {
  if (ref.startsWith(TAGS_PREFIX)) {
    return {kind: 'tag', name: validateTagName(ref.slice(TAGS_PREFIX.length), ref)};
  }
  if (ref.startsWith('refs/pull/')) {
    const m = PULL_REF.exec(ref);
    const n = m?.[1] === undefined ? Number.NaN : Number(m[1]);
    if (!Number.isSafeInteger(n)) {
      throw new UsageError(
        `invalid pull request ref ${quoteRef(ref)}: expected refs/pull/<number>/head or refs/pull/<number>/merge`,
        {data: {ref}},
      );
    }
    return {kind: 'pr', number: n};
  }
  if (ref.startsWith('refs/') && !ref.startsWith(HEADS_PREFIX)) {
    throw new UsageError(
      `unsupported git ref ${quoteRef(ref)}: expected refs/heads/<branch>, refs/tags/<tag>, refs/pull/<number>/head or a branch name`,
      {data: {ref}},
    );
  }
  return {kind: 'branch', name: validateBranchName(ref)};
}
