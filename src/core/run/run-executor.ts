/**
 * Executes one claimed attempt of a run: start it, keep its lease alive with heartbeats, give the
 * handler a RunContext whose writes are fenced by (run, worker, attempt), and finish it. Used by
 * inline execution (`run create` without --detach) and by the runner alike.
 */
import {AsyncLocalStorage} from 'node:async_hooks';
import type {Clock} from '../clock.js';
import {ConflictError, InterruptedError, isOdooShError, ProviderError, TimeoutError} from '../errors.js';
import type {EventLevel, EventSink} from '../events.js';
import type {Logger} from '../logger.js';
import {redact} from '../secret.js';
import type {Lease, RunRepository} from './run-repository.js';
import type {Run} from './run-record.js';
import {decideFinish, type FinalState, type StopReason} from './run-state.js';
import type {RunContext, RunTypeHandler} from './run-types.js';

export interface ExecuteOptions {
  /** Connection for this attempt's writes. */
  readonly repo: RunRepository;
  readonly handler: RunTypeHandler | undefined;
  readonly knownTypes: readonly string[];
  readonly workerId: string;
  readonly leaseSeconds: number;
  /** Default: a third of the lease. */
  readonly heartbeatMs?: number | undefined;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly events: EventSink;
  /** How long a handler may take to stop once aborted before the attempt ends without it (default 10 s). */
  readonly abortGraceMs?: number | undefined;
  /** An outer stop: Ctrl-C of an inline run ('interrupted' → cancelled) or a worker shutdown ('shutdown' → left to lease expiry). */
  readonly stop?: {readonly signal: AbortSignal; readonly reason: 'interrupted' | 'shutdown'} | undefined;
}

export interface ExecutionOutcome {
  /** The run after this attempt; for 'lost' and 'abandoned', as last known by this worker. */
  readonly run: Run;
  /** finished with a state, 'lost' (another attempt owns the run) or 'abandoned' (worker shutdown). */
  readonly status: FinalState | 'lost' | 'abandoned';
  readonly error?: unknown;
}

const errorMessage = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** The JSON-safe description of a failure, kept in the run's result. */
function errorResult(err: unknown): Record<string, unknown> {
  const base = isOdooShError(err)
    ? {code: err.code, name: err.name, message: err.message, actions: err.actions, ...(err.data ? {data: err.data} : {})}
    : {code: 'UNEXPECTED', name: err instanceof Error ? err.name : 'Error', message: errorMessage(err), actions: []};
  try {
    return {error: JSON.parse(JSON.stringify(redact(base))) as Record<string, unknown>};
  } catch {
    return {error: {code: base.code, name: base.name, message: base.message, actions: base.actions}};
  }
}

async function retrying<T>(fn: () => Promise<T>, clock: Clock, attempts = 4): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof ProviderError && err.retryable) || i >= attempts - 1) throw err;
      await clock.sleep(250 * 2 ** i);
    }
  }
}

export async function executeRun(claimed: Run, opts: ExecuteOptions): Promise<ExecutionOutcome> {
  const {repo, clock, events, leaseSeconds} = opts;
  const lease: Lease = {runId: claimed.id, workerId: opts.workerId, attempt: claimed.attempts};
  const logger = opts.logger.child({runId: claimed.id, attempt: lease.attempt, worker: opts.workerId});
  const emit = (kind: 'phase-start' | 'phase-end' | 'phase-fail' | 'message', level: EventLevel, message: string, phase?: string) =>
    events.emit({kind, level, message, runId: claimed.id, ...(phase ? {phase} : {})});

  const finish = async (status: FinalState, error: unknown, result: Record<string, unknown> | null): Promise<ExecutionOutcome> => {
    try {
      const run = await retrying(() => repo.finish(lease, status, {error: error === undefined ? null : errorMessage(error), result}), clock);
      emit('message', status === 'succeeded' ? 'info' : 'error', `run ${run.id} ${status}${error === undefined ? '' : `: ${errorMessage(error)}`}`);
      return {run, status, ...(error === undefined ? {} : {error})};
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      logger.log('warn', 'finish rejected: lease lost', {write: 'finish', status, reason: err.message});
      return {run: claimed, status: 'lost', error: err};
    }
  };

  if (!opts.handler) {
    const err = new ProviderError(`this worker does not know run type "${claimed.type}" (known: ${opts.knownTypes.join(', ') || 'none'})`, {
      actions: ['run this run type with an odoo-sh-next release that knows it'],
    });
    return finish('failed', err, errorResult(err));
  }
  const handler = opts.handler;

  let run: Run;
  try {
    run = await repo.start(lease, leaseSeconds);
  } catch (err) {
    if (!(err instanceof ConflictError)) throw err;
    logger.log('warn', 'start rejected: lease lost', {write: 'start', reason: err.message});
    return {run: claimed, status: 'lost', error: err};
  }
  emit('message', 'info', `run ${run.id} (${run.type}) attempt ${lease.attempt} started on ${opts.workerId}`);

  const ac = new AbortController();
  let stop: StopReason | undefined;
  const abort = (reason: StopReason, err: Error) => {
    if (ac.signal.aborted) return;
    stop = reason;
    ac.abort(err);
  };

  let beating: Promise<void> | undefined;
  const beat = () => {
    if (beating || stop === 'lease-lost') return;
    beating = (async () => {
      try {
        if (await repo.heartbeat(lease, leaseSeconds)) abort('cancel-requested', new InterruptedError(`run ${run.id} was cancelled`));
      } catch (err) {
        if (err instanceof ConflictError) {
          logger.log('warn', 'heartbeat rejected: lease lost', {write: 'heartbeat', reason: err.message});
          abort('lease-lost', err);
        } else {
          logger.log('warn', `heartbeat failed: ${errorMessage(err)}`, {write: 'heartbeat'});
        }
      } finally {
        beating = undefined;
      }
    })();
  };
  // Timers run on the injected clock and stop when the attempt ends.
  const timers = new AbortController();
  const heartbeatMs = opts.heartbeatMs ?? Math.max(100, (leaseSeconds * 1000) / 3);
  void (async () => {
    while (stop !== 'lease-lost') {
      if (!(await clock.sleep(heartbeatMs, timers.signal).then(() => true, () => false))) return;
      beat();
    }
  })();
  if (handler.timeoutMs !== undefined) {
    const limit = handler.timeoutMs;
    clock.sleep(limit, timers.signal).then(
      () => abort('timeout', new TimeoutError(`run ${run.id} (${run.type}) took longer than ${limit} ms`)),
      () => undefined,
    );
  }
  const outer = opts.stop;
  const onOuterStop = () =>
    abort(outer!.reason, outer!.reason === 'interrupted' ? new InterruptedError('interrupted') : new InterruptedError('the worker is shutting down'));
  if (outer?.signal.aborted) onOuterStop();
  else outer?.signal.addEventListener('abort', onOuterStop, {once: true});

  // The phase of the code running now: each phase's async work carries its own, so events of two
  // phases running at once (a backup's database and filestore) are tagged right, and a nested
  // phase gives way to its parent's when it ends.
  const phases = new AsyncLocalStorage<string>();
  const currentPhase = () => phases.getStore() ?? null;
  const ctx: RunContext = {
    run,
    attempt: lease.attempt,
    workerId: opts.workerId,
    signal: ac.signal,
    clock,
    logger,
    async event(level, message, payload) {
      const phase = currentPhase();
      emit('message', level, message, phase ?? undefined);
      try {
        await repo.event(run.id, {level, message, payload: payload ?? {}, phase, lease});
      } catch (err) {
        if (err instanceof ConflictError) logger.log('warn', 'event rejected: lease lost', {write: 'event', reason: err.message});
        throw err;
      }
    },
    phase: (name, fn) => phases.run(name, async () => {
      const started = clock.now().getTime();
      emit('phase-start', 'info', name, name);
      try {
        await repo.event(run.id, {level: 'info', message: `${name} started`, phase: name, lease});
        const value = await fn();
        const ms = clock.now().getTime() - started;
        emit('phase-end', 'info', name, name);
        await repo.event(run.id, {level: 'info', message: `${name} done`, payload: {durationMs: ms}, phase: name, lease});
        return value;
      } catch (err) {
        emit('phase-fail', 'error', errorMessage(err), name);
        if (!(err instanceof ConflictError)) {
          await repo.event(run.id, {level: 'error', message: `${name} failed: ${errorMessage(err)}`, phase: name, lease}).catch(() => undefined);
        }
        throw err;
      }
    }),
    async saveLog(name, saveOpts) {
      try {
        return await repo.saveLog(lease, name, {phase: saveOpts?.phase ?? null});
      } catch (err) {
        if (err instanceof ConflictError) logger.log('warn', 'log rejected: lease lost', {write: 'log', reason: err.message});
        throw err;
      }
    },
  };

  // A handler that ignores its aborted signal is given up on after a grace period; whatever it
  // still writes afterwards is refused by the fencing once the attempt has finished.
  const graceMs = opts.abortGraceMs ?? 10_000;
  const givenUp = new Promise<never>((_, reject) => {
    ac.signal.addEventListener('abort', () => {
      clock.sleep(graceMs, timers.signal).then(
        () => reject(new InterruptedError(`the ${run.type} handler did not stop within ${graceMs} ms of being aborted`)),
        () => undefined,
      );
    }, {once: true});
  });
  givenUp.catch(() => undefined);

  let outcome: {ok: true; result: Record<string, unknown>} | {ok: false; error: unknown};
  try {
    const result = await Promise.race([handler.execute(ctx), givenUp]);
    outcome = {ok: true, result: result ?? {}};
  } catch (err) {
    outcome = {ok: false, error: stop && stop !== 'lease-lost' && ac.signal.reason instanceof Error ? ac.signal.reason : err};
  } finally {
    timers.abort();
    outer?.signal.removeEventListener('abort', onOuterStop);
    await beating;
  }

  const decision = decideFinish(outcome, stop);
  if (decision.action === 'abandon') {
    logger.log('info', 'worker shutting down: run left to lease expiry', {});
    emit('message', 'warn', `run ${run.id} left to be retried after its lease expires (worker shutting down)`);
    return {run, status: 'abandoned', ...(outcome.ok ? {} : {error: outcome.error})};
  }
  return outcome.ok
    ? finish(decision.status, undefined, outcome.result)
    : finish(decision.status, outcome.error, errorResult(outcome.error));
}
