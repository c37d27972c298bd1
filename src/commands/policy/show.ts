import {Flags} from '@oclif/core';
import {BaseCommand} from '../../cli/base-command.js';
import {effectivePolicies, POLICY_ENV_TYPES, type EffectivePolicy} from '../../core/policy/policy-service.js';

export interface PolicyShowResult {
  readonly policies: readonly EffectivePolicy[];
}

export default class PolicyShow extends BaseCommand<typeof PolicyShow> {
  static override summary = 'Show the policy rules in force per environment type, and where each comes from';
  static override description = 'A rule set stored with `policy set` replaces the configuration file\'s `policies.<type>` list for that type; without one, the config list applies.';
  static override examples = ['<%= config.bin %> policy show', '<%= config.bin %> policy show --env-type production --json'];

  static override flags = {
    'env-type': Flags.option({options: POLICY_ENV_TYPES, summary: 'Only this environment type.'})(),
  };

  async run(): Promise<PolicyShowResult> {
    const all = await effectivePolicies(await (await this.services()).policies());
    const policies = all.filter((p) => !this.flags['env-type'] || p.envType === this.flags['env-type']);
    for (const p of policies) {
      this.out(`${p.envType} (${p.source === 'store' ? `stored, by ${p.updatedBy} at ${p.updatedAt}` : p.source === 'config' ? 'configuration file' : 'no rules'})`);
      for (const r of p.rules) this.out(`  - ${r.rule}${r.error ? `   [INVALID: ${r.error}; fails closed]` : ''}`);
    }
    return {policies};
  }
}
