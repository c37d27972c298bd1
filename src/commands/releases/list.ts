import {BaseCommand} from '../../cli/base-command.js';
import {envFlag} from '../../cli/flags.js';
import type {Release} from '../../core/release/release-record.js';

export type ReleasesListResult = Release[];

export default class ReleasesList extends BaseCommand<typeof ReleasesList> {
  static override summary = 'Release history of an environment: who, when, what, which gates passed (newest first).';
  static override examples = ['<%= config.bin %> releases list --env production', '<%= config.bin %> releases list --json'];
  static override flags = {env: envFlag({summary: 'Only releases of this environment.'})};

  async run(): Promise<ReleasesListResult> {
    const list = await (await (await this.services()).releases()).list(this.flags.env);
    this.table(list.map((r) => ({
      release: r.id, env: r.env, status: r.status, commit: (r.commit ?? '').slice(0, 12), by: r.createdBy,
      deployed: r.deployedAt ?? '', from: r.sourceEnv ?? '', updated: r.updatedModules.join(',') || '-',
      gates: Object.entries(r.gates).filter(([, v]) => v !== null && v !== false).map(([k]) => k).join(',') || '-',
    })), ['release', 'env', 'status', 'commit', 'by', 'deployed', 'from', 'updated', 'gates']);
    return list;
  }
}
