import {Args, Flags} from '@oclif/core';
import {BaseCommand} from '../../cli/base-command.js';
import {MEMBER_ENV_TYPES, type MemberEnvType} from '../../core/members/member-input.js';

export interface MembersRemoveResult {
  readonly member: string;
  readonly envType: MemberEnvType | null;
}

export default class MembersRemove extends BaseCommand<typeof MembersRemove> {
  static override summary = 'Remove a member from the project (its project-wide role, or its role for one environment type)';
  static override description = 'Admin only; audited. The last admin cannot be removed. The member\'s Postgres role is kept.';
  static override examples = [
    '<%= config.bin %> members remove alice',
    '<%= config.bin %> members remove bob --env-type staging --json',
  ];

  static override args = {
    user: Args.string({required: true, description: 'The member (Postgres role name or jwt sub).'}),
  };

  static override flags = {
    'env-type': Flags.option({options: MEMBER_ENV_TYPES, summary: 'Remove the role scoped to this environment type.'})(),
  };

  async run(): Promise<MembersRemoveResult> {
    const members = await (await this.services()).members();
    const result = await members.remove({user: this.args.user, envType: this.flags['env-type']});
    this.out(`${result.member} removed${result.envType ? ` (${result.envType} environments)` : ''}.`);
    return result;
  }
}
