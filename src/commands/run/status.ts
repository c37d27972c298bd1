import {Args} from '@oclif/core';
import {BaseCommand} from '../../cli/base-command.js';
import type {Run} from '../../core/run/run-record.js';

export interface RunStatusResult {
  readonly run: Run;
}

export default class RunStatus extends BaseCommand<typeof RunStatus> {
  static override summary = 'Show a run: state, phase, attempts, error and result';
  static override examples = ['<%= config.bin %> run status 42', '<%= config.bin %> run status 42 --json'];

  static override args = {
    id: Args.string({required: true, description: 'Run id (a number).'}),
  };

  async run(): Promise<RunStatusResult> {
    const runs = await (await this.services()).runs();
    const run = await runs.status(this.args.id);
    this.out(`Run ${run.id}: ${run.type}${run.env ? ` on ${run.env}` : ''}`);
    this.out(`State:    ${run.state}${run.cancelRequested && run.state === 'running' ? ' (cancellation requested)' : ''}`);
    if (run.phase) this.out(`Phase:    ${run.phase}`);
    this.out(`Attempts: ${run.attempts} of ${run.maxAttempts}${run.lockedBy ? ` (worker ${run.lockedBy}, lease until ${run.leaseExpiresAt})` : ''}`);
    if (run.ref || run.gitSha) this.out(`Ref:      ${run.ref ?? ''}${run.gitSha ? ` @ ${run.gitSha}` : ''}`);
    this.out(`Created:  ${run.createdAt} by ${run.createdBy}`);
    if (run.startedAt) this.out(`Started:  ${run.startedAt}`);
    if (run.finishedAt) this.out(`Finished: ${run.finishedAt}`);
    if (run.lastError) this.out(`Error:    ${run.lastError}`);
    if (run.result && Object.keys(run.result).length > 0) this.out(`Result:   ${JSON.stringify(run.result)}`);
    return {run};
  }
}
