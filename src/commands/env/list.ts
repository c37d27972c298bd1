import {Flags} from '@oclif/core';
import {BaseCommand} from '../../cli/base-command.js';
import type {Environment} from '../../core/environments/environment-record.js';
import {ENVIRONMENT_TYPES} from '../../core/config/schema-sections.js';

export type EnvListResult = Environment[];

export default class EnvList extends BaseCommand<typeof EnvList> {
  static override summary = 'List the environments of the project.';
  static override examples = ['<%= config.bin %> env list', '<%= config.bin %> env list --type preview --all --json'];
  static override flags = {
    type: Flags.option({options: ENVIRONMENT_TYPES, summary: 'Only this environment type.'})(),
    all: Flags.boolean({summary: 'Include destroyed environments.'}),
  };

  async run(): Promise<EnvListResult> {
    const envs = await (await (await this.services()).environments()).list({type: this.flags.type, includeDestroyed: this.flags.all});
    this.table(envs, ['name', 'type', 'branch', 'status', 'url', 'currentRelease']);
    return envs;
  }
}
