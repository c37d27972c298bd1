/**
 * Finds, reads and validates the project configuration. The only module of src/core/config that
 * does IO.
 *
 * Search: ONLY in the given folder (never its parents), in this order: odoo-sh-next.config.yaml,
 * .odoo-sh-nextrc (YAML or JSON), .odoo-sh-nextrc.json, .odoo-sh-nextrc.yaml, .odoo-sh-nextrc.yml,
 * and the "odoo-sh-next" key of package.json. All are parsed with the `yaml` package (JSON is
 * YAML), so syntax errors report file:line:column. JavaScript config files are not supported.
 */
import {readFileSync} from 'node:fs';
import {basename, dirname, extname, isAbsolute, relative, resolve} from 'node:path';
import {cosmiconfig, type CosmiconfigResult} from 'cosmiconfig';
import {LineCounter, parseDocument} from 'yaml';
import {ConfigError} from '../errors.js';
import {formatIssues, formatPath, type ConfigIssue, type PathSegment} from './format-issues.js';
import {resolveValues} from './resolve-values.js';
import {configSchema, resolveConfig, type OdooShConfig} from './schema.js';

export const MODULE_NAME = 'odoo-sh-next';
export const CONFIG_FILE_NAME = 'odoo-sh-next.config.yaml';
export const CONFIG_SEARCH_PLACES: readonly string[] = [
  CONFIG_FILE_NAME,
  `.${MODULE_NAME}rc`,
  `.${MODULE_NAME}rc.json`,
  `.${MODULE_NAME}rc.yaml`,
  `.${MODULE_NAME}rc.yml`,
  'package.json',
];
const SUPPORTED_EXTENSIONS = new Set(['.yaml', '.yml', '.json', '']);

export type Env = Readonly<Record<string, string | undefined>>;

/** How a file is named in messages: relative to cwd when inside it, else absolute. */
function displayName(file: string, cwd: string): string {
  const rel = relative(cwd, file);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}

function yamlLoader(cwd: string) {
  return (filepath: string, content: string): unknown => {
    const shown = displayName(filepath, cwd);
    const lineCounter = new LineCounter();
    const doc = parseDocument(content, {lineCounter, prettyErrors: false});
    if (doc.errors.length > 0) {
      const issues = doc.errors.map((error) => {
        const {line, col} = lineCounter.linePos(error.pos[0]);
        return {path: '', line, column: col, message: error.message.split('\n')[0]!.replace(/:$/, '')};
      });
      throw new ConfigError(issues.map((i) => `${shown}:${i.line}:${i.column}: ${i.message}`).join('\n'), {
        actions: [`fix the YAML syntax in ${shown}`],
        data: {file: filepath, issues},
      });
    }
    let data: unknown;
    try {
      data = doc.toJS({maxAliasCount: 100});
    } catch (error) {
      throw new ConfigError(`${shown}: ${error instanceof Error ? error.message : String(error)}`, {cause: error, data: {file: filepath}});
    }
    const own = basename(filepath) === 'package.json' && isObject(data) ? data[MODULE_NAME] : data;
    if (isObject(own) && Object.hasOwn(own, '$import')) {
      throw new ConfigError(`${shown}: $import: unknown key "$import" at the top level (imports are not supported)`, {
        data: {file: filepath, issues: [{path: '$import', message: 'unknown key "$import" at the top level (imports are not supported)'}]},
      });
    }
    // null (a file with only comments) must count as an empty config, not as "no config here"
    return data ?? undefined;
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function explorer(cwd: string) {
  const loader = yamlLoader(cwd);
  return cosmiconfig(MODULE_NAME, {
    searchStrategy: 'none',
    searchPlaces: [...CONFIG_SEARCH_PLACES],
    ignoreEmptySearchPlaces: false,
    cache: false,
    loaders: {'.yaml': loader, '.yml': loader, '.json': loader, noExt: loader},
  });
}

/**
 * The config file that would be used in `cwd` (only that folder is searched), or undefined.
 * A file that exists but does not parse is still returned.
 */
export async function findConfigFile(cwd: string): Promise<string | undefined> {
  const folder = resolve(cwd);
  try {
    return (await explorer(folder).search(folder))?.filepath;
  } catch (error) {
    const filepath = (error as {filepath?: unknown}).filepath;
    if (typeof filepath === 'string') return filepath;
    throw error;
  }
}

async function readExplicit(file: string, cwd: string): Promise<CosmiconfigResult> {
  const extension = extname(file);
  if (!SUPPORTED_EXTENSIONS.has(extension)) {
    throw new ConfigError(`${file}: unsupported config file type "${extension}" (use YAML or JSON)`, {data: {file}});
  }
  try {
    return await explorer(cwd).load(file);
  } catch (error) {
    const code = (error as {code?: unknown}).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new ConfigError(`config file not found: ${file}`, {
        actions: ['check the path of the config file', 'run `odoo-sh-next init` to create one'],
        data: {file},
      });
    }
    if (code === 'EISDIR') throw new ConfigError(`${file} is a folder, not a config file`, {data: {file}});
    throw error;
  }
}

/**
 * Loads the project configuration from `cwd` (or from `file`, relative to `cwd`), validates it
 * and resolves it. Every problem is a ConfigError whose message names the file and key path;
 * data.issues lists the problems as {path, message}.
 */
export async function loadConfig(opts: {cwd: string; env?: Record<string, string | undefined>; file?: string}): Promise<OdooShConfig> {
  const cwd = resolve(opts.cwd);
  let result: CosmiconfigResult;
  try {
    result = opts.file === undefined ? await explorer(cwd).search(cwd) : await readExplicit(resolve(cwd, opts.file), cwd);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const filepath = (error as {filepath?: unknown}).filepath;
    const where = typeof filepath === 'string' ? displayName(filepath, cwd) : cwd;
    throw new ConfigError(`${where}: cannot read the configuration: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
      data: {file: filepath},
    });
  }
  if (result === null) {
    if (opts.file !== undefined) {
      const file = resolve(cwd, opts.file);
      throw new ConfigError(`${displayName(file, cwd)} has no "${MODULE_NAME}" key`, {data: {file}});
    }
    throw new ConfigError(`no ${CONFIG_FILE_NAME} in ${cwd}`, {
      actions: ['run `odoo-sh-next init`'],
      data: {cwd, searched: CONFIG_SEARCH_PLACES},
    });
  }
  return parseConfig(result.config, {configFile: result.filepath, cwd, env: opts.env ?? process.env});
}

/**
 * Validates an already-read configuration object (the parsed file contents) as if it came from
 * `configFile`: interpolation, secrets (fromFile read relative to the file's folder), schema,
 * path resolution.
 */
export function parseConfig(
  raw: unknown,
  opts: {configFile: string; cwd?: string; env?: Env; readFile?: (path: string) => string},
): OdooShConfig {
  const configFile = resolve(opts.configFile);
  const projectRoot = dirname(configFile);
  const shown = displayName(configFile, opts.cwd === undefined ? projectRoot : resolve(opts.cwd));
  const fail = (issues: readonly ConfigIssue[], actions: readonly string[]): never => {
    const lines = issues.map((issue) => `${shown}: ${issue.path === '' ? '' : `${issue.path}: `}${issue.message}`);
    throw new ConfigError(lines.join('\n'), {actions, data: {file: configFile, issues}});
  };
  if (raw === undefined || raw === null) {
    fail([{path: '', message: 'the file is empty (at least `project: <name>` is required)'}], ['run `odoo-sh-next init` to write a starter config']);
  }

  const resolved = resolveValues(raw, {
    env: opts.env ?? process.env,
    baseDir: projectRoot,
    readFile: opts.readFile ?? ((path) => readFileSync(path, 'utf8')),
  });
  const parsed = configSchema.safeParse(resolved.value, {reportInput: true});
  if (resolved.issues.length === 0 && parsed.success) return resolveConfig(parsed.data, configFile, projectRoot);

  const failedFields = resolved.issues.map((issue) => formatPath(issue.field));
  const under = (path: string, field: string) => path === field || path.startsWith(`${field}.`) || path.startsWith(`${field}[`);
  const schemaIssues = parsed.success ? [] : formatIssues(parsed.error.issues);
  const issues = inDocumentOrder(raw, [
    ...resolved.issues.map((issue) => ({path: formatPath(issue.path), message: issue.message})),
    ...schemaIssues.filter((issue) => !failedFields.some((field) => field !== '' && under(issue.path, field))),
  ]);
  const variables = [...new Set(resolved.issues.flatMap((issue) => issue.variables ?? []))];
  const actions = [
    ...(variables.length > 0 ? [`set ${variables.join(', ')} in the environment, or give defaults: \${NAME:-value}`] : []),
    `fix ${shown} (reference: spec/contracts/config.schema.json)`,
  ];
  return fail(issues, actions);
}

/** Sorts issues by where their key (or its closest written parent) appears in the file. */
function inDocumentOrder(raw: unknown, issues: readonly ConfigIssue[]): ConfigIssue[] {
  const order = new Map<string, number>();
  const visit = (value: unknown, path: readonly PathSegment[]) => {
    order.set(formatPath(path), order.size);
    if (Array.isArray(value)) value.forEach((item, index) => visit(item, [...path, index]));
    else if (isObject(value)) for (const [key, item] of Object.entries(value)) visit(item, [...path, key]);
  };
  visit(raw, []);
  const rank = (path: string): number => {
    for (let p = path; ; p = p.replace(/(\.[^.[]*|\[[^\]]*\])$/, '')) {
      const found = order.get(p);
      if (found !== undefined) return found + (p === path ? 0 : 0.5);
      if (p === '' || !/[.[]/.test(p)) return order.get('') ?? 0;
    }
  };
  return issues
    .map((issue, index) => ({issue, index, rank: rank(issue.path)}))
    .sort((a, b) => a.rank - b.rank || a.index - b.index)
    .map(({issue}) => issue);
}

export type {ConfigIssue, PathSegment};
