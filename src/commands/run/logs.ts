import {Args, Flags} from '@oclif/core';
import {BaseCommand} from '../../cli/base-command.js';
import {formatRunEvent, type RunEvent} from '../../core/run/run-record.js';

export interface RunLogsResult {
  readonly runId: string;
  readonly events: readonly RunEvent[];
}

export default class RunLogs extends BaseCommand<typeof RunLogs> {
  static override summary = "Show a run's events; --follow waits for new ones until the run ends";
  static override examples = ['<%= config.bin %> run logs 42', '<%= config.bin %> run logs 42 --follow', '<%= config.bin %> run logs 42 --json'];

  static override args = {
    id: Args.string({required: true, description: 'Run id (a number).'}),
  };

  static override flags = {
    follow: Flags.boolean({char: 'f', summary: 'Keep printing new events until the run ends (Ctrl-C stops following).'}),
  };

  async run(): Promise<RunLogsResult> {
    const runs = await (await this.services()).runs();
    const events: RunEvent[] = [];
    for await (const event of runs.logs(this.args.id, {follow: this.flags.follow, signal: this.signal})) {
      events.push(event);
      this.out(formatRunEvent(event));
    }
    return {runId: this.args.id, events};
  }
}
