import {BaseCommand} from '../../cli/base-command.js';
import {branchFlag, detachFlag, prFlag} from '../../cli/flags.js';
import {exitForRun} from '../../cli/render/run-outcome.js';
import type {Run} from '../../core/run/run-record.js';

export type EventPrClosedResult = {env: string; run: Run};

export default class EventPrClosed extends BaseCommand<typeof EventPrClosed> {
  static override summary = "A pull request was closed or merged: tear its preview down.";
  static override examples = ['<%= config.bin %> event pr-closed --branch feature/login', '<%= config.bin %> event pr-closed --pr 42'];
  static override flags = {branch: branchFlag(), pr: prFlag(), detach: detachFlag};

  async run(): Promise<EventPrClosedResult> {
    const envs = await (await this.services()).environments();
    const env = await envs.locate({branch: this.flags.branch, pr: this.flags.pr});
    const run = await envs.destroy(env, {detach: this.flags.detach, signal: this.signal});
    exitForRun(run);
    this.out(`${env.name}: destroyed`);
    return {env: env.name, run};
  }
}
