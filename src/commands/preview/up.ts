import {Flags} from '@oclif/core';
import {BaseCommand} from '../../cli/base-command.js';
import {branchFlag, detachFlag, durationFlag, prFlag} from '../../cli/flags.js';
import type {UpResult} from '../../core/environments/environment-service.js';
import {exitForRun} from '../../cli/render/run-outcome.js';

export type PreviewUpResult = UpResult;

export default class PreviewUp extends BaseCommand<typeof PreviewUp> {
  static override summary = "Create or update the branch's preview environment and print its URL.";
  static override description = 'The TTL is extended on every update. Runs the phases prepare → database → filestore → start → health.';
  static override examples = ['<%= config.bin %> preview up', '<%= config.bin %> preview up --branch feature/login --ttl 24h --json'];
  static override flags = {
    branch: branchFlag(),
    sha: Flags.string({summary: 'Commit being previewed (default: the branch head in the project folder).'}),
    ttl: durationFlag({summary: 'Time to live, extended on every update (default: the branch rule\'s, else 72h).'}),
    pr: prFlag(),
    wait: Flags.boolean({summary: 'Wait until healthy (the default when the run executes here).', default: true, allowNo: true}),
    detach: detachFlag,
  };

  async run(): Promise<PreviewUpResult> {
    const envs = await (await this.services()).environments();
    const result = await envs.up({
      branch: this.flags.branch, sha: this.flags.sha, ttlMs: this.flags.ttl, pr: this.flags.pr,
      detach: this.flags.detach, signal: this.signal,
    });
    exitForRun(result.run);
    this.out(result.url ? `${result.env}: ${result.url}` : `${result.env}: run ${result.run.id} is ${result.run.state}`);
    return result;
  }
}
