import {Flags} from '@oclif/core';
import {BaseCommand} from '../../cli/base-command.js';
import {envFlag} from '../../cli/flags.js';
import {createPruneService, type PruneResult} from '../../core/backup/prune-service.js';
import {ProviderError} from '../../core/errors.js';

export type BackupsPruneResult = PruneResult;

export default class BackupsPrune extends BaseCommand<typeof BackupsPrune> {
  static override summary = 'Delete the backups the retention policy no longer keeps (7 daily, 4 weekly, 3 monthly by default).';
  static override description =
    'Tiers do not overlap: the weekly backups are older than the oldest daily one and the monthly ones older than the oldest weekly one. ' +
    'The newest verified backup, backups in use and every backup of a day whose backup failed verification are always kept. ' +
    'Deleting production backups asks first; pass --yes in scripts.';
  static override examples = [
    '<%= config.bin %> backups prune --dry-run',
    '<%= config.bin %> backups prune --env production --yes',
  ];
  static override flags = {
    env: envFlag({summary: 'Only this environment (default: every environment).'}),
    'dry-run': Flags.boolean({summary: 'Only show what would be kept and deleted.', default: false}),
    yes: Flags.boolean({char: 'y', summary: 'Delete production backups without asking.', default: false}),
  };

  async run(): Promise<BackupsPruneResult> {
    const prune = await createPruneService(await this.services());
    const result = await prune.prune({
      env: this.flags.env,
      dryRun: this.flags['dry-run'],
      yes: this.flags.yes,
      confirm: this.interactive ? (question) => this.askYesNo(question) : undefined,
      signal: this.signal,
    });
    const rows = [
      ...result.removed.map((e) => ({...e, action: result.dryRun ? 'would delete' : 'deleted'})),
      ...result.skipped.map((e) => ({...e, action: 'skipped (in use)'})),
      ...result.failed.map((e) => ({...e, action: 'failed', reason: e.error})),
      ...result.kept.map((e) => ({...e, action: 'keep'})),
    ].sort((a, b) => (a.env === b.env ? b.createdAt.localeCompare(a.createdAt) : a.env.localeCompare(b.env)));
    this.table(rows, ['env', 'createdAt', 'kind', 'id', 'action', 'reason']);
    this.out(`${result.dryRun ? 'Would delete' : 'Deleted'} ${result.removed.length} backup(s), kept ${result.kept.length}.`);
    if (result.failed.length > 0) {
      throw new ProviderError(`${result.failed.length} backup(s) could not be deleted: ${result.failed.map((f) => `${f.id}: ${f.error}`).join('; ')}`, {
        retryable: true,
        actions: ['odoo-sh-next backups prune   # retries them'],
        data: {result},
      });
    }
    return result;
  }

}
