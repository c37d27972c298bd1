/**
 * The masking plan: rules × catalog → SQL. Pure (house style rule 19: buildMaskingPlan).
 *
 * - ONE statement per table (set-based; never row by row): an UPDATE joined on ctid to a sub-select
 *   of the same table that computes each keyed hash once per row and carries the original values of
 *   the compared columns (`UPDATE t SET a = f(t.a, s.h0) FROM (SELECT ctid, a, osn_hmac(a) h0 ...
 *   OFFSET 0) s WHERE t.ctid = s.ctid`; OFFSET 0 keeps PostgreSQL from re-expanding the hash into
 *   every use). Its RETURNING clause compares each written value with the original one, and the
 *   statement (WITH u AS (UPDATE ... RETURNING ...) SELECT count(*) ... FROM u) returns one row:
 *   the rows updated and, per compared column, the rows that still hold their original value. So
 *   the scanner's "unchanged" check costs no snapshot and no second pass. Rows whose masked
 *   columns are all NULL are not touched (every strategy keeps NULL).
 * - Uniqueness: a column with a unique index accepts keyed-hash with `unique: true`, fake-email, null
 *   or keep. HMAC-SHA256 is injective in practice on distinct inputs, so distinct originals (which a
 *   unique index guarantees) give distinct hashes; keeping >= 64 bits of it puts the chance of any
 *   collision among a million rows below 1e-7, and the unique index itself turns that case into a
 *   failed run, never into silently merged rows.
 * - Errors (a rule on a missing table or column, a strategy that does not fit the column's type,
 *   nullability or uniqueness, a masked table without an `id`) name the rule; text columns of ruled
 *   tables that no rule classifies are listed as `uncovered` (the scanner fails on them).
 */
import {didYouMean} from '../config/did-you-mean.js';
import {describeStrategy, type ColumnStrategy, type MaskingRules} from './masking-rules.js';
import {
  byteaLiteral, PLACEHOLDER_PNG, PLACEHOLDER_TEXT, qualified, quoteIdent, quoteLiteral, sha1Hex,
} from './masking-sql.js';

/** text: text/varchar/char/citext; json: json/jsonb; other: anything else. */
export type ColumnKind = 'text' | 'json' | 'other';

export interface CatalogColumn {
  readonly table: string;
  readonly column: string;
  /** format_type(), e.g. "character varying(64)". */
  readonly type: string;
  readonly kind: ColumnKind;
  readonly maxLength: number | null;
  readonly nullable: boolean;
  /** Has a single-column unique index. */
  readonly unique: boolean;
}

export interface Catalog {
  readonly columns: readonly CatalogColumn[];
}

export interface PlanError {
  /** `rules[1] res_users.login` or `attachments[0]`. */
  readonly rule: string;
  readonly message: string;
}

export interface PlannedColumn {
  readonly column: string;
  readonly strategy: ColumnStrategy;
  /** Compared with its pre-mask value by the scanner (every strategy but keep and null). */
  readonly compared: boolean;
}

export interface TablePlan {
  readonly table: string;
  readonly rule: number;
  readonly columns: readonly PlannedColumn[];
  /** Every text/json column of the table (all of them are scanned for e-mails and phones). */
  readonly textColumns: readonly string[];
  /**
   * The text columns holding values the engine generated (fake-*, keyed-hash): their format is
   * known, so the scanner skips the phone search there and takes a shortcut for the values that
   * are plainly addresses in a masked domain (their originals are checked by the unchanged counts).
   */
  readonly generatedColumns: readonly string[];
  /**
   * The statement (WITH ... UPDATE ... RETURNING ... SELECT): one row with `osn_rows` and, per
   * compared column k (in `columns` order, compared only), `u<k>` = rows still holding their
   * original value. Undefined when every column is kept.
   */
  readonly statement?: string | undefined;
}

export interface CoverageEntry {
  readonly table: string;
  readonly column: string;
  readonly type: string;
  /** The strategy's description, or null: a text column no rule covers. */
  readonly strategy: string | null;
}

export interface AttachmentPlan {
  readonly rule: number;
  readonly action: 'drop' | 'replace';
  readonly models: readonly string[];
  readonly statement: string;
}

export interface MaskingPlan {
  readonly tables: readonly TablePlan[];
  readonly attachments: readonly AttachmentPlan[];
  /** Table UPDATEs then attachment statements, in execution order. */
  readonly statements: readonly string[];
  readonly coverage: readonly CoverageEntry[];
  readonly uncovered: readonly {readonly table: string; readonly column: string}[];
  readonly errors: readonly PlanError[];
}

const HASHED = new Set(['fake-name', 'fake-email', 'fake-phone', 'fake-street', 'fake-vat', 'keyed-hash']);
const TEXT_ONLY = new Set([...HASHED, 'partial']);
const UNIQUE_OK = (s: ColumnStrategy) => s.strategy === 'keep' || s.strategy === 'null' || s.strategy === 'fake-email' || (s.strategy === 'keyed-hash' && s.unique);

/** The expression a strategy assigns (v: the column as text; h: its keyed hash). */
function expression(s: ColumnStrategy, col: CatalogColumn, h: string, defaultDomain: string): string {
  const v = `t.${quoteIdent(col.column)}::text`;
  let e: string;
  switch (s.strategy) {
    case 'fake-name': case 'fake-phone': case 'fake-street': case 'fake-vat':
      e = `pg_temp.osn_${s.strategy.replace('-', '_')}(${v}, ${h})`;
      break;
    case 'fake-email':
      e = `pg_temp.osn_fake_email(${v}, ${h}, ${quoteLiteral(s.domain ?? defaultDomain)})`;
      break;
    case 'keyed-hash':
      e = `pg_temp.osn_keyed_hash(${v}, ${h}, ${s.length}, ${quoteLiteral(s.prefix)}, ${quoteLiteral(s.suffix)})`;
      break;
    case 'partial':
      e = `pg_temp.osn_partial(${v}, ${s.keepFirst}, ${s.keepLast}, ${quoteLiteral(s.maskChar)})`;
      break;
    case 'null':
      return `NULL::${col.type}`;
    case 'constant':
      if (s.value === null) return `NULL::${col.type}`;
      return `CASE WHEN t.${quoteIdent(col.column)} IS NULL THEN NULL ELSE ${quoteLiteral(String(s.value))}::${col.type} END`;
    case 'keep':
      return `t.${quoteIdent(col.column)}`;
  }
  return col.maxLength === null ? e : `left(${e}, ${col.maxLength})`;
}

function checkColumn(s: ColumnStrategy, col: CatalogColumn): string | undefined {
  if (TEXT_ONLY.has(s.strategy) && col.kind !== 'text') {
    return `strategy ${s.strategy} needs a text column; ${col.table}.${col.column} is ${col.type} (use keep, null or constant)`;
  }
  if ((s.strategy === 'null' || (s.strategy === 'constant' && s.value === null)) && !col.nullable) {
    return `${col.table}.${col.column} is NOT NULL: it cannot be set to NULL (use constant or a fake strategy)`;
  }
  if (col.unique && !UNIQUE_OK(s)) {
    return `${col.table}.${col.column} has a unique index: use {strategy: keyed-hash, unique: true}, fake-email, null or keep`;
  }
  if (s.strategy === 'keyed-hash' && s.unique && col.maxLength !== null && col.maxLength < s.prefix.length + s.length + s.suffix.length) {
    return `${col.table}.${col.column} holds at most ${col.maxLength} characters: a unique keyed hash would be cut (shorten prefix/suffix or length)`;
  }
  return undefined;
}

const isCompared = (s: ColumnStrategy) => s.strategy !== 'keep' && s.strategy !== 'null';

/** The RETURNING flag "this row still holds its original value" (new: the written value, old: the original as text). */
function unchangedFlag(s: ColumnStrategy, column: string, old: string): string {
  const now = `t.${quoteIdent(column)}::text`;
  let exempt = '';
  if (s.strategy === 'constant') exempt = ` AND ${now} IS DISTINCT FROM ${quoteLiteral(String(s.value))}`;
  if (s.strategy === 'partial') exempt = ` AND replace(${now}, ${quoteLiteral(s.maskChar)}, '') <> ''`;
  return `coalesce(${now} = ${old} AND ${old} <> ''${exempt}, false)`;
}

function tableStatement(table: string, planned: readonly {col: CatalogColumn; s: ColumnStrategy}[], defaultDomain: string): string | undefined {
  const changed = planned.filter((p) => p.s.strategy !== 'keep');
  if (changed.length === 0) return undefined;
  const hashed = changed.filter((p) => HASHED.has(p.s.strategy));
  const compared = planned.filter((p) => isCompared(p.s));
  const sets = changed.map((p) => {
    const h = hashed.indexOf(p);
    return `${quoteIdent(p.col.column)} = ${expression(p.s, p.col, h >= 0 ? `s.h${h}` : '', defaultDomain)}`;
  });
  const source = [
    'o.tableoid AS osn_tableoid', 'o.ctid AS osn_ctid',
    ...compared.map((p, k) => `o.${quoteIdent(p.col.column)}::text AS o${k}`),
    ...hashed.map((p, i) => `pg_temp.osn_hmac(o.${quoteIdent(p.col.column)}::text) AS h${i}`),
  ];
  const where = changed.map((p) => `o.${quoteIdent(p.col.column)} IS NOT NULL`).join(' OR ');
  const flags = compared.map((p, k) => `${unchangedFlag(p.s, p.col.column, `s.o${k}`)} AS u${k}`);
  const counts = compared.map((_, k) => `count(*) FILTER (WHERE u${k}) AS u${k}`);
  return `WITH osn_u AS (\nUPDATE ${qualified(table)} AS t\n   SET ${sets.join(',\n       ')}\n` +
    `  FROM (SELECT ${source.join(', ')}\n          FROM ${qualified(table)} AS o WHERE ${where} OFFSET 0) AS s\n` +
    ` WHERE t.tableoid = s.osn_tableoid AND t.ctid = s.osn_ctid\n RETURNING ${flags.length > 0 ? flags.join(', ') : '1 AS osn_one'})\n` +
    `SELECT ${['count(*) AS osn_rows', ...counts].join(', ')} FROM osn_u`;
}

const ATTACHMENT_REQUIRED = ['res_model', 'store_fname', 'type', 'db_datas', 'checksum', 'file_size'];

function attachmentStatement(action: 'drop' | 'replace', models: readonly string[], has: (c: string) => boolean): string {
  const inModels = `res_model IN (${models.map(quoteLiteral).join(', ')})`;
  const freed = 'INSERT INTO pg_temp.osn_freed_files (store_fname)';
  if (action === 'drop') {
    return `WITH gone AS (DELETE FROM public.ir_attachment WHERE ${inModels} RETURNING store_fname)\n` +
      `${freed} SELECT DISTINCT store_fname FROM gone WHERE store_fname IS NOT NULL AND store_fname <> ''`;
  }
  const image = `a.mimetype LIKE 'image/%'`;
  const binary = (img: string, txt: string, url: string) =>
    `CASE WHEN a.type = 'url' THEN ${url} WHEN ${has('mimetype') ? image : 'false'} THEN ${img} ELSE ${txt} END`;
  const sets = [
    'store_fname = NULL',
    `db_datas = ${binary(byteaLiteral(PLACEHOLDER_PNG), byteaLiteral(PLACEHOLDER_TEXT), 'NULL')}`,
    `file_size = ${binary(String(PLACEHOLDER_PNG.length), String(PLACEHOLDER_TEXT.length), '0')}`,
    `checksum = ${binary(quoteLiteral(sha1Hex(PLACEHOLDER_PNG)), quoteLiteral(sha1Hex(PLACEHOLDER_TEXT)), 'NULL')}`,
  ];
  if (has('mimetype')) sets.push(`mimetype = ${binary("'image/png'", "'text/plain'", 'a.mimetype')}`);
  if (has('url')) sets.push(`url = CASE WHEN a.type = 'url' THEN 'https://example.invalid/masked' ELSE a.url END`);
  if (has('index_content')) sets.push('index_content = NULL');
  if (has('description')) sets.push('description = NULL');
  if (has('name')) {
    const renamed = `'masked-' || a.id || coalesce(substring(a.name from '(\\.[A-Za-z0-9]{1,8})$'), '')`;
    sets.push(`name = ${has('res_field') ? `CASE WHEN a.res_field IS NULL THEN ${renamed} ELSE a.name END` : renamed}`);
  }
  return `WITH old AS (SELECT id, store_fname FROM public.ir_attachment WHERE ${inModels} FOR UPDATE),\n` +
    `changed AS (UPDATE public.ir_attachment AS a SET ${sets.join(',\n       ')}\n  FROM old WHERE a.id = old.id RETURNING old.store_fname AS old_fname)\n` +
    `${freed} SELECT DISTINCT old_fname FROM changed WHERE old_fname IS NOT NULL AND old_fname <> ''`;
}

/** Builds the plan; never throws (problems are in `errors`). */
export function buildMaskingPlan(rules: MaskingRules, catalog: Catalog): MaskingPlan {
  const byTable = new Map<string, Map<string, CatalogColumn>>();
  for (const c of catalog.columns) {
    let cols = byTable.get(c.table);
    if (!cols) byTable.set(c.table, (cols = new Map()));
    cols.set(c.column, c);
  }
  const errors: PlanError[] = [];
  const tables: TablePlan[] = [];
  const coverage: CoverageEntry[] = [];
  const uncovered: {table: string; column: string}[] = [];
  const defaultDomain = rules.maskedDomains[0] ?? 'example.invalid';

  for (const rule of rules.tables) {
    const at = `rules[${rule.index}] ${rule.table}`;
    const cols = byTable.get(rule.table);
    if (!cols) {
      const hint = didYouMean(rule.table, byTable.keys());
      errors.push({rule: at, message: `table ${rule.table} does not exist${hint ? `; did you mean "${hint}"?` : ''}`});
      continue;
    }
    const planned: {col: CatalogColumn; s: ColumnStrategy}[] = [];
    for (const {column, strategy} of rule.columns) {
      const col = cols.get(column);
      if (!col) {
        const hint = didYouMean(column, cols.keys());
        errors.push({rule: `${at}.${column}`, message: `column ${rule.table}.${column} does not exist${hint ? `; did you mean "${hint}"?` : ''}`});
        continue;
      }
      const problem = checkColumn(strategy, col);
      if (problem) errors.push({rule: `${at}.${column}`, message: problem});
      else planned.push({col, s: strategy});
    }
    if (planned.some((p) => p.s.strategy !== 'keep') && !cols.has('id')) {
      errors.push({rule: at, message: `table ${rule.table} has no id column: masked values cannot be checked against the originals`});
    }
    const ruled = new Map(rule.columns.map((c) => [c.column, c.strategy]));
    for (const col of cols.values()) {
      const s = ruled.get(col.column);
      if (s === undefined && col.kind === 'other') continue;
      coverage.push({table: rule.table, column: col.column, type: col.type, strategy: s === undefined ? null : describeStrategy(s)});
      if (s === undefined) uncovered.push({table: rule.table, column: col.column});
    }
    const textColumns = [...cols.values()].filter((c) => c.kind !== 'other').map((c) => c.column);
    const generated = new Set(planned.filter((p) => HASHED.has(p.s.strategy)).map((p) => p.col.column));
    tables.push({
      table: rule.table,
      rule: rule.index,
      columns: planned.map((p) => ({column: p.col.column, strategy: p.s, compared: isCompared(p.s)})),
      textColumns,
      generatedColumns: textColumns.filter((c) => generated.has(c)),
      statement: tableStatement(rule.table, planned, defaultDomain),
    });
  }

  const attachments: AttachmentPlan[] = [];
  const att = byTable.get('ir_attachment');
  for (const a of rules.attachments) {
    const missing = ATTACHMENT_REQUIRED.filter((c) => !att?.has(c));
    if (!att || missing.length > 0) {
      errors.push({rule: `attachments[${a.index}]`, message: att ? `ir_attachment lacks columns ${missing.join(', ')}` : 'table ir_attachment does not exist'});
      continue;
    }
    attachments.push({rule: a.index, action: a.action, models: a.models, statement: attachmentStatement(a.action, a.models, (c) => att.has(c))});
  }

  const statements = [...tables.flatMap((t) => (t.statement ? [t.statement] : [])), ...attachments.map((a) => a.statement)];
  return {tables, attachments, statements, coverage, uncovered, errors};
}

/** The tables whose columns the plan needs from the catalog. */
export function catalogTables(rules: MaskingRules): string[] {
  const names = new Set(rules.tables.map((t) => t.table));
  if (rules.attachments.length > 0) names.add('ir_attachment');
  return [...names].sort();
}
