/**
 * Environment names: the slugs that name an environment in URLs (DNS labels), container and
 * volume names, and PostgreSQL databases. Pure string work, never a shell.
 *
 * Slug rules:
 * - DNS-label safe: ENV_NAME_PATTERN (lowercase letters, digits and inner "-").
 * - At most MAX_ENV_NAME_LENGTH (40) characters. PostgreSQL silently truncates identifiers
 *   at 63 bytes, and other code names an environment's databases `<project>-<env>` (plus
 *   suffixes), so the env part must leave room for the rest: two envs must never end up with
 *   databases whose names only differ after byte 63.
 * - Injective: distinct branches get distinct slugs (up to a 32-bit hash collision). A
 *   branch already in plain slug form is its own slug; every other branch gets
 *   `<readable part>-<8 hex digits of sha256(branch)>`. To keep the two forms apart, a branch
 *   that is in slug form but already ends like a hash suffix (`-` + 8 hex digits), or whose
 *   name is reserved, takes the hashed form too.
 */
import {createHash} from 'node:crypto';
import {UsageError} from '../errors.js';
import {quoteRef} from './git-ref.js';

/** Cap on environment names; see the module comment for why it is well below 63. */
export const MAX_ENV_NAME_LENGTH = 40;

/** A DNS label (RFC 1123), lowercase only. Length is further capped by MAX_ENV_NAME_LENGTH. */
export const ENV_NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Names no branch-derived environment may take (production is named by the branch rules). */
export const RESERVED_ENV_NAMES: readonly string[] = Object.freeze([
  'production',
  'postgres',
  'template0',
  'template1',
]);

/** Number of hex digits of sha256(branch) appended to lossy slugs. */
export const ENV_NAME_HASH_LENGTH = 8;

const HASH_SUFFIX = new RegExp(`-[0-9a-f]{${ENV_NAME_HASH_LENGTH}}$`);
const READABLE_MAX = MAX_ENV_NAME_LENGTH - 1 - ENV_NAME_HASH_LENGTH;

function shortHash(branch: string): string {
  return createHash('sha256').update(branch, 'utf8').digest('hex').slice(0, ENV_NAME_HASH_LENGTH);
}

/** NFKD, strip combining marks, lowercase, runs outside [a-z0-9] → "-", trim "-". */
function slugify(branch: string): string {
  return branch
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/**
 * The environment name for a (non-production) branch. Pass the branch as returned by
 * validateBranchName (without `refs/heads/`); this function does not check git's rules, it
 * only needs a non-empty, well-formed string. Deterministic, and never one of
 * RESERVED_ENV_NAMES or opts.reserved.
 *
 * Examples: `main` → `main`, `feature-x` → `feature-x`, `feature/login` →
 * `feature-login-<hash>`, `---` → `b-<hash>`, `production` → `production-<hash>`.
 */
export function envNameForBranch(branch: string, opts: {reserved?: readonly string[]} = {}): string {
  if (branch.length === 0) {
    throw new UsageError('cannot derive an environment name from an empty branch name');
  }
  if (/\p{Cs}/u.test(branch)) {
    throw new UsageError(
      `cannot derive an environment name from branch ${quoteRef(branch)}: not well-formed Unicode (unpaired surrogate)`,
      {data: {branch}},
    );
  }
  const reserved = new Set([...RESERVED_ENV_NAMES, ...(opts.reserved ?? [])]);
  const slug = slugify(branch);
  const lossless =
    slug === branch &&
    slug.length <= MAX_ENV_NAME_LENGTH &&
    !HASH_SUFFIX.test(slug) &&
    !reserved.has(slug);
  if (lossless) return slug;

  const readable = slug.slice(0, READABLE_MAX).replace(/-+$/, '');
  const name = `${readable === '' ? 'b' : readable}-${shortHash(branch)}`;
  if (reserved.has(name)) {
    // Only possible when a caller reserves a hash-shaped name; refuse rather than collide.
    throw new UsageError(
      `environment name ${quoteRef(name)} for branch ${quoteRef(branch)} is reserved`,
      {data: {branch, envName: name}},
    );
  }
  return name;
}

/**
 * Validates an environment name typed by a user (e.g. `--env X`) and returns it unchanged.
 * Throws UsageError naming the name and the rule broken.
 */
export function validateEnvName(name: string): string {
  let problem: string | undefined;
  if (name.length === 0) problem = 'is empty';
  else if (name.length > MAX_ENV_NAME_LENGTH) {
    problem = `is longer than ${MAX_ENV_NAME_LENGTH} characters`;
  } else if (!ENV_NAME_PATTERN.test(name)) {
    problem =
      'must contain only lowercase letters a-z, digits and "-", and start and end with a letter or digit';
  }
  if (problem !== undefined) {
    throw new UsageError(`invalid environment name ${quoteRef(name)}: ${problem}`, {
      data: {envName: name, rule: problem},
    });
  }
  return name;
}
