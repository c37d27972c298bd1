/**
 * The post-masking scanner. It fails the run (PolicyDeniedError, one reason per finding) when
 * - a masked column still holds its original value in some row: each table's masking statement
 *   compares every written value with the original one in its RETURNING clause and returns the
 *   counts (masking-plan.ts), which unchangedFindings() turns into findings (values are never
 *   read into Node, only counts come back);
 * - an e-mail address outside maskedDomains, or a phone number (other than the +999 fakes), is
 *   left in ANY text or json column of the tables with rules (kept columns included);
 * - a table with rules has a text/json column that no rule classifies (fail closed: a new column
 *   fails the run until it gets a strategy, `keep` included).
 * The pattern search reads each table once (leakQuery: per row, one e-mail and one phone match over
 * all the searched columns joined by newlines); only when it finds something does a second pass
 * (patternQuery) count per column, to name the columns in the findings.
 * The SQL builders are pure; scan() runs them on a client.
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

const text = (column: string) => `t.${quoteIdent(column)}::text`;

/** The findings of the counts a masking statement returned (see TablePlan.statement). */
export function unchangedFindings(t: TablePlan, row: Readonly<Record<string, unknown>>): ScanFinding[] {
  return t.columns.filter((c) => c.compared).flatMap((c, k) => {
    const rows = Number(row[`u${k}`] ?? 0);
    return rows > 0 ? [{kind: 'unchanged' as const, table: t.table, column: c.column, rows}] : [];
  });
}

const joined = (cols: readonly string[]) => `concat_ws(E'\\n', ${cols.map(text).join(', ')})`;
const DOMAIN_CHARS = quoteLiteral('abcdefghijklmnopqrstuvwxyz0123456789.-');

/**
 * True when a value is plainly one address in a masked domain: a single '@', followed only by
 * dot-separated non-empty labels of [a-z0-9-] that end with a masked domain (the e-mail pattern
 * cannot match such a value, so the pattern is skipped for it). The generated e-mails pass this
 * test without a regular expression; anything else still goes through the pattern.
 */
export function maskedAddressTest(column: string, maskedDomains: readonly string[]): string {
  const c = text(column);
  const after = `lower(split_part(${c}, '@', 2))`;
  const domains = maskedDomains.map((d) => `${after} = ${quoteLiteral(d)} OR ${after} LIKE ${quoteLiteral(`%.${d}`)}`).join(' OR ');
  return `(${c} NOT LIKE '%@%@%' AND rtrim(${after}, ${DOMAIN_CHARS}) = '' AND ${after} NOT LIKE '%..%' AND ${after} NOT LIKE '.%' AND (${domains}))`;
}

interface Searches {
  /** Columns searched for e-mails through the joined value. */
  readonly joinedEmail: readonly string[];
  /** Columns searched for phones (joined). */
  readonly phone: readonly string[];
  /** Generated columns: e-mail pattern only for values failing maskedAddressTest. */
  readonly generated: readonly string[];
}

const searches = (t: TablePlan): Searches => ({
  joinedEmail: t.textColumns.filter((c) => !t.generatedColumns.includes(c)),
  phone: t.textColumns.filter((c) => !t.generatedColumns.includes(c)),
  generated: t.generatedColumns,
});

/** The e-mail condition for one generated column. */
const generatedEmail = (column: string, email: string, maskedDomains: readonly string[]) =>
  `(${text(column)} LIKE '%@%' AND NOT ${maskedAddressTest(column, maskedDomains)} AND ${text(column)} ~ ${email})`;

/**
 * One pass over the table: rows with an e-mail (outside the masked domains) in any text column,
 * rows with a phone number in any searched column. The columns of a row are joined by newlines,
 * which no pattern crosses, so a row matches exactly when one of its columns does. No sub-select:
 * the planner may scan in parallel.
 */
export function leakQuery(t: TablePlan, maskedDomains: readonly string[]): string | undefined {
  if (t.textColumns.length === 0) return undefined;
  const s = searches(t);
  const email = quoteLiteral(emailLeakRegex(maskedDomains));
  const e = joined(s.joinedEmail);
  const emailConditions = [
    ...(s.joinedEmail.length > 0 ? [`(${e} LIKE '%@%' AND ${e} ~ ${email})`] : []),
    ...s.generated.map((c) => generatedEmail(c, email, maskedDomains)),
  ];
  const counts = [
    `count(*) FILTER (WHERE ${emailConditions.join(' OR ')}) AS e`,
    s.phone.length > 0 ? `count(*) FILTER (WHERE ${joined(s.phone)} ~ ${quoteLiteral(PHONE_LEAK_REGEX)}) AS p` : '0 AS p',
  ];
  return `SELECT ${counts.join(', ')} FROM ${qualified(t.table)} AS t`;
}

/** Per text column (k: index in t.textColumns): rows with an e-mail in e<k>, with a phone in p<k>. Run only when leakQuery found some. */
export function patternQuery(t: TablePlan, maskedDomains: readonly string[]): string | undefined {
  if (t.textColumns.length === 0) return undefined;
  const s = searches(t);
  const email = quoteLiteral(emailLeakRegex(maskedDomains));
  const phone = quoteLiteral(PHONE_LEAK_REGEX);
  const counts = t.textColumns.flatMap((column, k) => [
    s.generated.includes(column)
      ? `count(*) FILTER (WHERE ${generatedEmail(column, email, maskedDomains)}) AS e${k}`
      : `count(*) FILTER (WHERE ${text(column)} LIKE '%@%' AND ${text(column)} ~ ${email}) AS e${k}`,
    ...(s.phone.includes(column) ? [`count(*) FILTER (WHERE ${text(column)} ~ ${phone}) AS p${k}`] : []),
  ]);
  return `SELECT ${counts.join(', ')} FROM ${qualified(t.table)} AS t`;
}

const num = (v: unknown) => Number(v ?? 0);

/**
 * Runs every check; never throws for findings (see assertScanClean). `unchanged`: the findings of
 * the masking statements (unchangedFindings).
 */
export async function scan(client: SqlClient, plan: MaskingPlan, rules: Pick<MaskingRules, 'maskedDomains'>, unchanged: readonly ScanFinding[]): Promise<ScanReport> {
  const findings: ScanFinding[] = [...unchanged];
  let scannedColumns = 0;
  let comparedColumns = 0;
  for (const t of plan.tables) {
    comparedColumns += t.columns.filter((x) => x.compared).length;
    const leaks = leakQuery(t, rules.maskedDomains);
    if (!leaks) continue;
    scannedColumns += t.textColumns.length;
    const found = (await client.query<Record<string, unknown>>(leaks)).rows[0] ?? {};
    if (num(found.e) === 0 && num(found.p) === 0) continue;
    const row = (await client.query<Record<string, unknown>>(patternQuery(t, rules.maskedDomains) ?? '')).rows[0] ?? {};
    t.textColumns.forEach((column, k) => {
      if (num(row[`e${k}`]) > 0) findings.push({kind: 'email', table: t.table, column, rows: num(row[`e${k}`])});
      if (num(row[`p${k}`]) > 0) findings.push({kind: 'phone', table: t.table, column, rows: num(row[`p${k}`])});
    });
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
