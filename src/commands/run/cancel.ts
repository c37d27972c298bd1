import {Args} from '@oclif/core';
import {BaseCommand} from '../../cli/base-command.js';
import type {Run} from '../../core/run/run-record.js';

export interface RunCancelResult {
  readonly run: Run;
}

export default class RunCancel extends BaseCommand<typeof RunCancel> {
  static override summary = 'Cancel a run: a queued run at once, a running one as soon as its worker notices';
  static override examples = ['<%= config.bin %> run cancel 42', '<%= config.bin %> run cancel 42 --json'];

  static override args = {
    id: Args.string({required: true, description: 'Run id (a number).'}),
  };

  async run(): Promise<RunCancelResult> {
    const runs = await (await this.services()).runs();
    const run = await runs.cancel(this.args.id);
    if (run.state === 'cancelled') this.out(`Run ${run.id} cancelled.`);
    else this.out(`Cancellation of run ${run.id} requested; its worker stops it at its next heartbeat.`);
    return {run};
  }
}
