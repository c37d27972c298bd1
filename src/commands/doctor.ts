import {Flags} from '@oclif/core';
import {BaseCommand} from '../cli/base-command.js';
import type {CheckResult} from '../core/doctor/doctor-report.js';
import {errorForRun} from '../core/run/run-outcome.js';
import type {Run} from '../core/run/run-record.js';

export interface DoctorCommandResult {
  readonly run: Run;
  readonly checks: readonly CheckResult[];
}

export default class Doctor extends BaseCommand<typeof Doctor> {
  static override summary = 'Check the state database, PostgreSQL binaries, Docker and the provider settings';
  static override examples = ['<%= config.bin %> doctor', '<%= config.bin %> doctor --json', '<%= config.bin %> doctor --detach'];

  static override flags = {
    detach: Flags.boolean({summary: 'Only queue the doctor run; a runner executes it.'}),
  };

  async run(): Promise<DoctorCommandResult> {
    const runs = await (await this.services()).runs();
    const run = await runs.create({type: 'doctor', detach: this.flags.detach, signal: this.signal});
    if (this.flags.detach) {
      this.out(`Queued doctor run ${run.id}. Follow it: ${this.config.bin} run logs ${run.id} --follow`);
      return {run, checks: []};
    }
    const failure = errorForRun(run);
    const checks = ((failure?.data?.['checks'] ?? run.result?.['checks']) ?? []) as CheckResult[];
    this.table(checks.map((c) => ({...c, status: c.status.toUpperCase()})), ['name', 'status', 'detail']);
    if (failure) throw failure;
    return {run, checks};
  }
}
