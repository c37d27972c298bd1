/**
 * Immediate: stop the serving release, start the new one, wait for health and the smoke gate,
 * then route to it. For providers that cannot run two releases of an environment side by side
 * (capabilities.blueGreen false, e.g. local): the environment is down between stop-old and
 * switch-route, and a failed new release leaves it down until `deploy rollback` restarts the
 * previous one (kept, stopped).
 */
import {waitHealthy, type ReleaseInstance} from '../../../providers/provider.js';
import {
  StageError, rollbackAndThrow, runStage, type DeployContext, type DeployOutcome, type RollbackPlan, type Strategy,
} from '../strategy.js';

export const IMMEDIATE_STAGES = ['stop-old', 'start-new', 'wait-healthy', 'smoke-check', 'switch-route'] as const;
export type ImmediateStage = (typeof IMMEDIATE_STAGES)[number];

/** Pure: what to undo when `stage` failed. */
export function immediateRollbackFor(stage: ImmediateStage): RollbackPlan {
  switch (stage) {
    case 'stop-old':
      // Nothing new exists yet; stop is idempotent, so the old release is either still up or stopped.
      return {actions: [], traffic: 'previous'};
    case 'start-new':
    case 'wait-healthy':
    case 'smoke-check':
    case 'switch-route':
      // The old release is already stopped: drop the failed one; `deploy rollback` restarts the old.
      return {actions: ['remove-new'], traffic: 'none'};
  }
}

export const immediateStrategy: Strategy<ImmediateStage> = {
  name: 'immediate',
  stages: IMMEDIATE_STAGES,
  rollbackFor: immediateRollbackFor,
  run: runImmediate,
};

async function runImmediate(ctx: DeployContext): Promise<DeployOutcome> {
  const {provider, spec, signal} = ctx;
  const stage = <T>(name: ImmediateStage, fn: () => Promise<T>) => runStage('immediate', name, ctx, fn);
  const st: {fresh?: ReleaseInstance; old?: ReleaseInstance; routeTouched: boolean} = {routeTouched: false};
  try {
    const old = await stage('stop-old', async () => {
      const instances = await provider.list({env: spec.env}, signal);
      const current = instances.find((i) => i.routed && i.launchId !== spec.launchId);
      if (!current) {
        await ctx.run.event('info', 'no serving release: nothing to stop');
        return undefined;
      }
      st.old = current;
      await provider.stop(current, signal);
      await ctx.run.event('info', `old release ${current.release} (${current.launchId}) stopped and kept for rollback`);
      return current;
    });
    const fresh = await stage('start-new', async () => {
      const started = await provider.startRelease(spec, signal);
      st.fresh = started;
      await ctx.run.event('info', `new release ${spec.release} started (${started.url})`, {launchId: started.launchId});
      return started;
    });
    await stage('wait-healthy', () =>
      waitHealthy(provider, fresh, {
        timeoutMs: ctx.timings.healthTimeoutMs,
        clock: ctx.clock,
        signal,
        ...(ctx.timings.healthIntervalMs === undefined ? {} : {intervalMs: ctx.timings.healthIntervalMs}),
      }));
    await stage('smoke-check', () => ctx.smoke(fresh, signal));
    const {url} = await stage('switch-route', () => {
      st.routeTouched = true;
      return provider.route(spec.env, fresh, signal);
    });
    return {
      strategy: 'immediate',
      env: spec.env,
      release: spec.release,
      launchId: fresh.launchId,
      url,
      ...(old ? {previous: {release: old.release, launchId: old.launchId}} : {}),
      stages: IMMEDIATE_STAGES,
    };
  } catch (err) {
    if (!(err instanceof StageError)) throw err;
    const failed = err as StageError<ImmediateStage>;
    return rollbackAndThrow(ctx, immediateRollbackFor(failed.stage), {
      ...(st.fresh ? {fresh: st.fresh} : {}),
      ...(st.old ? {previous: st.old} : {}),
      routeTouched: st.routeTouched,
    }, failed);
  }
}
