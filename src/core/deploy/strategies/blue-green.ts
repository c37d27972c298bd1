/**
 * Blue/green: the new release (green) starts beside the serving one (blue), must be healthy and
 * pass the smoke gate, then the route switches to it; blue is drained and stopped but kept for
 * `deploy rollback`. A green that fails before the switch never gets traffic and is removed.
 * Needs a provider with capabilities.blueGreen (two releases of one env side by side + a router).
 */
import {waitHealthy, type ReleaseInstance} from '../../../providers/provider.js';
import {
  StageError, rollbackAndThrow, runStage, type DeployContext, type DeployOutcome, type RollbackPlan, type Strategy,
} from '../strategy.js';

export const BLUE_GREEN_STAGES = ['start-green', 'wait-healthy', 'smoke-check', 'switch-route', 'drain-blue', 'stop-blue'] as const;
export type BlueGreenStage = (typeof BLUE_GREEN_STAGES)[number];

/** Pure: what to undo when `stage` failed. */
export function blueGreenRollbackFor(stage: BlueGreenStage): RollbackPlan {
  switch (stage) {
    case 'start-green':
    case 'wait-healthy':
    case 'smoke-check':
      return {actions: ['remove-new'], traffic: 'previous'};
    case 'switch-route':
      // The route may have changed before the failure was seen: point it back, then drop green.
      return {actions: ['route-back', 'remove-new'], traffic: 'previous'};
    case 'drain-blue':
    case 'stop-blue':
      // Green already serves: a cleanup failure never moves traffic back.
      return {actions: [], traffic: 'new'};
  }
}

/**
 * Pure: the serving release (blue) of a deploy of `launchId`. On a retry after the switch the route
 * already points at this launch; blue is then the newest other running instance (so it still gets
 * drained and stopped).
 */
export function findBlue(instances: readonly ReleaseInstance[], launchId: string): ReleaseInstance | undefined {
  const routed = instances.find((i) => i.routed);
  if (routed && routed.launchId !== launchId) return routed;
  if (!routed) return undefined;
  return instances
    .filter((i) => i.launchId !== launchId && i.state === 'running')
    .sort((a, b) => b.startedAt.localeCompare(a.startedAt))[0];
}

export const blueGreenStrategy: Strategy<BlueGreenStage> = {
  name: 'blue-green',
  stages: BLUE_GREEN_STAGES,
  rollbackFor: blueGreenRollbackFor,
  run: runBlueGreen,
};

async function runBlueGreen(ctx: DeployContext): Promise<DeployOutcome> {
  const {provider, spec, signal} = ctx;
  const stage = <T>(name: BlueGreenStage, fn: () => Promise<T>) => runStage('blue-green', name, ctx, fn);
  const st: {green?: ReleaseInstance; blue?: ReleaseInstance; routeTouched: boolean} = {routeTouched: false};
  try {
    const fresh = await stage('start-green', async () => {
      const instances = await provider.list({env: spec.env}, signal);
      const blue = findBlue(instances, spec.launchId);
      if (blue) st.blue = blue;
      const green = await provider.startRelease(spec, signal);
      st.green = green;
      await ctx.run.event('info', `green ${spec.release} started (${green.url}); blue: ${blue ? `${blue.release} (${blue.launchId})` : 'none'}`, {
        green: green.launchId, blue: blue?.launchId ?? null,
      });
      return green;
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
    const blue = st.blue;
    await stage('drain-blue', async () => {
      if (!blue) return ctx.run.event('info', 'no blue release: nothing to drain');
      await ctx.clock.sleep(ctx.timings.drainMs, signal);
    });
    await stage('stop-blue', async () => {
      if (!blue) return ctx.run.event('info', 'no blue release: nothing to stop');
      await provider.stop(blue, signal);
      await ctx.run.event('info', `blue ${blue.release} (${blue.launchId}) stopped and kept for rollback`);
    });
    return {
      strategy: 'blue-green',
      env: spec.env,
      release: spec.release,
      launchId: fresh.launchId,
      url,
      ...(blue ? {previous: {release: blue.release, launchId: blue.launchId}} : {}),
      stages: BLUE_GREEN_STAGES,
    };
  } catch (err) {
    if (!(err instanceof StageError)) throw err;
    const failed = err as StageError<BlueGreenStage>;
    return rollbackAndThrow(ctx, blueGreenRollbackFor(failed.stage), {
      ...(st.green ? {fresh: st.green} : {}),
      ...(st.blue ? {previous: st.blue} : {}),
      routeTouched: st.routeTouched,
    }, failed);
  }
}
