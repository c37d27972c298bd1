import {describe, expect, it} from 'vitest';
import {IMMEDIATE_STAGES, immediateRollbackFor, immediateStrategy} from '../../../src/core/deploy/strategies/immediate.js';
import {StageError} from '../../../src/core/deploy/strategy.js';
import {ProviderError} from '../../../src/core/errors.js';
import {RecordingProvider, context, instance, recordingSmoke} from './deploy-doubles.js';

const old = () => instance('L01', {provider: 'local', routed: true});

async function failure(p: Promise<unknown>): Promise<StageError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(StageError);
  return err as StageError;
}

describe('immediate strategy', () => {
  it('stops the old release, starts the new one, checks it, then routes to it', async () => {
    const provider = new RecordingProvider([old()]);
    const ctx = context(provider);
    const outcome = await immediateStrategy.run(ctx);
    expect(provider.calls).toEqual(['list main', 'stop L01', 'startRelease L02', 'health L02', 'smoke L02', 'route main -> L02']);
    expect(ctx.run.phases).toEqual(IMMEDIATE_STAGES.flatMap((s) => [`${s}:start`, `${s}:done`]));
    expect(outcome).toMatchObject({strategy: 'immediate', launchId: 'L02', previous: {release: 'rel-L01', launchId: 'L01'}});
    expect(provider.routed()).toBe('L02');
  });

  it('a new release that never gets healthy is removed; the env is left without traffic and rollback is suggested', async () => {
    const provider = new RecordingProvider([old()], {health: () => ({healthy: false, alive: true})});
    const err = await failure(immediateStrategy.run(context(provider)));
    expect(provider.calls).toEqual(['list main', 'stop L01', 'startRelease L02', ...Array(5).fill('health L02'), 'remove L02']);
    expect([err.stage, err.code, err.data?.['traffic']]).toEqual(['wait-healthy', 'TIMEOUT', 'none']);
    expect(err.actions[0]).toBe('odoo-sh-next deploy rollback --env main');
    expect(provider.instances.map((i) => [i.launchId, i.state])).toEqual([['L01', 'stopped']]);
  });

  it('smoke failure removes the new release', async () => {
    const provider = new RecordingProvider([old()]);
    const err = await failure(immediateStrategy.run(context(provider, {smoke: recordingSmoke(provider, new ProviderError('page: HTTP 500'))})));
    expect(provider.calls).toEqual(['list main', 'stop L01', 'startRelease L02', 'health L02', 'smoke L02', 'remove L02']);
    expect(err.stage).toBe('smoke-check');
  });

  it('stop-old failing starts nothing and undoes nothing', async () => {
    const provider = new RecordingProvider([old()], {fail: (c) => (c.startsWith('stop') ? new ProviderError('kill failed') : undefined)});
    const err = await failure(immediateStrategy.run(context(provider)));
    expect(provider.calls).toEqual(['list main', 'stop L01']);
    expect([err.stage, err.data?.['traffic']]).toEqual(['stop-old', 'previous']);
  });

  it('rollbackFor is a pure function of the stage', () => {
    expect(immediateRollbackFor('stop-old')).toEqual({actions: [], traffic: 'previous'});
    for (const s of ['start-new', 'wait-healthy', 'smoke-check', 'switch-route'] as const) {
      expect(immediateRollbackFor(s)).toEqual({actions: ['remove-new'], traffic: 'none'});
    }
  });
});
