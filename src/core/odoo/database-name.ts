/**
 * PostgreSQL database names of environments. Pure.
 *
 * `databaseName(project, env)` is `<project>_<env>` with every `-` turned into `_`, e.g.
 * `my-shop` + `feature-login-1a2b3c4d` → `my_shop_feature_login_1a2b3c4d`. Properties:
 * - valid everywhere a database name goes: [a-z0-9_] only, at most 63 bytes (PostgreSQL
 *   silently truncates longer identifiers), accepted by Odoo's database-name rule;
 * - distinct per environment of a project: environment names never contain `_`, so the mapping
 *   is injective for a fixed project;
 * - a name longer than PLAIN_MAX (54) characters becomes its first 54 characters + `_` + 8 hex
 *   digits of sha256(project, env): exactly 63 characters, so the two forms never meet (plain
 *   names are at most 54 characters long);
 * - never a reserved name (postgres, template0/1, the local state database) nor a template cache
 *   name (`tpl_` + 16 hex): those take the hashed form too (padded with `_` to 54 characters first).
 */
import {createHash} from 'node:crypto';
import {UsageError} from '../errors.js';

/** PostgreSQL's identifier limit (NAMEDATALEN - 1) in bytes. */
export const MAX_DATABASE_NAME_BYTES = 63;
/** Longest name used as is; longer ones are cut and suffixed with a hash. */
export const PLAIN_MAX = 54;
const HASH_LENGTH = 8;

/** Names databaseName never returns and dropDatabase refuses. */
export const RESERVED_DATABASE_NAMES: readonly string[] = Object.freeze(['postgres', 'template0', 'template1', 'odoo_sh_next_state']);

/** Template cache databases: `tpl_` + the first 16 hex digits of the template key. */
export const TEMPLATE_DATABASE_RE = /^tpl_[0-9a-f]{16}$/;

const DATABASE_NAME_RE = /^[a-z0-9_]{1,63}$/;

/** The database of an environment (see the module comment). */
export function databaseName(project: string, env: string): string {
  if (project.length === 0 || env.length === 0) throw new UsageError('project and environment names must not be empty');
  const plain = `${project}_${env}`.toLowerCase().replace(/[^a-z0-9]+/g, '_');
  if (plain.length <= PLAIN_MAX && !isReservedDatabaseName(plain) && !TEMPLATE_DATABASE_RE.test(plain)) return plain;
  const hash = createHash('sha256').update(`${project}\0${env}`, 'utf8').digest('hex').slice(0, HASH_LENGTH);
  return `${plain.slice(0, PLAIN_MAX).padEnd(PLAIN_MAX, '_')}_${hash}`;
}

export function isReservedDatabaseName(name: string): boolean {
  return RESERVED_DATABASE_NAMES.includes(name);
}

/**
 * Checks a database name the platform is asked to create, drop or serve: [a-z0-9_], 1-63
 * characters (safe to quote into SQL and to use as a folder name). Returns it unchanged.
 */
export function validateDatabaseName(name: string, opts: {readonly allowReserved?: boolean} = {}): string {
  if (!DATABASE_NAME_RE.test(name)) {
    throw new UsageError(`invalid database name ${JSON.stringify(name)}: use 1-63 lowercase letters, digits and _`, {data: {database: name}});
  }
  if (!opts.allowReserved && isReservedDatabaseName(name)) {
    throw new UsageError(`database name "${name}" is reserved`, {data: {database: name}});
  }
  return name;
}
