/**
 * The upgrade report: a pure builder over what an upgrade preview observed (module states before
 * and after `-u all` from ir_module_module, the Odoo log, sizes, the removed-API scan, the smoke
 * check) and its Markdown rendering. The verdict is `ready` only when the update exited 0, no
 * module failed or is missing, the log holds no error and the smoke check passed; removed-API
 * findings are listed as warnings (code to fix, not a failed upgrade).
 */
import type {ApiFinding} from './api-scan.js';
import type {GroupedLog, LogEntry, ModuleLog} from './odoo-log.js';

export const UPGRADE_REPORT_FORMAT = 'odoo-sh-next/upgrade-report/v1';

export interface ModuleRow {
  readonly name: string;
  readonly state: string;
  readonly latestVersion: string | null;
}

export interface SmokeOutcome {
  /** False when the database could not be started (then `error` says why). */
  readonly ran: boolean;
  readonly ok: boolean;
  readonly checks: readonly {readonly check: string; readonly ok: boolean; readonly detail: string}[];
  readonly error?: string | undefined;
}

export interface UpgradeObservation {
  readonly env: string;
  readonly runId: string;
  readonly database: string;
  /** The series the production database runs (base's latest_version), e.g. 17.0. */
  readonly fromVersion: string;
  readonly toVersion: string;
  readonly target: {readonly bin?: string | undefined; readonly image?: string | undefined; readonly openupgrade?: string | undefined};
  readonly startedAt: string;
  readonly durationMs: number;
  readonly exitCode: number;
  readonly before: readonly ModuleRow[];
  readonly after: readonly ModuleRow[];
  readonly log: GroupedLog;
  /** True when only the tail of the log could be read. */
  readonly logTruncated: boolean;
  readonly sizeBefore: number | null;
  readonly sizeAfter: number | null;
  readonly removedApis: readonly ApiFinding[];
  readonly smoke: SmokeOutcome;
}

export interface UpdatedModule {
  readonly name: string;
  readonly from: string | null;
  readonly to: string | null;
}

export interface FailedModule {
  readonly name: string;
  readonly state: string;
  readonly version: string | null;
  readonly reason: string;
  readonly errors: readonly LogEntry[];
}

export interface UpgradeReport {
  readonly format: typeof UPGRADE_REPORT_FORMAT;
  readonly env: string;
  readonly runId: string;
  readonly database: string;
  readonly fromVersion: string;
  readonly toVersion: string;
  readonly target: UpgradeObservation['target'];
  readonly startedAt: string;
  readonly durationMs: number;
  readonly exitCode: number;
  readonly databaseSize: {readonly before: number | null; readonly after: number | null};
  readonly modules: {
    readonly updated: readonly UpdatedModule[];
    readonly unchanged: readonly string[];
    readonly failed: readonly FailedModule[];
    readonly missing: readonly string[];
  };
  readonly log: {readonly modules: Readonly<Record<string, ModuleLog>>; readonly general: ModuleLog; readonly truncated: boolean};
  readonly removedApis: readonly ApiFinding[];
  readonly smoke: SmokeOutcome;
  readonly verdict: {readonly status: 'ready' | 'blocked'; readonly reasons: readonly string[]; readonly warnings: readonly string[]};
}

const PENDING = new Set(['to upgrade', 'to install', 'to remove']);
const LIVE = new Set(['installed', 'to upgrade', 'to remove']);

export function buildUpgradeReport(o: UpgradeObservation): UpgradeReport {
  const after = new Map(o.after.map((m) => [m.name, m]));
  const installedBefore = o.before.filter((m) => LIVE.has(m.state));
  const missing = new Set(o.log.notLoaded.filter((n) => installedBefore.some((m) => m.name === n)));
  const updated: UpdatedModule[] = [];
  const unchanged: string[] = [];
  const failed: FailedModule[] = [];
  for (const m of [...installedBefore].sort((a, b) => a.name.localeCompare(b.name))) {
    const now = after.get(m.name);
    const errors = o.log.modules[m.name]?.errors ?? [];
    if (!now) {
      missing.add(m.name);
      continue;
    }
    if (missing.has(m.name)) continue;
    if (PENDING.has(now.state) || errors.length > 0 || now.state !== 'installed') {
      const reason = errors.length > 0 ? `${errors.length} error(s) logged` : `left in state '${now.state}'`;
      failed.push({name: m.name, state: now.state, version: now.latestVersion, reason, errors});
    } else if (now.latestVersion !== m.latestVersion) {
      updated.push({name: m.name, from: m.latestVersion, to: now.latestVersion});
    } else {
      unchanged.push(m.name);
    }
  }
  const generalErrors = o.log.general.errors.length;
  const reasons: string[] = [];
  if (o.exitCode !== 0) reasons.push(`odoo-bin -u all exited with status ${o.exitCode}`);
  if (failed.length > 0) reasons.push(`${failed.length} module(s) failed: ${failed.map((f) => `${f.name} (${f.reason})`).join(', ')}`);
  if (missing.size > 0) reasons.push(`${missing.size} installed module(s) missing on ${o.toVersion}: ${[...missing].sort().join(', ')}`);
  if (generalErrors > 0) reasons.push(`${generalErrors} error(s) in the log not tied to a module`);
  if (!o.smoke.ran) reasons.push(`the upgraded database did not start: ${o.smoke.error ?? 'unknown reason'}`);
  else if (!o.smoke.ok) reasons.push(`smoke check failed: ${o.smoke.checks.filter((c) => !c.ok).map((c) => `${c.check}: ${c.detail}`).join('; ')}`);
  const warnings: string[] = [];
  if (o.removedApis.length > 0) {
    warnings.push(`${o.removedApis.length} use(s) of APIs removed or renamed by ${o.toVersion} in the custom addons`);
  }
  const logWarnings = Object.values(o.log.modules).reduce((n, m) => n + m.warnings.length, o.log.general.warnings.length);
  if (logWarnings > 0) warnings.push(`${logWarnings} warning(s) in the log`);
  if (o.logTruncated) warnings.push('only the tail of the Odoo log was available');
  return {
    format: UPGRADE_REPORT_FORMAT, env: o.env, runId: o.runId, database: o.database, fromVersion: o.fromVersion, toVersion: o.toVersion,
    target: o.target, startedAt: o.startedAt, durationMs: o.durationMs, exitCode: o.exitCode,
    databaseSize: {before: o.sizeBefore, after: o.sizeAfter},
    modules: {updated, unchanged, failed, missing: [...missing].sort()},
    log: {modules: o.log.modules, general: o.log.general, truncated: o.logTruncated},
    removedApis: o.removedApis, smoke: o.smoke,
    verdict: {status: reasons.length === 0 ? 'ready' : 'blocked', reasons, warnings},
  };
}

const mb = (bytes: number | null) => (bytes === null ? 'unknown' : `${(bytes / 1048576).toFixed(1)} MB`);
const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
/** The first line of a message, and its last one when it has more (a traceback's exception line). */
const summaryOf = (text: string) => {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  return lines.length > 1 ? `${lines[0]} … ${lines.at(-1)!.trim()}` : lines[0] ?? '';
};

/** The report as Markdown (what `upgrade report show --format md` prints). */
export function renderUpgradeReportMarkdown(r: UpgradeReport, meta: {readonly id?: string; readonly approvedBy?: string | null} = {}): string {
  const out: string[] = [];
  out.push(`# Upgrade preview: ${r.env} ${r.fromVersion} → ${r.toVersion}${meta.id ? ` (report ${meta.id})` : ''}`, '');
  out.push(`**Verdict: ${r.verdict.status.toUpperCase()}**${meta.approvedBy ? ` — approved by ${meta.approvedBy}` : ''}`, '');
  for (const reason of r.verdict.reasons) out.push(`- ${reason}`);
  for (const w of r.verdict.warnings) out.push(`- warning: ${w}`);
  out.push('', `- run: ${r.runId}, started ${r.startedAt}, \`-u all\` took ${(r.durationMs / 1000).toFixed(1)} s (exit ${r.exitCode})`);
  out.push(`- target: ${r.target.image ? `image ${r.target.image}` : `odoo-bin ${r.target.bin ?? '?'}`}${r.target.openupgrade ? `, OpenUpgrade ${r.target.openupgrade}` : ''}`);
  out.push(`- database size: ${mb(r.databaseSize.before)} → ${mb(r.databaseSize.after)}`);
  out.push('', `## Modules updated (${r.modules.updated.length})`, '');
  if (r.modules.updated.length > 0) {
    out.push('| module | before | after |', '|---|---|---|');
    for (const m of r.modules.updated) out.push(`| ${m.name} | ${m.from ?? '-'} | ${m.to ?? '-'} |`);
  }
  out.push('', `## Modules failed (${r.modules.failed.length})`, '');
  for (const f of r.modules.failed) {
    out.push(`- **${f.name}** (${f.state}, ${f.version ?? '-'}): ${f.reason}`);
    for (const e of f.errors) out.push(`  - line ${e.line} ${e.level} ${e.logger}: ${cell(summaryOf(e.message))}`);
  }
  out.push('', `## Modules missing on ${r.toVersion} (${r.modules.missing.length})`, '');
  if (r.modules.missing.length > 0) out.push(r.modules.missing.map((m) => `- ${m}`).join('\n'));
  out.push('', '## Log errors and warnings by module', '');
  const groups = Object.entries(r.log.modules).sort(([a], [b]) => a.localeCompare(b));
  if (r.log.general.errors.length + r.log.general.warnings.length > 0) groups.push(['(general)', r.log.general]);
  if (groups.length === 0) out.push('none');
  for (const [name, g] of groups) {
    out.push(`### ${name}: ${g.errors.length} error(s), ${g.warnings.length} warning(s)`, '', '```');
    for (const e of [...g.errors, ...g.warnings].sort((a, b) => a.line - b.line)) out.push(`${e.line}: ${e.level} ${e.logger}: ${e.message}`);
    out.push('```', '');
  }
  out.push('', `## Removed APIs in the custom addons (${r.removedApis.length})`, '');
  if (r.removedApis.length > 0) {
    out.push('| file:line | since | problem | use instead |', '|---|---|---|---|');
    for (const f of r.removedApis) out.push(`| ${cell(`${f.file}:${f.line}`)} | ${f.version} | ${cell(f.message)} | ${cell(f.replacement)} |`);
  }
  out.push('', '## Smoke check', '');
  if (!r.smoke.ran) out.push(`not run: ${r.smoke.error ?? 'the database did not start'}`);
  for (const c of r.smoke.checks) out.push(`- ${c.ok ? 'pass' : 'FAIL'} ${c.check}: ${c.detail}`);
  return `${out.join('\n')}\n`;
}
