/**
 * The provider contract: the handful of verbs every runtime (local processes, Docker, Docker over
 * SSH, Kubernetes) implements so that core services can run Odoo environments without knowing
 * where they run.
 *
 * Rules every implementation follows (house style rules 8-10):
 * - every verb is idempotent and takes an AbortSignal (a retry after a crash or an interrupt is safe);
 * - everything a provider creates carries ownership labels (LABELS below): listing and teardown go
 *   by label, and startRelease looks a launch id up before creating anything;
 * - failures are taxonomy errors (ProviderError for the runtime, ConflictError, NotFoundError...),
 *   never a silent success: a verb a provider cannot do throws NotImplementedError;
 * - building requests (config files, container specs) is pure and lives apart from the I/O.
 */
import type {Readable, Writable} from 'node:stream';
import type {Clock} from '../core/clock.js';
import type {Logger} from '../core/logger.js';
import type {EnvironmentType, ProviderName} from '../core/config/schema-sections.js';
import {InterruptedError, ProviderError, TimeoutError} from '../core/errors.js';
import type {Secret} from '../core/secret.js';

export type {EnvironmentType, ProviderName} from '../core/config/schema-sections.js';

/** Ownership label keys (container labels, Kubernetes labels, or fields of the local state files). */
export const LABELS = {
  managed: 'odoo-sh.managed',
  project: 'odoo-sh.project',
  env: 'odoo-sh.env',
  release: 'odoo-sh.release',
  launchId: 'odoo-sh.launch-id',
} as const;

export interface OwnershipLabels {
  readonly project: string;
  readonly env: string;
  readonly release?: string;
  readonly launchId?: string;
}

/** Pure: the label map of an owned resource. */
export function ownershipLabels(owner: OwnershipLabels): Readonly<Record<string, string>> {
  return {
    [LABELS.managed]: 'true',
    [LABELS.project]: owner.project,
    [LABELS.env]: owner.env,
    ...(owner.release === undefined ? {} : {[LABELS.release]: owner.release}),
    ...(owner.launchId === undefined ? {} : {[LABELS.launchId]: owner.launchId}),
  };
}

/** What a provider can do; core code checks these instead of the provider's name. */
export interface ProviderCapabilities {
  /** Two releases of one environment can serve side by side and the router switches between them. */
  readonly blueGreen: boolean;
  /** exec() runs commands in a release's context. */
  readonly exec: boolean;
  /** There is an HTTP router in front of the environments (route() switches it). */
  readonly router: boolean;
}

/** Where the project's shared infrastructure answers (no secrets here). */
export interface ProjectEndpoints {
  readonly postgres: {readonly host: string; readonly port: number};
  readonly router?: {readonly url: string};
}

/** The Odoo code a release or job runs. */
export interface OdooCode {
  /** Odoo series, e.g. "17.0". */
  readonly version: string;
  /** local provider: the odoo-bin executable (or anything taking Odoo's server flags). */
  readonly bin?: string;
  /** container providers: the Odoo image. */
  readonly image?: string;
  /** Folders holding addons, in Odoo's search order (first match wins). */
  readonly addonsPaths: readonly string[];
}

/** A release to start: code + database + the environment's filestore, under an idempotency key. */
export interface ReleaseSpec {
  readonly env: string;
  /** Production runs crons; every other type runs none (max_cron_threads = 0). */
  readonly envType: EnvironmentType;
  /** Release identifier (e.g. the commit sha or a release id), recorded as a label. */
  readonly release: string;
  /** Idempotency key: starting the same launch id twice returns the first instance. */
  readonly launchId: string;
  /** The database the release serves (see src/core/odoo/database-name.ts). */
  readonly database: string;
  readonly code: OdooCode;
  /** Overrides the cron thread count derived from envType. */
  readonly maxCronThreads?: number;
}

/** How core code names a running (or stopped) release. */
export interface InstanceRef {
  readonly provider: ProviderName;
  /** Provider-specific id (container id, pod name, or the launch id for local). */
  readonly id: string;
  readonly env: string;
  readonly launchId: string;
}

/** A release instance as found from its labels. */
export interface ReleaseInstance extends InstanceRef {
  readonly release: string;
  readonly database: string;
  /** Direct URL of the instance (not the routed environment URL). */
  readonly url: string;
  readonly port: number;
  readonly startedAt: string;
  /** running: the process/container runs; exited: it ended by itself; stopped: stop() ended it. */
  readonly state: 'running' | 'exited' | 'stopped';
  /** This instance is the one route() last pointed the environment at. */
  readonly routed: boolean;
  readonly labels: Readonly<Record<string, string>>;
}

export interface HealthReport {
  /** The process/container runs and GET /web/health answered 200. */
  readonly healthy: boolean;
  /** The process/container runs (false: it will not become healthy by waiting). */
  readonly alive: boolean;
  /** Why it is not healthy. */
  readonly reason?: string;
  /** The last lines of its log when it is not healthy. */
  readonly logTail?: readonly string[];
}

export interface LogOptions {
  /** Keep yielding new lines until the instance ends or the signal fires. */
  readonly follow?: boolean;
  /** Start with the last N lines (default: the whole log). */
  readonly tail?: number;
}

/** Streams for tools and exec. A given stdout stream is ended when the process's output ends. */
export interface ToolIo {
  readonly stdin?: Readable;
  readonly stdout?: Writable;
  readonly stderr?: Writable;
}

export type PgTool = 'psql' | 'pg_dump' | 'pg_restore';

export interface ToolResult {
  /** Captured stdout ('' when io.stdout was given). */
  readonly stdout: string;
  readonly stderr: string;
}

/** Administration of the PostgreSQL server an environment's database lives on. */
export interface DatabaseHandle {
  /** A superuser URL for the env's server; pass it to nothing that prints. */
  readonly adminUrl: Secret;
  /** The role Odoo connects as; it owns the databases created here (use pg_restore --role). */
  readonly ownerRole: string;
  /**
   * Runs psql, pg_dump or pg_restore where the database is, connected as the administrator
   * (PGHOST/PGPORT/PGUSER are set, PGDATABASE is `postgres`: pass -d/--dbname). Throws
   * ProviderError with the tool's stderr when it exits non-zero.
   */
  runTool(tool: PgTool, argv: readonly string[], io: ToolIo, signal: AbortSignal): Promise<ToolResult>;
  /** Creates a database owned by ownerRole, empty or as a copy of `template` (which nobody may be connected to). */
  createDatabase(name: string, opts: {readonly template?: string}, signal: AbortSignal): Promise<{readonly created: boolean}>;
  /** Drops a database, terminating its sessions; a missing database is not an error. */
  dropDatabase(name: string, signal: AbortSignal): Promise<{readonly dropped: boolean}>;
  databaseExists(name: string, signal: AbortSignal): Promise<boolean>;
}

/** A filestore: Odoo keeps it at <data_dir>/filestore/<database>, so it is named by env and database. */
export interface FilestoreTarget {
  readonly env: string;
  readonly database: string;
}

/**
 * Filestores as tar streams. The archive holds the filestore's contents at its root
 * (`./ab/ab12...`, `./checklist/...`), the same tree as the `filestore/` folder of Odoo's backup zip.
 */
export interface FilestoreOps {
  /** Writes a tar of the filestore to sink (ended afterwards); a missing filestore gives an empty archive. */
  archive(target: FilestoreTarget, sink: Writable, signal: AbortSignal): Promise<void>;
  /** Replaces the filestore with the contents of a tar stream (made by archive). */
  restore(target: FilestoreTarget, source: Readable, signal: AbortSignal): Promise<void>;
  /** Replaces `to` with a copy of another filestore or of a folder (e.g. an unpacked backup). */
  copy(from: FilestoreTarget | {readonly path: string}, to: FilestoreTarget, signal: AbortSignal): Promise<void>;
  remove(target: FilestoreTarget, signal: AbortSignal): Promise<{readonly removed: boolean}>;
  /** Where the filestore lives, when that means something to the caller (local folders). */
  location(target: FilestoreTarget): {readonly path?: string};
}

/** A fresh database: Odoo initialised with a module set (from the template cache when possible). */
export interface FreshDatabaseSpec {
  readonly env: string;
  readonly database: string;
  readonly code: OdooCode;
  readonly modules: readonly string[];
  readonly demo: boolean;
}

export interface FreshDatabaseResult {
  readonly database: string;
  /** False when the database already existed as a finished fresh database (nothing done). */
  readonly created: boolean;
  /** hit: copied from a cached template; miss: the template was built first; off: initialised directly. */
  readonly cache: 'hit' | 'miss' | 'off';
  readonly templateKey?: string;
}

/** A one-off Odoo command (`-u mods --stop-after-init`, `neutralize`...) with the env's generated config. */
export interface OdooJobSpec {
  readonly env: string;
  readonly envType: EnvironmentType;
  readonly database: string;
  readonly code: OdooCode;
  /** Odoo sub-command (`neutralize`, `shell`...); none runs the server. */
  readonly command?: string;
  /** Extra arguments after `-c <config>`, e.g. ['-u', 'sale', '--stop-after-init']. */
  readonly args: readonly string[];
}

export interface OdooJobResult {
  readonly exitCode: number;
  readonly logTail: readonly string[];
}

export interface ProviderListFilter {
  readonly env?: string;
}

/**
 * A runtime for Odoo environments. Every verb is idempotent and honours the AbortSignal.
 */
export interface Provider {
  readonly name: ProviderName;
  readonly capabilities: ProviderCapabilities;

  /** Brings up the project's infrastructure (PostgreSQL server, router where there is one). Idempotent. */
  prepare(signal: AbortSignal): Promise<ProjectEndpoints>;

  /** The PostgreSQL server holding an environment's databases (prepared on demand). */
  database(env: string, signal: AbortSignal): Promise<DatabaseHandle>;

  /** The environments' filestores. */
  readonly filestore: FilestoreOps;

  /**
   * Creates `spec.database` as a freshly initialised Odoo database (modules installed, demo data
   * or not) with its filestore. Copies of a cached template get a new database.uuid, secret and
   * create date. An existing finished fresh database is returned as is (created: false); an
   * existing database of another origin is a ConflictError.
   */
  initDatabase(spec: FreshDatabaseSpec, signal: AbortSignal): Promise<FreshDatabaseResult>;

  /** Runs a one-off Odoo command against an env's database; throws ProviderError (with the log tail) on a non-zero exit. */
  runOdoo(spec: OdooJobSpec, signal: AbortSignal): Promise<OdooJobResult>;

  /**
   * Starts a release (Odoo serving spec.database with the env's filestore) and returns once it is
   * launched, not once it is healthy (see waitHealthy). Looks spec.launchId up first: a retry
   * returns the existing instance whatever its state, never a second one.
   */
  startRelease(spec: ReleaseSpec, signal: AbortSignal): Promise<ReleaseInstance>;

  /** One health probe: alive, and GET /web/health answers 200. A dead instance is reported, never restarted. */
  health(ref: InstanceRef, signal: AbortSignal): Promise<HealthReport>;

  /** Stops an instance (SIGTERM, then SIGKILL after a grace period); no-op when already stopped. */
  stop(ref: InstanceRef, signal: AbortSignal): Promise<{readonly stopped: boolean}>;

  /** Stops and deletes an instance (its config and logs); the env's database and filestore stay. No-op when gone. */
  remove(ref: InstanceRef, signal: AbortSignal): Promise<{readonly removed: boolean}>;

  /** The instance's Odoo log, line by line. */
  logs(ref: InstanceRef, opts: LogOptions, signal: AbortSignal): AsyncIterable<string>;

  /**
   * Runs argv in the instance's context (its environment, ODOO_RC = its config); argv[0]
   * `odoo-bin` means the instance's Odoo executable. Returns the exit code. Needs capabilities.exec.
   */
  exec(ref: InstanceRef, argv: readonly string[], io: ToolIo, signal: AbortSignal): Promise<number>;

  /** Points the environment's URL at an instance; returns the environment URL. */
  route(env: string, ref: InstanceRef, signal: AbortSignal): Promise<{readonly url: string}>;

  /** Owned instances, found from their labels. */
  list(filter: ProviderListFilter, signal: AbortSignal): Promise<readonly ReleaseInstance[]>;

  /** Stops every instance and the project infrastructure; data (databases, filestores) stays. */
  down(signal: AbortSignal): Promise<void>;

  /**
   * Removes everything the provider keeps for an environment besides its databases: every
   * instance (stopped first), generated config, logs, data folder (filestores, sessions) and route.
   * No-op when nothing is left. Databases are dropped separately through database().
   */
  removeEnvironment(env: string, signal: AbortSignal): Promise<{readonly removed: boolean}>;

  /**
   * Starts a stopped, kept instance again (rollback in seconds: no new launch). Returns once it is
   * launched, not once it is healthy (see waitHealthy); no-op on a running instance. Providers
   * that do not keep stopped instances leave it undefined.
   */
  resume?(ref: InstanceRef, signal: AbortSignal): Promise<ReleaseInstance>;
}

export interface WaitHealthyOptions {
  readonly timeoutMs: number;
  readonly intervalMs?: number;
  readonly clock: Clock;
  readonly signal: AbortSignal;
}

/**
 * Probes health() until the instance is healthy. Fails fast with ProviderError (log tail in
 * data) when the instance is not alive, with TimeoutError when timeoutMs runs out.
 */
export async function waitHealthy(provider: Pick<Provider, 'health'>, ref: InstanceRef, opts: WaitHealthyOptions): Promise<HealthReport> {
  const deadline = opts.clock.now().getTime() + opts.timeoutMs;
  let last: HealthReport | undefined;
  while (true) {
    if (opts.signal.aborted) throw new InterruptedError('interrupted while waiting for Odoo to become healthy', {cause: opts.signal.reason});
    last = await provider.health(ref, opts.signal);
    if (last.healthy) return last;
    if (!last.alive) {
      throw new ProviderError(`Odoo of ${ref.env} (launch ${ref.launchId}) is not running: ${last.reason ?? 'unknown reason'}`, {
        data: {logTail: last.logTail ?? []},
        actions: [`odoo-sh-next logs --env ${ref.env}`],
      });
    }
    if (opts.clock.now().getTime() >= deadline) {
      throw new TimeoutError(`Odoo of ${ref.env} did not become healthy within ${Math.round(opts.timeoutMs / 1000)} s: ${last.reason ?? ''}`, {
        data: {logTail: last.logTail ?? []},
        actions: ['raise --wait-timeout', `odoo-sh-next logs --env ${ref.env}`],
      });
    }
    try {
      await opts.clock.sleep(opts.intervalMs ?? 250, opts.signal);
    } catch (err) {
      throw new InterruptedError('interrupted while waiting for Odoo to become healthy', {cause: err});
    }
  }
}

/** The parts of the project configuration providers read (OdooShConfig satisfies it). */
export interface ProviderConfig {
  readonly project: string;
  readonly projectRoot: string;
  readonly postgres: {readonly binDir?: string | undefined; readonly image?: string | undefined};
  /** Container providers: the default Odoo image (a release's code.image wins). */
  readonly odoo?: {readonly image?: string | undefined};
  readonly provider?: {
    readonly docker?: {readonly network?: 'host' | 'bridge' | undefined; readonly socketPath?: string | undefined} | undefined;
  };
  /** Container providers: the edge router. */
  readonly router?: {readonly domain?: string | undefined; readonly image?: string | undefined};
}

/** What a provider factory gets from the composition root. */
export interface ProviderContext {
  readonly config: ProviderConfig;
  readonly clock: Clock;
  readonly logger: Logger;
}
