import {Args, Flags} from '@oclif/core';
import {BaseCommand} from '../../../cli/base-command.js';
import type {UpgradeReport} from '../../../core/upgrade/report.js';

export interface UpgradeReportShowResult {
  readonly id: string;
  readonly runId: string | null;
  readonly env: string;
  readonly verdict: 'ready' | 'blocked';
  readonly requestedBy: string;
  readonly createdAt: string;
  readonly approvedBy: string | null;
  readonly approvedAt: string | null;
  readonly report: UpgradeReport;
}

export default class UpgradeReportShow extends BaseCommand<typeof UpgradeReportShow> {
  static override summary = 'Show an upgrade report (by report id upg-N or by the run id of its preview).';
  static override examples = ['<%= config.bin %> upgrade report show upg-3', '<%= config.bin %> upgrade report show 42 --format json'];
  static override args = {id: Args.string({required: true, description: 'Report id (upg-N) or run id.'})};
  static override flags = {
    format: Flags.string({options: ['md', 'json'], default: 'md', summary: 'Human output: Markdown or the JSON report.'}),
  };

  async run(): Promise<UpgradeReportShowResult> {
    const found = await (await (await this.services()).upgrades()).show(this.args.id);
    if (this.flags.format === 'json') this.out(JSON.stringify(found.report, null, 2));
    else {
      this.out(found.markdown.trimEnd());
      this.out(found.approvedBy ? `\napproved by ${found.approvedBy} at ${found.approvedAt}` : `\nnot approved (odoo-sh-next upgrade report approve ${found.id})`);
    }
    const {markdown: _md, fromVersion: _f, toVersion: _t, ...rest} = found;
    return rest;
  }
}
