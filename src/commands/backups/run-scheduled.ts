import {Flags} from '@oclif/core';
import {BaseCommand} from '../../cli/base-command.js';
import {detachFlag, envFlag} from '../../cli/flags.js';
import {createFireDueBackupsDeps, fireDueBackups, scheduleFailure, type FireReport} from '../../core/backup/schedule-service.js';

export type BackupsRunScheduledResult = FireReport;

export default class BackupsRunScheduled extends BaseCommand<typeof BackupsRunScheduled> {
  static override summary = 'Take the scheduled backups that are due, then prune (for a system cron or a CI schedule; the runner does this too).';
  static override description =
    'Schedules are cron expressions per environment (backups.schedules, in backups.timeZone). Each slot fires once, however many ' +
    'runners or calls race for it; after downtime only the latest missed slot fires.';
  static override examples = [
    '<%= config.bin %> backups run-scheduled',
    '<%= config.bin %> backups run-scheduled --env production --detach',
    '*/15 * * * *  cd /srv/shop && <%= config.bin %> backups run-scheduled --json   # crontab line',
  ];
  static override flags = {
    env: envFlag({summary: 'Only this environment\'s schedule.'}),
    detach: detachFlag,
    prune: Flags.boolean({summary: 'Prune the environment after its scheduled backup (--no-prune to skip).', default: true, allowNo: true}),
  };

  async run(): Promise<BackupsRunScheduledResult> {
    const services = await this.services();
    const deps = await createFireDueBackupsDeps(services);
    const report = await fireDueBackups(deps, services.clock.now(), {
      env: this.flags.env, detach: this.flags.detach === true, prune: this.flags.prune, signal: this.signal,
    });
    this.table(
      report.schedules.map((s) => ({...s, run: s.runId ? `${s.runId} ${s.runState}` : '', pruned: s.pruned ? `${s.pruned.deleted} deleted` : ''})),
      ['env', 'cron', 'outcome', 'slot', 'run', 'pruned', 'next'],
    );
    if (report.schedules.length === 0) this.warn(this.flags.env ? `no backup schedule for environment ${this.flags.env}` : 'no backup schedules configured');
    const failure = scheduleFailure(report);
    if (failure) throw failure;
    return report;
  }
}
