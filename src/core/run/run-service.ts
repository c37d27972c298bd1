/**
 * Runs: queue, execute inline or by a runner, inspect, follow, cancel. The SQL functions own the
 * state machine, leases and fencing; this service validates input, composes them and executes
 * handlers (run-executor.ts).
 */
import type pg from 'pg';
import type {Clock} from '../clock.js';
import type {DoctorConfig} from '../doctor/doctor-checks.js';
import {parsePushRef, validateSha} from '../env/git-ref.js';
import {validateEnvName} from '../env/env-name.js';
import {ConflictError, UsageError} from '../errors.js';
import type {EventSink} from '../events.js';
import type {Logger} from '../logger.js';
import {withTransaction} from '../store/pool.js';
import {readRunArtifact, runArtifacts, type ArtifactRead, type RunArtifact} from './run-artifacts.js';
import {executeRun} from './run-executor.js';
import {runLogs, type LogsOptions} from './run-logs.js';
import {parseRunId, type Run, type RunEvent} from './run-record.js';
import {RunRepository, type QueueRunInput} from './run-repository.js';
import {isRunState, RUN_STATES, type RunState} from './run-state.js';
import {defaultRunTypes, type RunTypeHandler, type RunTypeRegistry} from './run-types.js';
import {newWorkerId, runWorker, type WorkerOptions, type WorkerSummary} from './runner.js';

/** The configuration the run engine reads (OdooShConfig satisfies it). */
export interface RunServiceConfig extends DoctorConfig {
  readonly state: DoctorConfig['state'] & {
    readonly leaseSeconds: number;
    readonly runMaxAttempts: number;
    readonly eventRetention: {readonly ms: number};
    readonly logRetention: {readonly ms: number};
  };
}

export interface RunServiceDeps {
  readonly pool: pg.Pool;
  readonly projectId: string;
  readonly clock: Clock;
  readonly events: EventSink;
  readonly logger: Logger;
  readonly config: RunServiceConfig;
  /** Default: defaultRunTypes(deps). */
  readonly runTypes?: RunTypeRegistry | undefined;
}

export interface CreateRunInput extends QueueRunInput {
  /** Queue only; a runner executes it. Otherwise this process executes it now and returns the ended run. */
  readonly detach?: boolean | undefined;
  /** Inline runs: aborting it (Ctrl-C) cancels the run. */
  readonly signal?: AbortSignal | undefined;
}

export interface ListRunsInput {
  readonly env?: string | undefined;
  readonly state?: string | undefined;
  readonly type?: string | undefined;
  /** Default 20, at most 1000. */
  readonly limit?: number | undefined;
}

/** How long an inline run waits between claim attempts while its environment is busy. */
const ENV_BUSY_RETRY_MS = 1000;

export class RunService {
  readonly runTypes: RunTypeRegistry;
  readonly #repo: RunRepository;

  constructor(private readonly deps: RunServiceDeps) {
    this.runTypes = deps.runTypes ?? defaultRunTypes(deps);
    this.#repo = new RunRepository(deps.pool, deps.projectId);
  }

  registerRunType(handler: RunTypeHandler): this {
    this.runTypes.register(handler);
    return this;
  }

  /** Queues a run; unless detach, executes it in this process right away and returns the ended run. */
  async create(input: CreateRunInput): Promise<Run> {
    this.runTypes.require(input.type);
    const queued = validateQueueInput({...input, maxAttempts: input.maxAttempts ?? this.deps.config.state.runMaxAttempts});
    if (input.detach) return this.#repo.queue(queued);

    const workerId = newWorkerId('inline');
    const leaseSeconds = this.deps.config.state.leaseSeconds;
    // Queue and claim in one transaction: no runner can take the run in between.
    let {run, claimed} = await withTransaction(this.deps.pool, async (client) => {
      const repo = new RunRepository(client, this.deps.projectId);
      const run = await repo.queue(queued);
      return {run, claimed: await repo.claim(run.id, workerId, leaseSeconds)};
    });
    let said = false;
    while (!claimed) {
      if (!said) {
        said = true;
        this.deps.events.emit({kind: 'message', level: 'info', runId: run.id, message: `run ${run.id} waits: another exclusive run of environment ${run.env} is active`});
      }
      try {
        await this.deps.clock.sleep(ENV_BUSY_RETRY_MS, input.signal);
      } catch {
        await this.#repo.cancel(run.id).catch(() => undefined);
        return this.#repo.get(run.id);
      }
      try {
        // A crashed process may still hold the environment: its expired lease is swept here, not only by a runner.
        await this.#repo.sweep().catch(() => 0);
        claimed = await this.#repo.claim(run.id, workerId, leaseSeconds);
      } catch (err) {
        if (!(err instanceof ConflictError)) throw err;
        return this.#followToEnd(run.id, input.signal); // a runner took it, or it was cancelled
      }
    }
    run = claimed;
    const outcome = await executeRun(run, {
      repo: this.#repo,
      handler: this.runTypes.get(run.type),
      knownTypes: this.runTypes.types,
      workerId,
      leaseSeconds,
      clock: this.deps.clock,
      logger: this.deps.logger,
      events: this.deps.events,
      stop: input.signal ? {signal: input.signal, reason: 'interrupted'} : undefined,
    });
    // This process lost the lease (e.g. it was suspended): another worker owns the run now.
    if (outcome.status === 'lost') return this.#followToEnd(run.id, input.signal);
    return this.#repo.get(run.id);
  }

  async status(id: string): Promise<Run> {
    return this.#repo.get(parseRunId(id));
  }

  async list(input: ListRunsInput = {}): Promise<Run[]> {
    const limit = input.limit ?? 20;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new UsageError(`invalid limit ${limit}: expected 1 to 1000`);
    let state: RunState | undefined;
    if (input.state !== undefined) {
      if (!isRunState(input.state)) throw new UsageError(`unknown run state "${input.state}"; states: ${RUN_STATES.join(', ')}`);
      state = input.state;
    }
    return this.#repo.list({env: input.env === undefined ? undefined : validateEnvName(input.env), state, type: input.type, limit});
  }

  /**
   * The run's events; with follow, new ones as they come until the run ends (or the signal fires).
   * A malformed id throws UsageError at once; an unknown run rejects the first iteration (NotFoundError).
   */
  logs(id: string, opts: LogsOptions = {}): AsyncIterable<RunEvent> {
    const runId = parseRunId(id);
    return runLogs({pool: this.deps.pool, repo: this.#repo, clock: this.deps.clock, logger: this.deps.logger}, runId, opts);
  }

  /** The artifacts of a run (its saved logs, reports...). */
  async artifacts(id: string): Promise<RunArtifact[]> {
    return runArtifacts(this.#repo, parseRunId(id));
  }

  /** One artifact of a run by name: its content (written to `out` when given), or where it lives. */
  async readArtifact(id: string, name: string, out?: string | undefined): Promise<ArtifactRead> {
    return readRunArtifact(this.#repo, parseRunId(id), name, out);
  }

  /** Cancels a queued run at once; a claimed or running run is stopped by its worker (cancelRequested). */
  async cancel(id: string): Promise<Run> {
    return this.#repo.cancel(parseRunId(id));
  }

  /** Claims and executes runs until the signal fires (or, with once, until none is available). */
  async runWorker(opts: WorkerOptions = {}): Promise<WorkerSummary> {
    const c = opts.concurrency ?? 1;
    if (!Number.isInteger(c) || c < 1 || c > 64) throw new UsageError(`invalid concurrency ${c}: expected 1 to 64`);
    return runWorker(
      {
        pool: this.deps.pool,
        projectId: this.deps.projectId,
        runTypes: this.runTypes,
        clock: this.deps.clock,
        logger: this.deps.logger,
        events: this.deps.events,
        leaseSeconds: this.deps.config.state.leaseSeconds,
        eventRetentionMs: this.deps.config.state.eventRetention.ms,
        logRetentionMs: this.deps.config.state.logRetention.ms,
      },
      opts,
    );
  }

  /** Shows the events of a run executed elsewhere and returns it once it ended. */
  async #followToEnd(runId: string, signal: AbortSignal | undefined): Promise<Run> {
    for await (const e of this.logs(runId, {follow: true, signal})) {
      this.deps.events.emit({kind: 'message', level: e.level, message: e.message, runId, ...(e.phase ? {phase: e.phase} : {})});
    }
    return this.#repo.get(runId);
  }
}

function validateQueueInput(input: CreateRunInput): QueueRunInput {
  const {detach: _detach, signal: _signal, ...rest} = input;
  if (rest.env !== undefined) validateEnvName(rest.env);
  if (rest.ref !== undefined) parsePushRef(rest.ref);
  const gitSha = rest.gitSha === undefined ? undefined : validateSha(rest.gitSha);
  if (rest.payload !== undefined && (typeof rest.payload !== 'object' || rest.payload === null || Array.isArray(rest.payload))) {
    throw new UsageError('the run payload must be a JSON object');
  }
  const m = rest.maxAttempts;
  if (m !== undefined && (!Number.isInteger(m) || m < 1 || m > 100)) throw new UsageError(`invalid max attempts ${m}: expected 1 to 100`);
  return {...rest, gitSha};
}
