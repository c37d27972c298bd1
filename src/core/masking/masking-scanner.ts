/**
 * The post-masking scanner. It fails the run (PolicyDeniedError, one reason per finding) when
 * - a masked column still holds its original value in some row: before masking, snapshot() keeps
 *   sha256(value) of every compared column by row id in session-local temp tables of the clone;
 *   after masking, scan() compares (values are never read into Node, only counts come back);
 * - an e-mail address outside maskedDomains, or a phone number (other than the +999 fakes), is
 *   left in ANY text or json column of the tables with rules (kept columns included);
 * - a table with rules has a text/json column that no rule classifies (fail closed: a new column
 *   fails the run until it gets a strategy, `keep` included).
 * The SQL builders are pure; snapshot() and scan() run them on a client.
 */
import {PolicyDeniedError} from '../errors.js';
import type {SqlClient} from '../neutralize/env-database.js';
import type {MaskingPlan, TablePlan} from './masking-plan.js';
import type {MaskingRules} from './masking-rules.js';
import {emailLeakRegex, PHONE_LEAK_REGEX, qualified, quoteIdent, quoteLiteral} from './masking-sql.js';

export type FindingKind = 'unchanged' | 'email' | 'phone' | 'uncovered';

export interface ScanFinding {
  readonly kind: FindingKind;
  readonly table: string;
  readonly column: string;
  /** Rows concerned (0 for uncovered columns). */
  readonly rows: number;
}

export interface ScanReport {
  readonly ok: boolean;
  readonly findings: readonly ScanFinding[];
  /** Columns searched for e-mails and phones. */
  readonly scannedColumns: number;
  /** Masked columns compared with their originals. */
  readonly comparedColumns: number;
}

const GENERATED = new Set(['fake-name', 'fake-email', 'fake-phone', 'fake-street', 'fake-vat', 'keyed-hash']);
const text = (column: string) => `t.${quoteIdent(column)}::text`;
const digest = (e: string) => `sha256(convert_to(${e}, 'UTF8'))`;
const snapshotTable = (i: number) => `pg_temp.osn_before_${i}`;

/** Statements that record the digests of the compared columns (run before masking). */
export function snapshotStatements(plan: MaskingPlan): string[] {
  const out: string[] = [];
  plan.tables.forEach((t, i) => {
    const cols = t.columns.filter((c) => c.compared);
    if (cols.length === 0) return;
    const values = cols.map((c, k) => `CASE WHEN ${text(c.column)} IS NULL OR ${text(c.column)} = '' THEN NULL ELSE ${digest(text(c.column))} END AS c${k}`);
    out.push(`DROP TABLE IF EXISTS ${snapshotTable(i)}`);
    out.push(`CREATE TEMP TABLE osn_before_${i} AS SELECT t.id, ${values.join(', ')} FROM ${qualified(t.table)} AS t` +
      ` WHERE ${cols.map((c) => `t.${quoteIdent(c.column)} IS NOT NULL`).join(' OR ')}`);
  });
  return out;
}

/** Per compared column: rows whose value is still the original one. */
export function unchangedQuery(t: TablePlan, i: number): string | undefined {
  const cols = t.columns.filter((c) => c.compared);
  if (cols.length === 0) return undefined;
  const counts = cols.map((c, k) => {
    const s = c.strategy;
    let exempt = '';
    if (s.strategy === 'constant') exempt = ` AND ${text(c.column)} IS DISTINCT FROM ${quoteLiteral(String(s.value))}`;
    if (s.strategy === 'partial') exempt = ` AND replace(${text(c.column)}, ${quoteLiteral(s.maskChar)}, '') <> ''`;
    return `count(*) FILTER (WHERE b.c${k} = ${digest(text(c.column))}${exempt}) AS "${c.column}"`;
  });
  return `SELECT ${counts.join(', ')} FROM ${qualified(t.table)} AS t JOIN ${snapshotTable(i)} AS b ON b.id = t.id`;
}

/** Per text column: rows with an e-mail outside the masked domains, rows with a phone number. */
export function patternQuery(t: TablePlan, maskedDomains: readonly string[]): string | undefined {
  if (t.textColumns.length === 0) return undefined;
  const generated = new Set(t.columns.filter((c) => GENERATED.has(c.strategy.strategy)).map((c) => c.column));
  const email = quoteLiteral(emailLeakRegex(maskedDomains));
  const phone = quoteLiteral(PHONE_LEAK_REGEX);
  const counts = t.textColumns.flatMap((column, k) => [
    `count(*) FILTER (WHERE ${text(column)} LIKE '%@%' AND ${text(column)} ~ ${email}) AS e${k}`,
    // values the engine generated have a known format; their originals are checked by unchangedQuery
    ...(generated.has(column) ? [] : [`count(*) FILTER (WHERE ${text(column)} ~ ${phone}) AS p${k}`]),
  ]);
  return `SELECT ${counts.join(', ')} FROM ${qualified(t.table)} AS t`;
}

export async function snapshot(client: SqlClient, plan: MaskingPlan): Promise<void> {
  for (const sql of snapshotStatements(plan)) await client.query(sql);
}

const num = (v: unknown) => Number(v ?? 0);

/** Runs every check; never throws for findings (see assertScanClean). */
export async function scan(client: SqlClient, plan: MaskingPlan, rules: Pick<MaskingRules, 'maskedDomains'>): Promise<ScanReport> {
  const findings: ScanFinding[] = [];
  let scannedColumns = 0;
  let comparedColumns = 0;
  for (const [i, t] of plan.tables.entries()) {
    const unchanged = unchangedQuery(t, i);
    if (unchanged) {
      const row = (await client.query<Record<string, unknown>>(unchanged)).rows[0] ?? {};
      for (const c of t.columns.filter((x) => x.compared)) {
        comparedColumns += 1;
        if (num(row[c.column]) > 0) findings.push({kind: 'unchanged', table: t.table, column: c.column, rows: num(row[c.column])});
      }
    }
    const patterns = patternQuery(t, rules.maskedDomains);
    if (patterns) {
      const row = (await client.query<Record<string, unknown>>(patterns)).rows[0] ?? {};
      t.textColumns.forEach((column, k) => {
        scannedColumns += 1;
        if (num(row[`e${k}`]) > 0) findings.push({kind: 'email', table: t.table, column, rows: num(row[`e${k}`])});
        if (num(row[`p${k}`]) > 0) findings.push({kind: 'phone', table: t.table, column, rows: num(row[`p${k}`])});
      });
    }
  }
  for (const u of plan.uncovered) findings.push({kind: 'uncovered', table: u.table, column: u.column, rows: 0});
  return {ok: findings.length === 0, findings, scannedColumns, comparedColumns};
}

export function describeFinding(f: ScanFinding): string {
  const at = `${f.table}.${f.column}`;
  switch (f.kind) {
    case 'unchanged':
      return `${at}: ${f.rows} row(s) still hold their original value`;
    case 'email':
      return `${at}: ${f.rows} row(s) contain an e-mail address outside the masked domains`;
    case 'phone':
      return `${at}: ${f.rows} row(s) contain a phone number`;
    case 'uncovered':
      return `${at}: text column not covered by any rule (classify it, e.g. "${f.column}: keep")`;
  }
}

/** Throws PolicyDeniedError listing every finding when the scan is not clean. */
export function assertScanClean(report: ScanReport, database: string): void {
  if (report.ok) return;
  const reasons = report.findings.map(describeFinding);
  throw new PolicyDeniedError(`masking scan of ${database} failed (${reasons.length} finding${reasons.length === 1 ? '' : 's'}):\n  ${reasons.join('\n  ')}`, reasons, {
    data: {findings: report.findings},
    actions: ['add or fix rules in the masking rules file, then run the clone again', 'odoo-sh-next db mask --env <env> --dry-run'],
  });
}
