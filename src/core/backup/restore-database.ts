/**
 * Loading and reading databases through the provider's DatabaseHandle (pg tools run where the
 * database is): an empty target, pg_restore of a custom-format file, psql of a plain SQL dump
 * (Odoo's zip), and COPY-based reads.
 */
import {Writable, type Readable} from 'node:stream';
import {ProviderError} from '../errors.js';
import {validateDatabaseName} from '../odoo/database-name.js';
import type {DatabaseHandle} from '../../providers/provider.js';
import {LineWritable} from './line-writable.js';

/** Extensions the provider may pre-create in a new database (Odoo's own creation adds pg_trgm). */
const PRECREATED_EXTENSIONS = ['pg_trgm', 'unaccent'];

/**
 * A new, empty database owned by the Odoo role; a leftover of that name (an interrupted attempt)
 * is dropped first. Pre-created extensions are removed so the dump creates them as the owner role
 * (trusted extensions), the way they were in the source.
 */
export async function createEmptyDatabase(handle: DatabaseHandle, database: string, signal: AbortSignal): Promise<void> {
  validateDatabaseName(database);
  await handle.dropDatabase(database, signal);
  await handle.createDatabase(database, {}, signal);
  const drops = PRECREATED_EXTENSIONS.map((e) => `drop extension if exists ${e};`).join(' ');
  await handle.runTool('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', database, '-c', drops], {}, signal);
}

/** pg_restore of a custom-format dump file (parallel), objects owned by the Odoo role; any error fails. */
export async function pgRestoreFile(handle: DatabaseHandle, database: string, file: string, opts: {readonly jobs: number}, signal: AbortSignal): Promise<void> {
  await handle.runTool('pg_restore', [
    '--no-owner', `--role=${handle.ownerRole}`, '--exit-on-error', '--no-acl', `--jobs=${Math.max(1, opts.jobs)}`, '-d', database, file,
  ], {}, signal);
}

/** psql errors that do not lose data: newer pg_dump settings, comments on extensions we do not own. */
const BENIGN_SQL_ERRORS = [
  /unrecognized configuration parameter "(transaction_timeout|idle_in_transaction_session_timeout|default_table_access_method|row_security|xmloption)"/,
  /must be owner of extension/,
  /extension "[a-z0-9_]+" already exists/,
  /must be owner of schema public/,
  /schema "public" already exists/,
];

/** Collects psql's ERROR lines from stderr (all of them, not a capped buffer). */
class SqlErrorCollector extends LineWritable {
  readonly errors: string[] = [];
  readonly benign: string[] = [];
  protected override line(line: string): void {
    if (!/\b(ERROR|FATAL):/.test(line)) return;
    const list = BENIGN_SQL_ERRORS.some((re) => re.test(line)) ? this.benign : this.errors;
    if (list.length < 50) list.push(line.trim());
  }
}

/**
 * Runs a plain SQL dump (pg_dump --no-owner, as in Odoo's zip) into database as the Odoo role.
 * Like Odoo, it does not stop at the first error; unlike Odoo, any error but the benign ones fails.
 */
export async function psqlLoad(handle: DatabaseHandle, database: string, source: Readable, signal: AbortSignal): Promise<{readonly ignored: readonly string[]}> {
  const collector = new SqlErrorCollector();
  await handle.runTool('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=0', '-d', database, '-c', `set role ${handle.ownerRole}`, '-f', '-'],
    {stdin: source, stderr: collector}, signal);
  await new Promise<void>((resolve) => collector.end(resolve));
  if (collector.errors.length > 0) {
    throw new ProviderError(`loading the SQL dump into ${database} failed: ${collector.errors.slice(0, 3).join(' | ')}`, {
      data: {errors: collector.errors},
      actions: ['check that the dump comes from a compatible PostgreSQL and Odoo version'],
    });
  }
  return {ignored: collector.benign};
}

/** Unescapes one field of COPY's text format (null for \N). */
function copyField(field: string): string | null {
  if (field === '\\N') return null;
  return field.replace(/\\(.)/g, (_m, c: string) => ({n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', v: '\v', '\\': '\\'})[c] ?? c);
}

/** Streams the rows of `select` (COPY text format) to onRow; returns the row count. */
export async function copyRows(
  handle: DatabaseHandle, database: string, select: string, onRow: (row: (string | null)[]) => void, signal: AbortSignal,
): Promise<number> {
  let rest = '';
  let count = 0;
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      const lines = (rest + chunk.toString('utf8')).split('\n');
      rest = lines.pop() ?? '';
      for (const l of lines) {
        count++;
        onRow(l.split('\t').map(copyField));
      }
      cb();
    },
  });
  await handle.runTool('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', database, '-c', `copy (${select}) to stdout`], {stdout: sink}, signal);
  if (rest) {
    count++;
    onRow(rest.split('\t').map(copyField));
  }
  return count;
}

/** One row of a small query. */
export async function queryOne(handle: DatabaseHandle, database: string, select: string, signal: AbortSignal): Promise<(string | null)[]> {
  let first: (string | null)[] | undefined;
  await copyRows(handle, database, select, (r) => {
    first ??= r;
  }, signal);
  if (!first) throw new ProviderError(`no row from ${database}: ${select}`);
  return first;
}

/** The tables (public schema) that exist among `names`. */
export async function existingTables(handle: DatabaseHandle, database: string, names: readonly string[], signal: AbortSignal): Promise<Set<string>> {
  const list = names.map((n) => `'${n.replace(/'/g, "''")}'`).join(', ');
  const found = new Set<string>();
  await copyRows(handle, database, `select tablename from pg_tables where schemaname = 'public' and tablename in (${list})`, (r) => {
    if (r[0]) found.add(r[0]);
  }, signal);
  return found;
}
