import {Flags} from '@oclif/core';
import {BaseCommand} from '../../cli/base-command.js';
import {detachFlag} from '../../cli/flags.js';
import {exitForRun} from '../../cli/render/run-outcome.js';
import type {CloneResult} from '../../core/clone/clone-service.js';

export type DbCloneResult = CloneResult;

export default class DbClone extends BaseCommand<typeof DbClone> {
  static override summary = 'Build a staging environment on a fresh copy of production (neutralized, masked).';
  static override description = [
    'Every build gets a new database named after the build; production keeps serving while it is copied',
    '(a template copy when nobody is connected to it, else a consistent pg_dump snapshot restored in parallel).',
    'The copy gets a new identity, web.base.url set to the staging URL, neutralization and masking; the',
    "staging environment's previous database is dropped only once the new one answers. Never into production.",
  ].join(' ');

  static override examples = [
    '<%= config.bin %> db clone --from production --to staging',
    '<%= config.bin %> db clone --to staging-2 --branch release/2.0 --json',
  ];

  static override flags = {
    from: Flags.string({summary: 'The environment copied.', default: 'production', helpValue: 'ENV'}),
    to: Flags.string({required: true, summary: 'The staging environment built (created when missing).', helpValue: 'ENV'}),
    branch: Flags.string({char: 'b', summary: 'The branch the staging environment follows (recorded).', helpValue: 'BRANCH'}),
    sha: Flags.string({summary: 'The commit the staging release runs (recorded).'}),
    detach: detachFlag,
  };

  async run(): Promise<DbCloneResult> {
    const envs = await (await this.services()).environments();
    const result = await envs.clone({
      from: this.flags.from, to: this.flags.to, branch: this.flags.branch, sha: this.flags.sha, detach: this.flags.detach, signal: this.signal,
    });
    exitForRun(result.run);
    this.out(result.url ? `${result.env}: ${result.url} (database ${result.database}, ${result.strategy}${result.copiedFrom ? `: ${result.copiedFrom}` : ''})` : `${result.env}: run ${result.run.id} is ${result.run.state}`);
    return result;
  }
}
