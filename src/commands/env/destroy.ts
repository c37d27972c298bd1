import {Args} from '@oclif/core';
import {BaseCommand} from '../../cli/base-command.js';
import {detachFlag} from '../../cli/flags.js';
import {exitForRun} from '../../cli/render/run-outcome.js';
import type {Run} from '../../core/run/run-record.js';

export type EnvDestroyResult = {env: string; run: Run};

export default class EnvDestroy extends BaseCommand<typeof EnvDestroy> {
  static override summary = 'Destroy a non-production environment: its Odoo, database and filestore.';
  static override examples = ['<%= config.bin %> env destroy feature-login-1a2b3c4d'];
  static override args = {env: Args.string({required: true, description: 'Environment name.'})};
  static override flags = {detach: detachFlag};

  async run(): Promise<EnvDestroyResult> {
    const envs = await (await this.services()).environments();
    const env = await envs.locate({env: this.args.env});
    const run = await envs.destroy(env, {detach: this.flags.detach, signal: this.signal});
    exitForRun(run);
    this.out(`${env.name}: ${run.state === 'succeeded' ? 'destroyed' : `run ${run.id} is ${run.state}`}`);
    return {env: env.name, run};
  }
}
