import {Args} from '@oclif/core';
import {BaseCommand} from '../../../cli/base-command.js';

export interface UpgradeReportApproveResult {
  readonly id: string;
  readonly env: string;
  readonly toVersion: string;
  readonly verdict: 'ready' | 'blocked';
  readonly requestedBy: string;
  readonly approvedBy: string | null;
  readonly approvedAt: string | null;
}

export default class UpgradeReportApprove extends BaseCommand<typeof UpgradeReportApprove> {
  static override summary = 'Approve a ready upgrade report (admin; not the member who asked for the preview). Audited.';
  static override examples = ['<%= config.bin %> upgrade report approve upg-3'];
  static override args = {id: Args.string({required: true, description: 'Report id (upg-N) or run id.'})};

  async run(): Promise<UpgradeReportApproveResult> {
    const r = await (await (await this.services()).upgrades()).approve(this.args.id);
    this.out(`upgrade report ${r.id} (${r.env} → ${r.toVersion}) approved by ${r.approvedBy}`);
    return {id: r.id, env: r.env, toVersion: r.toVersion, verdict: r.verdict, requestedBy: r.requestedBy, approvedBy: r.approvedBy, approvedAt: r.approvedAt};
  }
}
