import {Flags} from '@oclif/core';
import {BaseCommand} from '../../cli/base-command.js';
import {exitForRun} from '../../cli/render/run-outcome.js';
import {confirmDestructive} from '../../core/backup/restore-confirm.js';
import type {DeployResult} from './index.js';

export type DeployPromoteResult = DeployResult & {readonly from: string};

export default class DeployPromote extends BaseCommand<typeof DeployPromote> {
  static override summary = 'Deploy to production exactly the release that ran on a staging environment (never a rebuild).';
  static override description =
    'The release (its commit and addons hash) must have run on a staging environment, else the promotion is refused (exit 8). ' +
    'The deploy goes through the promote policy (approvals bind to this exact release), the pre-deploy backup and the gates of `deploy`.';
  static override examples = [
    '<%= config.bin %> deploy promote --from staging-release-x --to production --yes',
    '<%= config.bin %> deploy promote --from staging-release-x --to production --release r-0123456789ab --yes --json',
  ];
  static override flags = {
    from: Flags.string({required: true, summary: 'The staging environment the release ran on.', helpValue: 'ENV'}),
    to: Flags.string({default: 'production', summary: 'The environment to deploy to.', helpValue: 'ENV'}),
    release: Flags.string({summary: 'Release id (default: the one the staging environment runs).', helpValue: 'RELEASE'}),
    'all-modules': Flags.boolean({default: false, summary: 'Update every module (-u all).'}),
    yes: Flags.boolean({char: 'y', default: false, summary: 'Do not ask before deploying to production.'}),
  };

  async run(): Promise<DeployPromoteResult> {
    const releases = await (await this.services()).releases();
    const out = await releases.promote({
      from: this.flags.from, to: this.flags.to, release: this.flags.release, allModules: this.flags['all-modules'], signal: this.signal,
      confirm: (what, envType) => confirmDestructive({destructive: envType === 'production', yes: this.flags.yes, what, expected: this.flags.to, input: process.stdin, output: process.stderr}),
    });
    this.out(`promoting release ${out.release.id} from ${this.flags.from}${out.backupId ? `, pre-deploy backup ${out.backupId}` : ''}`);
    exitForRun(out.run);
    const result = (out.run.result ?? {}) as {url?: string; updatedModules?: string[]};
    this.out(`${this.flags.to} serves release ${out.release.id} at ${result.url ?? '?'}`);
    return {...out, from: this.flags.from, url: result.url ?? null, updatedModules: result.updatedModules ?? []};
  }
}
