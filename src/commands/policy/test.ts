import {Flags} from '@oclif/core';
import {BaseCommand} from '../../cli/base-command.js';
import {POLICY_ENV_TYPES, testPolicy} from '../../core/policy/policy-service.js';
import {POLICY_ACTIONS, type PolicyEvaluation, type PolicyRequest} from '../../core/policy/promotion-policy.js';

export interface PolicyTestResult {
  readonly request: PolicyRequest;
  readonly source: 'config' | 'store' | 'none';
  readonly evaluation: PolicyEvaluation;
}

export default class PolicyTest extends BaseCommand<typeof PolicyTest> {
  static override summary = 'Evaluate the policy for an action without acting (exit 8 when it would be denied)';
  static override description = 'A dry evaluation: recorded in the audit log as policy.test (not as a denial); facts that are unknown fail their rule.';
  static override examples = [
    '<%= config.bin %> policy test --action promote --env production --release r-42',
    '<%= config.bin %> policy test --action restore --env production --actor alice --json',
  ];

  static override flags = {
    action: Flags.option({options: POLICY_ACTIONS, required: true, summary: 'The action to evaluate.'})(),
    env: Flags.string({required: true, summary: 'The target environment.'}),
    'env-type': Flags.option({options: POLICY_ENV_TYPES, summary: 'The environment type (default: the environment\'s own type).'})(),
    release: Flags.string({summary: 'The release the action would deploy.'}),
    sha: Flags.string({summary: 'The commit of the release (for "e2e green for this commit").'}),
    actor: Flags.string({summary: 'Who would act (default: you).'}),
  };

  async run(): Promise<PolicyTestResult> {
    const f = this.flags;
    const check = await testPolicy(await (await this.services()).policies(), {
      action: f.action, env: f.env, release: f.release ?? null, commit: f.sha ?? null,
      ...(f['env-type'] ? {envType: f['env-type']} : {}), ...(f.actor ? {actor: f.actor} : {}),
    });
    this.table(check.evaluation.results.map((r) => ({ok: r.ok ? 'yes' : 'NO', rule: r.rule, reason: r.reason})), ['ok', 'rule', 'reason']);
    this.out(`allowed: ${check.evaluation.results.length === 0 ? 'yes (no rules)' : 'yes'}`);
    return {request: check.request, source: check.policy.source, evaluation: check.evaluation};
  }
}
