import {describe, expect, it} from 'vitest';
import {planDeploy} from '../../../src/core/deploy/deploy-plan.js';
import {STRATEGIES, strategyFor} from '../../../src/core/deploy/strategies/index.js';
import {UsageError} from '../../../src/core/errors.js';

const docker = {name: 'docker-local', capabilities: {blueGreen: true}} as const;
const local = {name: 'local', capabilities: {blueGreen: false}} as const;

describe('planDeploy', () => {
  it.each([
    [docker, 'production', undefined, 'blue-green'],
    [docker, 'staging', 'auto', 'blue-green'],
    [docker, 'preview', undefined, 'immediate'],
    [docker, 'dev', undefined, 'immediate'],
    [docker, 'preview', 'blue-green', 'blue-green'],
    [docker, 'production', 'immediate', 'immediate'],
    [local, 'production', undefined, 'immediate'],
    [local, 'preview', 'immediate', 'immediate'],
  ] as const)('%o %s requested=%s → %s', (provider, envType, requested, expected) => {
    expect(planDeploy({provider, envType, requested}).strategy).toBe(expected);
  });

  it('refuses blue-green on a provider without the capability, naming both', () => {
    const err = (() => {
      try {
        planDeploy({provider: local, envType: 'production', requested: 'blue-green'});
      } catch (e) {
        return e;
      }
    })() as UsageError;
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toContain('provider "local"');
    expect(err.message).toContain('blueGreen capability');
    expect(err.data).toEqual({provider: 'local', capability: 'blueGreen', requested: 'blue-green'});
    expect(err.actions).toContain('--strategy immediate');
  });

  it('rejects unknown strategies listing the known ones', () => {
    expect(() => planDeploy({provider: docker, envType: 'production', requested: 'canary'})).toThrow(/unknown deploy strategy "canary"; known strategies: blue-green, immediate/);
  });

  it('maps every strategy name to its module', () => {
    expect(strategyFor('blue-green').name).toBe('blue-green');
    expect(Object.entries(STRATEGIES).map(([k, s]) => [k, s.name])).toEqual([['blue-green', 'blue-green'], ['immediate', 'immediate']]);
  });
});
