/**
 * The docker-local provider's PostgreSQL: one project container (postgres.image) on a labelled
 * named volume, reachable on 127.0.0.1:<port remembered in .odoo-sh-next/docker/postgres.json>,
 * the `odoo` role Odoo containers use, and the DatabaseHandle: admin SQL over TCP with the
 * superuser password, psql / pg_dump / pg_restore run INSIDE the container (docker exec), so client
 * and server versions always match; their stdin/stdout stream through.
 */
import {randomBytes} from 'node:crypto';
import {createWriteStream, statSync} from 'node:fs';
import {basename, dirname} from 'node:path';
import type {Readable} from 'node:stream';
import {pipeline} from 'node:stream/promises';
import pg from 'pg';
import {create as tarCreate, extract as tarExtract} from 'tar';
import type {Clock} from '../../core/clock.js';
import {InterruptedError, ProviderError, UsageError} from '../../core/errors.js';
import {TEMPLATE_DATABASE_RE, validateDatabaseName} from '../../core/odoo/database-name.js';
import {Secret} from '../../core/secret.js';
import {ODOO_ROLE, createDatabase, dropDatabase, ident, literal} from '../local/local-postgres.js';
import type {DatabaseHandle, PgTool, ToolIo, ToolResult} from '../provider.js';
import type {DockerEngine} from './engine.js';
import type {DockerState, PostgresState} from './docker-state.js';
import {
  POSTGRES_CONTAINER_PORT, networkSpec, postgresContainerSpec, postgresVolumeName, projectLabels, volumeSpec,
  type DockerNetworkMode,
} from './specs.js';
import {planToolPaths, type HostPathKind} from './tool-paths.js';

/** What a path of this machine is (see tool-paths.ts). */
function hostPathKind(path: string): HostPathKind {
  try {
    const st = statSync(path);
    return st.isFIFO() ? 'fifo' : st.isDirectory() ? 'dir' : 'file';
  } catch {
    return 'missing';
  }
}

export interface PgEndpoint {
  readonly containerId: string;
  readonly port: number;
  readonly state: PostgresState;
}

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new InterruptedError('interrupted', {cause: signal.reason});
}


export class DockerPostgres {
  #ready: Promise<PgEndpoint> | undefined;

  constructor(
    private readonly deps: {
      readonly engine: DockerEngine;
      readonly state: DockerState;
      readonly clock: Clock;
      readonly project: string;
      readonly image: string;
      readonly network: DockerNetworkMode;
      readonly settings?: Readonly<Record<string, string | number>> | undefined;
      readonly readyTimeoutMs?: number;
    },
  ) {}

  /** Creates / starts the container when needed and makes sure the odoo role has its password. Once per object. */
  ready(signal: AbortSignal): Promise<PgEndpoint> {
    throwIfAborted(signal);
    this.#ready ??= this.#prepare(signal).catch((err: unknown) => {
      this.#ready = undefined;
      throw err;
    });
    return this.#ready;
  }

  /** The container, if it exists. */
  async container(): Promise<string | undefined> {
    return (await this.deps.engine.findContainers(projectLabels(this.deps.project, 'postgres')))[0]?.Id;
  }

  /** Stops the container (the volume stays); the next ready() starts it again. */
  async stop(): Promise<boolean> {
    this.#ready = undefined;
    const id = await this.container();
    return id ? this.deps.engine.stop(id, 30) : false;
  }

  async #prepare(signal: AbortSignal): Promise<PgEndpoint> {
    const {engine, project} = this.deps;
    const state = await this.deps.state.postgres();
    if (this.deps.network === 'bridge') await engine.ensureNetwork(networkSpec(project));
    let id = await this.container();
    if (!id) {
      await engine.requireImage(this.deps.image);
      await engine.ensureVolume(volumeSpec(postgresVolumeName(project), projectLabels(project, 'pgdata')));
      const spec = postgresContainerSpec({
        project, image: this.deps.image, network: this.deps.network, port: state.port, password: state.superuserPassword,
        ...(this.deps.settings ? {settings: this.deps.settings} : {}),
      });
      id = (await engine.create(spec)) ?? (await this.container());
      if (!id) throw new ProviderError('docker: the project PostgreSQL container vanished while being created', {retryable: true});
    }
    await engine.start(id);
    const endpoint = {containerId: id, port: state.port, state};
    await this.#waitAccepting(endpoint, signal);
    await this.admin(endpoint, 'postgres', async (c) => {
      await c.query(`do $$ begin
        if not exists (select 1 from pg_roles where rolname = ${literal(ODOO_ROLE)}) then
          create role ${ident(ODOO_ROLE)} login createdb;
        end if; end $$`);
      await c.query(`alter role ${ident(ODOO_ROLE)} with login createdb nosuperuser password ${literal(state.odooPassword.reveal())}`);
    });
    return endpoint;
  }

  async #waitAccepting(endpoint: PgEndpoint, signal: AbortSignal): Promise<void> {
    const deadline = this.deps.clock.now().getTime() + (this.deps.readyTimeoutMs ?? 90_000);
    const restarts = (await this.deps.engine.inspect(endpoint.containerId))?.RestartCount ?? 0;
    for (;;) {
      throwIfAborted(signal);
      const client = new pg.Client({connectionString: this.url(endpoint, 'postgres').reveal(), connectionTimeoutMillis: 2000});
      client.on('error', () => undefined);
      try {
        await client.connect();
        await client.query('select 1');
        await client.end().catch(() => undefined);
        return;
      } catch (err) {
        await client.end().catch(() => undefined);
        const info = await this.deps.engine.inspect(endpoint.containerId);
        // Not running, or crash-looping under its restart policy: waiting will not help.
        const looping = info !== undefined && (info.State.Restarting || info.RestartCount > restarts);
        if (!info?.State.Running || looping || this.deps.clock.now().getTime() > deadline) {
          throw new ProviderError(`the project PostgreSQL container does not accept connections: ${(err as Error).message}`, {
            cause: err,
            retryable: true,
            data: {logTail: await this.deps.engine.logTail(endpoint.containerId, 20)},
            actions: [`docker logs ${endpoint.containerId.slice(0, 12)}`],
          });
        }
        await this.deps.clock.sleep(250);
      }
    }
  }

  /** Superuser URL over TCP on 127.0.0.1. */
  url(endpoint: PgEndpoint, database: string): Secret {
    const pw = encodeURIComponent(endpoint.state.superuserPassword.reveal());
    return new Secret(`postgres://postgres:${pw}@127.0.0.1:${endpoint.port}/${database}`, 'docker postgres');
  }

  /** Runs fn with a superuser connection to `database`. */
  async admin<T>(endpoint: PgEndpoint, database: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client({connectionString: this.url(endpoint, database).reveal(), application_name: 'odoo-sh-next'});
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch (err) {
      throw new ProviderError(`cannot connect to the project PostgreSQL container (database ${database}): ${(err as Error).message}`, {
        cause: err, retryable: true,
      });
    }
    try {
      return await fn(client);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** A pg tool inside the container, connected as the superuser over 127.0.0.1. */
  async runTool(endpoint: PgEndpoint, tool: PgTool, argv: readonly string[], io: ToolIo, signal: AbortSignal): Promise<ToolResult> {
    if (!['psql', 'pg_dump', 'pg_restore'].includes(tool)) throw new UsageError(`unknown PostgreSQL tool ${JSON.stringify(tool)}`);
    const port = this.deps.network === 'host' ? endpoint.port : POSTGRES_CONTAINER_PORT;
    const env = [
      'PGHOST=127.0.0.1', `PGPORT=${port}`, 'PGUSER=postgres', 'PGDATABASE=postgres', `PGAPPNAME=odoo-sh-next ${tool}`,
      `PGPASSWORD=${endpoint.state.superuserPassword.reveal()}`, 'PSQLRC=/dev/null',
    ];
    const scratch = `/tmp/odoo-sh-${randomBytes(6).toString('hex')}`;
    const plan = planToolPaths(tool, argv, scratch, hostPathKind);
    if (plan.stdoutTo !== undefined && io.stdout) throw new UsageError(`${tool}: --file names a FIFO and a stdout stream is given too`);
    const {engine} = this.deps;
    const id = endpoint.containerId;
    const bridged = [...plan.inputs, ...plan.outputs];
    try {
      if (bridged.length > 0) {
        await this.#sh(id, '0', 'mkdir -p "$@"', bridged.map((b) => dirname(b.container)), signal);
        for (const input of plan.inputs) {
          await engine.putArchive(id, dirname(input.container), tarCreate({cwd: dirname(input.host), portable: true}, [basename(input.host)]) as unknown as Readable);
        }
        await this.#sh(id, '0', 'chown -R postgres "$1"', [scratch], signal);
      }
      const toolIo = plan.stdoutTo === undefined ? io : {...io, stdout: createWriteStream(plan.stdoutTo)};
      const res = await engine.exec(id, [tool, ...plan.argv], {user: 'postgres', env}, toolIo, signal);
      if (res.exitCode !== 0) {
        const detail = res.stderr.trim().split('\n').slice(-20).join('\n');
        throw new ProviderError(`${tool} exited with status ${res.exitCode}${detail ? `: ${detail}` : ''}`, {data: {exitCode: res.exitCode}});
      }
      for (const output of plan.outputs) {
        const tar = await engine.getArchive(id, output.container);
        if (tar) await pipeline(tar, tarExtract({cwd: dirname(output.host)}));
      }
      return {stdout: res.stdout, stderr: res.stderr};
    } finally {
      if (bridged.length > 0) await this.#sh(id, '0', 'rm -rf "$1"', [scratch], AbortSignal.timeout(30_000)).catch(() => undefined);
    }
  }

  async #sh(id: string, user: string, script: string, args: readonly string[], signal: AbortSignal): Promise<void> {
    const res = await this.deps.engine.exec(id, ['sh', '-c', script, 'sh', ...args], {user}, {}, signal);
    if (res.exitCode !== 0) throw new ProviderError(`docker: ${script} failed in the Postgres container: ${res.stderr.trim()}`);
  }

  handle(endpoint: PgEndpoint, labels: Readonly<Record<string, string>>): DatabaseHandle {
    return new DockerDatabaseHandle(this, endpoint, labels);
  }

  /** CREATE DATABASE … OWNER odoo [TEMPLATE t]; an existing database gives created: false (the local provider's SQL). */
  createDatabase(endpoint: PgEndpoint, name: string, opts: {readonly template?: string; readonly comment?: string}): Promise<{readonly created: boolean}> {
    return createDatabase(this, endpoint, name, opts);
  }

  dropDatabase(endpoint: PgEndpoint, name: string): Promise<{readonly dropped: boolean}> {
    return dropDatabase(this, endpoint, name);
  }

  /** The parsed JSON comment of a database; undefined when it does not exist. */
  async databaseComment(endpoint: PgEndpoint, name: string): Promise<Record<string, unknown> | undefined> {
    return this.admin(endpoint, 'postgres', async (c) => {
      const {rows} = await c.query<{comment: string | null}>(`select shobj_description(oid, 'pg_database') as comment from pg_database where datname = $1`, [name]);
      if (!rows[0]) return undefined;
      try {
        const v = JSON.parse(rows[0].comment ?? '') as unknown;
        return v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : {};
      } catch {
        return {};
      }
    });
  }

  async setComment(endpoint: PgEndpoint, name: string, comment: Record<string, unknown>): Promise<void> {
    await this.admin(endpoint, 'postgres', (c) => c.query(`comment on database ${ident(name)} is ${literal(JSON.stringify(comment))}`));
  }
}

class DockerDatabaseHandle implements DatabaseHandle {
  readonly adminUrl: Secret;
  readonly ownerRole = ODOO_ROLE;

  constructor(
    private readonly pgs: DockerPostgres,
    private readonly endpoint: PgEndpoint,
    private readonly labels: Readonly<Record<string, string>>,
  ) {
    this.adminUrl = pgs.url(endpoint, 'postgres');
  }

  runTool(tool: PgTool, argv: readonly string[], io: ToolIo, signal: AbortSignal): Promise<ToolResult> {
    return this.pgs.runTool(this.endpoint, tool, argv, io, signal);
  }

  async databaseExists(name: string, signal: AbortSignal): Promise<boolean> {
    validateDatabaseName(name, {allowReserved: true});
    throwIfAborted(signal);
    return (await this.pgs.databaseComment(this.endpoint, name)) !== undefined;
  }

  async createDatabase(name: string, opts: {readonly template?: string}, signal: AbortSignal): Promise<{readonly created: boolean}> {
    validateDatabaseName(name);
    if (TEMPLATE_DATABASE_RE.test(name)) throw new UsageError(`"${name}" is a template cache name; choose another database name`);
    if (opts.template !== undefined) validateDatabaseName(opts.template);
    throwIfAborted(signal);
    return this.pgs.createDatabase(this.endpoint, name, {...opts, comment: JSON.stringify(this.labels)});
  }

  async dropDatabase(name: string, signal: AbortSignal): Promise<{readonly dropped: boolean}> {
    validateDatabaseName(name);
    throwIfAborted(signal);
    return this.pgs.dropDatabase(this.endpoint, name);
  }
}
