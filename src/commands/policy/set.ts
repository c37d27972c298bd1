import {Flags} from '@oclif/core';
import {BaseCommand} from '../../cli/base-command.js';
import {UsageError} from '../../core/errors.js';
import {RULE_FORMS} from '../../core/policy/policy-rules.js';
import {POLICY_ENV_TYPES, setPolicy, type EffectivePolicy} from '../../core/policy/policy-service.js';

export interface PolicySetResult {
  readonly policy: EffectivePolicy;
  readonly reset: boolean;
}

export default class PolicySet extends BaseCommand<typeof PolicySet> {
  static override summary = 'Store the policy rules of an environment type (replaces the config file\'s list for that type; admins only, audited)';
  static override description = `Rule forms:\n${RULE_FORMS.map((f) => `  ${f}`).join('\n')}`;
  static override examples = [
    '<%= config.bin %> policy set --env-type production --rule "approvals >= 1 from role admin" --rule "no self-approval"',
    '<%= config.bin %> policy set --env-type production --rule "deploy window 0 9 * * 1-5 for 8h tz Europe/Brussels"',
    '<%= config.bin %> policy set --env-type production --reset',
  ];

  static override flags = {
    'env-type': Flags.option({options: POLICY_ENV_TYPES, required: true, summary: 'The environment type the rules apply to.'})(),
    rule: Flags.string({multiple: true, summary: 'A rule (repeat for several); the whole list replaces the stored one.'}),
    reset: Flags.boolean({default: false, summary: 'Remove the stored rules: the configuration file\'s list applies again.', exclusive: ['rule']}),
  };

  async run(): Promise<PolicySetResult> {
    const {rule, reset} = this.flags;
    if (!reset && (rule === undefined || rule.length === 0)) throw new UsageError('give at least one --rule, or --reset', {actions: ['odoo-sh-next policy set --help']});
    const policy = await setPolicy(await (await this.services()).policies(), this.flags['env-type'], reset ? null : rule!);
    this.out(`${policy.envType}: ${policy.rules.length} rule(s) in force (${policy.source})`);
    for (const r of policy.rules) this.out(`  - ${r.rule}`);
    return {policy, reset};
  }
}
