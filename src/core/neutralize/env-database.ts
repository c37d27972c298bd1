/**
 * A superuser connection to one database of an environment, built from the provider's
 * DatabaseHandle.adminUrl (which names the `postgres` database). Used by neutralization, masking
 * and clone preparation; the URL is never printed.
 */
import pg from 'pg';
import {InterruptedError, ProviderError} from '../errors.js';
import type {DatabaseHandle, Provider} from '../../providers/provider.js';

/** The part of pg.Client the masking and neutralization code uses (tests can pass any client). */
export interface SqlClient {
  query<R extends object = Record<string, unknown>>(text: string, values?: readonly unknown[]): Promise<{rows: R[]; rowCount: number | null}>;
}

/** The same server URL pointing at another database (keeps host, port, user and query parameters). */
export function databaseUrl(adminUrl: string, database: string): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/[^/?#]*)(\/[^?#]*)?(.*)$/i.exec(adminUrl);
  if (!m) throw new ProviderError('the provider gave an administrator URL that is not a PostgreSQL URL');
  return `${m[1]}/${encodeURIComponent(database)}${m[3] ?? ''}`;
}

async function cancelBackend(url: string, pid: number): Promise<void> {
  const c = new pg.Client({connectionString: url, application_name: 'odoo-sh-next cancel'});
  try {
    await c.connect();
    await c.query('select pg_cancel_backend($1)', [pid]);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/**
 * Runs fn with a connection to `database` as the administrator. Aborting the signal cancels the
 * running statement on the server (pg_cancel_backend) and fails with InterruptedError.
 */
export async function withHandleDatabase<T>(
  handle: DatabaseHandle,
  database: string,
  signal: AbortSignal,
  fn: (client: SqlClient & pg.ClientBase) => Promise<T>,
): Promise<T> {
  if (signal.aborted) throw new InterruptedError('interrupted', {cause: signal.reason});
  const url = databaseUrl(handle.adminUrl.reveal(), database);
  const client = new pg.Client({connectionString: url, application_name: 'odoo-sh-next'});
  try {
    await client.connect();
  } catch (err) {
    throw new ProviderError(`cannot connect to database ${database}: ${(err as Error).message}`, {cause: err, retryable: true});
  }
  client.on('error', () => undefined);
  let pid: number | undefined;
  const onAbort = () => {
    if (pid !== undefined) void cancelBackend(databaseUrl(handle.adminUrl.reveal(), 'postgres'), pid).catch(() => undefined);
  };
  signal.addEventListener('abort', onAbort, {once: true});
  try {
    pid = (await client.query<{pid: number}>('select pg_backend_pid() as pid')).rows[0]?.pid;
    const result = await fn(client);
    if (signal.aborted) throw new InterruptedError('interrupted', {cause: signal.reason});
    return result;
  } catch (err) {
    if (signal.aborted) throw new InterruptedError(`interrupted while working on database ${database}`, {cause: err});
    throw err;
  } finally {
    signal.removeEventListener('abort', onAbort);
    await client.end().catch(() => undefined);
  }
}

/** withHandleDatabase on the env's database server. */
export async function withEnvDatabase<T>(
  provider: Pick<Provider, 'database'>,
  env: string,
  database: string,
  signal: AbortSignal,
  fn: (client: SqlClient & pg.ClientBase) => Promise<T>,
): Promise<T> {
  return withHandleDatabase(await provider.database(env, signal), database, signal, fn);
}

/** Runs fn in a transaction (rolled back when it throws). */
export async function inTransaction<T>(client: SqlClient, fn: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await fn();
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** How clone steps report progress (RunContext.event fits). */
export type StepEvent = (level: 'debug' | 'info' | 'warn' | 'error', message: string, data?: Readonly<Record<string, unknown>>) => unknown;
