import {Flags} from '@oclif/core';
import {BaseCommand} from '../../cli/base-command.js';
import {runSummary, type Run} from '../../core/run/run-record.js';
import {RUN_STATES} from '../../core/run/run-state.js';

export interface RunListResult {
  readonly runs: readonly Run[];
}

export default class RunList extends BaseCommand<typeof RunList> {
  static override summary = 'List runs, newest first';
  static override examples = [
    '<%= config.bin %> run list',
    '<%= config.bin %> run list --state failed --limit 50',
    '<%= config.bin %> run list --env staging --type deploy --json',
  ];

  static override flags = {
    env: Flags.string({char: 'e', summary: 'Only runs of this environment.'}),
    state: Flags.string({options: [...RUN_STATES], summary: 'Only runs in this state.'}),
    type: Flags.string({char: 't', summary: 'Only runs of this type.'}),
    limit: Flags.integer({char: 'n', min: 1, max: 1000, default: 20, summary: 'At most this many runs.'}),
  };

  async run(): Promise<RunListResult> {
    const runs = await (await this.services()).runs();
    const list = await runs.list({env: this.flags.env, state: this.flags.state, type: this.flags.type, limit: this.flags.limit});
    this.table(list.map(runSummary), ['id', 'type', 'env', 'state', 'phase', 'attempts', 'created', 'finished']);
    return {runs: list};
  }
}
