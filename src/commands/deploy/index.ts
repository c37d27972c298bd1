import {Flags} from '@oclif/core';
import {BaseCommand} from '../../cli/base-command.js';
import {exitForRun} from '../../cli/render/run-outcome.js';
import {confirmDestructive} from '../../core/backup/restore-confirm.js';
import type {Release} from '../../core/release/release-record.js';
import type {Run} from '../../core/run/run-record.js';

export interface DeployResult {
  readonly release: Release;
  readonly run: Run;
  /** The automatic pre-deploy backup (production), kept for `deploy rollback --restore-backup`. */
  readonly backupId: string | null;
  readonly url: string | null;
  readonly updatedModules: readonly string[];
}

export default class Deploy extends BaseCommand<typeof Deploy> {
  static override summary = 'Deploy a release (a commit of the addons, or a recorded release) to production.';
  static override description =
    'Policy check, automatic pre-deploy backup, update (-u) of the modules whose manifest version moved, start with the health ' +
    'and smoke gates, switch, audit. The release id is shown and recorded (`releases list`). Production asks for a confirmation (--yes in scripts).';
  static override examples = [
    '<%= config.bin %> deploy --env production --yes',
    '<%= config.bin %> deploy --env production --sha 1a2b3c4d... --yes',
    '<%= config.bin %> deploy --env production --release r-0123456789ab --yes --json',
  ];
  static override flags = {
    env: Flags.string({char: 'e', default: 'production', summary: 'Environment to deploy to.', helpValue: 'ENV'}),
    sha: Flags.string({summary: 'Commit of the release (default: the checkout HEAD).', exclusive: ['release'], helpValue: 'SHA'}),
    release: Flags.string({summary: 'A recorded release id to deploy again.', helpValue: 'RELEASE'}),
    'all-modules': Flags.boolean({default: false, summary: 'Update every module (-u all), not only those whose version moved.'}),
    strategy: Flags.string({summary: 'Deploy strategy: auto, immediate or blue-green.', helpValue: 'STRATEGY'}),
    yes: Flags.boolean({char: 'y', default: false, summary: 'Do not ask before deploying to production.'}),
  };

  async run(): Promise<DeployResult> {
    const releases = await (await this.services()).releases();
    const out = await releases.deploy({
      env: this.flags.env, sha: this.flags.sha, release: this.flags.release, allModules: this.flags['all-modules'], strategy: this.flags.strategy,
      signal: this.signal,
      confirm: (what, envType) => confirmDestructive({destructive: envType === 'production', yes: this.flags.yes, what, expected: this.flags.env, input: process.stdin, output: process.stderr}),
    });
    this.out(`release ${out.release.id} (commit ${out.release.commit ?? 'none'})${out.backupId ? `, pre-deploy backup ${out.backupId}` : ''}`);
    exitForRun(out.run);
    const result = (out.run.result ?? {}) as {url?: string; updatedModules?: string[]};
    this.out(`${this.flags.env} serves release ${out.release.id} at ${result.url ?? '?'}; updated modules: ${(result.updatedModules ?? []).join(', ') || 'none'}`);
    return {...out, url: result.url ?? null, updatedModules: result.updatedModules ?? []};
  }
}
