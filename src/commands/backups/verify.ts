import {Args, Flags} from '@oclif/core';
import {BaseCommand} from '../../cli/base-command.js';
import {formatBytes} from '../../core/backup/backup-record.js';
import type {VerifyReport} from '../../core/backup/backup-verify.js';
import type {RestoreTestReport} from '../../core/backup/restore-test.js';

export type BackupsVerifyResult = VerifyReport & {restoreTest: RestoreTestReport | null};

export default class BackupsVerify extends BaseCommand<typeof BackupsVerify> {
  static override summary = 'Re-read every part of a backup and check it against its manifest.';
  static override description =
    'Checks the size and sha256 of every stored part, that the dump reads back (pg_restore --list), and every filestore file ' +
    'against the manifest (missing, modified and stray entries). Exits with 5 when anything fails, naming each failing part.';
  static override examples = ['<%= config.bin %> backups verify 3f2a9c1e', '<%= config.bin %> backups verify 3f2a9c1e-… --json'];
  static override args = {id: Args.string({required: true, description: 'Backup id (or its first 6+ characters).'})};
  static override flags = {
    'restore-test': Flags.boolean({default: false, summary: 'Also restore into a scratch database and filestore and compare sentinel tables and every attachment.'}),
  };

  async run(): Promise<BackupsVerifyResult> {
    const services = await this.services();
    const report = await (await services.backups()).verify(this.args.id, this.signal);
    const restoreTest = this.flags['restore-test'] ? await (await services.restores()).restoreTest(report.id, this.signal) : null;
    this.table(report.parts.map((p) => ({part: p.name, file: p.file, size: formatBytes(p.sizeBytes), sha256: p.sha256 ?? '', ok: p.ok ? 'ok' : 'FAILED'})),
      ['part', 'file', 'size', 'sha256', 'ok']);
    const fs = report.filestore;
    this.out(`backup ${report.id}: ok${fs ? ` (${fs.files} filestore files checked)` : ''}`);
    if (restoreTest) this.out(`restore test: ok (scratch database ${restoreTest.scratchDatabase} restored, checked and dropped)`);
    return {...report, restoreTest};
  }
}
