import {BaseCommand} from '../../cli/base-command.js';
import type {Member} from '../../core/members/members-service.js';

export interface MembersListResult {
  readonly members: readonly Member[];
}

export default class MembersList extends BaseCommand<typeof MembersList> {
  static override summary = 'List the members of the project with their roles and scopes';
  static override examples = ['<%= config.bin %> members list', '<%= config.bin %> members list --json'];

  async run(): Promise<MembersListResult> {
    const members = await (await (await this.services()).members()).list();
    this.table(members.map((m) => ({...m, envType: m.envType ?? 'all'})), ['member', 'role', 'envType', 'createdBy', 'createdAt']);
    return {members};
  }
}
