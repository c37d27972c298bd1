import {Flags} from '@oclif/core';
import {BaseCommand} from '../../cli/base-command.js';
import {detachFlag, envFlag} from '../../cli/flags.js';
import {exitForRun} from '../../cli/render/run-outcome.js';
import {createPruneService, type PruneResult} from '../../core/backup/prune-service.js';
import type {Run} from '../../core/run/run-record.js';

export type BackupsPruneResult = PruneResult & {
  /** The backup-prune run (null with --dry-run: nothing is recorded or changed). */
  readonly run: Run | null;
};

export default class BackupsPrune extends BaseCommand<typeof BackupsPrune> {
  static override summary = 'Delete the backups the retention policy no longer keeps (7 daily, 4 weekly, 3 monthly by default).';
  static override description =
    'Tiers do not overlap: the weekly backups are older than the oldest daily one and the monthly ones older than the oldest weekly one. ' +
    'The newest verified backup, backups in use and every backup of a day whose backup failed verification are always kept. ' +
    'Deleting production backups asks first; pass --yes in scripts. Pruning is a run (type backup-prune): `run logs ID` lists every backup kept or deleted and why.';
  static override examples = [
    '<%= config.bin %> backups prune --dry-run',
    '<%= config.bin %> backups prune --env production --yes',
  ];
  static override flags = {
    env: envFlag({summary: 'Only this environment (default: every environment).'}),
    'dry-run': Flags.boolean({summary: 'Only show what would be kept and deleted (no run, nothing changed).', default: false}),
    yes: Flags.boolean({char: 'y', summary: 'Delete production backups without asking.', default: false}),
    detach: detachFlag,
  };

  async run(): Promise<BackupsPruneResult> {
    const services = await this.services();
    const prune = await createPruneService(services);
    const {run, result} = await prune.start({
      env: this.flags.env,
      dryRun: this.flags['dry-run'],
      yes: this.flags.yes,
      detach: this.flags.detach,
      confirm: this.interactive ? (question) => this.askYesNo(question) : undefined,
      signal: this.signal,
    });
    if (run) exitForRun(run);
    const rows = [
      ...result.removed.map((e) => ({...e, action: result.dryRun ? 'would delete' : 'deleted'})),
      ...result.skipped.map((e) => ({...e, action: 'skipped (in use)'})),
      ...result.kept.map((e) => ({...e, action: 'keep'})),
    ].sort((a, b) => (a.env === b.env ? b.createdAt.localeCompare(a.createdAt) : a.env.localeCompare(b.env)));
    this.table(rows, ['env', 'createdAt', 'kind', 'id', 'action', 'reason']);
    const what = run && run.state !== 'succeeded' ? `run ${run.id} is ${run.state}; planned:` : result.dryRun ? 'Would delete' : 'Deleted';
    this.out(`${what} ${result.removed.length} backup(s), kept ${result.kept.length}.${run ? ` (run ${run.id})` : ''}`);
    return {...result, run};
  }
}
