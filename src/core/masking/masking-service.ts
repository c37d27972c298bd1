/**
 * Masking a database: read the catalog, build the plan (pure), apply the statements in one
 * transaction (each table's statement also counts the values left unchanged), remove the attachment
 * files nothing references any more, scan for e-mails and phones.
 *
 * Attachment files: `drop` deletes the ir_attachment rows; `replace` keeps the rows and stores a
 * placeholder in the row itself (db_datas, store_fname NULL: Odoo reads db_datas when store_fname
 * is empty, so this works on every provider). The files the rows used are removed from the
 * filestore when the provider keeps it in a local folder and no other row shares them (files are
 * deduplicated by content); otherwise they are left in the copied filestore and a warning event
 * says how many (Odoo's garbage collector only removes files it has checklist markers for).
 */
import {readFileSync} from 'node:fs';
import {readFile, unlink} from 'node:fs/promises';
import {dirname, join} from 'node:path';
import {ConfigError, isOdooShError, ProviderError} from '../errors.js';
import type {Provider} from '../../providers/provider.js';
import type {Secret} from '../secret.js';
import {inTransaction, withEnvDatabase, type SqlClient, type StepEvent} from '../neutralize/env-database.js';
import {readCatalog} from './masking-catalog.js';
import {DEFAULT_REBUILD_INDEXES_ABOVE, dropPlainIndexes, rebuildIndexes, type DroppedIndex} from './masking-indexes.js';
import {buildMaskingPlan, catalogTables, type MaskingPlan} from './masking-plan.js';
import {parseMaskingRules, rulesError, type MaskingRules} from './masking-rules.js';
import {assertScanClean, scan, unchangedFindings, type ScanFinding, type ScanReport} from './masking-scanner.js';
import {helperStatements, quoteLiteral} from './masking-sql.js';

export interface LoadRulesOptions {
  readonly file: string;
  readonly variables: Readonly<Record<string, string | undefined>>;
  /** Overrides the file's salt. */
  readonly salt?: Secret | undefined;
}

/** Reads and validates a rules file (ConfigError naming every problem). */
export async function loadMaskingRules(opts: LoadRulesOptions): Promise<MaskingRules> {
  let text: string;
  try {
    text = await readFile(opts.file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read the masking rules file ${opts.file} (${(err as {code?: string}).code ?? String(err)})`, {
      cause: err,
      actions: ['set masking.rules in the configuration, or pass --rules FILE'],
    });
  }
  return parseMaskingRules(text, {
    variables: opts.variables,
    readFile: (p) => readFileSync(p, 'utf8'),
    baseDir: dirname(opts.file),
    source: opts.file,
    ...(opts.salt ? {salt: opts.salt} : {}),
  });
}

export interface MaskTarget {
  readonly provider: Pick<Provider, 'database' | 'filestore'>;
  readonly rebuildIndexesAbove?: number | undefined;
  readonly env: string;
  readonly database: string;
  readonly rules: MaskingRules;
  readonly signal: AbortSignal;
  readonly event?: StepEvent | undefined;
}

export interface MaskingResult {
  readonly database: string;
  readonly tables: readonly {readonly table: string; readonly columns: readonly string[]; readonly rows: number; readonly rebuiltIndexes: readonly string[]}[];
  readonly attachments: readonly {readonly rule: number; readonly action: 'drop' | 'replace'; readonly models: readonly string[]; readonly rows: number}[];
  readonly files: {readonly removed: number; readonly left: number};
  readonly scan: ScanReport;
}

/** Throws ConfigError listing the plan's errors (each names its rule). */
export function assertPlanValid(plan: MaskingPlan, source = 'the masking rules'): void {
  if (plan.errors.length > 0) throw rulesError(source, plan.errors.map((e) => ({path: e.rule, message: e.message})));
}

export async function planWithClient(client: SqlClient, rules: MaskingRules): Promise<MaskingPlan> {
  return buildMaskingPlan(rules, await readCatalog(client, catalogTables(rules)));
}

/** The plan for an environment's database (nothing is changed). */
export async function planMasking(target: Omit<MaskTarget, 'event' | 'provider'> & {readonly provider: Pick<Provider, 'database'>}): Promise<MaskingPlan> {
  return withEnvDatabase(target.provider, target.env, target.database, target.signal, (c) => planWithClient(c, target.rules));
}

const STORE_FNAME_RE = /^[0-9a-f]{2}\/[0-9a-f]{40}$/;

async function removeFreedFiles(client: SqlClient, filestore: string | undefined): Promise<{removed: number; left: number}> {
  const {rows} = await client.query<{store_fname: string}>(
    `SELECT DISTINCT f.store_fname FROM pg_temp.osn_freed_files f
      WHERE NOT EXISTS (SELECT 1 FROM public.ir_attachment a WHERE a.store_fname = f.store_fname)`,
  );
  if (filestore === undefined) return {removed: 0, left: rows.length};
  let removed = 0;
  let left = 0;
  for (const {store_fname: name} of rows) {
    if (!STORE_FNAME_RE.test(name)) {
      left += 1; // not a name Odoo writes: never turned into a path
      continue;
    }
    try {
      await unlink(join(filestore, name));
      removed += 1;
    } catch (err) {
      if ((err as {code?: string}).code !== 'ENOENT') throw new ProviderError(`cannot remove ${name} from the filestore: ${(err as Error).message}`, {cause: err});
    }
  }
  await client.query('TRUNCATE pg_temp.osn_freed_files');
  return {removed, left};
}

async function run(client: SqlClient, sql: string, what: string): Promise<{count: number; row: Record<string, unknown>}> {
  try {
    const r = await client.query<Record<string, unknown>>(sql);
    return {count: r.rowCount ?? 0, row: r.rows[0] ?? {}};
  } catch (err) {
    if (isOdooShError(err)) throw err;
    throw new ProviderError(`masking failed on ${what}: ${(err as Error).message}`, {cause: err, data: {sqlstate: (err as {code?: string}).code}});
  }
}

export interface MaskWithClientOptions {
  readonly rules: MaskingRules;
  readonly database: string;
  /** The database's filestore folder when it is local (orphaned files are removed there). */
  readonly filestorePath?: string | undefined;
  readonly event?: StepEvent | undefined;
  /** The plain indexes of a table are dropped and rebuilt around its UPDATE when it has at least this many rows (default 50,000). */
  readonly rebuildIndexesAbove?: number | undefined;
}

/** Masks the database the client is connected to, then scans it; throws when the scan finds anything. */
export async function maskWithClient(client: SqlClient, opts: MaskWithClientOptions): Promise<MaskingResult> {
  const {rules, event} = opts;
  const plan = await planWithClient(client, rules);
  assertPlanValid(plan);
  for (const sql of helperStatements(rules.salt)) await client.query(sql);
  await event?.('debug', 'masking plan built, helpers installed');
  const unchanged: ScanFinding[] = [];
  const counts = await inTransaction(client, async () => {
    // index builds sort in memory; the ctid join of each statement hashes the table's row ids
    await client.query(`SET LOCAL maintenance_work_mem = '256MB'`);
    await client.query(`SET LOCAL work_mem = '64MB'`);
    const tables = [];
    for (const t of plan.tables) {
      const columns = t.columns.filter((c) => c.strategy.strategy !== 'keep').map((c) => c.column);
      let rows = 0;
      let dropped: DroppedIndex[] = [];
      if (t.statement) {
        dropped = await dropPlainIndexes(client, t.table, opts.rebuildIndexesAbove ?? DEFAULT_REBUILD_INDEXES_ABOVE);
        const {row} = await run(client, t.statement, `table ${t.table}`);
        rows = Number(row.osn_rows ?? 0);
        unchanged.push(...unchangedFindings(t, row));
        await rebuildIndexes(client, dropped);
      }
      tables.push({table: t.table, columns, rows, rebuiltIndexes: dropped.map((d) => d.name)});
      await event?.('info', `masked ${t.table}: ${rows} row(s)${dropped.length > 0 ? `, ${dropped.length} index(es) rebuilt` : ''}`, {table: t.table, rows});
    }
    const attachments = [];
    for (const a of plan.attachments) {
      const models = a.models.map(quoteLiteral).join(', ');
      const found = await client.query<{n: string}>(`SELECT count(*) AS n FROM public.ir_attachment WHERE res_model IN (${models})`);
      await run(client, a.statement, `attachments[${a.rule}]`);
      const rows = Number(found.rows[0]?.n ?? 0);
      attachments.push({rule: a.rule, action: a.action, models: a.models, rows});
      await event?.('info', `attachments of ${a.models.join(', ')}: ${a.action === 'drop' ? 'dropped' : 'replaced'} ${rows}`, {rule: a.rule, rows});
    }
    return {tables, attachments};
  });
  const files = plan.attachments.length > 0 ? await removeFreedFiles(client, opts.filestorePath) : {removed: 0, left: 0};
  if (files.left > 0) {
    await event?.('warn', `${files.left} attachment file(s) no longer referenced were left in the filestore (not a local folder)`, {left: files.left});
  }
  const report = await scan(client, plan, rules, unchanged);
  await event?.(report.ok ? 'info' : 'error', `masking scan: ${report.findings.length} finding(s) over ${report.scannedColumns} scanned and ${report.comparedColumns} compared column(s)`, {
    findings: report.findings,
  });
  assertScanClean(report, opts.database);
  return {database: opts.database, ...counts, files, scan: report};
}

/** Masks an environment's database (see maskWithClient). */
export async function maskDatabase(target: MaskTarget): Promise<MaskingResult> {
  const filestorePath = target.provider.filestore.location({env: target.env, database: target.database}).path;
  return withEnvDatabase(target.provider, target.env, target.database, target.signal, (client) =>
    maskWithClient(client, {rules: target.rules, database: target.database, filestorePath, event: target.event, rebuildIndexesAbove: target.rebuildIndexesAbove}));
}
