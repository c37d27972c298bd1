/**
 * Restore decisions, pure: the name of the new database, which steps a restore takes (filestore,
 * clone preparation, safety backup), whether it needs a confirmation, and how long the previous
 * database is kept.
 */
import {UsageError} from '../errors.js';
import {MAX_DATABASE_NAME_BYTES, TEMPLATE_DATABASE_RE, validateDatabaseName} from '../odoo/database-name.js';
import type {EnvType} from '../env/branch-rules.js';

/** Default time the previous database and filestore are kept after a switch. */
export const DEFAULT_KEEP_PREVIOUS_MS = 7 * 86_400_000;

const RESTORE_SUFFIX_RE = /_[rt][0-9a-f]{8}$/;

/**
 * The database a restore loads: the env's database name without an earlier restore suffix, cut
 * to fit, + `_r` + 8 hex digits of the restore id (`_t` for scratch restore tests). Never the
 * env's current database (the id differs from the one that named it).
 */
export function restoreDatabaseName(envDatabase: string, restoreId: string, kind: 'restore' | 'test' = 'restore'): string {
  const hex = restoreId.replace(/[^0-9a-f]/gi, '').toLowerCase().slice(0, 8);
  if (hex.length !== 8) throw new UsageError(`invalid restore id ${JSON.stringify(restoreId)}`);
  const suffix = `_${kind === 'restore' ? 'r' : 't'}${hex}`;
  const base = envDatabase.replace(RESTORE_SUFFIX_RE, '').slice(0, MAX_DATABASE_NAME_BYTES - suffix.length);
  const name = `${base}${suffix}`;
  if (TEMPLATE_DATABASE_RE.test(name)) throw new UsageError(`restore database name ${name} collides with the template cache`);
  return validateDatabaseName(name);
}

export interface RestoreFacts {
  readonly target: {readonly name: string; readonly type: EnvType};
  readonly source: {
    readonly kind: 'backup' | 'native-file' | 'odoo-zip' | 'pg-dump';
    /** The env the data comes from; null when unknown (imported files). */
    readonly env: string | null;
    readonly hasFilestore: boolean;
  };
  readonly noFilestore: boolean;
}

export interface RestorePlan {
  readonly targetEnv: string;
  readonly targetType: EnvType;
  /** Data from another environment (or of unknown origin) going into this one. */
  readonly crossEnv: boolean;
  /** Neutralize and mask like a clone (cross-env into a non-production env). */
  readonly prepareClone: boolean;
  /** A safety backup of the target is taken before the switch. */
  readonly safetyBackup: boolean;
  readonly withFilestore: boolean;
  /** Replaces production data: asks for a confirmation (--yes in scripts). */
  readonly destructive: boolean;
  readonly warnings: readonly string[];
}

export function planRestore(facts: RestoreFacts): RestorePlan {
  const {target, source} = facts;
  if (!source.hasFilestore && !facts.noFilestore) {
    throw new UsageError(`this ${source.kind === 'backup' ? 'backup' : 'file'} has no filestore: restoring it leaves every attachment without its file (pass --no-filestore to restore the database alone)`, {
      actions: ['add --no-filestore to restore the database alone (attachments and asset bundles will be missing)'],
    });
  }
  const crossEnv = source.env === null ? true : source.env !== target.name;
  const production = target.type === 'production';
  const warnings: string[] = [];
  if (facts.noFilestore) warnings.push('restoring without filestore: attachments will have no files until they are uploaded again');
  if (crossEnv && production) warnings.push(`data ${source.env ? `of environment ${source.env}` : 'of unknown origin'} replaces production's (not neutralized)`);
  return {
    targetEnv: target.name,
    targetType: target.type,
    crossEnv,
    prepareClone: crossEnv && !production,
    safetyBackup: production,
    withFilestore: source.hasFilestore && !facts.noFilestore,
    destructive: production,
    warnings,
  };
}

/** What a command does before a destructive operation. */
export function confirmationDecision(input: {readonly destructive: boolean; readonly yes: boolean; readonly interactive: boolean}): 'proceed' | 'prompt' | 'refuse' {
  if (!input.destructive || input.yes) return 'proceed';
  return input.interactive ? 'prompt' : 'refuse';
}

export const confirmationRefused = (what: string): UsageError =>
  new UsageError(`${what} replaces production data and needs a confirmation: pass --yes (no terminal to ask on)`, {
    actions: ['re-run with --yes'],
  });

export function keepPreviousUntil(now: Date, keepMs: number = DEFAULT_KEEP_PREVIOUS_MS): Date {
  return new Date(now.getTime() + keepMs);
}
