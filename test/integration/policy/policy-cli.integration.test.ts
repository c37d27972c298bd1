/** `policy show|set|test` through the built CLI: round trip, exit codes, and the audit of evaluations. */
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import type {AuditListResult} from '../../../src/commands/audit/list.js';
import type {PolicySetResult} from '../../../src/commands/policy/set.js';
import type {PolicyShowResult} from '../../../src/commands/policy/show.js';
import type {PolicyTestResult} from '../../../src/commands/policy/test.js';
import {assertContract, runCli, STANDIN, tempProject} from '../../helpers/cli.js';

let project: {dir: string; remove(): Promise<void>};
const cli = <R>(...args: string[]) => runCli<R>([...args, '--json'], {cwd: project.dir});

beforeAll(async () => {
  project = await tempProject('odoo-sh-next-policy-');
  const init = await cli('init', '--project', 'shop', '--odoo-bin', STANDIN);
  expect(init.exitCode, init.stderr).toBe(0);
}, 180_000);

afterAll(async () => {
  await runCli(['down'], {cwd: project.dir});
  await project.remove();
});

describe('policy commands', () => {
  it('shows no rules, stores rules and shows them back with their source', async () => {
    const empty = await cli<PolicyShowResult>('policy', 'show', '--env-type', 'production');
    expect(empty.exitCode, empty.stderr).toBe(0);
    assertContract('policy show', empty.json.result);
    expect(empty.json.result?.policies).toEqual([{envType: 'production', source: 'none', rules: []}]);

    const set = await cli<PolicySetResult>('policy', 'set', '--env-type', 'production',
      '--rule', 'approvals >= 1 from role admin', '--rule', 'no self-approval');
    expect(set.exitCode, set.stderr).toBe(0);
    assertContract('policy set', set.json.result);
    expect(set.json.result?.policy).toMatchObject({envType: 'production', source: 'store', rules: [
      {rule: 'approvals >= 1 from role admin', source: 'store'}, {rule: 'no self-approval', source: 'store'}]});

    const shown = await cli<PolicyShowResult>('policy', 'show');
    expect(shown.json.result?.policies.map((p) => [p.envType, p.source, p.rules.length])).toEqual([
      ['production', 'store', 2], ['staging', 'none', 0], ['preview', 'none', 0], ['dev', 'none', 0]]);
    const human = await runCli(['policy', 'show', '--env-type', 'production'], {cwd: project.dir});
    expect(human.stdout).toContain('  - approvals >= 1 from role admin');
  });

  it('refuses an invalid rule with exit 2, naming it', async () => {
    const bad = await cli('policy', 'set', '--env-type', 'staging', '--rule', 'no self-approval', '--rule', 'backup younger than a while');
    expect(bad.exitCode).toBe(2);
    expect(bad.json.error?.message).toContain('--rule[1] "backup younger than a while": expected "backup younger than <duration>"');
    expect((await cli('policy', 'set', '--env-type', 'staging')).exitCode).toBe(2);
  });

  it('policy test: exit 8 with every reason when denied, 0 when allowed; both audited as policy.test', async () => {
    const denied = await cli('policy', 'test', '--action', 'promote', '--env', 'production', '--release', 'r-1');
    expect(denied.exitCode, denied.stderr).toBe(8);
    expect(denied.json.error).toMatchObject({code: 'POLICY_DENIED', data: {
      reasons: ['approvals >= 1 from role admin: needs 1 approval(s) from role admin for promote of release r-1 on production, has 0']}});

    const staging = await cli<PolicyTestResult>('policy', 'test', '--action', 'deploy', '--env', 'rel-x', '--env-type', 'staging');
    expect(staging.exitCode, staging.stderr).toBe(0);
    assertContract('policy test', staging.json.result);
    expect(staging.json.result).toMatchObject({source: 'none', evaluation: {allowed: true, results: [], failed: []},
      request: {action: 'deploy', env: 'rel-x', envType: 'staging', release: null}});

    const unknownEnv = await cli('policy', 'test', '--action', 'deploy', '--env', 'nowhere');
    expect(unknownEnv.exitCode).toBe(4);

    const audit = await cli<AuditListResult>('audit', 'list', '--action', 'policy.*');
    expect(audit.exitCode, audit.stderr).toBe(0);
    const actions = audit.json.result?.entries.map((e) => [e.action, e.target, e.env, e.payload['allowed']]);
    expect(actions).toEqual([
      ['policy.test', 'deploy', 'rel-x', true],
      ['policy.test', 'promote', 'production', false],
      ['policy.set', 'production', null, undefined],
    ]);
    const denial = audit.json.result?.entries[1];
    expect(denial?.payload).toMatchObject({release: 'r-1', reasons: [expect.stringContaining('needs 1 approval(s)')]});
    expect((await cli('audit', 'verify')).exitCode).toBe(0);
  });

  it('resets to the configuration file defaults', async () => {
    const reset = await cli<PolicySetResult>('policy', 'set', '--env-type', 'production', '--reset');
    expect(reset.exitCode, reset.stderr).toBe(0);
    expect(reset.json.result).toMatchObject({reset: true, policy: {source: 'none', rules: []}});
  });
});
