import {Flags} from '@oclif/core';
import {BaseCommand} from '../../cli/base-command.js';
import {durationFlag, envFlag} from '../../cli/flags.js';
import {APPROVAL_ACTIONS, DEFAULT_TTL_MS, MAX_QUORUM, parseApprovalAction} from '../../core/approvals/approval-state.js';
import type {Approval} from '../../core/approvals/approvals-service.js';

export type ApprovalsRequestResult = Approval;

export default class ApprovalsRequest extends BaseCommand<typeof ApprovalsRequest> {
  static override summary = 'Ask for approval of an action on an environment (bound to that exact release).';
  static override description =
    'An approval admits only the action, environment and release it was given for. Other members approve or reject it ' +
    '(`approvals approve ID`); the requester cannot approve their own request unless the policy allows it. ' +
    'With --quorum N it needs N approvers; a single reject decides it. It expires after --ttl.';
  static override examples = [
    '<%= config.bin %> approvals request --for promote --env production --release 2f1c0a9 --reason "release 3.2"',
    '<%= config.bin %> approvals request --for restore --env production --quorum 2 --ttl 2h --json',
  ];
  static override flags = {
    // Parsed (not `options`) so a bad value is a usage error (exit 2).
    for: Flags.custom({parse: async (v) => parseApprovalAction(v), helpValue: APPROVAL_ACTIONS.join('|')})({required: true, summary: 'The action to approve.'}),
    env: envFlag({required: true}),
    release: Flags.string({char: 'r', summary: 'The release the approval binds to (deploy and promote need one to be of use).'}),
    reason: Flags.string({summary: 'Why: shown to approvers and recorded in the audit log.'}),
    quorum: Flags.integer({min: 1, max: MAX_QUORUM, default: 1, summary: 'How many distinct members must approve.'}),
    ttl: durationFlag({default: DEFAULT_TTL_MS, summary: 'Expire the request after this long (e.g. 30m, 24h, 7d; at most 90d).', defaultHelp: async () => '24h'}),
  };

  async run(): Promise<ApprovalsRequestResult> {
    const approvals = await (await this.services()).approvals();
    const a = await approvals.request({
      action: this.flags.for, env: this.flags.env, release: this.flags.release, reason: this.flags.reason,
      quorum: this.flags.quorum, ttlMs: this.flags.ttl,
    });
    if (a.release === null && (a.action === 'deploy' || a.action === 'promote')) {
      this.warn(`approval ${a.id} names no release: it admits no ${a.action} of a release (pass --release)`);
    }
    this.out(`approval ${a.id} requested: ${a.action} on ${a.env}${a.release ? ` of release ${a.release}` : ''}, ` +
      `needs ${a.quorum} approver(s), expires ${a.expiresAt ?? 'never'}`);
    return a;
  }
}
