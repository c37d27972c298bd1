/**
 * One staging build (the body of a `clone` run, see clone-run-type.ts for the phases): keeps what
 * the build created so that a failure before the switch can undo exactly that.
 */
import {readdir, rm} from 'node:fs/promises';
import {basename, join} from 'node:path';
import type {Clock} from '../clock.js';
import {InternalError} from '../errors.js';
import type {Environment} from '../environments/environment-record.js';
import type {EnvironmentRepository} from '../environments/environment-repository.js';
import type {RunContext} from '../run/run-types.js';
import {waitHealthy, type DatabaseHandle, type OdooCode, type Provider, type ReleaseInstance} from '../../providers/provider.js';
import type {CloneMasking, prepareClonedDatabase} from './prepare-clone.js';
import {formatAge, loadBackupInto, newestBackup, type CloneBackupCandidate, type CloneBackupDeps} from './clone-from-backup.js';
import {
  cloneDatabaseName, cloneDatabasePattern, dumpRestoreMode, planClone, type ClonePlan, type DumpRestoreMode,
} from './clone-plan.js';
import {smokeLogin} from '../environments/lifecycle-run-types.js';
import {
  copyByStream, copyByTemplate, dumpToDirectory, matchingDatabases, restoreFromDirectory, setBaseUrl, sourceConnections,
} from './staging-database.js';

export interface StagingBuildInput {
  readonly ctx: RunContext;
  readonly provider: Provider;
  readonly envs: EnvironmentRepository;
  readonly target: Environment;
  readonly source: Environment & {readonly databaseName: string};
  readonly project: string;
  readonly code: OdooCode;
  readonly masking: CloneMasking | undefined;
  readonly prepare: typeof prepareClonedDatabase;
  readonly clock: Clock;
  readonly scratchDir: string;
  readonly healthTimeoutMs: number;
  readonly cpus: number;
  /** Clones from the newest backup when younger than its maxAgeMs (unset: always a live copy). */
  readonly fromBackup?: CloneBackupDeps | undefined;
  /** The release the build runs (default: the run's commit), e.g. the release of the image built for it. */
  readonly release?: string | undefined;
}

/** Cleanup after a failure or an interrupt gets its own time budget (the run's signal may be aborted). */
const cleanupSignal = () => AbortSignal.timeout(120_000);

export class StagingBuild {
  readonly env: string;
  readonly database: string;
  readonly launchId: string;
  readonly release: string;
  readonly #i: StagingBuildInput;
  readonly #scratch: string;
  #src!: DatabaseHandle;
  #dst!: DatabaseHandle;
  #copy: {promise: Promise<void>; abort: AbortController} | undefined;
  #stopped: ReleaseInstance[] = [];
  #instance: ReleaseInstance | undefined;
  #backup: CloneBackupCandidate | undefined;
  /** What the database was copied from, for events and the result. */
  #copiedFrom = 'live copy';

  constructor(input: StagingBuildInput) {
    const {ctx, target, project} = input;
    this.#i = input;
    this.env = target.name;
    this.database = cloneDatabaseName(project, target.name, ctx.run.id, ctx.attempt);
    this.launchId = `run-${ctx.run.id}${ctx.attempt > 1 ? `-${ctx.attempt}` : ''}`;
    this.release = input.release ?? ctx.run.gitSha ?? 'workdir';
    this.#scratch = join(input.scratchDir, `clone-${target.name}-${ctx.run.id}-${ctx.attempt}`);
  }

  /**
   * Scratch folders of earlier builds of this env (what a killed build's dump left): clone runs of
   * one environment never overlap, so any other `clone-<env>-<run>-<attempt>` folder is a leftover.
   */
  async #dropStaleScratch(): Promise<void> {
    const mine = basename(this.#scratch);
    const pattern = new RegExp(`^clone-${this.env.replace(/[^A-Za-z0-9]/g, (c) => `\\${c}`)}-\\d+-\\d+$`);
    for (const name of await readdir(this.#i.scratchDir).catch(() => [] as string[])) {
      if (name !== mine && pattern.test(name)) await rm(join(this.#i.scratchDir, name), {recursive: true, force: true});
    }
  }

  async run(): Promise<Record<string, unknown>> {
    const {ctx, provider, envs, source} = this.#i;
    let switched = false;
    try {
      await this.#dropStaleScratch();
      const plan = await ctx.phase('snapshot', () => this.#snapshot());
      const strategy = await ctx.phase('database', () => this.#database(plan));
      await ctx.phase('filestore', () => this.#filestore());
      const given = this.#i.target.url ?? 'http://localhost';
      const prepared = await ctx.phase('prepare', () => this.#i.prepare({
        provider, env: this.env, envType: 'staging', database: this.database, code: this.#i.code, url: given,
        masking: this.#i.masking, signal: ctx.signal, event: (level, message, data) => ctx.event(level, message, data), clock: this.#i.clock,
      }));
      const instance = await ctx.phase('start', () => this.#start());
      const url = await ctx.phase('health', () => this.#health(instance, given));
      await envs.setState({name: this.env, status: 'active', url, release: this.release, database: this.database, runId: ctx.run.id});
      switched = true;
      const dropped = await ctx.phase('cleanup', () => this.#cleanup());
      return {
        env: this.env, source: source.name, sourceDatabase: source.databaseName, database: this.database, strategy, reason: plan.reason,
        copiedFrom: this.#copiedFrom, backupId: strategy === 'backup' ? this.#backup?.id ?? null : null,
        url, release: this.release, launchId: this.launchId, droppedDatabases: dropped,
        identity: prepared.identity, neutralized: prepared.neutralize.method, masked: prepared.masking !== null,
      };
    } catch (err) {
      if (!switched) await this.#abandon(err);
      throw err;
    }
  }

  async #snapshot(): Promise<ClonePlan> {
    const {ctx, provider, source} = this.#i;
    await provider.prepare(ctx.signal);
    this.#src = await provider.database(source.name, ctx.signal);
    this.#dst = await provider.database(this.env, ctx.signal);
    await this.#dropLeftovers();
    const connections = await sourceConnections(this.#src, source.databaseName, ctx.signal);
    const backups = this.#i.fromBackup;
    this.#backup = backups ? await newestBackup(backups, source.name, this.#i.clock.now()) : undefined;
    const plan = planClone({
      sourceConnections: connections, sameServer: this.#src.adminUrl.reveal() === this.#dst.adminUrl.reveal(),
      backupAgeMs: this.#backup?.ageMs, backupMaxAgeMs: backups?.maxAgeMs,
    });
    await ctx.event('info', `copy ${source.databaseName} → ${this.database}: ${plan.strategy} (${plan.reason})`, {
      strategy: plan.strategy, connections, newestBackup: this.#backup?.id ?? null, newestBackupAgeMs: this.#backup?.ageMs ?? null,
    });
    if (plan.strategy === 'dump-restore' && this.#mode().kind === 'directory') {
      await dumpToDirectory({handle: this.#src, database: source.databaseName}, this.#mode(), this.#dumpDir, ctx.signal);
      this.#startCopy();
    }
    return plan;
  }

  async #database(plan: ClonePlan): Promise<ClonePlan['strategy']> {
    const {ctx, source} = this.#i;
    const from = {handle: this.#src, database: source.databaseName};
    const to = {handle: this.#dst, database: this.database};
    if (plan.strategy === 'template') {
      if (await copyByTemplate(this.#dst, source.databaseName, this.database, ctx.signal)) {
        this.#startCopy();
        return 'template';
      }
      await ctx.event('warn', `${source.databaseName} got a session meanwhile: copying it with dump and restore instead`);
    }
    if (plan.strategy === 'backup') {
      if (await this.#fromBackup()) return 'backup';
    }
    const mode = this.#mode();
    if (mode.kind === 'stream') {
      await copyByStream(from, to, ctx.signal);
    } else {
      if (!this.#copy) await dumpToDirectory(from, mode, this.#dumpDir, ctx.signal);
      this.#startCopy();
      await restoreFromDirectory(to, {mode, dir: this.#dumpDir, sourceOwner: this.#src.ownerRole}, ctx.signal);
    }
    this.#startCopy();
    this.#copiedFrom = 'live copy';
    return 'dump-restore';
  }

  /** Loads the newest backup into the build's database and filestore; false (after cleaning up): copy live instead. */
  async #fromBackup(): Promise<boolean> {
    const {ctx, provider, project} = this.#i;
    const deps = this.#i.fromBackup;
    const b = this.#backup;
    if (!deps || !b) throw new InternalError('a backup clone without a backup');
    const from = `from backup ${b.id} taken ${formatAge(b.ageMs)} ago`;
    await ctx.event('info', `copying ${from} (production is not read)`, {backupId: b.id, backupCreatedAt: b.createdAt, backupAgeMs: b.ageMs});
    try {
      const r = await loadBackupInto(deps, {
        project, backupId: b.id, provider, handle: this.#dst, env: this.env, database: this.database,
        work: join(this.#scratch, 'backup'), signal: ctx.signal,
      });
      this.#copiedFrom = from;
      await ctx.event('info', `${this.database} and its filestore loaded ${from} (${r.attachmentFilesChecked} attachment files checked)`, {backupId: b.id});
      return true;
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      await ctx.event('warn', `could not clone ${from} (${(err as Error).message}): copying live production instead`, {backupId: b.id});
      const signal = cleanupSignal();
      await this.#dst.dropDatabase(this.database, signal);
      await provider.filestore.remove({env: this.env, database: this.database}, signal);
      return false;
    }
  }

  async #filestore(): Promise<void> {
    await this.#copy?.promise;
    const where = this.#i.provider.filestore.location({env: this.env, database: this.database}).path;
    const what = this.#copy ? `filestore of ${this.#i.source.databaseName} copied` : `filestore restored ${this.#copiedFrom}`;
    await this.#i.ctx.event('info', `${what}${where ? ` to ${where}` : ''}`);
  }

  async #start(): Promise<ReleaseInstance> {
    const {ctx, provider} = this.#i;
    const previous = (await provider.list({env: this.env}, ctx.signal)).filter((i) => i.launchId !== this.launchId);
    if (!provider.capabilities.blueGreen) {
      for (const old of previous.filter((i) => i.state === 'running')) {
        await provider.stop(old, ctx.signal);
        this.#stopped.push(old);
      }
    }
    this.#instance = await provider.startRelease(
      {env: this.env, envType: 'staging', release: this.release, launchId: this.launchId, database: this.database, code: this.#i.code}, ctx.signal);
    await ctx.event('info', `Odoo started (instance ${this.#instance.id}) on ${this.#instance.url}`);
    return this.#instance;
  }

  async #health(instance: ReleaseInstance, given: string): Promise<string> {
    const {ctx, provider} = this.#i;
    await waitHealthy(provider, instance, {timeoutMs: this.#i.healthTimeoutMs, clock: this.#i.clock, signal: ctx.signal});
    const {url} = await provider.route(this.env, instance, ctx.signal);
    if (url.replace(/\/+$/, '') !== given.replace(/\/+$/, '')) {
      // Providers without a router know the URL only now (before anything asked Odoo for it).
      await setBaseUrl(this.#dst, this.database, url, ctx.signal);
      await ctx.event('info', `web.base.url set to ${url} (frozen)`);
    }
    await smokeLogin(instance.url, ctx.signal);
    await ctx.event('info', `healthy: ${url}`);
    return url;
  }

  /** After the switch: previous releases, then every other build database of the env with its filestore. */
  async #cleanup(): Promise<string[]> {
    const {ctx, provider} = this.#i;
    const signal = cleanupSignal();
    for (const old of (await provider.list({env: this.env}, signal)).filter((i) => i.launchId !== this.launchId)) {
      await provider.remove(old, signal).catch((err: Error) => ctx.event('warn', `could not remove release ${old.launchId}: ${err.message}`));
    }
    const dropped: string[] = [];
    for (const database of await this.#otherDatabases(signal, [])) {
      try {
        await this.#dst.dropDatabase(database, signal);
        await provider.filestore.remove({env: this.env, database}, signal);
        dropped.push(database);
        await ctx.event('info', `dropped previous database ${database} and its filestore`, {database});
      } catch (err) {
        await ctx.event('warn', `could not drop previous database ${database} (the next build retries): ${(err as Error).message}`);
      }
    }
    await rm(this.#scratch, {recursive: true, force: true});
    return dropped;
  }

  /** Build databases of this env other than ours and the env's current one, and not served by a running instance. */
  async #dropLeftovers(): Promise<void> {
    const {ctx, provider} = this.#i;
    const running = (await provider.list({env: this.env}, ctx.signal)).filter((i) => i.state === 'running').map((i) => i.database);
    for (const database of await this.#otherDatabases(ctx.signal, [this.#i.target.databaseName, ...running])) {
      await this.#dst.dropDatabase(database, ctx.signal);
      await provider.filestore.remove({env: this.env, database}, ctx.signal);
      await ctx.event('info', `dropped ${database}, left by an earlier build that did not finish`, {database});
    }
    if (await this.#dst.databaseExists(this.database, ctx.signal)) await this.#dst.dropDatabase(this.database, ctx.signal);
    await provider.filestore.remove({env: this.env, database: this.database}, ctx.signal);
  }

  async #otherDatabases(signal: AbortSignal, keep: readonly (string | null)[]): Promise<string[]> {
    const {project, source, target} = this.#i;
    const builds = await matchingDatabases(this.#dst, cloneDatabasePattern(project, this.env), signal);
    const previous = target.databaseName && (await this.#dst.databaseExists(target.databaseName, signal)) ? [target.databaseName] : [];
    const skip = new Set([this.database, source.databaseName, ...keep]);
    return [...new Set([...builds, ...previous])].filter((d) => !skip.has(d));
  }

  /** A failed build removes what it made and, when it had stopped the previous release, restarts it. */
  async #abandon(cause: unknown): Promise<void> {
    const {ctx, provider, envs, target} = this.#i;
    const signal = cleanupSignal();
    const note = (message: string) => ctx.event('warn', message).catch(() => undefined);
    this.#copy?.abort.abort();
    await this.#copy?.promise.catch(() => undefined);
    try {
      if (this.#instance) await provider.remove(this.#instance, signal);
      if (this.#dst) await this.#dst.dropDatabase(this.database, signal);
      await provider.filestore.remove({env: this.env, database: this.database}, signal);
      await rm(this.#scratch, {recursive: true, force: true});
    } catch (err) {
      await note(`cleanup of the failed build left something behind (the next build removes it): ${(err as Error).message}`);
    }
    let serving = target.databaseName !== null && target.status === 'active' && this.#stopped.length === 0;
    const previous = this.#stopped.find((i) => i.routed) ?? this.#stopped[0];
    if (previous) {
      try {
        const again = await provider.startRelease({
          env: this.env, envType: 'staging', release: previous.release, launchId: `${this.launchId}-restore`, database: previous.database, code: this.#i.code,
        }, signal);
        await waitHealthy(provider, again, {timeoutMs: this.#i.healthTimeoutMs, clock: this.#i.clock, signal});
        const {url} = await provider.route(this.env, again, signal);
        if (url !== target.url) await setBaseUrl(this.#dst, previous.database, url, signal);
        await envs.setState({name: this.env, status: 'active', url, release: previous.release, database: previous.database, runId: ctx.run.id});
        await note(`build failed (${(cause as Error).message}): the previous release runs again on ${previous.database} at ${url}`);
        serving = true;
      } catch (err) {
        await note(`could not restart the previous release: ${(err as Error).message}`);
      }
    }
    if (!serving) await envs.setState({name: this.env, status: 'failed', runId: ctx.run.id}).catch(() => undefined);
  }

  #mode(): DumpRestoreMode {
    // Tools of the local provider run on this machine and see our scratch folder; elsewhere they stream.
    return dumpRestoreMode({toolsSeeScratch: this.#i.provider.name === 'local', cpus: this.#i.cpus});
  }

  get #dumpDir(): string {
    return join(this.#scratch, 'dump');
  }

  /** The filestore copy starts once the snapshot exists, so every file the snapshot references is already written. */
  #startCopy(): void {
    if (this.#copy) return;
    const {ctx, provider, source} = this.#i;
    const abort = new AbortController();
    const promise = provider.filestore.copy(
      {env: source.name, database: source.databaseName}, {env: this.env, database: this.database}, AbortSignal.any([ctx.signal, abort.signal]));
    promise.catch(() => undefined); // awaited in the filestore phase
    this.#copy = {promise, abort};
  }
}
