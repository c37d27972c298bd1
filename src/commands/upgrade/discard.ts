import {Args} from '@oclif/core';
import {BaseCommand} from '../../cli/base-command.js';
import {detachFlag} from '../../cli/flags.js';
import {exitForRun} from '../../cli/render/run-outcome.js';
import type {Run} from '../../core/run/run-record.js';
import type {UpgradeDiscardResult} from '../../core/upgrade/upgrade-discard.js';

export interface UpgradeDiscardCommandResult {
  readonly run: Run;
  /** What was removed (null when detached: the runner does it). */
  readonly discarded: UpgradeDiscardResult | null;
}

export default class UpgradeDiscard extends BaseCommand<typeof UpgradeDiscard> {
  static override summary = 'Remove the scratch database, filestore and work folder that `upgrade preview --keep` kept.';
  static override examples = ['<%= config.bin %> upgrade discard upg-3', '<%= config.bin %> upgrade discard 42 --json'];
  static override args = {id: Args.string({required: true, description: 'Report id (upg-N) or run id of the upgrade preview.'})};
  static override flags = {detach: detachFlag};

  async run(): Promise<UpgradeDiscardCommandResult> {
    const upgrades = await (await this.services()).upgrades();
    const run = await upgrades.discard(this.args.id, {detach: this.flags.detach, signal: this.signal});
    exitForRun(run);
    const done = run.state === 'succeeded' ? (run.result as unknown as UpgradeDiscardResult) : null;
    if (!done) this.out(`run ${run.id} queued (${run.state}); see it with: odoo-sh-next run status ${run.id}`);
    else if (done.nothingLeft) this.out(`nothing was left of upgrade preview ${done.previewRun} (discarded before)`);
    else {
      const dropped = done.databases.filter((d) => d.dropped).map((d) => d.name);
      this.out(`discarded upgrade preview ${done.previewRun}: ${[
        ...(dropped.length ? [`dropped ${dropped.join(', ')}`] : []),
        ...(done.environmentRemoved ? [`removed ${done.env}`] : []),
      ].join('; ')}`);
    }
    return {run, discarded: done};
  }
}
