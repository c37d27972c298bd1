/** The policy service over an in-memory repository: precedence, config validation, env type resolution, audit choice. */
import {describe, expect, it} from 'vitest';
import {ConfigError, NotFoundError, PolicyDeniedError} from '../../../src/core/errors.js';
import type {PolicyRepository, StoredPolicy} from '../../../src/core/policy/policy-repository.js';
import {effectivePolicies, enforcePolicy, selfApprovalAllowed, testPolicy, type PolicyDeps} from '../../../src/core/policy/policy-service.js';
import type {PolicyFacts} from '../../../src/core/policy/promotion-policy.js';

const NOW = new Date('2026-06-10T12:00:00Z');
const facts: PolicyFacts = {approvals: [], e2eGreen: null, stagingRunGreen: null, newestBackupAt: null, odooMajorChange: false, upgradeReportApproved: null};

function fakeDeps(stored: StoredPolicy[], config: Partial<Record<'production' | 'staging' | 'preview' | 'dev', string[]>>) {
  const recorded: {kind: string; action: string; env: string; payload: Record<string, unknown>}[] = [];
  const repo = {
    list: async () => stored,
    envType: async (env: string) => (env === 'rel-1' ? 'staging' : undefined),
    currentActor: async () => 'me',
    recordDenial: async (action: string, env: string, payload: Record<string, unknown>) => void recorded.push({kind: 'deny', action, env, payload}),
    recordTest: async (action: string, env: string, payload: Record<string, unknown>) => void recorded.push({kind: 'test', action, env, payload}),
  } as unknown as PolicyRepository;
  const deps: PolicyDeps = {repo, config: {production: [], staging: [], preview: [], dev: [], ...config},
    facts: {facts: async () => facts}, clock: {now: () => NOW, sleep: async () => undefined}};
  return {deps, recorded};
}

describe('policy service', () => {
  it('a stored policy replaces the config list of its type as a whole', async () => {
    const {deps} = fakeDeps([{envType: 'staging', rules: ['no self-approval'], updatedBy: 'ann', updatedAt: NOW}],
      {staging: ['backup younger than 1h'], production: ['backup younger than 24h']});
    const all = await effectivePolicies(deps);
    expect(all.map((p) => [p.envType, p.source, p.rules.map((r) => `${r.source}:${r.rule}`)])).toEqual([
      ['production', 'config', ['config:backup younger than 24h']],
      ['staging', 'store', ['store:no self-approval']],
      ['preview', 'none', []],
      ['dev', 'none', []],
    ]);
  });

  it('tells the approvals code whether self-approval is allowed: only by a stored policy without the rule', async () => {
    const {deps} = fakeDeps([{envType: 'preview', rules: ['backup younger than 1h'], updatedBy: 'ann', updatedAt: NOW},
      {envType: 'dev', rules: ['no self approval'], updatedBy: 'ann', updatedAt: NOW}],
    {production: ['approvals >= 1 from role admin', 'No Self-Approval']});
    expect(await selfApprovalAllowed(deps, 'production')).toBe(false);
    // No rule, but from the configuration file (or none at all): not trusted.
    expect(await selfApprovalAllowed(deps, 'staging')).toBe(false);
    expect(await selfApprovalAllowed(deps, 'preview')).toBe(true);
    expect(await selfApprovalAllowed(deps, 'dev')).toBe(false);
  });

  it('names invalid config rules in a ConfigError', async () => {
    const {deps} = fakeDeps([], {production: ['no self-approval', 'approvals >= two from role admin']});
    const err = await effectivePolicies(deps).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain('policies.production[1] "approvals >= two from role admin"');
  });

  it('enforcePolicy records a denial and throws every reason; policy test records policy.test only', async () => {
    const {deps, recorded} = fakeDeps([], {production: ['backup younger than 24h', 'e2e green for this commit']});
    const req = {action: 'deploy', env: 'production', envType: 'production', release: 'r1', actor: 'me'} as const;
    const err = await enforcePolicy(deps, req).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PolicyDeniedError);
    expect((err as PolicyDeniedError).reasons).toEqual([
      'backup younger than 24h: unknown: newest complete backup of production (none found)',
      'e2e green for this commit: unknown: e2e result for the commit (no commit known)',
    ]);
    expect(recorded.map((r) => r.kind)).toEqual(['deny']);
    await expect(testPolicy(deps, {action: 'deploy', env: 'production', release: 'r1'})).rejects.toThrow(/policy would deny deploy of release r1/);
    expect(recorded.map((r) => r.kind)).toEqual(['deny', 'test']);
    expect(recorded[1]?.payload).toMatchObject({allowed: false, actor: 'me', env_type: 'production'});
  });

  it('resolves the environment type (live env, "production", or --env-type), else not found', async () => {
    const {deps} = fakeDeps([], {production: ['backup younger than 24h']});
    expect((await testPolicy(deps, {action: 'exec', env: 'rel-1', release: null})).request.envType).toBe('staging');
    expect((await testPolicy(deps, {action: 'exec', env: 'x', release: null, envType: 'dev', actor: 'bob'})).request).toMatchObject({envType: 'dev', actor: 'bob'});
    await expect(testPolicy(deps, {action: 'exec', env: 'nowhere', release: null})).rejects.toThrow(NotFoundError);
  });
});
