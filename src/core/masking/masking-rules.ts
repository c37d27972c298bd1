/**
 * The masking rules file: parsing (yaml) and validation (zod). Pure: the file's text comes in,
 * `readFile` (for `salt: {fromFile: ...}`) and the environment variables are injected.
 *
 * ```yaml
 * salt: ${MASKING_SALT}             # or {fromEnv: NAME} / {fromFile: PATH}; never a literal
 * maskedDomains: [example.invalid]  # e-mail domains the scanner accepts (default example.invalid)
 * rules:
 *   - table: res_partner
 *     columns:
 *       name: fake-name
 *       email: fake-email               # or {strategy: fake-email, domain: example.invalid}
 *       phone: fake-phone
 *       street: fake-street
 *       vat: fake-vat
 *       comment: null                   # YAML null or the string "null"
 *       website: keep                   # classified: not personal data
 *   - table: res_users
 *     columns:
 *       login: {strategy: keyed-hash, unique: true, suffix: '@example.invalid'}
 *   - table: x
 *     columns:
 *       y: {strategy: constant, value: redacted}
 *       w: {strategy: partial, keep_last: 4}
 * attachments:
 *   - {models: [res.partner, hr.employee], action: drop}    # or replace
 * ```
 *
 * Every problem is reported at once; each names the rule (`rules[1] res_users.login: ...`).
 */
import {parseDocument} from 'yaml';
import {z} from 'zod';
import {didYouMean} from '../config/did-you-mean.js';
import {formatIssues, type PathSegment} from '../config/format-issues.js';
import {interpolate} from '../config/resolve-values.js';
import {ConfigError} from '../errors.js';
import {Secret} from '../secret.js';

export const STRATEGY_NAMES = [
  'fake-name', 'fake-email', 'fake-phone', 'fake-street', 'fake-vat', 'keyed-hash', 'null', 'constant', 'keep', 'partial',
] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

export type ColumnStrategy =
  | {readonly strategy: 'fake-name' | 'fake-phone' | 'fake-street' | 'fake-vat' | 'null' | 'keep'}
  | {readonly strategy: 'fake-email'; readonly domain?: string | undefined}
  | {readonly strategy: 'keyed-hash'; readonly unique: boolean; readonly length: number; readonly prefix: string; readonly suffix: string}
  | {readonly strategy: 'constant'; readonly value: string | number | boolean | null}
  | {readonly strategy: 'partial'; readonly keepFirst: number; readonly keepLast: number; readonly maskChar: string};

export interface ColumnRule {
  readonly column: string;
  readonly strategy: ColumnStrategy;
}

export interface TableRule {
  /** Position in `rules` (for messages). */
  readonly index: number;
  readonly table: string;
  readonly columns: readonly ColumnRule[];
}

export interface AttachmentRule {
  readonly index: number;
  /** Odoo model names (`res.partner`) matched against ir_attachment.res_model. */
  readonly models: readonly string[];
  /** drop: delete the attachments; replace: keep the rows, replace their content by a placeholder. */
  readonly action: 'drop' | 'replace';
}

export interface MaskingRules {
  readonly salt: Secret;
  /** Lower-case domains; their subdomains count too. */
  readonly maskedDomains: readonly string[];
  readonly tables: readonly TableRule[];
  readonly attachments: readonly AttachmentRule[];
}

export interface RulesContext {
  /** Environment variables for `${VAR}` and `{fromEnv: NAME}`. */
  readonly variables: Readonly<Record<string, string | undefined>>;
  /** Reads a salt file (absolute path); required only for `{fromFile: ...}`. */
  readonly readFile?: (absolutePath: string) => string;
  /** Folder relative salt files are resolved against (the rules file's folder). */
  readonly baseDir?: string;
  /** Shown in messages. */
  readonly source?: string;
  /** Overrides the file's salt (e.g. from the project configuration). */
  readonly salt?: Secret;
}

/** A salt shorter than this makes hashed values guessable (phone numbers are a small space). */
export const MIN_SALT_LENGTH = 16;
/** Keyed hashes of unique columns keep at least 64 bits (see masking-plan.ts on uniqueness). */
export const MIN_UNIQUE_HASH_LENGTH = 16;

const IDENT_RE = /^[a-z_][a-z0-9_]{0,62}$/;
const MODEL_RE = /^[a-z_][a-z0-9_]*(\.[a-z0-9_]+)*$/;
const DOMAIN_RE = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{1,62}$/;
const ident = (what: string) => z.string().regex(IDENT_RE, `expected a PostgreSQL ${what} name (lower case letters, digits and _, starting with a letter or _)`);
const domain = z.string().transform((s) => s.toLowerCase()).pipe(z.string().regex(DOMAIN_RE, 'expected a domain name such as example.invalid'));

const simple = (name: 'fake-name' | 'fake-phone' | 'fake-street' | 'fake-vat' | 'null' | 'keep') => z.strictObject({strategy: z.literal(name)});
const strategySchema = z.discriminatedUnion('strategy', [
  simple('fake-name'), simple('fake-phone'), simple('fake-street'), simple('fake-vat'), simple('null'), simple('keep'),
  z.strictObject({strategy: z.literal('fake-email'), domain: domain.optional()}),
  z.strictObject({
    strategy: z.literal('keyed-hash'),
    unique: z.boolean().default(false),
    length: z.int().min(8).max(64).default(MIN_UNIQUE_HASH_LENGTH),
    prefix: z.string().max(40).default(''),
    suffix: z.string().max(60).default(''),
  }),
  z.strictObject({strategy: z.literal('constant'), value: z.union([z.string(), z.number(), z.boolean(), z.null()])}),
  z.strictObject({
    strategy: z.literal('partial'),
    keep_first: z.int().min(0).max(32).default(0),
    keep_last: z.int().min(0).max(32).default(4),
    mask_char: z.string().length(1).default('*'),
  }),
]);

/** `fake-name` → {strategy: 'fake-name'}; YAML null → {strategy: 'null'}. */
const columnSchema = z.preprocess((v) => (typeof v === 'string' ? {strategy: v} : v === null ? {strategy: 'null'} : v), strategySchema);

const fileSchema = z.strictObject({
  salt: z.unknown().optional(),
  maskedDomains: z.array(domain).min(1).default(['example.invalid']),
  rules: z.array(z.strictObject({table: ident('table'), columns: z.record(ident('column'), columnSchema)})).default([]),
  attachments: z
    .array(z.strictObject({
      models: z.array(z.string().regex(MODEL_RE, 'expected an Odoo model name such as res.partner')).min(1),
      action: z.enum(['drop', 'replace']),
    }))
    .default([]),
});

export interface RulesIssue {
  readonly path: string;
  readonly message: string;
}

/** `rules[2] res_users.login` for a path into rules, the plain path otherwise. */
function where(raw: unknown, path: readonly PathSegment[]): string {
  if (path[0] === 'rules' && typeof path[1] === 'number') {
    const rule = (raw as {rules?: unknown[]} | null)?.rules?.[path[1]] as {table?: unknown} | undefined;
    const table = typeof rule?.table === 'string' ? rule.table : '?';
    const column = path[2] === 'columns' && typeof path[3] === 'string' ? `.${path[3]}` : '';
    return `rules[${path[1]}] ${table}${column}`;
  }
  if (path[0] === 'attachments' && typeof path[1] === 'number') return `attachments[${path[1]}]`;
  return path.length === 0 ? '(file)' : path.map(String).join('.');
}

function zodIssues(raw: unknown, issues: readonly z.core.$ZodIssue[]): RulesIssue[] {
  const out: RulesIssue[] = [];
  for (const issue of issues) {
    const path = issue.path as PathSegment[];
    if (path.at(-1) === 'strategy' && issue.code === 'invalid_union') {
      const input = (issue as {input?: unknown}).input;
      const given = input !== null && typeof input === 'object' && 'strategy' in input ? (input as {strategy: unknown}).strategy : input;
      const hint = typeof given === 'string' ? didYouMean(given, STRATEGY_NAMES) : undefined;
      const message = `unknown strategy ${JSON.stringify(given)}; expected one of ${STRATEGY_NAMES.join(', ')}${hint ? `; did you mean "${hint}"?` : ''}`;
      out.push({path: where(raw, path), message});
      continue;
    }
    if (path[0] === 'rules' && path.length === 5 && path[4] === 'value' && (issue as {input?: unknown}).input === undefined) {
      out.push({path: where(raw, path), message: 'strategy constant needs a value: {strategy: constant, value: ...}'});
      continue;
    }
    if (issue.code === 'unrecognized_keys') {
      const known = (issue as {knownKeys?: string[]}).knownKeys ?? [];
      for (const key of issue.keys) {
        const hint = didYouMean(key, known);
        const at = path.length === 0 ? key : where(raw, path);
        out.push({path: at, message: `unknown key "${key}"${hint ? `; did you mean "${hint}"?` : ''}`});
      }
      continue;
    }
    // formatIssues words the problem; keep the key path below the rule (the option name).
    const rest = path.slice(path[0] === 'rules' && path[2] === 'columns' ? 4 : path[0] === 'rules' || path[0] === 'attachments' ? 2 : path.length);
    for (const f of formatIssues([issue])) {
      out.push({path: where(raw, path), message: `${rest.length > 0 ? `${rest.map(String).join('.')}: ` : ''}${f.message}`});
    }
  }
  return out;
}

function resolveSalt(value: unknown, ctx: RulesContext, issues: RulesIssue[]): Secret | undefined {
  const bad = (message: string) => {
    issues.push({path: 'salt', message});
    return undefined;
  };
  if (value === undefined) return bad('required: salt: ${MASKING_SALT} (or {fromEnv: NAME} / {fromFile: PATH}) — the key that makes masked values deterministic');
  let secret: Secret;
  if (typeof value === 'string') {
    const r = interpolate(value, ctx.variables);
    if (r.error !== undefined) return bad(r.error);
    if (r.missing.length > 0) return bad(`environment variable ${r.missing.join(', ')} is not set`);
    if (r.used.length === 0) return bad('the salt must come from the environment or a file: use ${VAR}, {fromEnv: NAME} or {fromFile: PATH}');
    secret = new Secret(r.value, `env:${r.used.join(',')}`);
  } else if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 1) {
    const [[key, given]] = Object.entries(value) as [[string, unknown]];
    if (typeof given !== 'string' || given === '') return bad(`${key}: expected a name or path`);
    if (key === 'fromEnv') {
      const set = ctx.variables[given];
      if (set === undefined) return bad(`environment variable ${given} is not set`);
      secret = new Secret(set, `env:${given}`);
    } else if (key === 'fromFile') {
      if (!ctx.readFile) return bad('fromFile is not available here');
      const path = given.startsWith('/') || !ctx.baseDir ? given : `${ctx.baseDir.replace(/\/+$/, '')}/${given}`;
      try {
        secret = new Secret(ctx.readFile(path).replace(/[\r\n]+$/, ''), `file:${path}`);
      } catch (err) {
        return bad(`cannot read salt file ${path} (${(err as {code?: string}).code ?? String(err)})`);
      }
    } else return bad(`expected \${VAR}, {fromEnv: NAME} or {fromFile: PATH}, found key "${key}"`);
  } else return bad('expected ${VAR}, {fromEnv: NAME} or {fromFile: PATH}');
  if (secret.reveal().length < MIN_SALT_LENGTH) return bad(`the salt (${secret.source}) must be at least ${MIN_SALT_LENGTH} characters long`);
  return secret;
}

const inMasked = (host: string, masked: readonly string[]) => masked.some((d) => host === d || host.endsWith(`.${d}`));

function crossChecks(rules: z.infer<typeof fileSchema>, issues: RulesIssue[]): void {
  const seen = new Map<string, number>();
  rules.rules.forEach((rule, i) => {
    const first = seen.get(rule.table);
    if (first !== undefined) issues.push({path: `rules[${i}] ${rule.table}`, message: `table ${rule.table} already has a rule (rules[${first}]): put all its columns in one rule`});
    else seen.set(rule.table, i);
    if (Object.keys(rule.columns).length === 0) issues.push({path: `rules[${i}] ${rule.table}`, message: 'columns: expected at least one column'});
    for (const [column, s] of Object.entries(rule.columns)) {
      const at = `rules[${i}] ${rule.table}.${column}`;
      if (s.strategy === 'fake-email' && s.domain !== undefined && !inMasked(s.domain, rules.maskedDomains)) {
        issues.push({path: at, message: `domain ${s.domain} is not in maskedDomains (${rules.maskedDomains.join(', ')}): the scanner would reject the masked values`});
      }
      if (s.strategy === 'keyed-hash') {
        if (s.unique && s.length < MIN_UNIQUE_HASH_LENGTH) issues.push({path: at, message: `unique keyed hashes need length >= ${MIN_UNIQUE_HASH_LENGTH} (64 bits)`});
        const mailDomain = /@([^@\s]+)$/.exec(s.suffix)?.[1]?.toLowerCase();
        if (mailDomain !== undefined && !inMasked(mailDomain, rules.maskedDomains)) {
          issues.push({path: at, message: `suffix domain ${mailDomain} is not in maskedDomains (${rules.maskedDomains.join(', ')})`});
        }
      }
      if (s.strategy === 'partial' && s.keep_first + s.keep_last === 0) {
        issues.push({path: at, message: 'partial keeps nothing: use keep_first/keep_last > 0, or the null or constant strategy'});
      }
    }
  });
}

function toStrategy(s: z.infer<typeof strategySchema>): ColumnStrategy {
  switch (s.strategy) {
    case 'partial':
      return {strategy: 'partial', keepFirst: s.keep_first, keepLast: s.keep_last, maskChar: s.mask_char};
    case 'fake-email':
      return s.domain === undefined ? {strategy: 'fake-email'} : {strategy: 'fake-email', domain: s.domain};
    default:
      return s;
  }
}

/** Parses and validates a rules file; throws ConfigError listing every problem (data.issues). */
export function parseMaskingRules(text: string, ctx: RulesContext): MaskingRules {
  const source = ctx.source ?? 'the masking rules';
  const doc = parseDocument(text, {prettyErrors: false, uniqueKeys: true});
  if (doc.errors.length > 0) {
    const issues = doc.errors.map((e) => ({path: '(file)', message: `YAML: ${e.message.split('\n')[0] ?? e.message}`}));
    throw rulesError(source, issues);
  }
  const raw: unknown = doc.toJS() ?? {};
  const parsed = fileSchema.safeParse(raw, {reportInput: true});
  const issues: RulesIssue[] = parsed.success ? [] : zodIssues(raw, parsed.error.issues);
  const salt = ctx.salt ?? resolveSalt((raw as {salt?: unknown} | null)?.salt, ctx, issues);
  if (parsed.success) crossChecks(parsed.data, issues);
  if (issues.length > 0 || !parsed.success || salt === undefined) throw rulesError(source, issues);
  const data = parsed.data;
  return {
    salt,
    maskedDomains: [...new Set(data.maskedDomains)],
    tables: data.rules.map((r, index) => ({
      index,
      table: r.table,
      columns: Object.entries(r.columns).map(([column, s]) => ({column, strategy: toStrategy(s)})),
    })),
    attachments: data.attachments.map((a, index) => ({index, models: [...new Set(a.models)], action: a.action})),
  };
}

export function rulesError(source: string, issues: readonly RulesIssue[]): ConfigError {
  const lines = issues.map((i) => `  ${i.path}: ${i.message}`);
  return new ConfigError(`invalid masking rules in ${source}:\n${lines.join('\n')}`, {
    data: {issues},
    actions: ['fix the rules file (see `db mask --dry-run` for the plan)'],
  });
}

/** A one-line description of a strategy (plan listings). */
export function describeStrategy(s: ColumnStrategy): string {
  switch (s.strategy) {
    case 'keyed-hash':
      return `keyed-hash(${s.length}${s.unique ? ', unique' : ''}${s.prefix ? `, prefix ${JSON.stringify(s.prefix)}` : ''}${s.suffix ? `, suffix ${JSON.stringify(s.suffix)}` : ''})`;
    case 'constant':
      return `constant(${JSON.stringify(s.value)})`;
    case 'partial':
      return `partial(first ${s.keepFirst}, last ${s.keepLast})`;
    case 'fake-email':
      return s.domain ? `fake-email(@${s.domain})` : 'fake-email';
    default:
      return s.strategy;
  }
}
