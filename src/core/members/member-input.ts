/** Validation of `members` inputs (pure). The SQL functions validate again (000012.sql). */
import {UsageError} from '../errors.js';
import {Secret} from '../secret.js';

export const MEMBER_ROLES = ['admin', 'tester', 'developer', 'viewer'] as const;
export type MemberRole = (typeof MEMBER_ROLES)[number];
export const MEMBER_ENV_TYPES = ['production', 'staging', 'preview', 'dev'] as const;
export type MemberEnvType = (typeof MEMBER_ENV_TYPES)[number];

const RESERVED_ROLES = new Set(['postgres', 'public', 'none', 'current_user', 'session_user', 'current_role']);

export function validateMemberRole(role: string): MemberRole {
  if (!(MEMBER_ROLES as readonly string[]).includes(role)) {
    throw new UsageError(`unknown role "${role}": use ${MEMBER_ROLES.join(', ')}`);
  }
  return role as MemberRole;
}

export function validateEnvType(type: string | undefined): MemberEnvType | null {
  if (type === undefined) return null;
  if (!(MEMBER_ENV_TYPES as readonly string[]).includes(type)) {
    throw new UsageError(`unknown environment type "${type}": use ${MEMBER_ENV_TYPES.join(', ')}`);
  }
  return type as MemberEnvType;
}

/** A Postgres LOGIN role name the CLI may create: an unquoted identifier, not a reserved or system name. */
export function validatePostgresRoleName(name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name) || name.startsWith('pg_') || name.startsWith('ops_') || RESERVED_ROLES.has(name)) {
    throw new UsageError(`invalid member "${name}": a Postgres role name is lowercase letters, digits and _ (at most 63, not starting with a digit), not postgres, pg_*, ops_* or public`, {
      actions: ['for an identity from a jwt (e.g. an e-mail address), add it with --jwt'],
    });
  }
  return name;
}

/** A jwt `sub`: 1 to 200 characters without spaces or control characters. */
export function validateJwtSubject(sub: string): string {
  if (!/^[^\s\u0000-\u001f\u007f]{1,200}$/u.test(sub)) {
    throw new UsageError(`invalid member "${sub}": a jwt subject is 1 to 200 characters without spaces`);
  }
  return sub;
}

/** The password named by --password-from-env VAR (refused when unset or empty). */
export function passwordFromEnv(variable: string, env: Readonly<Record<string, string | undefined>>): Secret {
  const value = env[variable];
  if (value === undefined || value === '') {
    throw new UsageError(`environment variable ${variable} is not set (or empty): it should hold the member's password`);
  }
  return new Secret(value, `env:${variable}`);
}
