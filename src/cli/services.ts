import type pg from 'pg';
import type {EventLevel, EventSink} from '../core/events.js';
import {systemClock, type Clock} from '../core/clock.js';
import {createLogger, type Logger} from '../core/logger.js';
import {loadConfig} from '../core/config/load-config.js';
import type {OdooShConfig} from '../core/config/schema.js';
import {ensureStateDir, scratchDirOf} from '../core/state/state-dir.js';
import {stateLocation, type StateLocation} from '../core/state/state-location.js';
import type {StateService} from '../core/state/state-service.js';
import type {RunService} from '../core/run/run-service.js';
import type {PeriodicTask} from '../core/run/runner.js';
import type {RestoreService} from '../core/backup/restore-service.js';
import type {ApprovalsService} from '../core/approvals/approvals-service.js';
import type {PolicyDeps} from '../core/policy/policy-service.js';
import type {AuditService} from '../core/audit/audit-service.js';
import type {EnvironmentService} from '../core/environments/environment-service.js';
import type {RuntimeService} from '../core/environments/runtime-service.js';
import type {BackupService} from '../core/backup/backup-service.js';
import type {Provider} from '../providers/provider.js';
import {toBranchRules} from '../core/environments/branch-rules-from-config.js';
import {createProgressSink} from './render/progress.js';

// pg and the services built on it are imported on first use only, so commands that never touch
// the state store (config schema, --help) start fast.
const store = () => Promise.all([import('../core/store/pool.js'), import('../core/store/migrate.js')]);

export interface ServicesOptions {
  readonly cwd: string;
  readonly configFile?: string | undefined;
  readonly logLevel: EventLevel;
  readonly json: boolean;
  readonly stderr: (line: string) => void;
  readonly warn: (message: string) => void;
  readonly signal: AbortSignal;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** The composition root: every client and service a command uses is built here, lazily, once. */
export interface Services {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly events: EventSink;
  readonly signal: AbortSignal;
  readonly cwd: string;
  config(): Promise<OdooShConfig>;
  /** The state store's pool; migrated (automatically for the project's own cluster). */
  pool(opts?: {readonly migrate?: 'auto' | 'skip-check'}): Promise<pg.Pool>;
  /** The id of the configured project in the state store, created on first use. */
  projectId(): Promise<string>;
  state(): Promise<StateService>;
  runs(): Promise<RunService>;
  audit(): Promise<AuditService>;
  /** Project members and their roles (RBAC is enforced in SQL, see src/core/members/rbac-matrix.ts). */
  members(): Promise<import('../core/members/members-service.js').MembersService>;
  /** The configured runtime provider (loaded on first use). */
  provider(): Promise<Provider>;
  environments(): Promise<EnvironmentService>;
  runtime(): Promise<RuntimeService>;
  /** Backups: create (a `backup` run), list, verify, delete, download (registers the `backup` run type). */
  backups(): Promise<BackupService>;
  /** Policies as code: effective rules, evaluation, enforcement. */
  policies(): Promise<PolicyDeps>;
  /** Approvals; self-approval follows the environment type's policy (`no self-approval`). */
  approvals(): Promise<ApprovalsService>;
  /** Restores, imports and exports (restore and db-export run types). */
  restores(): Promise<RestoreService>;
  /** Releases and deploy / promote / rollback (the deploy and rollback run types are registered in runs()). */
  releases(): Promise<import('../core/release/release-service.js').ReleaseService>;
  /** Image builds: `build` (the build run type is registered in runs()). */
  builder(): Promise<import('../core/release/build-service.js').BuildService>;
  /** The upgrade advisor: `upgrade preview` (the upgrade-preview run type is registered in runs()) and its reports. */
  upgrades(): Promise<import('../core/upgrade/upgrade-service.js').UpgradeService>;
  /** Housekeeping the runner does besides executing runs. */
  periodicTasks(): Promise<PeriodicTask[]>;
  close(): Promise<void>;
}

function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= fn());
}

async function openLocalCluster(location: Extract<StateLocation, {kind: 'local-cluster'}>, config: OdooShConfig): Promise<pg.Pool> {
  // Loaded here only: commands that never touch state do not pay for the cluster code.
  const {PostgresCluster} = await import('../providers/local/postgres-cluster.js');
  const cluster = new PostgresCluster({root: location.clusterRoot, ...(config.postgres.binDir ? {binDir: config.postgres.binDir} : {})});
  const {socketDir, port} = await cluster.start();
  const [{createPool, query}, {migrate}] = await store();
  const admin = createPool({url: cluster.socketUrl('postgres', socketDir, port), max: 1});
  try {
    const {rows} = await query<{ok: boolean}>(admin, 'select exists (select 1 from pg_database where datname = $1) as ok', [location.database]);
    if (!rows[0]?.ok) await query(admin, `create database ${location.database}`).catch((err: {code?: string}) => {
      if (err.code !== '42P04' && !String((err as Error).message).includes('already exists')) throw err;
    });
  } finally {
    await admin.end();
  }
  const pool = createPool({url: cluster.socketUrl(location.database, socketDir, port)});
  await migrate(pool);
  return pool;
}

/** The state database on the provider's own project PostgreSQL (docker-local), created and migrated on first use. */
async function openProviderPostgres(location: Extract<StateLocation, {kind: 'provider-postgres'}>, provider: Provider): Promise<pg.Pool> {
  const [{createPool, query}, {migrate}, {Secret}] = await Promise.all([...(await store()), import('../core/secret.js')]);
  const url = new URL((await provider.database('ops-state', AbortSignal.timeout(180_000))).adminUrl.reveal());
  const admin = createPool({url: new Secret(url.toString()), max: 1});
  try {
    const {rows} = await query<{ok: boolean}>(admin, 'select exists (select 1 from pg_database where datname = $1) as ok', [location.database]);
    if (!rows[0]?.ok) await query(admin, `create database ${location.database}`).catch((err: {code?: string}) => {
      if (err.code !== '42P04') throw err;
    });
  } finally {
    await admin.end();
  }
  url.pathname = `/${location.database}`;
  const pool = createPool({url: new Secret(url.toString())});
  await migrate(pool);
  return pool;
}

export function createServices(opts: ServicesOptions): Services {
  const clock = systemClock;
  const logger = createLogger(opts.stderr, opts.logLevel);
  const events = createProgressSink({json: opts.json, tty: Boolean(process.stderr.isTTY), write: opts.stderr});
  const pools: pg.Pool[] = [];

  const config = once(() => loadConfig({cwd: opts.cwd, env: opts.env ?? process.env, ...(opts.configFile ? {file: opts.configFile} : {})}));
  const location = once(async () => stateLocation(await config()));

  let rawPool: Promise<pg.Pool> | undefined;
  const openPool = async (): Promise<pg.Pool> => {
    const loc = await location();
    if (loc.kind !== 'url') await ensureStateDir((await config()).projectRoot);
    const [{createPool}] = await store();
    const pool = loc.kind === 'url' ? createPool({url: loc.url})
      : loc.kind === 'provider-postgres' ? await openProviderPostgres(loc, await provider()) : await openLocalCluster(loc, await config());
    pools.push(pool);
    return pool;
  };
  const pool: Services['pool'] = async (o = {}) => {
    rawPool ??= openPool();
    const p = await rawPool;
    const [, {assertMigrated}] = await store();
    if (o.migrate !== 'skip-check') await assertMigrated(p);
    return p;
  };

  const projectId = once(async () => {
    const p = await pool();
    const [{query}] = await store();
    const name = (await config()).project;
    const found = await query<{id: string}>(p, 'select id from ops.projects where name = $1', [name]);
    if (found.rows[0]) return found.rows[0].id;
    const created = await query<{id: string}>(p, 'select (ops.create_project($1)).id as id', [name]);
    return created.rows[0]!.id;
  });

  const provider = once(async () => {
    const [{createProvider}, cfg] = await Promise.all([import('../providers/registry.js'), config()]);
    await ensureStateDir(cfg.projectRoot);
    return createProvider(cfg.provider.name, {config: cfg, clock, logger});
  });
  const environmentRepository = once(async () => {
    const {EnvironmentRepository} = await import('../core/environments/environment-repository.js');
    return new EnvironmentRepository(await pool(), await projectId());
  });
  // What the backup service and its run type need; `runs` is passed as an accessor (not awaited here).
  const backupDeps = once(async () => {
    const [{createBackupStorage}, cfg] = await Promise.all([import('../core/storage/storage-factory.js'), config()]);
    return {
      pool: await pool(), projectId: await projectId(), project: cfg.project, provider, clock, logger, runs,
      storage: once(() => createBackupStorage(cfg.backups.storage)), config: cfg.backups,
      scratchDir: scratchDirOf(cfg.projectRoot),
      collectGarbage: (await import('./collect-garbage.js')).garbageCollector(),
    };
  });
  // Every run type of this release is registered here, so a runner can execute whatever was queued.
  const runs: () => Promise<RunService> = once(async () => {
    const [{RunService}, {previewUpRunType, destroyRunType}, {cloneRunType}, {backupRunType}, {maskRunType}, cfg] = await Promise.all([
      import('../core/run/run-service.js'), import('../core/environments/lifecycle-run-types.js'),
      import('../core/clone/clone-run-type.js'), import('../core/backup/backup-service.js'), import('../core/masking/mask-env.js'), config(),
    ]);
    const service = new RunService({pool: await pool(), projectId: await projectId(), clock, events, logger, config: cfg});
    const lifecycle = {project: cfg.project, odoo: cfg.odoo, provider, environments: environmentRepository, clock};
    const buildRelease = async () => (await import('../core/release/build-composition.js')).buildReleaseFn(services);
    const dropKept = async (env: string, signal: AbortSignal) => {
      const restores = await services.restores();
      return (await restores.confirm(await restores.kept(env), signal)).length;
    };
    service
      .registerRunType(previewUpRunType({...lifecycle, buildRelease}))
      .registerRunType(destroyRunType({...lifecycle, dropKept}))
      .registerRunType(cloneRunType({
        ...lifecycle,
        buildRelease,
        masking: cfg.masking.rules ? {rulesFile: cfg.masking.rules} : undefined,
        scratchDir: scratchDirOf(cfg.projectRoot),
        fromBackup: (await import('../core/clone/clone-from-backup.js')).cloneBackupDeps({
          pool: await pool(), projectId: await projectId(), maxAge: cfg.backups.cloneFromBackupMaxAge, storage: (await backupDeps()).storage,
        }),
      }))
      .registerRunType(backupRunType(await backupDeps()))
      .registerRunType((await import('../core/backup/prune-service.js')).backupPruneRunType(async () => (await import('../core/backup/prune-service.js')).createPruneService(services)))
      .registerRunType(maskRunType({project: cfg.project, provider, environments: () => services.environments(), variables: process.env}));
    const {restoreRunTypes} = await import('../core/backup/restore-composition.js');
    for (const t of await restoreRunTypes(services)) service.registerRunType(t);
    for (const t of await (await import('../core/release/release-composition.js')).releaseRunTypes(services)) service.registerRunType(t);
    for (const t of await (await import('../core/release/build-composition.js')).buildRunTypes(services)) service.registerRunType(t);
    const upgrade = await import('../core/upgrade/upgrade-composition.js');
    service.registerRunType(await upgrade.upgradeRunType(services)).registerRunType(await upgrade.upgradeDiscardType(services));
    return service;
  });

  const services: Services = {
    clock,
    logger,
    events,
    signal: opts.signal,
    cwd: opts.cwd,
    config,
    pool,
    projectId,
    state: once(async () => {
      const loc = await location();
      const describe = loc.kind === 'url' ? 'state.url'
        : loc.kind === 'provider-postgres' ? `${loc.provider} project PostgreSQL (database ${loc.database})` : `project cluster (${loc.clusterRoot}, database ${loc.database})`;
      const {StateService} = await import('../core/state/state-service.js');
      return new StateService({pool: await pool({migrate: 'skip-check'}), location: loc, describe});
    }),
    runs,
    provider,
    periodicTasks: async () => {
      const envs = await services.environments();
      const {createFireDueBackupsDeps, fireDueBackups} = await import('../core/backup/schedule-service.js');
      const backupDeps = await createFireDueBackupsDeps(services);
      const {restoreExpiryTask} = await import('../core/backup/restore-service.js');
      return [
        restoreExpiryTask(() => services.restores()),
        {
          name: 'preview reap',
          everyMs: 60_000,
          // Destroy runs are queued (detached): this worker executes them like any other run.
          run: async (signal) => {
            await envs.reap({detach: true, signal});
          },
        },
        {
          name: 'backup schedules',
          everyMs: 30_000,
          // A slot fires once even with several runners (ops.claim_backup_slot); the backup run is queued here.
          run: async (signal) => {
            await fireDueBackups(backupDeps, clock.now(), {detach: true, signal});
          },
        },
      ];
    },
    runtime: once(async () => {
      const {RuntimeService} = await import('../core/environments/runtime-service.js');
      return new RuntimeService({provider, environments: environmentRepository, pool: () => pool(), projectId});
    }),
    environments: once(async () => {
      const [{EnvironmentService}, cfg] = await Promise.all([import('../core/environments/environment-service.js'), config()]);
      return new EnvironmentService({
        cwd: cfg.projectRoot, clock, rules: toBranchRules(cfg.branches), defaultModules: cfg.odoo.modules,
        environments: await environmentRepository(), runs: await runs(),
        recordStagingRelease: async (env) => (await services.releases()).recordStagingBuild(env),
        deploy: async ({env, sha, signal}) => {
          const out = await (await services.releases()).deploy({env, sha, allModules: false, signal: signal ?? opts.signal, confirm: async () => undefined});
          return {env, release: out.release.id, url: ((out.run.result ?? {}) as {url?: string}).url ?? null, run: out.run};
        },
      });
    }),
    policies: once(async () => (await import('../core/policy/policy-composition.js')).policyDeps(services)),
    // Self-approval is refused: the policy grammar has no rule that allows it (issue: "unless the policy says so").
    approvals: once(async () => (await import('../core/approvals/approvals-service.js')).approvalsServiceFor(services)),
    restores: once(async () => (await import('../core/backup/restore-composition.js')).restoreServicesFor(services)),
    releases: once(async () => (await import('../core/release/release-composition.js')).releaseServiceFor(services)),
    builder: once(async () => (await import('../core/release/build-composition.js')).buildServiceFor(services)),
    upgrades: once(async () => (await import('../core/upgrade/upgrade-composition.js')).upgradeServiceFor(services)),
    backups: once(async () => {
      const {BackupService} = await import('../core/backup/backup-service.js');
      return new BackupService(await backupDeps());
    }),
    members: once(async () => {
      const {MembersService} = await import('../core/members/members-service.js');
      return new MembersService({pool: await pool(), projectId: await projectId()});
    }),
    audit: once(async () => {
      const {AuditService} = await import('../core/audit/audit-service.js');
      return new AuditService({pool: await pool(), projectId: await projectId()});
    }),
    async close() {
      await Promise.all(pools.map((p) => p.end().catch(() => undefined)));
    },
  };
  return services;
}
