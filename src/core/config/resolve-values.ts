/**
 * First pass over the raw file contents, before the schema: interpolates `${VAR}` references in
 * every string value and turns secret fields into Secret objects. Pure apart from the injected
 * `readFile` (load-config.ts passes the real one).
 *
 * Interpolation: `${VAR}` is the value of VAR (an error when unset); `${VAR:-default}` uses the
 * default when VAR is unset or empty; `$${` is a literal `${`. Keys are never interpolated.
 *
 * Secret fields (SECRET_PATHS, any key named `password`, and state.url when it carries a password)
 * accept `${VAR}` (at least one variable must be set in the environment; defaults written in the
 * file do not count), `{fromEnv: NAME}` or `{fromFile: PATH}` (relative to the config folder,
 * trailing newlines trimmed). A literal secret is an error.
 */
import {resolve} from 'node:path';
import {Secret} from '../secret.js';
import {didYouMean} from './did-you-mean.js';
import {describeValue, type PathSegment} from './format-issues.js';

export interface ValueIssue {
  /** Where the problem is reported. */
  readonly path: readonly PathSegment[];
  /** The field whose value could not be resolved (the schema's own issues there are moot). */
  readonly field: readonly PathSegment[];
  readonly message: string;
  /** Environment variables the issue is about (for hints). */
  readonly variables?: readonly string[];
}

export interface ResolveContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Folder that relative `fromFile` paths are relative to. */
  readonly baseDir: string;
  /** Reads a file as UTF-8; throws on failure. */
  readonly readFile: (absolutePath: string) => string;
}

export interface ResolveResult {
  readonly value: unknown;
  readonly issues: readonly ValueIssue[];
}

/** Secret fields by key path; any key named `password` is a secret too. */
export const SECRET_PATHS: readonly string[] = [
  'provider.ssh.passphrase',
  'backups.storage.accessKeyId',
  'backups.storage.secretAccessKey',
  'backups.storage.sessionToken',
];
const STATE_URL_PATH = 'state.url';

export const LITERAL_SECRET_MESSAGE = 'secrets must come from the environment or a file: use ${VAR} or {fromFile: ...}';
const VAR_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const REFERENCE_RE = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/;

export interface Interpolated {
  readonly value: string;
  /** Variables that were set and used (not replaced by their default). */
  readonly used: readonly string[];
  /** Variables that were unset and had no default. */
  readonly missing: readonly string[];
  /** A syntax problem (unterminated or malformed reference). */
  readonly error?: string;
}

/** Interpolates `${VAR}`, `${VAR:-default}` and `$${` in one string. */
export function interpolate(template: string, env: ResolveContext['env']): Interpolated {
  let value = '';
  const used: string[] = [];
  const missing: string[] = [];
  let i = 0;
  while (i < template.length) {
    if (template.startsWith('$${', i)) {
      value += '${';
      i += 3;
    } else if (template.startsWith('${', i)) {
      const close = template.indexOf('}', i + 2);
      if (close === -1) return {value, used, missing, error: 'unterminated "${" (write "$${" for a literal "${")'};
      const inner = template.slice(i + 2, close);
      const match = REFERENCE_RE.exec(inner);
      if (!match || (match[2] ?? '').includes('${')) {
        return {value, used, missing, error: `invalid reference "\${${inner}}": expected \${NAME} or \${NAME:-default} (write "$\${" for a literal "\${")`};
      }
      const [, name, fallback] = match as unknown as [string, string, string | undefined];
      const set = env[name];
      if (fallback !== undefined && (set === undefined || set === '')) value += fallback;
      else if (set === undefined) missing.push(name);
      else {
        value += set;
        used.push(name);
      }
      i = close + 1;
    } else {
      value += template[i];
      i += 1;
    }
  }
  return {value, used, missing};
}

/** True when a PostgreSQL URL carries a password (in the authority or as a password= parameter). */
export function urlHasPassword(url: string): boolean {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '' || parsed.searchParams.has('password')) return true;
  } catch {
    // fall through to the textual checks
  }
  return /^[a-z][a-z0-9+.-]*:\/\/[^/@?#]*:[^/@?#]*@/i.test(url) || /(^|[\s?&])password=/i.test(url);
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Secret);

/** Interpolates every string and resolves secret fields. Never throws; problems are returned as issues. */
export function resolveValues(raw: unknown, ctx: ResolveContext): ResolveResult {
  const issues: ValueIssue[] = [];
  let field: readonly PathSegment[] = [];
  const problem = (path: readonly PathSegment[], message: string, variables?: readonly string[]) => {
    issues.push(variables === undefined ? {path, field, message} : {path, field, message, variables});
  };

  const text = (value: string, path: readonly PathSegment[]): Interpolated | undefined => {
    const result = interpolate(value, ctx.env);
    if (result.error !== undefined) problem(path, result.error);
    else if (result.missing.length > 0) {
      const names = result.missing.join(', ');
      problem(path, `environment variable ${names} ${result.missing.length > 1 ? 'are' : 'is'} not set (set it, or give a default: \${${result.missing[0]}:-value})`, result.missing);
    } else return result;
    return undefined;
  };

  const reference = (value: Record<string, unknown>, path: readonly PathSegment[]): unknown => {
    const keys = Object.keys(value);
    if (keys.length !== 1 || (keys[0] !== 'fromEnv' && keys[0] !== 'fromFile')) {
      const odd = keys.find((k) => k !== 'fromEnv' && k !== 'fromFile');
      const hint = odd === undefined ? '' : didYouMean(odd, ['fromEnv', 'fromFile']);
      problem(path, `expected {fromEnv: NAME} or {fromFile: PATH}, found ${keys.length === 0 ? 'an empty mapping' : `keys ${keys.map((k) => `"${k}"`).join(', ')}`}${hint ? `; did you mean "${hint}"?` : ''}`);
      return value;
    }
    const given = value[keys[0]];
    if (keys[0] === 'fromEnv') {
      if (typeof given !== 'string' || !VAR_NAME_RE.test(given)) {
        problem([...path, 'fromEnv'], `expected an environment variable name, found ${describeValue(given)}`);
        return value;
      }
      const set = ctx.env[given];
      if (set === undefined) {
        problem(path, `environment variable ${given} is not set`, [given]);
        return value;
      }
      return new Secret(set, `env:${given}`);
    }
    if (typeof given !== 'string' || given === '') {
      problem([...path, 'fromFile'], `expected a file path, found ${describeValue(given)}`);
      return value;
    }
    const file = text(given, [...path, 'fromFile']);
    if (file === undefined) return value;
    const absolute = resolve(ctx.baseDir, file.value);
    let content: string;
    try {
      content = ctx.readFile(absolute);
    } catch (error) {
      const reason = (error as {code?: string}).code ?? (error instanceof Error ? error.message : String(error));
      problem(path, `cannot read secret file ${absolute} (${reason})`);
      return value;
    }
    return new Secret(content.replace(/[\r\n]+$/, ''), `file:${absolute}`);
  };

  const secretField = (value: unknown, path: readonly PathSegment[], isUrl: boolean): unknown => {
    field = path;
    if (isPlainObject(value)) return reference(value, path);
    if (typeof value !== 'string') {
      if (isUrl) return value; // the schema reports the wrong type
      const kind = value === null ? 'an empty value' : Array.isArray(value) ? 'a list' : `a ${typeof value}`;
      problem(path, `expected a secret: \${VAR}, {fromEnv: NAME} or {fromFile: PATH}, found ${kind}`);
      return value;
    }
    const result = text(value, path);
    if (result === undefined) return value;
    if (isUrl && !urlHasPassword(result.value)) return result.value;
    if (result.used.length === 0) {
      problem(path, isUrl ? `the URL contains a password; ${LITERAL_SECRET_MESSAGE}` : LITERAL_SECRET_MESSAGE);
      return value;
    }
    return new Secret(result.value, `env:${result.used.join(',')}`);
  };

  const walk = (value: unknown, path: readonly PathSegment[]): unknown => {
    field = path;
    const dotted = path.map(String).join('.');
    const last = path.at(-1);
    if (dotted === STATE_URL_PATH) return secretField(value, path, true);
    if (SECRET_PATHS.includes(dotted) || last === 'password') return secretField(value, path, false);
    if (typeof value === 'string') return text(value, path)?.value ?? value;
    if (Array.isArray(value)) return value.map((item, index) => walk(item, [...path, index]));
    if (isPlainObject(value)) {
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value)) {
        // defineProperty keeps a "__proto__" key an ordinary (and therefore unknown) key
        Object.defineProperty(out, key, {value: walk(item, [...path, key]), enumerable: true, writable: true, configurable: true});
      }
      return out;
    }
    return value;
  };

  return {value: walk(raw, []), issues};
}
