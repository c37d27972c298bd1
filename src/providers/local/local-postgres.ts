/**
 * The local provider's PostgreSQL: the project cluster (started on demand), the `odoo` role Odoo
 * connects as, and the DatabaseHandle (admin SQL over the private socket, pg tools).
 */
import {randomBytes} from 'node:crypto';
import {constants, existsSync} from 'node:fs';
import {access, mkdir, readFile, realpath, writeFile} from 'node:fs/promises';
import {dirname, join} from 'node:path';
import pg from 'pg';
import {ConflictError, InterruptedError, ProviderError, UsageError} from '../../core/errors.js';
import {TEMPLATE_DATABASE_RE, validateDatabaseName} from '../../core/odoo/database-name.js';
import {Secret} from '../../core/secret.js';
import type {DatabaseHandle, PgTool, ToolIo, ToolResult} from '../provider.js';
import {PostgresCluster, SUPERUSER} from './postgres-cluster.js';
import {cleanEnv, runChecked} from './run-process.js';

/** The role Odoo connects as (Odoo refuses `postgres`): LOGIN CREATEDB, not a superuser. */
export const ODOO_ROLE = 'odoo';

export interface PgEndpoint {
  readonly port: number;
  readonly socketDir: string;
}

/** Double-quotes an identifier already checked to be [a-z0-9_]. */
export function ident(name: string): string {
  if (!/^[a-z0-9_]{1,63}$/.test(name)) throw new UsageError(`invalid identifier ${JSON.stringify(name)}`);
  return `"${name}"`;
}

export function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

export class LocalPostgres {
  readonly cluster: PostgresCluster;
  #ready: Promise<PgEndpoint> | undefined;

  constructor(
    readonly root: string,
    private readonly rolePasswordFile: string,
    opts: {readonly binDir?: string | undefined; readonly settings?: Readonly<Record<string, string | number>>} = {},
  ) {
    this.cluster = new PostgresCluster({root, ...(opts.binDir ? {binDir: opts.binDir} : {}), ...(opts.settings ? {settings: opts.settings} : {})});
  }

  /** Starts the cluster when needed and makes sure the odoo role has the stored password. Once per object. */
  ready(signal: AbortSignal): Promise<PgEndpoint> {
    if (signal.aborted) return Promise.reject(new InterruptedError('interrupted', {cause: signal.reason}));
    this.#ready ??= this.#prepare().catch((err: unknown) => {
      this.#ready = undefined;
      throw err;
    });
    return this.#ready;
  }

  /**
   * The path of a client tool of the cluster's PostgreSQL version: next to initdb, or in the folder
   * initdb links to (PATH often holds only links to the server binaries, e.g. /usr/local/bin).
   */
  async toolPath(tool: string): Promise<string> {
    const binDir = await this.cluster.binDir();
    const candidates = [join(binDir, tool), join(dirname(await realpath(join(binDir, 'initdb')).catch(() => join(binDir, 'initdb'))), tool)];
    for (const path of candidates) {
      if (await access(path, constants.X_OK).then(() => true, () => false)) return path;
    }
    throw new ProviderError(`${tool} not found next to the PostgreSQL server binaries (${binDir})`, {
      actions: ['install the PostgreSQL client tools of the same version, or set postgres.binDir to a folder holding both'],
    });
  }

  /** Stops the cluster (fast shutdown); the next ready() starts it again. */
  async stop(): Promise<boolean> {
    this.#ready = undefined;
    return this.cluster.stop();
  }

  async #prepare(): Promise<PgEndpoint> {
    const {port, socketDir} = await this.cluster.start();
    const endpoint = {port, socketDir};
    const password = await this.rolePassword();
    await this.admin(endpoint, 'postgres', async (c) => {
      await c.query(`do $$ begin
        if not exists (select 1 from pg_roles where rolname = ${literal(ODOO_ROLE)}) then
          create role ${ident(ODOO_ROLE)} login createdb;
        end if; end $$`);
      await c.query(`alter role ${ident(ODOO_ROLE)} with login createdb nosuperuser password ${literal(password.reveal())}`);
    });
    return endpoint;
  }

  /** The odoo role's password, generated on first use (0600 file). */
  async rolePassword(): Promise<Secret> {
    if (!existsSync(this.rolePasswordFile)) {
      await mkdir(dirname(this.rolePasswordFile), {recursive: true});
      await writeFile(this.rolePasswordFile, randomBytes(24).toString('base64url'), {mode: 0o600, flag: 'wx'}).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
    }
    return new Secret((await readFile(this.rolePasswordFile, 'utf8')).trim(), `file:${this.rolePasswordFile}`);
  }

  /** Runs fn with a superuser connection to `database` over the private socket. */
  async admin<T>(endpoint: PgEndpoint, database: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client({connectionString: this.cluster.socketUrl(database, endpoint.socketDir, endpoint.port), application_name: 'odoo-sh-next'});
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch (err) {
      throw new ProviderError(`cannot connect to the project PostgreSQL (database ${database}): ${(err as Error).message}`, {
        cause: err,
        retryable: true,
        actions: [`see ${this.cluster.logFile}`],
      });
    }
    try {
      return await fn(client);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  handle(endpoint: PgEndpoint, labels: Readonly<Record<string, string>>): DatabaseHandle {
    return new LocalDatabaseHandle(this, endpoint, labels);
  }
}

function pgCode(err: unknown): string | undefined {
  return (err as {code?: string})?.code;
}

class LocalDatabaseHandle implements DatabaseHandle {
  readonly adminUrl: Secret;
  readonly ownerRole = ODOO_ROLE;

  constructor(
    private readonly pg: LocalPostgres,
    private readonly endpoint: PgEndpoint,
    private readonly labels: Readonly<Record<string, string>>,
  ) {
    this.adminUrl = new Secret(pg.cluster.socketUrl('postgres', endpoint.socketDir, endpoint.port), 'local cluster socket');
  }

  async runTool(tool: PgTool, argv: readonly string[], io: ToolIo, signal: AbortSignal): Promise<ToolResult> {
    if (!['psql', 'pg_dump', 'pg_restore'].includes(tool)) throw new UsageError(`unknown PostgreSQL tool ${JSON.stringify(tool)}`);
    const bin = await this.pg.toolPath(tool);
    const env = cleanEnv({
      PGHOST: this.endpoint.socketDir,
      PGPORT: String(this.endpoint.port),
      PGUSER: SUPERUSER,
      PGDATABASE: 'postgres',
      PGAPPNAME: `odoo-sh-next ${tool}`,
      PSQLRC: '/dev/null',
    });
    const {stdout, stderr} = await runChecked(bin, argv, {env, io, signal, label: tool});
    return {stdout, stderr};
  }

  async databaseExists(name: string, signal: AbortSignal): Promise<boolean> {
    validateDatabaseName(name, {allowReserved: true});
    throwIfAborted(signal);
    return this.pg.admin(this.endpoint, 'postgres', async (c) => {
      const {rows} = await c.query<{ok: boolean}>('select exists (select 1 from pg_database where datname = $1) as ok', [name]);
      return rows[0]?.ok === true;
    });
  }

  async createDatabase(name: string, opts: {readonly template?: string}, signal: AbortSignal): Promise<{readonly created: boolean}> {
    validateDatabaseName(name);
    if (TEMPLATE_DATABASE_RE.test(name)) throw new UsageError(`"${name}" is a template cache name; choose another database name`);
    if (opts.template !== undefined) validateDatabaseName(opts.template);
    throwIfAborted(signal);
    return createDatabase(this.pg, this.endpoint, name, {...opts, comment: JSON.stringify(this.labels)});
  }

  async dropDatabase(name: string, signal: AbortSignal): Promise<{readonly dropped: boolean}> {
    validateDatabaseName(name);
    if (TEMPLATE_DATABASE_RE.test(name)) throw new UsageError(`"${name}" belongs to the template cache; it prunes its own databases`);
    throwIfAborted(signal);
    return dropDatabase(this.pg, this.endpoint, name);
  }
}

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new InterruptedError('interrupted', {cause: signal.reason});
}

/** Whatever runs a function on an admin connection to a server (LocalPostgres, the docker-local Postgres). */
export interface PgAdmin<E> {
  admin<T>(endpoint: E, database: string, fn: (client: pg.Client) => Promise<T>): Promise<T>;
}

/** CREATE DATABASE … OWNER odoo [TEMPLATE t]; an existing database gives created: false. */
export async function createDatabase<E>(
  pgs: PgAdmin<E>,
  endpoint: E,
  name: string,
  opts: {readonly template?: string; readonly comment?: string},
): Promise<{readonly created: boolean}> {
  return pgs.admin(endpoint, 'postgres', async (c) => {
    const {rows} = await c.query('select 1 from pg_database where datname = $1', [name]);
    if (rows.length > 0) return {created: false};
    const source = opts.template === undefined ? `template template0 encoding 'UTF8'` : `template ${ident(opts.template)}`;
    try {
      await c.query(`create database ${ident(name)} owner ${ident(ODOO_ROLE)} ${source}`);
    } catch (err) {
      if (pgCode(err) === '42P04') return {created: false};
      if (pgCode(err) === '55006') {
        throw new ConflictError(`cannot copy database "${opts.template}": other sessions are connected to it`, {
          cause: err,
          actions: ['stop the Odoo serving it first, or copy it with pg_dump/pg_restore'],
        });
      }
      if (pgCode(err) === '3D000') throw new ProviderError(`template database "${opts.template}" does not exist`, {cause: err});
      throw new ProviderError(`cannot create database "${name}": ${(err as Error).message}`, {cause: err});
    }
    if (opts.comment !== undefined) await c.query(`comment on database ${ident(name)} is ${literal(opts.comment)}`);
    return {created: true};
  }).then(async (result) => {
    // Like Odoo's own database creation: pg_trgm when the server has it (trigram indexes), best effort.
    if (result.created && opts.template === undefined) {
      await pgs.admin(endpoint, name, (c) => c.query('create extension if not exists pg_trgm')).catch(() => undefined);
    }
    return result;
  });
}

export async function dropDatabase<E>(pgs: PgAdmin<E>, endpoint: E, name: string): Promise<{readonly dropped: boolean}> {
  return pgs.admin(endpoint, 'postgres', async (c) => {
    const {rows} = await c.query<{t: boolean}>('select datistemplate as t from pg_database where datname = $1', [name]);
    if (rows.length === 0) return {dropped: false};
    if (rows[0]?.t) await c.query(`alter database ${ident(name)} is_template false`);
    try {
      await c.query(`drop database if exists ${ident(name)} with (force)`);
    } catch (err) {
      throw new ProviderError(`cannot drop database "${name}": ${(err as Error).message}`, {cause: err, retryable: true});
    }
    return {dropped: true};
  });
}
