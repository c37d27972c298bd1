import {describe, expect, it} from 'vitest';
import {BLUE_GREEN_STAGES, blueGreenRollbackFor, blueGreenStrategy, findBlue} from '../../../src/core/deploy/strategies/blue-green.js';
import {StageError} from '../../../src/core/deploy/strategy.js';
import {ProviderError} from '../../../src/core/errors.js';
import {errorForRun} from '../../../src/core/run/run-outcome.js';
import type {Run} from '../../../src/core/run/run-record.js';
import {FakeClock, RecordingProvider, context, instance, recordingSmoke} from './deploy-doubles.js';

const blue = () => instance('L01', {routed: true});
const phasesOk = (stages: readonly string[]) => stages.flatMap((s) => [`${s}:start`, `${s}:done`]);

async function failure(p: Promise<unknown>): Promise<StageError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(StageError);
  return err as StageError;
}

describe('blue/green strategy', () => {
  it('passes every stage: green gets the route, blue is drained, stopped and kept', async () => {
    const provider = new RecordingProvider([blue()]);
    const ctx = context(provider);
    const outcome = await blueGreenStrategy.run(ctx);
    expect(provider.calls).toEqual(['list main', 'startRelease L02', 'health L02', 'smoke L02', 'route main -> L02', 'stop L01']);
    expect(ctx.clock.sleeps).toEqual([5000]);
    expect(ctx.run.phases).toEqual(phasesOk(BLUE_GREEN_STAGES));
    expect(outcome).toEqual({
      strategy: 'blue-green', env: 'main', release: 'rel-L02', launchId: 'L02', url: 'http://main.shop.localhost',
      previous: {release: 'rel-L01', launchId: 'L01'}, stages: BLUE_GREEN_STAGES,
    });
    expect(provider.routed()).toBe('L02');
    expect(provider.instances.find((i) => i.launchId === 'L01')?.state).toBe('stopped');
  });

  it('first deploy (no blue): nothing to drain or stop', async () => {
    const provider = new RecordingProvider([]);
    const ctx = context(provider);
    const outcome = await blueGreenStrategy.run(ctx);
    expect(provider.calls).toEqual(['list main', 'startRelease L02', 'health L02', 'smoke L02', 'route main -> L02']);
    expect(ctx.clock.sleeps).toEqual([]);
    expect(outcome.previous).toBeUndefined();
  });

  it('green never healthy: times out at wait-healthy, green removed, route untouched', async () => {
    const provider = new RecordingProvider([blue()], {health: () => ({healthy: false, alive: true, reason: 'connection refused'})});
    const ctx = context(provider);
    const err = await failure(blueGreenStrategy.run(ctx));
    // probes at t = 0, 250, 500, 750, 1000 ms of fake time, then the timeout
    expect(provider.calls).toEqual(['list main', 'startRelease L02', ...Array(5).fill('health L02'), 'remove L02']);
    expect(ctx.clock.sleeps).toEqual([250, 250, 250, 250]);
    expect(err.stage).toBe('wait-healthy');
    expect(err.code).toBe('TIMEOUT');
    expect(err.message).toMatch(/failed at stage wait-healthy: .*did not become healthy.*traffic: stays on the previous release rel-L01/);
    expect(err.data).toMatchObject({stage: 'wait-healthy', strategy: 'blue-green', traffic: 'previous', rollback: ['removed rel-L02 (L02)']});
    expect(provider.routed()).toBe('L01');
    expect(ctx.run.phases).toEqual([...phasesOk(['start-green']), 'wait-healthy:start', 'wait-healthy:fail', 'rollback:start', 'rollback:done']);
  });

  it('green that exits fails fast at wait-healthy (ProviderError), green removed', async () => {
    const provider = new RecordingProvider([blue()], {health: () => ({healthy: false, alive: false, reason: 'exited', logTail: ['ImportError']})});
    const err = await failure(blueGreenStrategy.run(context(provider)));
    expect(provider.calls).toEqual(['list main', 'startRelease L02', 'health L02', 'remove L02']);
    expect([err.stage, err.code]).toEqual(['wait-healthy', 'PROVIDER']);
    expect(err.data).toMatchObject({logTail: ['ImportError']});
  });

  it('start-green failing after the launch was created removes it (found by launch id)', async () => {
    const provider = new RecordingProvider([blue()], {fail: (c) => (c === 'startRelease L02' ? new ProviderError('image pull failed') : undefined)});
    const err = await failure(blueGreenStrategy.run(context(provider)));
    expect(provider.calls).toEqual(['list main', 'startRelease L02', 'list main', 'remove L02']);
    expect(err.stage).toBe('start-green');
    expect(provider.routed()).toBe('L01');
  });

  it('smoke fails: refused at smoke-check, green removed, route untouched', async () => {
    const provider = new RecordingProvider([blue()]);
    const ctx = context(provider, {smoke: recordingSmoke(provider, new ProviderError('smoke check failed: asset: HTTP 500'))});
    const err = await failure(blueGreenStrategy.run(ctx));
    expect(provider.calls).toEqual(['list main', 'startRelease L02', 'health L02', 'smoke L02', 'remove L02']);
    expect(err.stage).toBe('smoke-check');
    expect(err.message).toContain('asset: HTTP 500');
    expect(provider.routed()).toBe('L01');
  });

  it('switch fails: route pointed back at blue, green removed', async () => {
    const provider = new RecordingProvider([blue()], {fail: (c) => (c === 'route main -> L02' ? new ProviderError('caddy admin API: 502') : undefined)});
    const ctx = context(provider);
    const err = await failure(blueGreenStrategy.run(ctx));
    expect(provider.calls).toEqual(['list main', 'startRelease L02', 'health L02', 'smoke L02', 'route main -> L02', 'route main -> L01', 'remove L02']);
    expect(err.stage).toBe('switch-route');
    expect(err.data).toMatchObject({traffic: 'previous', rollback: ['routed main back to rel-L01 (L01)', 'removed rel-L02 (L02)']});
    expect(provider.routed()).toBe('L01');
  });

  it('switch fails and the route-back fails too: traffic reported unknown', async () => {
    const provider = new RecordingProvider([blue()], {fail: (c) => (c.startsWith('route') ? new ProviderError('caddy admin API down') : undefined)});
    const err = await failure(blueGreenStrategy.run(context(provider)));
    expect(provider.calls).toEqual(['list main', 'startRelease L02', 'health L02', 'smoke L02', 'route main -> L02', 'route main -> L01']);
    expect(err.stage).toBe('switch-route');
    expect(err.data).toMatchObject({traffic: 'unknown', rollbackError: 'caddy admin API down'});
    expect(err.message).toContain('rollback failed');
  });

  it('drain fails after the switch: traffic stays on green, blue kept (not stopped), error names drain-blue', async () => {
    const provider = new RecordingProvider([blue()]);
    const ctx = context(provider, {clock: new FakeClock((ms) => {
      if (ms === 5000) throw new ProviderError('drain interrupted');
    })});
    const err = await failure(blueGreenStrategy.run(ctx));
    expect(provider.calls).toEqual(['list main', 'startRelease L02', 'health L02', 'smoke L02', 'route main -> L02']);
    expect(err.stage).toBe('drain-blue');
    expect(err.data).toMatchObject({traffic: 'new', rollback: []});
    expect(err.message).toMatch(/traffic: on the new release rel-L02; the previous release rel-L01 \(L01\) is kept for rollback/);
    expect(err.actions).toContain('odoo-sh-next deploy rollback --env main');
    expect(provider.routed()).toBe('L02');
    expect(provider.instances.map((i) => [i.launchId, i.state])).toEqual([['L01', 'running'], ['L02', 'running']]);
    expect(ctx.run.phases).not.toContain('rollback:start');
  });

  it('stop-blue fails: traffic stays on green, no rollback', async () => {
    const provider = new RecordingProvider([blue()], {fail: (c) => (c.startsWith('stop') ? new ProviderError('docker: no such container') : undefined)});
    const err = await failure(blueGreenStrategy.run(context(provider)));
    expect(provider.calls).toEqual(['list main', 'startRelease L02', 'health L02', 'smoke L02', 'route main -> L02', 'stop L01']);
    expect([err.stage, err.code, err.data?.['traffic']]).toEqual(['stop-blue', 'PROVIDER', 'new']);
    expect(provider.routed()).toBe('L02');
  });

  it('abort mid-way (during wait-healthy): interrupted, green removed with a live signal, route untouched', async () => {
    const ac = new AbortController();
    const provider = new RecordingProvider([blue()], {
      health: (_l, n) => {
        if (n === 1) ac.abort(new Error('run cancelled'));
        return {healthy: false, alive: true, reason: 'starting'};
      },
    });
    const ctx = context(provider, {signal: ac.signal});
    const err = await failure(blueGreenStrategy.run(ctx));
    expect(provider.calls).toEqual(['list main', 'startRelease L02', 'health L02', 'health L02', 'remove L02']);
    expect([err.stage, err.code]).toEqual(['wait-healthy', 'INTERRUPTED']);
    expect(provider.signals.at(-1)).toEqual({call: 'remove L02', aborted: false});
    expect(provider.routed()).toBe('L01');
  });

  it('abort before a stage starts names that stage', async () => {
    const ac = new AbortController();
    const provider = new RecordingProvider([blue()]);
    const ctx = context(provider, {signal: ac.signal, smoke: async () => void ac.abort(new Error('cancelled'))});
    const err = await failure(blueGreenStrategy.run(ctx));
    expect([err.stage, err.code]).toEqual(['switch-route', 'INTERRUPTED']);
    expect(provider.calls).toEqual(['list main', 'startRelease L02', 'health L02', 'remove L02']);
    expect(provider.routed()).toBe('L01');
  });

  it('a failed stage keeps its error class through the run record (exit code)', async () => {
    const provider = new RecordingProvider([blue()], {health: () => ({healthy: false, alive: true})});
    const err = await failure(blueGreenStrategy.run(context(provider)));
    const run = {id: 7, type: 'deploy', state: 'failed', result: {error: {code: err.code, message: err.message, actions: err.actions, data: err.data}}} as unknown as Run;
    expect(errorForRun(run)?.code).toBe('TIMEOUT');
  });
});

describe('findBlue (pure)', () => {
  it('is the routed instance, or on a retry after the switch the newest other running one', () => {
    const routedBlue = [instance('L01', {routed: true}), instance('L02')];
    expect(findBlue(routedBlue, 'L02')?.launchId).toBe('L01');
    const retried = [instance('L00'), instance('L01'), instance('L03', {state: 'stopped'}), instance('L02', {routed: true})];
    expect(findBlue(retried, 'L02')?.launchId).toBe('L01');
    expect(findBlue([instance('L01', {state: 'stopped'})], 'L02')).toBeUndefined();
  });

  it('a retry after a failed drain still drains and stops blue (green already routed, started once)', async () => {
    const provider = new RecordingProvider([instance('L01'), instance('L02', {routed: true})]);
    await blueGreenStrategy.run(context(provider));
    expect(provider.calls).toEqual(['list main', 'startRelease L02', 'health L02', 'smoke L02', 'route main -> L02', 'stop L01']);
    expect(provider.instances).toHaveLength(2);
  });
});

describe('blueGreenRollbackFor (pure)', () => {
  it.each([
    ['start-green', {actions: ['remove-new'], traffic: 'previous'}],
    ['wait-healthy', {actions: ['remove-new'], traffic: 'previous'}],
    ['smoke-check', {actions: ['remove-new'], traffic: 'previous'}],
    ['switch-route', {actions: ['route-back', 'remove-new'], traffic: 'previous'}],
    ['drain-blue', {actions: [], traffic: 'new'}],
    ['stop-blue', {actions: [], traffic: 'new'}],
  ] as const)('%s', (stage, plan) => {
    expect(blueGreenRollbackFor(stage)).toEqual(plan);
    expect(blueGreenStrategy.rollbackFor(stage)).toEqual(plan);
  });

  it('stages are in order', () => {
    expect(blueGreenStrategy.stages).toEqual(['start-green', 'wait-healthy', 'smoke-check', 'switch-route', 'drain-blue', 'stop-blue']);
  });
});
