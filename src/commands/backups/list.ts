import {Flags} from '@oclif/core';
import {BaseCommand} from '../../cli/base-command.js';
import {envFlag} from '../../cli/flags.js';
import {formatBytes, type BackupSummary} from '../../core/backup/backup-record.js';

export type BackupsListResult = BackupSummary[];

export default class BackupsList extends BaseCommand<typeof BackupsList> {
  static override summary = 'List backups, newest first.';
  static override examples = ['<%= config.bin %> backups list', '<%= config.bin %> backups list --env production --json'];
  static override flags = {
    env: envFlag({summary: 'Only backups of this environment.'}),
    all: Flags.boolean({summary: 'Include deleted backups.', default: false}),
    limit: Flags.integer({char: 'n', min: 1, max: 10000, default: 100, summary: 'At most this many backups.'}),
  };

  async run(): Promise<BackupsListResult> {
    const backups = await (await this.services()).backups();
    const list = await backups.list({env: this.flags.env, all: this.flags.all, limit: this.flags.limit});
    this.table(list.map((b) => ({
      id: b.id, env: b.env, kind: b.kind, status: b.status, size: formatBytes(b.sizeBytes), created: b.createdAt,
      parts: b.parts.map((p) => p.name).join(','), verified: b.verified === null ? '' : b.verified ? 'ok' : 'FAILED',
    })), ['id', 'env', 'kind', 'status', 'size', 'created', 'parts', 'verified']);
    return list;
  }
}
