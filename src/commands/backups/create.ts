import {Flags} from '@oclif/core';
import {BaseCommand} from '../../cli/base-command.js';
import {detachFlag, envFlag} from '../../cli/flags.js';
import {exitForRun} from '../../cli/render/run-outcome.js';
import {BACKUP_KINDS, formatBytes, type BackupSummary} from '../../core/backup/backup-record.js';
import type {Run} from '../../core/run/run-record.js';

export interface BackupsCreateResult {
  readonly run: Run;
  /** The backup made (null when the run was detached). */
  readonly backup: BackupSummary | null;
}

export default class BackupsCreate extends BaseCommand<typeof BackupsCreate> {
  static override summary = "Back up an environment: its database, filestore, Odoo logs and a manifest.";
  static override description =
    'Runs the phases database → filestore → logs → manifest, streaming everything into the configured storage (backups.storage). ' +
    'The backup is complete only once its manifest was written and read back. Manual backups are limited per environment and day (backups.manualPerDay).';
  static override examples = ['<%= config.bin %> backups create --env production', '<%= config.bin %> backups create --env staging --json'];
  static override flags = {
    env: envFlag({required: true}),
    kind: Flags.option({options: BACKUP_KINDS, default: 'manual' as const, summary: 'Kind of backup (retention keeps manual ones apart).'})(),
    detach: detachFlag,
  };

  async run(): Promise<BackupsCreateResult> {
    const backups = await (await this.services()).backups();
    const {run, summary: backup} = await backups.create({
      env: this.flags.env, kind: this.flags.kind, detach: this.flags.detach, signal: this.signal, summaryOnly: true,
    });
    exitForRun(run);
    this.out(backup ? `backup ${backup.id} of ${backup.env}: ${backup.status}, ${formatBytes(backup.sizeBytes)} in ${backup.location}` : `run ${run.id} is ${run.state}`);
    return {run, backup};
  }
}
