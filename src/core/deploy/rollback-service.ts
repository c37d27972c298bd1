/**
 * Applies a RollbackDecision (rollback-plan.ts) through the provider contract, each step a phase
 * of the run. Restarting a kept, stopped release is injected: the contract's startRelease returns
 * an existing launch as is, so the composition root supplies how a provider restarts one.
 */
import type {Clock} from '../clock.js';
import {waitHealthy, type ReleaseInstance} from '../../providers/provider.js';
import type {RollbackDecision} from './rollback-plan.js';
import type {DeployProvider, DeployRun} from './strategy.js';

export interface RollbackDeps {
  readonly provider: Pick<DeployProvider, 'health' | 'route' | 'stop'>;
  readonly run: DeployRun;
  readonly clock: Clock;
  readonly healthTimeoutMs: number;
  readonly healthIntervalMs?: number;
  /**
   * How long the release rolled away from keeps running after the switch before it is stopped, so
   * the requests the router already sent it can finish (like blue/green's drain-blue; default 0).
   */
  readonly drainMs?: number;
  /** Starts a kept, stopped release again (same release, same database) and returns it. */
  readonly restart: (instance: ReleaseInstance, signal: AbortSignal) => Promise<ReleaseInstance>;
}

export interface RollbackResult {
  readonly env: string;
  readonly release: string;
  readonly launchId: string;
  readonly url: string;
  readonly from: {readonly release: string; readonly launchId: string} | null;
  readonly message: string;
  readonly actions: readonly string[];
}

export async function applyRollback(decision: RollbackDecision, deps: RollbackDeps, signal: AbortSignal): Promise<RollbackResult> {
  let target = decision.target;
  let url = target.url;
  for (const step of decision.steps) {
    await deps.run.phase(step, async () => {
      switch (step) {
        case 'start-previous':
          target = await deps.restart(target, signal);
          return;
        case 'wait-healthy':
          await waitHealthy(deps.provider, target, {
            timeoutMs: deps.healthTimeoutMs, clock: deps.clock, signal,
            ...(deps.healthIntervalMs === undefined ? {} : {intervalMs: deps.healthIntervalMs}),
          });
          return;
        case 'switch-route':
          url = (await deps.provider.route(decision.env, target, signal)).url;
          return;
        case 'stop-current':
          if (!decision.current) return;
          if (deps.drainMs) await deps.clock.sleep(deps.drainMs, signal);
          await deps.provider.stop(decision.current, signal);
          return;
      }
    });
  }
  await deps.run.event('warn', decision.message, {env: decision.env, release: target.release, launchId: target.launchId});
  return {
    env: decision.env,
    release: target.release,
    launchId: target.launchId,
    url,
    from: decision.current ? {release: decision.current.release, launchId: decision.current.launchId} : null,
    message: decision.message,
    actions: decision.actions,
  };
}
