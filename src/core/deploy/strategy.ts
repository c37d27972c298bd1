/**
 * Deploy strategies as types (house style rule 18): a strategy is an ordered list of named stages,
 * each failing with a StageError naming it, and its rollback is a pure function of the failed stage.
 * Strategies talk to the runtime only through the Provider contract and wait only through the
 * injected Clock, so tests drive them with a recording provider double at zero delay.
 */
import type {Clock} from '../clock.js';
import {InterruptedError, OdooShError, isOdooShError} from '../errors.js';
import type {EventLevel} from '../events.js';
import type {Provider, ReleaseInstance, ReleaseSpec} from '../../providers/provider.js';

export const STRATEGY_NAMES = ['blue-green', 'immediate'] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

/** The provider verbs a strategy uses (RunContext's provider or any Provider satisfies it). */
export type DeployProvider = Pick<Provider, 'name' | 'startRelease' | 'health' | 'route' | 'stop' | 'remove' | 'list'>;

/** The part of a run a strategy needs (RunContext satisfies it): named phases and events. */
export interface DeployRun {
  phase<T>(name: string, fn: () => Promise<T>): Promise<T>;
  event(level: EventLevel, message: string, payload?: Readonly<Record<string, unknown>>): Promise<void>;
}

/** The health + smoke gate a green (or new) release must pass before it gets traffic (see smoke.ts). */
export type SmokeGate = (instance: ReleaseInstance, signal: AbortSignal) => Promise<void>;

export interface DeployTimings {
  /** How long wait-healthy probes before failing with TimeoutError. */
  readonly healthTimeoutMs: number;
  /** Pause between two health probes (default 250 ms). */
  readonly healthIntervalMs?: number;
  /** How long drain-blue lets in-flight requests on the old release finish after the switch. */
  readonly drainMs: number;
}

export interface DeployContext {
  readonly provider: DeployProvider;
  /** The release to deploy (its launchId is the idempotency key of the new instance). */
  readonly spec: ReleaseSpec;
  readonly run: DeployRun;
  readonly clock: Clock;
  readonly signal: AbortSignal;
  readonly smoke: SmokeGate;
  readonly timings: DeployTimings;
  /**
   * Signal for the rollback actions after a failure (default: never aborted), so an interrupted
   * deploy still removes its green.
   */
  readonly cleanupSignal?: AbortSignal;
}

export interface DeployOutcome {
  readonly strategy: StrategyName;
  readonly env: string;
  readonly release: string;
  readonly launchId: string;
  /** The environment URL now serving the release. */
  readonly url: string;
  /** The release that served before, kept (stopped) for `deploy rollback`. */
  readonly previous?: {readonly release: string; readonly launchId: string};
  readonly stages: readonly string[];
}

/** What to undo after a stage failed: decided from the stage alone (pure). */
export type RollbackAction =
  /** Stop and delete the new instance (it never served, or its traffic was moved back). */
  | 'remove-new'
  /** Point the route back at the previous release, when the route had moved to the new one. */
  | 'route-back';

export interface RollbackPlan {
  readonly actions: readonly RollbackAction[];
  /** Which release serves the environment's traffic once the plan is applied. */
  readonly traffic: 'previous' | 'new' | 'none';
}

export interface Strategy<S extends string = string> {
  readonly name: StrategyName;
  readonly stages: readonly S[];
  run(ctx: DeployContext): Promise<DeployOutcome>;
  rollbackFor(failedStage: S): RollbackPlan;
}

/** A deploy failed at a named stage. code is the cause's (so runs and exit codes keep its class). */
export class StageError<S extends string = string> extends OdooShError {
  readonly code: string;
  readonly stage: S;
  readonly strategy: StrategyName;

  constructor(strategy: StrategyName, stage: S, cause: unknown, extra: {message?: string; actions?: readonly string[]; data?: Readonly<Record<string, unknown>>} = {}) {
    const causeMessage = cause instanceof Error ? cause.message : String(cause);
    super(extra.message ?? `deploy (${strategy}) failed at stage ${stage}: ${causeMessage}`, {
      cause,
      actions: [...new Set([...(extra.actions ?? []), ...(isOdooShError(cause) ? cause.actions : [])])],
      data: {...(isOdooShError(cause) ? cause.data : {}), ...extra.data, stage, strategy},
    });
    this.stage = stage;
    this.strategy = strategy;
    this.code = isOdooShError(cause) ? cause.code : 'PROVIDER';
  }
}

/** Throws InterruptedError naming the stage when the signal has fired (checked between stages). */
export function checkNotAborted(signal: AbortSignal, stage: string): void {
  if (signal.aborted) throw new InterruptedError(`deploy interrupted before stage ${stage}`, {cause: signal.reason});
}

/** Runs one stage as a phase of the run; any failure becomes the cause of a StageError. */
export async function runStage<S extends string, T>(strategy: StrategyName, stage: S, ctx: Pick<DeployContext, 'run' | 'signal'>, fn: () => Promise<T>): Promise<T> {
  try {
    return await ctx.run.phase(stage, async () => {
      checkNotAborted(ctx.signal, stage);
      return fn();
    });
  } catch (err) {
    if (err instanceof StageError) throw err;
    // An abort surfaces as whatever the aborted call threw (often the bare signal reason).
    const cause = !isOdooShError(err) && ctx.signal.aborted ? new InterruptedError(`deploy interrupted during stage ${stage}`, {cause: err}) : err;
    throw new StageError(strategy, stage, cause);
  }
}

/** The state a failed deploy leaves behind, for rollbackAndThrow. */
export interface DeployState {
  /** The new instance, once startRelease returned it. */
  readonly fresh?: ReleaseInstance;
  /** The instance that served before the deploy (routed). */
  readonly previous?: ReleaseInstance;
  /** The route was (or may have been) pointed at the new instance. */
  readonly routeTouched: boolean;
}

/**
 * Applies a rollback plan after `failure`, inside a `rollback` phase, then throws `failure`
 * (with what the rollback did or could not do in its data). Never hides the original failure.
 */
export async function rollbackAndThrow(ctx: DeployContext, plan: RollbackPlan, state: DeployState, failure: StageError): Promise<never> {
  const done: string[] = [];
  let rollbackError: string | undefined;
  if (plan.actions.length > 0) {
    try {
      await ctx.run.phase('rollback', () => undoStages(ctx, plan, state, done));
      await ctx.run.event('warn', `rolled back after ${failure.stage}: ${done.join('; ') || 'nothing to undo'}`, {stage: failure.stage, actions: done});
    } catch (err) {
      rollbackError = err instanceof Error ? err.message : String(err);
    }
  }
  const previous = state.previous ? `${state.previous.release} (${state.previous.launchId})` : 'none';
  const planned = plan.traffic === 'previous' && !state.previous ? 'none' : plan.traffic;
  const traffic = rollbackError && planned === 'previous' && state.routeTouched ? 'unknown' : planned;
  const next = traffic === 'previous' || !state.previous ? [] : [`odoo-sh-next deploy rollback --env ${ctx.spec.env}`];
  throw new StageError(failure.strategy, failure.stage, failure.cause, {
    message: `${failure.message}; traffic: ${describeTraffic(traffic, previous, ctx.spec.release)}${rollbackError ? `; rollback failed: ${rollbackError}` : ''}`,
    actions: [...next, ...failure.actions],
    data: {...failure.data, traffic, rollback: done, ...(rollbackError ? {rollbackError} : {})},
  });
}

async function undoStages(ctx: DeployContext, plan: RollbackPlan, state: DeployState, done: string[]): Promise<void> {
  const signal = ctx.cleanupSignal ?? new AbortController().signal;
  for (const action of plan.actions) {
    if (action === 'route-back') {
      if (!state.routeTouched || !state.previous) continue;
      await ctx.provider.route(ctx.spec.env, state.previous, signal);
      done.push(`routed ${ctx.spec.env} back to ${state.previous.release} (${state.previous.launchId})`);
    } else {
      // startRelease may have created the instance and failed afterwards: find it by its launch id.
      const fresh = state.fresh ?? (await ctx.provider.list({env: ctx.spec.env}, signal)).find((i) => i.launchId === ctx.spec.launchId);
      if (!fresh) continue;
      await ctx.provider.remove(fresh, signal);
      done.push(`removed ${fresh.release} (${fresh.launchId})`);
    }
  }
}

function describeTraffic(traffic: RollbackPlan['traffic'] | 'unknown', previous: string, release: string): string {
  switch (traffic) {
    case 'previous':
      return `stays on the previous release ${previous}`;
    case 'new':
      return `on the new release ${release}; the previous release ${previous} is kept for rollback`;
    case 'none':
      return 'none (the environment has no serving release)';
    default:
      return 'unknown (the route may point at the removed release)';
  }
}
