import {Flags} from '@oclif/core';
import {BaseCommand} from '../../cli/base-command.js';
import type {Run} from '../../core/run/run-record.js';

export type PreviewReapResult = {expired: string[]; runs: Run[]; dryRun: boolean};

export default class PreviewReap extends BaseCommand<typeof PreviewReap> {
  static override summary = 'Destroy preview and dev environments past their TTL (the runner does this too).';
  static override examples = ['<%= config.bin %> preview reap --dry-run'];
  static override flags = {'dry-run': Flags.boolean({summary: 'Only list what would be destroyed.', default: false})};

  async run(): Promise<PreviewReapResult> {
    const envs = await (await this.services()).environments();
    const {expired, runs} = await envs.reap({dryRun: this.flags['dry-run'], signal: this.signal});
    this.out(expired.length ? `${this.flags['dry-run'] ? 'Would destroy' : 'Destroyed'}: ${expired.map((e) => e.name).join(', ')}` : 'Nothing expired.');
    for (const r of runs) if (r.state !== 'succeeded') this.warn(`run ${r.id} (${r.env}) ${r.state}: ${r.lastError ?? ''}`);
    return {expired: expired.map((e) => e.name), runs, dryRun: this.flags['dry-run']};
  }
}
