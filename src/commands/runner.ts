import {Flags} from '@oclif/core';
import {BaseCommand} from '../cli/base-command.js';
import type {WorkerSummary} from '../core/run/runner.js';

export type RunnerResult = WorkerSummary;

export default class Runner extends BaseCommand<typeof Runner> {
  static override summary = 'Execute queued runs (until Ctrl-C or SIGTERM, or with --once until none is left)';
  static override examples = ['<%= config.bin %> runner', '<%= config.bin %> runner --concurrency 4', '<%= config.bin %> runner --once --json'];

  static override flags = {
    once: Flags.boolean({summary: 'Execute the runs available now (and reap expired previews), then exit.', default: false}),
    concurrency: Flags.integer({char: 'c', min: 1, max: 64, default: 1, summary: 'Runs executed at the same time.'}),
    'worker-id': Flags.string({summary: 'Name of this worker in leases and events (default: host:pid:worker:random).'}),
  };

  async run(): Promise<RunnerResult> {
    const services = await this.services();
    const runs = await services.runs();
    const periodic = await services.periodicTasks();
    // SIGTERM (systemd, docker stop) stops as gracefully as Ctrl-C.
    const term = new AbortController();
    const onTerm = () => term.abort();
    process.once('SIGTERM', onTerm);
    try {
      const s = await runs.runWorker({
        once: this.flags.once, concurrency: this.flags.concurrency, workerId: this.flags['worker-id'], periodic,
        signal: AbortSignal.any([this.signal, term.signal]),
      });
      this.out(`Worker ${s.workerId}: ${s.executed} run(s) executed: ${s.succeeded} succeeded, ${s.failed} failed, ${s.cancelled} cancelled, ${s.timedOut} timed out, ${s.lost} lost, ${s.abandoned} left to retry.`);
      return s;
    } finally {
      process.removeListener('SIGTERM', onTerm);
    }
  }
}
