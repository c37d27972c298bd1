import pg from 'pg';
import {Secret} from '../secret.js';
import {mapPgError} from './pg-errors.js';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;
export type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

export interface PoolOptions {
  readonly url: string | Secret;
  readonly max?: number;
  readonly applicationName?: string;
}

export function createPool(opts: PoolOptions): pg.Pool {
  const url = opts.url instanceof Secret ? opts.url.reveal() : opts.url;
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 4,
    application_name: opts.applicationName ?? 'odoo-sh-next',
    connectionTimeoutMillis: 10_000,
  });
  // An idle client losing its connection must not crash the CLI; the next query reports it.
  pool.on('error', () => undefined);
  return pool;
}

/** Runs fn in a transaction; maps database errors to the error taxonomy. */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw mapPgError(err);
  }
  try {
    await client.query('begin');
    const result = await fn(client);
    await client.query('commit');
    return result;
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw mapPgError(err);
  } finally {
    client.release();
  }
}

/** One query, errors mapped to the taxonomy. */
export async function query<R extends pg.QueryResultRow>(
  db: Queryable,
  text: string,
  values: readonly unknown[] = [],
): Promise<pg.QueryResult<R>> {
  try {
    return await (db as pg.Pool).query<R>(text, values as unknown[]);
  } catch (err) {
    throw mapPgError(err);
  }
}
