import {describe, expect, it} from 'vitest';
import {planRollback} from '../../../src/core/deploy/rollback-plan.js';
import {applyRollback} from '../../../src/core/deploy/rollback-service.js';
import {ConflictError, NotFoundError} from '../../../src/core/errors.js';
import {FakeClock, RecordingProvider, RecordingRun, instance} from './deploy-doubles.js';

const kept = [
  instance('L01', {state: 'stopped'}),
  instance('L02', {state: 'stopped'}),
  instance('L03', {routed: true}),
  instance('X09', {env: 'other', state: 'stopped'}),
];

describe('planRollback (pure)', () => {
  it('goes back to the newest kept release and warns about the database', () => {
    const d = planRollback({env: 'main', instances: kept, preDeployBackupId: 'b-3f2a9c'});
    expect(d.target.launchId).toBe('L02');
    expect(d.current?.launchId).toBe('L03');
    expect(d.steps).toEqual(['start-previous', 'wait-healthy', 'switch-route', 'stop-current']);
    expect(d.message).toBe(
      'main goes back to release rel-L02 (L02) from rel-L03 (L03). Only the code is rolled back: ' +
      'if the deploy changed the database schema (module updates), restore the pre-deploy backup: odoo-sh-next backups restore b-3f2a9c',
    );
    expect(d.actions).toEqual(['odoo-sh-next backups restore b-3f2a9c']);
  });

  it('--to picks a release by release id or launch id; a running target needs no start', () => {
    expect(planRollback({env: 'main', to: 'rel-L01', instances: kept}).target.launchId).toBe('L01');
    const d = planRollback({env: 'main', to: 'L01', instances: [instance('L01'), instance('L03', {routed: true})]});
    expect(d.steps).toEqual(['switch-route', 'stop-current']);
    expect(d.actions).toEqual(['odoo-sh-next backups restore <backup-id>', 'odoo-sh-next backups list --env main']);
  });

  it('goes back to what served before the current release (its deploy recorded it), not to a newer rolled-away one', () => {
    // base L01 -> L02 -> rollback to L01 -> L03: L02 started later than L01 but was rolled away.
    const d = planRollback({env: 'main', instances: kept, previous: {release: 'rel-L01', launchId: 'L01'}});
    expect(d.target.launchId).toBe('L01');
    // A recorded previous that is no longer kept falls back to the newest kept one.
    expect(planRollback({env: 'main', instances: kept, previous: {release: 'rel-L00', launchId: 'L00'}}).target.launchId).toBe('L02');
    // Matched by release when its launch is gone but another launch of it is kept.
    expect(planRollback({env: 'main', instances: kept, previous: {release: 'rel-L01', launchId: 'L01-old'}}).target.launchId).toBe('L01');
  });

  it('with no routed release (failed immediate deploy) it only routes', () => {
    const d = planRollback({env: 'main', instances: [instance('L01', {state: 'stopped'})]});
    expect(d.steps).toEqual(['start-previous', 'wait-healthy', 'switch-route']);
    expect(d.current).toBeUndefined();
  });

  it('refuses when nothing is kept, the release is unknown, or it already serves', () => {
    expect(() => planRollback({env: 'main', instances: [instance('L03', {routed: true})]})).toThrow(NotFoundError);
    expect(() => planRollback({env: 'main', to: 'nope', instances: kept})).toThrow(/no kept release "nope" of main; kept releases: rel-L02 \(L02\), rel-L01 \(L01\)/);
    expect(() => planRollback({env: 'main', to: 'L03', instances: kept})).toThrow(ConflictError);
  });
});

describe('applyRollback', () => {
  it('restarts the kept release, waits for health, routes to it and stops the current one', async () => {
    const provider = new RecordingProvider(kept);
    const run = new RecordingRun();
    const restarted: string[] = [];
    const decision = planRollback({env: 'main', instances: kept, preDeployBackupId: 'b1'});
    const result = await applyRollback(decision, {
      provider, run, clock: new FakeClock(), healthTimeoutMs: 1000,
      restart: async (i) => (restarted.push(i.launchId), {...i, state: 'running'}),
    }, new AbortController().signal);
    expect(restarted).toEqual(['L02']);
    expect(provider.calls).toEqual(['health L02', 'route main -> L02', 'stop L03']);
    expect(run.phases).toEqual(['start-previous:start', 'start-previous:done', 'wait-healthy:start', 'wait-healthy:done',
      'switch-route:start', 'switch-route:done', 'stop-current:start', 'stop-current:done']);
    expect(result).toMatchObject({env: 'main', release: 'rel-L02', launchId: 'L02', url: 'http://main.shop.localhost', from: {launchId: 'L03'}});
    expect(result.message).toContain('odoo-sh-next backups restore b1');
    expect(run.events.at(-1)).toEqual({level: 'warn', message: decision.message});
    expect(provider.routed()).toBe('L02');
  });
});
