import type pg from 'pg';
import {ConflictError, ProviderError} from '../errors.js';
import {migrations as embedded, type Migration} from './generated/migrations.js';
import {mapPgError} from './pg-errors.js';

/** Session advisory lock serializing migrators (any stable 64-bit number). */
const MIGRATION_LOCK_KEY = '7318359218420317';

export interface MigrationStatus {
  readonly current: number;
  readonly latest: number;
  readonly pending: readonly number[];
  /** Migrations recorded in the database that this release does not know (a newer release migrated it). */
  readonly unknown: readonly number[];
}

export interface MigrateResult extends MigrationStatus {
  readonly applied: readonly number[];
}

async function appliedIds(client: pg.PoolClient | pg.Pool): Promise<number[]> {
  const exists = await client.query<{ok: boolean}>(`select to_regclass('ops.migrations') is not null as ok`);
  if (!exists.rows[0]?.ok) return [];
  const {rows} = await client.query<{id: number}>('select id from ops.migrations order by id');
  return rows.map((r) => r.id);
}

function statusFrom(applied: readonly number[], known: readonly Migration[]): MigrationStatus {
  const knownIds = new Set(known.map((m) => m.id));
  const done = new Set(applied);
  return {
    current: applied.length ? Math.max(...applied) : 0,
    latest: known.length ? Math.max(...known.map((m) => m.id)) : 0,
    pending: known.filter((m) => !done.has(m.id)).map((m) => m.id),
    unknown: applied.filter((id) => !knownIds.has(id)),
  };
}

function newerReleaseError(unknown: readonly number[]): ConflictError {
  return new ConflictError(
    `the state database was migrated by a newer odoo-sh-next release (migrations ${unknown.join(', ')} are unknown to this one)`,
    {actions: ['upgrade odoo-sh-next to the release that migrated this database']},
  );
}

export async function migrationStatus(pool: pg.Pool, known: readonly Migration[] = embedded): Promise<MigrationStatus> {
  try {
    return statusFrom(await appliedIds(pool), known);
  } catch (err) {
    throw mapPgError(err);
  }
}

/**
 * Applies pending migrations: one transaction each, under a session advisory lock, the migration
 * row inserted first (a primary-key clash means another migrator got there). Refuses a database
 * that a newer release migrated. Safe to run concurrently and repeatedly.
 */
export async function migrate(
  pool: pg.Pool,
  opts: {known?: readonly Migration[]; onApply?: (m: Migration) => void} = {},
): Promise<MigrateResult> {
  const known = opts.known ?? embedded;
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw mapPgError(err);
  }
  const applied: number[] = [];
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    const {rows: who} = await client.query<{ok: boolean}>(
      `select rolsuper or rolbypassrls as ok from pg_roles where rolname = current_user`,
    );
    if (!who[0]?.ok) {
      throw new ProviderError(
        'the role running migrations must be a superuser or have BYPASSRLS: it owns the ops schema and its SECURITY DEFINER functions',
        {actions: ['run `odoo-sh-next state migrate` with the database owner\'s URL', 'or `ALTER ROLE <owner> BYPASSRLS`']},
      );
    }
    await client.query('create schema if not exists ops');
    await client.query(`create table if not exists ops.migrations (
      id integer primary key, name text not null, breaking boolean not null default false,
      applied_at timestamptz not null default now())`);
    const before = statusFrom(await appliedIds(client), known);
    if (before.unknown.length) throw newerReleaseError(before.unknown);
    for (const m of known) {
      if (!before.pending.includes(m.id)) continue;
      await client.query('begin');
      try {
        await client.query('insert into ops.migrations (id, name, breaking) values ($1, $2, $3)', [m.id, m.name, m.breaking]);
        await client.query(m.sql);
        await client.query('commit');
        applied.push(m.id);
        opts.onApply?.(m);
      } catch (err) {
        await client.query('rollback').catch(() => undefined);
        const e = err as {code?: string};
        if (e.code === '23505') continue; // another migrator applied it first
        throw new ProviderError(`migration ${m.name} failed: ${(err as Error).message}`, {cause: err});
      }
    }
    const after = statusFrom(await appliedIds(client), known);
    return {...after, applied};
  } catch (err) {
    throw mapPgError(err);
  } finally {
    await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    client.release();
  }
}

/** Throws unless the database is fully migrated by this release (used before every state access). */
export async function assertMigrated(pool: pg.Pool, known: readonly Migration[] = embedded): Promise<MigrationStatus> {
  const status = await migrationStatus(pool, known);
  if (status.unknown.length) throw newerReleaseError(status.unknown);
  if (status.pending.length) {
    throw new ConflictError(`the state database is at migration ${status.current}, this release needs ${status.latest}`, {
      actions: ['run `odoo-sh-next state migrate`'],
    });
  }
  return status;
}
