import {BaseCommand} from '../../cli/base-command.js';
import {branchFlag, detachFlag, envFlag, prFlag} from '../../cli/flags.js';
import {exitForRun} from '../../cli/render/run-outcome.js';
import type {Run} from '../../core/run/run-record.js';

export type PreviewDownResult = {env: string; run: Run};

export default class PreviewDown extends BaseCommand<typeof PreviewDown> {
  static override summary = 'Tear a preview down: its Odoo, database, filestore and config; the environment is marked destroyed.';
  static override examples = ['<%= config.bin %> preview down --branch feature/login', '<%= config.bin %> preview down --pr 42'];
  static override flags = {branch: branchFlag(), pr: prFlag(), env: envFlag(), detach: detachFlag};

  async run(): Promise<PreviewDownResult> {
    const envs = await (await this.services()).environments();
    const env = await envs.locate({branch: this.flags.branch, pr: this.flags.pr, env: this.flags.env});
    const run = await envs.destroy(env, {detach: this.flags.detach, signal: this.signal});
    exitForRun(run);
    this.out(`${env.name}: ${run.state === 'succeeded' ? 'destroyed' : `run ${run.id} is ${run.state}`}`);
    return {env: env.name, run};
  }
}
