import {Flags} from '@oclif/core';
import {BaseCommand} from '../../cli/base-command.js';
import {envFlag} from '../../cli/flags.js';
import {APPROVAL_STATUSES, parseApprovalStatus} from '../../core/approvals/approval-state.js';
import type {Approval} from '../../core/approvals/approvals-service.js';

export type ApprovalsListResult = Approval[];

export default class ApprovalsList extends BaseCommand<typeof ApprovalsList> {
  static override summary = 'List approval requests, newest first (requests past their expiry are marked expired).';
  static override examples = ['<%= config.bin %> approvals list', '<%= config.bin %> approvals list --env production --status pending --json'];
  static override flags = {
    env: envFlag({summary: 'Only requests for this environment.'}),
    status: Flags.custom({parse: async (v) => parseApprovalStatus(v), helpValue: APPROVAL_STATUSES.join('|')})({summary: 'Only requests in this status.'}),
    limit: Flags.integer({char: 'n', min: 1, max: 10000, default: 100, summary: 'At most this many requests.'}),
  };

  async run(): Promise<ApprovalsListResult> {
    const approvals = await (await this.services()).approvals();
    const list = await approvals.list({env: this.flags.env, status: this.flags.status, limit: this.flags.limit});
    this.table(list.map((a) => ({
      id: a.id, action: a.action, env: a.env, release: a.release ?? '', status: a.status,
      votes: `${a.votes.filter((v) => v.vote === 'approve').length}/${a.quorum}`, requested_by: a.requestedBy,
      expires: a.expiresAt ?? '', reason: a.reason ?? '',
    })), ['id', 'action', 'env', 'release', 'status', 'votes', 'requested_by', 'expires', 'reason']);
    return list;
  }
}
