import {Flags} from '@oclif/core';
import {resolve} from 'node:path';
import {BaseCommand} from '../../cli/base-command.js';
import {envFlag} from '../../cli/flags.js';
import {exitForRun} from '../../cli/render/run-outcome.js';
import type {ExportedOdooZip} from '../../core/backup/odoo-zip-run-type.js';
import type {Run} from '../../core/run/run-record.js';

export interface DbExportResult {
  readonly run: Run;
  readonly export: ExportedOdooZip;
}

export default class DbExport extends BaseCommand<typeof DbExport> {
  static override summary = "Write an environment's database and filestore as Odoo's backup zip.";
  static override description =
    "The zip holds dump.sql (pg_dump --no-owner), manifest.json and filestore/, like Odoo's own backups: it loads in Odoo's database " +
    'manager, odoo-bin db load, Odoo.sh, or db import. The database is read as one consistent snapshot while Odoo keeps running.';
  static override examples = ['<%= config.bin %> db export --env production --out shop.zip'];
  static override flags = {
    env: envFlag({required: true}),
    out: Flags.string({char: 'o', required: true, summary: 'Zip file to write (must not exist).', helpValue: 'FILE'}),
  };

  async run(): Promise<DbExportResult> {
    const services = await this.services();
    const out = resolve(this.flags.cwd ?? process.cwd(), this.flags.out);
    const run = await (await services.runs()).create({type: 'db-export', env: this.flags.env, payload: {out}, maxAttempts: 1, signal: this.signal});
    exitForRun(run);
    const exported = run.result as unknown as ExportedOdooZip;
    this.out(`wrote ${exported.out} (${exported.entries} entries, ${exported.bytes} bytes) from ${exported.database}`);
    return {run, export: exported};
  }
}
