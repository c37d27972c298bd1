import {Flags} from '@oclif/core';
import {BaseCommand} from '../../cli/base-command.js';
import {detachFlag, prFlag} from '../../cli/flags.js';
import {exitForRun} from '../../cli/render/run-outcome.js';
import type {PushOutcome} from '../../core/environments/environment-service.js';

export type EventPushResult = PushOutcome;

export default class EventPush extends BaseCommand<typeof EventPush> {
  static override summary = 'Entry point for CI jobs and webhooks: apply the branch rules to a push.';
  static override description = 'feature/* → preview up; release/* → staging; main → production deploy (per the branches section).';
  static override examples = ['<%= config.bin %> event push --ref refs/heads/feature/login --sha 3f2a9c1 --pr 42'];
  static override flags = {
    ref: Flags.string({required: true, summary: 'The pushed ref, e.g. refs/heads/feature/login.'}),
    sha: Flags.string({required: true, summary: 'The pushed commit.'}),
    pr: prFlag(),
    detach: detachFlag,
  };

  async run(): Promise<EventPushResult> {
    const envs = await (await this.services()).environments();
    const outcome = await envs.push({ref: this.flags.ref, sha: this.flags.sha, pr: this.flags.pr, detach: this.flags.detach, signal: this.signal});
    exitForRun(outcome.result.run);
    this.out(`${outcome.action}: ${outcome.result.env} ${outcome.result.url ?? `(run ${outcome.result.run.id} ${outcome.result.run.state})`}`);
    return outcome;
  }
}
