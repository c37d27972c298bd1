import {Args, Flags} from '@oclif/core';
import {resolve} from 'node:path';
import {BaseCommand} from '../../cli/base-command.js';
import {envFlag} from '../../cli/flags.js';
import {exitForRun} from '../../cli/render/run-outcome.js';
import {confirmDestructive} from '../../core/backup/restore-confirm.js';
import type {RestoreRunResult} from '../../core/backup/restore-run-type.js';
import type {Run} from '../../core/run/run-record.js';

export interface DbImportResult {
  readonly run: Run;
  readonly restore: RestoreRunResult;
}

export default class DbImport extends BaseCommand<typeof DbImport> {
  static override summary = "Import an Odoo backup zip, a pg_dump file or a native backup into an environment.";
  static override description =
    "Accepts Odoo's backup zip (database manager, odoo-bin db dump, Odoo.sh download, db export), a custom-format .dump (no filestore: " +
    'needs --no-filestore) or a native backup tar (backups download --format native). Like backups restore: a new database and filestore, ' +
    'verified, then the environment switches; the previous ones are kept until `backups restore --confirm`. Data of unknown origin going ' +
    'into a non-production environment is neutralized and masked. Archives are read safely (no path outside the target, no links, no bombs).';
  static override examples = ['<%= config.bin %> db import --env staging shop.zip', '<%= config.bin %> db import --env production backup.tar --yes'];
  static override args = {file: Args.string({required: true, description: 'The file to import.'})};
  static override flags = {
    env: envFlag({required: true}),
    'no-filestore': Flags.boolean({default: false, summary: 'Import the database alone (required for a .dump file).'}),
    yes: Flags.boolean({char: 'y', default: false, summary: 'Do not ask before replacing production data.'}),
  };

  async run(): Promise<DbImportResult> {
    const restores = await (await this.services()).restores();
    const file = resolve(this.flags.cwd ?? process.cwd(), this.args.file);
    const planned = await restores.plan({source: {kind: 'file', path: file}, toEnv: this.flags.env, noFilestore: this.flags['no-filestore']}, this.signal);
    for (const w of planned.warnings) this.warn(w);
    await confirmDestructive({
      destructive: planned.destructive, yes: this.flags.yes, what: `importing ${this.args.file} into production environment "${planned.targetEnv}"`,
      expected: planned.targetEnv, input: process.stdin, output: process.stderr,
    });
    const run = await restores.run(planned, {signal: this.signal});
    exitForRun(run);
    const restore = run.result as unknown as RestoreRunResult;
    this.out(`${restore.env} now serves ${restore.database} (${restore.url}); previous database ${restore.previousDatabase} kept until ${restore.keepPreviousUntil}`);
    return {run, restore};
  }
}
