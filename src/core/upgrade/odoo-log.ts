/**
 * Odoo's log, parsed: records in Odoo's format `YYYY-MM-DD HH:MM:SS,mmm PID LEVEL db logger: message`
 * (continuation lines, e.g. a traceback, belong to the record above), and the errors and warnings
 * grouped by the module they are about. Pure.
 *
 * A record is about module M when its logger is `odoo.addons.M` (or below it), when it is an
 * `odoo.modules.*` record whose message starts with `module M:` (migrations, `module M: ...`), or,
 * for an error without either, when it comes while M was loading (the last `Loading module M (i/n)`,
 * logged at DEBUG by odoo.modules.loading, or `module M: ...` line of odoo.modules.*): a failed
 * update script of M ends in `CRITICAL ... Failed to initialize database` with the traceback.
 */

export type OdooLogLevel = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR' | 'CRITICAL';

export interface OdooLogRecord {
  /** 1-based line of the record's first line. */
  readonly line: number;
  readonly at: string;
  readonly pid: number;
  readonly level: OdooLogLevel;
  readonly db: string;
  readonly logger: string;
  /** The message, continuation lines included (joined with \n). */
  readonly message: string;
}

const RECORD_RE = /^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3}) (\d+) (DEBUG|INFO|WARNING|ERROR|CRITICAL|\?) (\S+) ([^\s:]+): ?(.*)$/;

export function parseOdooLog(text: string): OdooLogRecord[] {
  const out: {line: number; at: string; pid: number; level: OdooLogLevel; db: string; logger: string; lines: string[]}[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const m = RECORD_RE.exec(raw);
    if (m) {
      const level = (m[3] === '?' ? 'INFO' : m[3]) as OdooLogLevel;
      out.push({line: i + 1, at: m[1]!, pid: Number(m[2]), level, db: m[4]!, logger: m[5]!, lines: [m[6]!]});
    } else if (out.length > 0 && raw !== '') {
      out.at(-1)!.lines.push(raw);
    }
  });
  return out.map(({lines, ...r}) => ({...r, message: lines.join('\n')}));
}

export interface LogEntry {
  readonly line: number;
  readonly level: OdooLogLevel;
  readonly logger: string;
  readonly message: string;
}

export interface ModuleLog {
  readonly errors: readonly LogEntry[];
  readonly warnings: readonly LogEntry[];
}

export interface GroupedLog {
  /** module → its errors and warnings (modules without any are absent). */
  readonly modules: Readonly<Record<string, ModuleLog>>;
  /** Errors and warnings not about one module. */
  readonly general: ModuleLog;
  /** Modules Odoo started loading, in order. */
  readonly loaded: readonly string[];
  /** Modules named by `Some modules are not loaded, ... missing: [...]`. */
  readonly notLoaded: readonly string[];
}

const ADDON_LOGGER_RE = /^odoo\.addons\.([a-z0-9_]+)(\.|$)/;
const MODULE_MESSAGE_RE = /^module ([a-z0-9_]+):/i;
const LOADING_RE = /^Loading module ([a-z0-9_]+) \(\d+\/\d+\)/;
const NOT_LOADED_RE = /^Some modules (?:are not loaded|have inconsistent states)[^:]*: *\[?([^\]\n]*)\]?/;

/** The module a record is explicitly about, if any. */
export function moduleOf(record: Pick<OdooLogRecord, 'logger' | 'message'>): string | undefined {
  const byLogger = ADDON_LOGGER_RE.exec(record.logger)?.[1];
  if (byLogger) return byLogger;
  if (record.logger.startsWith('odoo.modules')) return MODULE_MESSAGE_RE.exec(record.message)?.[1];
  return undefined;
}

export function groupLogByModule(records: readonly OdooLogRecord[]): GroupedLog {
  const modules: Record<string, {errors: LogEntry[]; warnings: LogEntry[]}> = {};
  const general = {errors: [] as LogEntry[], warnings: [] as LogEntry[]};
  const loaded: string[] = [];
  const notLoaded = new Set<string>();
  let current: string | undefined;
  for (const r of records) {
    const loading = r.logger === 'odoo.modules.loading' ? LOADING_RE.exec(r.message)?.[1] : undefined;
    if (loading) {
      current = loading;
      if (!loaded.includes(loading)) loaded.push(loading);
      continue;
    }
    const named = r.logger.startsWith('odoo.modules') ? moduleOf(r) : undefined;
    if (named) current = named;
    const missing = r.logger === 'odoo.modules.loading' ? NOT_LOADED_RE.exec(r.message)?.[1] : undefined;
    if (missing !== undefined) {
      for (const name of missing.split(',').map((s) => s.trim().replace(/^['"]|['"]$/g, '')).filter(Boolean)) notLoaded.add(name);
      continue; // reported as missing modules, not as a log error
    }
    if (r.logger.startsWith('odoo.modules') && /^(Module \S+ loaded in|Modules loaded\.|Registry loaded|\d+ modules loaded in)/.test(r.message)) {
      current = undefined;
    }
    if (r.level !== 'WARNING' && r.level !== 'ERROR' && r.level !== 'CRITICAL') continue;
    const isError = r.level !== 'WARNING';
    const module = moduleOf(r) ?? (isError ? current : undefined);
    const entry: LogEntry = {line: r.line, level: r.level, logger: r.logger, message: r.message};
    const bucket = module ? (modules[module] ??= {errors: [], warnings: []}) : general;
    (isError ? bucket.errors : bucket.warnings).push(entry);
  }
  return {modules, general, loaded, notLoaded: [...notLoaded].sort()};
}
