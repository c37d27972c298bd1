import {Args, Flags} from '@oclif/core';
import {BaseCommand} from '../../cli/base-command.js';
import type {Approval} from '../../core/approvals/approvals-service.js';

export type ApprovalsRejectResult = Approval;

export default class ApprovalsReject extends BaseCommand<typeof ApprovalsReject> {
  static override summary = 'Reject an approval request (your vote, recorded in the audit log).';
  static override description = 'One reject decides the request as rejected. Refused (exit 8) for viewers and for roles that may not act on the environment (production: admin). A decided or expired request cannot be voted on (exit 5).';
  static override examples = ['<%= config.bin %> approvals reject 3f2a9c1e', '<%= config.bin %> approvals reject 3f2a9c1e --comment "checked the changelog" --json'];
  static override args = {id: Args.string({required: true, description: 'Approval id (or its first 6+ characters).'})};
  static override flags = {comment: Flags.string({char: 'm', summary: 'A note recorded with your vote.'})};

  async run(): Promise<ApprovalsRejectResult> {
    const approvals = await (await this.services()).approvals();
    const a = await approvals.reject(this.args.id, {comment: this.flags.comment});
    const approves = a.votes.filter((v) => v.vote === 'approve').length;
    this.out(`approval ${a.id} (${a.action} on ${a.env}${a.release ? ` of release ${a.release}` : ''}): ${a.status}, ${approves}/${a.quorum} approvals`);
    return a;
  }
}
