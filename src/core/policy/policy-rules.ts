/**
 * Policy rules as code: the rule strings of the configuration file (`policies.<env type>`) and of
 * ops.policies, parsed into typed rules. Pure: no IO. Keywords are case-insensitive, runs of
 * spaces count as one, and an optional `require:` prefix is accepted (`require: approvals >= 1
 * from role admin`). Every error names the rule it is about.
 *
 * The forms:
 *   approvals >= N from role R              R in admin|tester|developer|viewer (admin counts for every role)
 *   no self-approval
 *   e2e green for this commit
 *   staging run green for this release
 *   backup younger than <duration>           30s, 15m, 24h, 7d, 2w
 *   upgrade report approved when the Odoo major version changes
 *   deploy window <5-field cron> for <duration> [tz <IANA time zone>]   (default tz UTC)
 *   freeze from <ISO date-time> to <ISO date-time> [reason "..."]      (date-times carry Z or an offset)
 */
import {Cron} from 'croner';
import {cronError} from '../config/cron.js';
import {parseDuration, DURATION_HINT} from '../config/duration.js';

export const APPROVER_ROLES = ['admin', 'tester', 'developer', 'viewer'] as const;
export type ApproverRole = (typeof APPROVER_ROLES)[number];

interface RuleBase {
  /** The rule as written (trimmed, spaces collapsed): what results and errors show. */
  readonly text: string;
}
export type PolicyRule = RuleBase & (
  | {readonly kind: 'approvals'; readonly min: number; readonly role: ApproverRole}
  | {readonly kind: 'no-self-approval'}
  | {readonly kind: 'e2e-green'}
  | {readonly kind: 'staging-run-green'}
  | {readonly kind: 'backup-younger-than'; readonly maxAgeMs: number; readonly duration: string}
  | {readonly kind: 'upgrade-report-approved'}
  | {readonly kind: 'deploy-window'; readonly cron: string; readonly durationMs: number; readonly duration: string; readonly timeZone: string}
  | {readonly kind: 'freeze'; readonly from: Date; readonly to: Date; readonly reason?: string}
);
export type PolicyRuleKind = PolicyRule['kind'];

/** Thrown-free result of parsing one rule. */
export type ParsedRule = {readonly ok: true; readonly rule: PolicyRule} | {readonly ok: false; readonly text: string; readonly error: string};

const FORMS = [
  'approvals >= N from role admin|tester|developer|viewer',
  'no self-approval',
  'e2e green for this commit',
  'staging run green for this release',
  'backup younger than <duration>',
  'upgrade report approved when the Odoo major version changes',
  'deploy window <5-field cron> for <duration> [tz <IANA time zone>]',
  'freeze from <ISO date-time> to <ISO date-time> [reason "..."]',
] as const;
/** The accepted rule forms, for help texts and error messages. */
export const RULE_FORMS: readonly string[] = FORMS;

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;

function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', {timeZone: tz});
    return true;
  } catch {
    return false;
  }
}

function isoDate(text: string): Date | undefined {
  if (!ISO_DATE_TIME.test(text)) return undefined;
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

type Body = {readonly ok: true; readonly rule: PolicyRule} | {readonly ok: false; readonly error: string};
const fail = (error: string): Body => ({ok: false, error});
const pass = (rule: PolicyRule): Body => ({ok: true, rule});

function parseBody(text: string): Body {
  const lower = text.toLowerCase();
  let m: RegExpExecArray | null;
  if (lower.startsWith('approvals')) {
    m = /^approvals\s*>=\s*(\S+) from role (\S+)$/i.exec(text);
    if (!m) return fail('expected "approvals >= N from role R"');
    const min = Number(m[1]);
    if (!/^[1-9]\d{0,2}$/.test(m[1]!)) return fail(`"${m[1]}" is not a whole number from 1 to 999`);
    const role = m[2]!.toLowerCase();
    if (!(APPROVER_ROLES as readonly string[]).includes(role)) return fail(`unknown role "${m[2]}": use ${APPROVER_ROLES.join(', ')}`);
    return pass({kind: 'approvals', text, min, role: role as ApproverRole});
  }
  if (lower === 'no self-approval' || lower === 'no self approval') return pass({kind: 'no-self-approval', text});
  if (lower === 'e2e green for this commit') return pass({kind: 'e2e-green', text});
  if (lower === 'staging run green for this release') return pass({kind: 'staging-run-green', text});
  if (lower === 'upgrade report approved when the odoo major version changes') return pass({kind: 'upgrade-report-approved', text});
  if (lower.startsWith('backup younger than')) {
    m = /^backup younger than (\S+)$/i.exec(text);
    const ms = m ? parseDuration(m[1]!) : undefined;
    if (!m || ms === undefined) return fail(`expected "backup younger than <duration>", with ${DURATION_HINT}`);
    return pass({kind: 'backup-younger-than', text, maxAgeMs: ms, duration: m[1]!});
  }
  if (lower.startsWith('deploy window')) {
    m = /^deploy window (\S+ \S+ \S+ \S+ \S+) for (\S+)(?: tz (\S+))?$/i.exec(text);
    if (!m) return fail('expected "deploy window <5-field cron> for <duration> [tz <IANA time zone>]"');
    const cron = m[1]!;
    const problem = cronError(cron);
    if (problem !== undefined) return fail(`cron "${cron}": ${problem}`);
    const durationMs = parseDuration(m[2]!);
    if (durationMs === undefined) return fail(`duration "${m[2]}": expected ${DURATION_HINT}`);
    const timeZone = m[3] ?? 'UTC';
    if (!validTimeZone(timeZone)) return fail(`unknown time zone "${timeZone}": use an IANA name such as UTC or Europe/Brussels`);
    try {
      if (new Cron(cron, {timezone: timeZone, mode: '5-part'}).nextRun(new Date(Date.UTC(2000, 0, 1))) === null) return fail(`cron "${cron}" never fires`);
    } catch (err) {
      return fail(`cron "${cron}": ${(err as Error).message}`);
    }
    return pass({kind: 'deploy-window', text, cron, durationMs, duration: m[2]!, timeZone});
  }
  if (lower.startsWith('freeze')) {
    m = /^freeze from (\S+) to (\S+)(?: reason "([^"]*)")?$/i.exec(text);
    if (!m) return fail('expected "freeze from <ISO date-time> to <ISO date-time> [reason "..."]"');
    const from = isoDate(m[1]!);
    const to = isoDate(m[2]!);
    const hint = 'an ISO date-time with Z or an offset, e.g. 2026-12-24T00:00:00+01:00';
    if (!from) return fail(`"${m[1]}" is not ${hint}`);
    if (!to) return fail(`"${m[2]}" is not ${hint}`);
    if (to.getTime() <= from.getTime()) return fail(`the freeze ends (${m[2]}) before it starts (${m[1]})`);
    return pass({kind: 'freeze', text, from, to, ...(m[3] ? {reason: m[3]} : {})});
  }
  return fail(`unknown rule; the forms are: ${FORMS.join('; ')}`);
}

/** Parses one rule string. Never throws. */
export function parseRule(input: string): ParsedRule {
  const text = typeof input === 'string' ? input.trim().replace(/\s+/g, ' ') : '';
  const body = text.replace(/^require:\s*/i, '');
  if (body === '') return {ok: false, text, error: 'the rule is empty'};
  const parsed = parseBody(body);
  return parsed.ok ? {ok: true, rule: {...parsed.rule, text}} : {ok: false, text, error: parsed.error};
}

/** One problem of a rule list: the label (e.g. `policies.production[1]`), the rule and what is wrong. */
export interface RuleProblem {
  readonly label: string;
  readonly rule: string;
  readonly error: string;
}

/** Parses a list; returns the rules and every problem (label[index] "rule": error). */
export function parseRules(inputs: readonly string[], label = 'rules'): {readonly rules: PolicyRule[]; readonly problems: RuleProblem[]} {
  const rules: PolicyRule[] = [];
  const problems: RuleProblem[] = [];
  inputs.forEach((input, i) => {
    const p = parseRule(input);
    if (p.ok) rules.push(p.rule);
    else problems.push({label: `${label}[${i}]`, rule: p.text, error: p.error});
  });
  return {rules, problems};
}

/** `rules[1] "approvals >= x from role admin": "x" is not ...` */
export function formatProblem(p: RuleProblem): string {
  return `${p.label} "${p.rule}": ${p.error}`;
}
