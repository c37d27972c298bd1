import {resolve} from 'node:path';
import {Args, Flags} from '@oclif/core';
import {BaseCommand} from '../../cli/base-command.js';
import type {BackupDownloaded} from '../../core/backup/backup-service.js';
import {formatBytes} from '../../core/backup/backup-record.js';

export type BackupsDownloadResult = BackupDownloaded;

export default class BackupsDownload extends BaseCommand<typeof BackupsDownload> {
  static override summary = 'Download a backup into one file.';
  static override description =
    'native: a tar of the backup folder (manifest.json and the parts, checked against the manifest on the way); ' +
    "odoo-zip: Odoo's own backup zip (dump.sql, manifest.json, filestore/), loadable by Odoo's database manager.";
  static override examples = ['<%= config.bin %> backups download 3f2a9c1e --out backup.tar', '<%= config.bin %> backups download 3f2a9c1e --format odoo-zip --out shop.zip'];
  static override args = {id: Args.string({required: true, description: 'Backup id (or its first 6+ characters).'})};
  static override flags = {
    out: Flags.string({char: 'o', required: true, summary: 'File to write (replaced when it exists).', helpValue: 'FILE'}),
    format: Flags.option({options: ['native', 'odoo-zip'] as const, default: 'native' as const, summary: 'Archive format.'})(),
  };

  async run(): Promise<BackupsDownloadResult> {
    const backups = await (await this.services()).backups();
    const result = await backups.download(this.args.id, {out: resolve(process.cwd(), this.flags.out), format: this.flags.format, signal: this.signal});
    this.out(`${result.out}: ${formatBytes(result.bytes)} (${result.format})`);
    return result;
  }
}
