/** The `db-export` run type: a live environment as Odoo's backup zip (odoo-zip.ts), with events. */
import {existsSync} from 'node:fs';
import {resolve} from 'node:path';
import {ProviderError, UsageError} from '../errors.js';
import {databaseName} from '../odoo/database-name.js';
import type {RunContext, RunTypeHandler} from '../run/run-types.js';
import {exportLiveOdooZip} from './odoo-zip.js';
import type {RestoreDeps} from './restore-run-type.js';

export interface DbExportPayload {
  /** Absolute path of the zip to write (refused when it exists). */
  readonly out: string;
}

export interface ExportedOdooZip {
  readonly env: string;
  readonly database: string;
  readonly out: string;
  readonly bytes: number;
  readonly entries: number;
}

export function dbExportRunType(deps: Pick<RestoreDeps, 'project' | 'provider' | 'environments'>): RunTypeHandler {
  return {
    type: 'db-export',
    summary: "Write an environment's database and filestore as Odoo's backup zip",
    timeoutMs: 6 * 3600_000,
    async execute(ctx: RunContext): Promise<Record<string, unknown>> {
      const env = ctx.run.env;
      if (!env) throw new ProviderError('db-export run without an environment');
      const out = (ctx.run.payload as unknown as DbExportPayload).out;
      if (typeof out !== 'string' || !out) throw new UsageError('db-export needs an output file');
      if (existsSync(out)) throw new UsageError(`${out} exists: choose another --out or remove it first`);
      const target = await (await deps.environments()).get(env);
      const database = target.databaseName ?? databaseName(deps.project, env);
      const provider = await deps.provider();
      const written = await ctx.phase('export', () => exportLiveOdooZip({provider, env, database, out: resolve(out), signal: ctx.signal}));
      await ctx.event('info', `wrote ${out}: ${written.entries} entries, ${written.bytes} bytes`);
      const result: ExportedOdooZip = {env, database, out: resolve(out), ...written};
      return {...result};
    },
  };
}
