import {Flags} from '@oclif/core';
import {BaseCommand} from '../../cli/base-command.js';
import {exitForRun} from '../../cli/render/run-outcome.js';
import {confirmDestructive} from '../../core/backup/restore-confirm.js';
import type {Run} from '../../core/run/run-record.js';

export interface DeployRollbackResult {
  readonly run: Run;
  readonly release: string | null;
  readonly url: string | null;
  /** The rolled-back deploy updated modules: only restoring its pre-deploy backup brings the data back. */
  readonly schemaChanged: boolean;
  readonly preDeployBackup: string | null;
  readonly restoreRun: Run | null;
}

export default class DeployRollback extends BaseCommand<typeof DeployRollback> {
  static override summary = 'Switch an environment back to its previous release (code only; --restore-backup for the data).';
  static override examples = [
    '<%= config.bin %> deploy rollback --env production --yes',
    '<%= config.bin %> deploy rollback --env production --to r-0123456789ab --restore-backup --yes',
  ];
  static override flags = {
    env: Flags.string({char: 'e', default: 'production', summary: 'Environment to roll back.', helpValue: 'ENV'}),
    to: Flags.string({summary: 'Release id (or launch id) to go back to (default: the previous one).', helpValue: 'RELEASE'}),
    'restore-backup': Flags.boolean({default: false, summary: "Also restore the rolled-back deploy's pre-deploy backup (when it changed the schema)."}),
    yes: Flags.boolean({char: 'y', default: false, summary: 'Do not ask before rolling back production.'}),
  };

  async run(): Promise<DeployRollbackResult> {
    const releases = await (await this.services()).releases();
    const out = await releases.rollback({
      env: this.flags.env, to: this.flags.to, restoreBackup: this.flags['restore-backup'], signal: this.signal,
      confirm: (what, envType) => confirmDestructive({destructive: envType === 'production', yes: this.flags.yes, what, expected: this.flags.env, input: process.stdin, output: process.stderr}),
    });
    exitForRun(out.run);
    if (out.restoreRun) exitForRun(out.restoreRun);
    // A restore switches the environment to the restored database on a new instance: its URL wins.
    const restored = (out.restoreRun?.result ?? {}) as {url?: string};
    const result = {...(out.run.result ?? {}), ...(restored.url ? {url: restored.url} : {})} as {release?: string; url?: string};
    this.out(`${this.flags.env} serves release ${result.release ?? '?'} again at ${result.url ?? '?'}`);
    if (out.schemaChanged && !out.restoreRun) {
      this.warn(`the rolled-back deploy updated modules: the database keeps its schema; restore its pre-deploy backup for the data: ` +
        `odoo-sh-next deploy rollback --env ${this.flags.env} --restore-backup (backup ${out.preDeployBackup ?? 'unknown'})`);
    }
    return {run: out.run, release: result.release ?? null, url: result.url ?? null, schemaChanged: out.schemaChanged, preDeployBackup: out.preDeployBackup, restoreRun: out.restoreRun};
  }
}
