import {Flags} from '@oclif/core';
import {BaseCommand} from '../../cli/base-command.js';
import {errorForRun} from '../../core/run/run-outcome.js';
import {parsePayloadJson, type Run} from '../../core/run/run-record.js';

export interface RunCreateResult {
  readonly run: Run;
}

export default class RunCreate extends BaseCommand<typeof RunCreate> {
  static override summary = 'Create a run and execute it now (or queue it for a runner with --detach)';
  static override examples = [
    '<%= config.bin %> run create --type doctor',
    '<%= config.bin %> run create --type doctor --detach --json',
    '<%= config.bin %> run create --type deploy --env staging --ref release/1.2 --sha 4f2a9c1',
  ];

  static override flags = {
    type: Flags.string({char: 't', required: true, summary: 'Run type (e.g. doctor).'}),
    env: Flags.string({char: 'e', summary: 'Environment the run is about.'}),
    ref: Flags.string({summary: 'Git ref (branch name, refs/heads/..., refs/tags/..., refs/pull/N/head).'}),
    sha: Flags.string({summary: 'Git commit SHA (7 to 40 hex digits).'}),
    payload: Flags.string({summary: 'Run input as a JSON object.'}),
    'max-attempts': Flags.integer({min: 1, max: 100, summary: 'Attempts before the run fails (default: state.runMaxAttempts).'}),
    detach: Flags.boolean({summary: 'Only queue the run; a runner (`odoo-sh-next runner`) executes it.'}),
  };

  async run(): Promise<RunCreateResult> {
    const f = this.flags;
    const payload = f.payload === undefined ? undefined : parsePayloadJson(f.payload);
    const runs = await (await this.services()).runs();
    const run = await runs.create({
      type: f.type, env: f.env, ref: f.ref, gitSha: f.sha, payload, maxAttempts: f['max-attempts'], detach: f.detach, signal: this.signal,
    });
    if (f.detach) this.out(`Queued run ${run.id} (${run.type}). Follow it: ${this.config.bin} run logs ${run.id} --follow`);
    else this.out(`Run ${run.id} (${run.type}) ${run.state}.`);
    const failure = errorForRun(run);
    if (failure) throw failure;
    return {run};
  }
}
