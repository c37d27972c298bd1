/**
 * What a backup reads from an environment besides the dump and the filestore: facts about the
 * Odoo database (installed modules, series, size, server version) through psql where the
 * database is, tool versions, and the Odoo logs of the env's instances spooled to a temp folder.
 */
import {execa} from 'execa';
import {createWriteStream} from 'node:fs';
import {readFile} from 'node:fs/promises';
import {join} from 'node:path';
import {once} from 'node:events';
import {NotFoundError, ProviderError} from '../errors.js';
import type {DatabaseHandle, Provider} from '../../providers/provider.js';

export interface OdooFacts {
  /** Installed modules → latest_version. */
  readonly modules: Readonly<Record<string, string>>;
  /** Series from base's latest_version ("17.0"), or null. */
  readonly version: string | null;
  readonly sizeBytes: number;
  readonly pgVersion: string;
}

const FACTS_SQL = `select json_build_object(
  'modules', (select coalesce(json_object_agg(m.name, coalesce(m.latest_version, '') order by m.name), '{}'::json)
              from ir_module_module m where m.state in ('installed', 'to upgrade', 'to remove')),
  'size', pg_database_size(current_database()),
  'pg', current_setting('server_version'))`;

/** "17.0.1.3" → "17.0"; "saas~17.2.1.0" → "saas~17.2". */
export function odooSeries(baseVersion: string | undefined): string | null {
  const m = /^((?:saas~)?\d+\.\d+)/.exec(baseVersion ?? '');
  return m?.[1] ?? null;
}

export async function readOdooFacts(handle: DatabaseHandle, database: string, signal: AbortSignal): Promise<OdooFacts> {
  let stdout: string;
  try {
    ({stdout} = await handle.runTool('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', `--dbname=${database}`, '-c', FACTS_SQL], {}, signal));
  } catch (err) {
    if (err instanceof ProviderError && /ir_module_module/.test(err.message)) {
      throw new ProviderError(`database ${database} is not an Odoo database (no ir_module_module table)`, {cause: err});
    }
    throw err;
  }
  const parsed = JSON.parse(stdout.trim()) as {modules: Record<string, string>; size: number | string; pg: string};
  return {modules: parsed.modules, version: odooSeries(parsed.modules['base']), sizeBytes: Number(parsed.size), pgVersion: parsed.pg};
}

/** Versions of the tools that wrote the backup (pg_dump where the database is, zstd here, this CLI). */
export async function toolVersions(handle: DatabaseHandle, signal: AbortSignal): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const pgDump = await handle.runTool('pg_dump', ['--version'], {}, signal).catch(() => undefined);
  if (pgDump) out['pg_dump'] = pgDump.stdout.trim();
  const zstd = await execa('zstd', ['--version'], {reject: false, cancelSignal: signal});
  if (zstd.exitCode === 0) out['zstd'] = String(zstd.stdout).trim();
  try {
    const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as {name?: string; version?: string};
    if (pkg.name === 'odoo-sh-next' && pkg.version) out['odoo-sh-next'] = pkg.version;
  } catch {
    // running from an unusual layout: the CLI version is simply not recorded
  }
  return out;
}

/** Writes each instance's Odoo log of the env to `<dir>/<launch id>.log`; returns the file names. */
export async function spoolLogs(provider: Provider, env: string, dir: string, signal: AbortSignal): Promise<string[]> {
  const files: string[] = [];
  for (const instance of await provider.list({env}, signal)) {
    const name = `${instance.launchId.replace(/[^A-Za-z0-9._-]/g, '_')}.log`;
    const out = createWriteStream(join(dir, name), {flags: 'w'});
    try {
      for await (const line of provider.logs(instance, {}, signal)) {
        if (!out.write(`${line}\n`)) await once(out, 'drain', {signal});
      }
    } catch (err) {
      if (!(err instanceof NotFoundError)) {
        out.destroy();
        throw err;
      }
    }
    out.end();
    await once(out, 'close');
    files.push(name);
  }
  return files.sort();
}
