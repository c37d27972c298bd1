import {Args, Flags} from '@oclif/core';
import {BaseCommand} from '../../cli/base-command.js';
import {envFlag} from '../../cli/flags.js';
import {exitForRun} from '../../cli/render/run-outcome.js';
import {UsageError} from '../../core/errors.js';
import {confirmDestructive} from '../../core/backup/restore-confirm.js';
import type {RestoreRunResult} from '../../core/backup/restore-run-type.js';
import type {DroppedPrevious} from '../../core/backup/restore-service.js';
import type {Run} from '../../core/run/run-record.js';

export interface BackupsRestoreResult {
  readonly mode: 'restore' | 'confirm';
  /** The restore run (mode restore). */
  readonly run: Run | null;
  readonly restore: RestoreRunResult | null;
  /** Previous databases dropped (mode confirm). */
  readonly dropped: readonly DroppedPrevious[];
}

export default class BackupsRestore extends BaseCommand<typeof BackupsRestore> {
  static override summary = 'Restore a backup into a new database, verify it, then switch the environment to it.';
  static override description =
    'Never in place: the backup is loaded into a new database and filestore, verified (every attachment has its file with the right sha1), ' +
    'a safety backup of a production target is taken, and only then does the environment switch. The previous database and filestore are kept ' +
    'until `backups restore --confirm` (or 7 days). A backup of another environment is neutralized and masked like a clone. ' +
    'Replacing production data asks for a confirmation (--yes in scripts).';
  static override examples = [
    '<%= config.bin %> backups restore 3f2a9c1e --yes',
    '<%= config.bin %> backups restore 3f2a9c1e --to-env staging',
    '<%= config.bin %> backups restore --confirm --env production --yes',
  ];
  static override args = {id: Args.string({required: false, description: 'Backup id (or its first 6+ characters).'})};
  static override flags = {
    'to-env': Flags.string({summary: "Environment to restore into (default: the backup's own).", helpValue: 'ENV'}),
    'no-filestore': Flags.boolean({default: false, summary: 'Restore the database alone (attachments will miss their files).'}),
    yes: Flags.boolean({char: 'y', default: false, summary: 'Do not ask before replacing production data.'}),
    confirm: Flags.boolean({default: false, summary: 'Drop the previous databases and filestores kept by earlier restores.'}),
    env: envFlag({summary: 'With --confirm: only this environment.'}),
  };

  async run(): Promise<BackupsRestoreResult> {
    const restores = await (await this.services()).restores();
    const ask = (destructive: boolean, what: string, expected: string) =>
      confirmDestructive({destructive, yes: this.flags.yes, what, expected, input: process.stdin, output: process.stderr});
    if (this.flags.confirm) {
      const kept = await restores.kept(this.flags.env);
      const prod = kept.find((r) => r.envType === 'production');
      if (prod) await ask(true, `dropping the previous database ${prod.previousDatabase} of ${prod.targetEnv}`, prod.targetEnv);
      const dropped = await restores.confirm(kept, this.signal);
      this.table(dropped.map((d) => ({env: d.env, dropped: d.database, restore: d.restoreId})), ['env', 'dropped', 'restore']);
      return {mode: 'confirm', run: null, restore: null, dropped};
    }
    if (!this.args.id) throw new UsageError('give a backup id to restore, or --confirm', {actions: ['odoo-sh-next backups list']});
    const planned = await restores.plan({source: {kind: 'backup', backupId: this.args.id}, toEnv: this.flags['to-env'], noFilestore: this.flags['no-filestore']}, this.signal);
    for (const w of planned.warnings) this.warn(w);
    await ask(planned.destructive, `restoring backup ${this.args.id} into production environment "${planned.targetEnv}"`, planned.targetEnv);
    const run = await restores.run(planned, {signal: this.signal});
    exitForRun(run);
    const restore = run.result as unknown as RestoreRunResult;
    this.out(`${restore.env} now serves ${restore.database} (${restore.url}); previous database ${restore.previousDatabase} kept until ${restore.keepPreviousUntil}`);
    this.out('drop it with: odoo-sh-next backups restore --confirm --env ' + restore.env);
    return {mode: 'restore', run, restore, dropped: []};
  }
}
