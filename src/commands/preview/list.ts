import {BaseCommand} from '../../cli/base-command.js';
import type {Environment} from '../../core/environments/environment-record.js';

export type PreviewListResult = Environment[];

export default class PreviewList extends BaseCommand<typeof PreviewList> {
  static override summary = 'List live preview environments with their URL and expiry.';
  static override examples = ['<%= config.bin %> preview list --json'];

  async run(): Promise<PreviewListResult> {
    const envs = await (await (await this.services()).environments()).list({type: 'preview'});
    this.table(envs.map((e) => ({...e, ttl: e.ttlExpiresAt})), ['name', 'branch', 'status', 'url', 'ttl']);
    return envs;
  }
}
