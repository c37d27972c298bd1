import {Flags} from '@oclif/core';
import {BaseCommand} from '../../cli/base-command.js';
import type {AuditEntry} from '../../core/audit/audit-service.js';

export interface AuditListResult {
  readonly entries: readonly AuditEntry[];
}

export default class AuditList extends BaseCommand<typeof AuditList> {
  static override summary = 'List entries of the tamper-evident audit log, newest first';
  static override examples = [
    '<%= config.bin %> audit list',
    '<%= config.bin %> audit list --limit 20 --action run.queue',
    '<%= config.bin %> audit list --action "run.*" --env main --json',
  ];

  static override flags = {
    limit: Flags.integer({char: 'n', min: 1, max: 10_000, default: 50, summary: 'At most this many entries.'}),
    action: Flags.string({summary: 'Only this action (e.g. run.queue), or a prefix ending in .* (e.g. "run.*").'}),
    env: Flags.string({summary: 'Only entries about this environment.'}),
  };

  async run(): Promise<AuditListResult> {
    const audit = await (await this.services()).audit();
    const entries = await audit.list({limit: this.flags.limit, action: this.flags.action, env: this.flags.env});
    this.table(entries.map((e) => ({...e})), ['seq', 'at', 'actor', 'action', 'target', 'env']);
    return {entries};
  }
}
