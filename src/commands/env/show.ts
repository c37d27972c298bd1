import {Args} from '@oclif/core';
import {BaseCommand} from '../../cli/base-command.js';
import type {Environment} from '../../core/environments/environment-record.js';

export type EnvShowResult = Environment;

export default class EnvShow extends BaseCommand<typeof EnvShow> {
  static override summary = 'Show one environment.';
  static override examples = ['<%= config.bin %> env show feature-login-1a2b3c4d --json'];
  static override args = {env: Args.string({required: true, description: 'Environment name.'})};

  async run(): Promise<EnvShowResult> {
    const env = await (await (await this.services()).environments()).locate({env: this.args.env});
    for (const [k, v] of Object.entries(env)) if (typeof v !== 'object' || v === null) this.out(`${k.padEnd(14)} ${v ?? ''}`);
    return env;
  }
}
