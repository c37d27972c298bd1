import {Args, Flags} from '@oclif/core';
import {BaseCommand} from '../../cli/base-command.js';
import type {BackupDeleted} from '../../core/backup/backup-service.js';

export type BackupsDeleteResult = BackupDeleted;

export default class BackupsDelete extends BaseCommand<typeof BackupsDelete> {
  static override summary = 'Delete a backup: its stored files and (audited) its state.';
  static override description = 'Backups of production ask for confirmation; pass --yes in scripts (without it a non-interactive session is refused).';
  static override examples = ['<%= config.bin %> backups delete 3f2a9c1e', '<%= config.bin %> backups delete 3f2a9c1e --yes --json'];
  static override args = {id: Args.string({required: true, description: 'Backup id (or its first 6+ characters).'})};
  static override flags = {yes: Flags.boolean({char: 'y', summary: 'Delete a production backup without asking.', default: false})};

  async run(): Promise<BackupsDeleteResult> {
    const backups = await (await this.services()).backups();
    const interactive = this.interactive;
    const deleted = await backups.delete(this.args.id, {
      yes: this.flags.yes, confirm: interactive ? (q) => this.askYesNo(q) : undefined, signal: this.signal,
    });
    this.out(`backup ${deleted.id} of ${deleted.env} deleted`);
    return deleted;
  }

}
