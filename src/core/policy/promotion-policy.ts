/**
 * Policy evaluation: a PURE function of (request, facts, policy, now) → allowed or denied, with
 * the result of every rule and the reason of every failed one. No IO; `now` is a parameter.
 *
 * Fail closed: a fact that is unknown (null) fails the rule that needs it with
 * "unknown: <what is missing>", and a stored rule that does not parse fails as "invalid rule".
 *
 * Approvals: one counts only when it is approved, not expired at `now`, and given for the SAME
 * action, environment AND release as the request (approving release A never lets release B
 * through; a request without a release matches approvals without one). Quorum counts distinct
 * approvers holding the rule's role (admin counts for every role). With `no self-approval`, an
 * approval given by the actor, or by the person who requested it, does not count.
 *
 * Release rules (e2e, staging run, upgrade report) apply to deploy and promote; for restore and
 * exec they pass as "not applicable". Deploy windows are alternatives: the action must fall inside
 * at least one window of the policy (a window opens at a cron time in its time zone and lasts its
 * duration in real time, so DST days are handled by croner and the clock, not by wall-clock maths).
 * Freezes all apply: any freeze covering `now` denies.
 */
import {Cron} from 'croner';
import type {ApproverRole, PolicyRule} from './policy-rules.js';

export const POLICY_ACTIONS = ['deploy', 'promote', 'restore', 'exec'] as const;
export type PolicyAction = (typeof POLICY_ACTIONS)[number];
export type PolicyEnvType = 'production' | 'staging' | 'preview' | 'dev';

export interface PolicyRequest {
  readonly action: PolicyAction;
  readonly env: string;
  readonly envType: PolicyEnvType;
  readonly release: string | null;
  /** Who performs the action. */
  readonly actor: string;
  /** The commit of the release, when known (used by the facts provider for e2e results). */
  readonly commit?: string | null;
  /** The Odoo version of the release, when known before it is recorded (the upgrade-report rule). */
  readonly odooVersion?: string | null;
}

export interface ApprovalFact {
  readonly id: string;
  /** Who decided (approved); null while pending. */
  readonly approver: string | null;
  /** The approver's role for this environment type (null when no longer a member). */
  readonly role: ApproverRole | null;
  readonly release: string | null;
  readonly env: string;
  readonly action: PolicyAction;
  readonly status: 'pending' | 'approved' | 'rejected' | 'expired';
  readonly expiresAt: Date | null;
  /** Who asked for the approval (optional: not counted under `no self-approval` when it is the approver). */
  readonly requestedBy?: string | null;
}

export interface PolicyFacts {
  readonly approvals: readonly ApprovalFact[];
  readonly e2eGreen: boolean | null;
  readonly stagingRunGreen: boolean | null;
  readonly newestBackupAt: Date | null;
  /** Whether the action changes the Odoo major version; null when unknown (fails the upgrade-report rule). */
  readonly odooMajorChange: boolean | null;
  readonly upgradeReportApproved: boolean | null;
}

/** The rules in force for one environment type; `invalid` are stored rules that do not parse (they fail). */
export interface Policy {
  readonly rules: readonly PolicyRule[];
  readonly invalid?: readonly {readonly rule: string; readonly error: string}[];
}

export interface RuleResult {
  readonly rule: string;
  readonly ok: boolean;
  readonly reason: string;
}

export interface PolicyEvaluation {
  readonly allowed: boolean;
  readonly results: readonly RuleResult[];
  readonly failed: readonly RuleResult[];
}

const RELEASE_ACTIONS: ReadonlySet<PolicyAction> = new Set(['deploy', 'promote']);

/** Human text for a span in ms: 90 s → "1m 30s", 26 h → "1d 2h". */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const parts: [number, string][] = [[Math.floor(s / 86400), 'd'], [Math.floor((s % 86400) / 3600), 'h'], [Math.floor((s % 3600) / 60), 'm'], [s % 60, 's']];
  const shown = parts.filter(([n]) => n > 0).slice(0, 2);
  return shown.length === 0 ? '0s' : shown.map(([n, u]) => `${n}${u}`).join(' ');
}

/** The approvals that count for this request (bound to action, env, release; live; not self-given when forbidden). */
export function countedApprovals(request: PolicyRequest, facts: PolicyFacts, now: Date, noSelfApproval: boolean): ApprovalFact[] {
  return facts.approvals.filter((a) =>
    a.status === 'approved' && a.approver !== null &&
    a.action === request.action && a.env === request.env && (a.release ?? null) === (request.release ?? null) &&
    (a.expiresAt === null || a.expiresAt.getTime() > now.getTime()) &&
    !(noSelfApproval && (a.approver === request.actor || (a.requestedBy != null && a.approver === a.requestedBy))));
}

/** The window (opened at a cron time) containing `now`, if any. */
export function openWindow(rule: Extract<PolicyRule, {kind: 'deploy-window'}>, now: Date): {readonly opened: Date; readonly closes: Date} | undefined {
  // croner's previousRuns excludes a run exactly at the reference: look from 1 ms later.
  const opened = new Cron(rule.cron, {timezone: rule.timeZone, mode: '5-part'}).previousRuns(1, new Date(now.getTime() + 1))[0];
  if (!opened) return undefined;
  const closes = new Date(opened.getTime() + rule.durationMs);
  return now.getTime() < closes.getTime() ? {opened, closes} : undefined;
}

function nextWindow(rule: Extract<PolicyRule, {kind: 'deploy-window'}>, now: Date): Date | null {
  return new Cron(rule.cron, {timezone: rule.timeZone, mode: '5-part'}).nextRun(now);
}

function checkRule(rule: PolicyRule, request: PolicyRequest, facts: PolicyFacts, policy: Policy, now: Date): Omit<RuleResult, 'rule'> {
  const notApplicable = {ok: true, reason: `not applicable to ${request.action}`};
  switch (rule.kind) {
    case 'approvals': {
      const noSelf = policy.rules.some((r) => r.kind === 'no-self-approval');
      const approvers = new Set(countedApprovals(request, facts, now, noSelf)
        .filter((a) => a.role === 'admin' || a.role === rule.role).map((a) => a.approver));
      const what = `${request.action} of ${request.release ? `release ${request.release}` : 'no release'} on ${request.env}`;
      return approvers.size >= rule.min
        ? {ok: true, reason: `${approvers.size} approval(s) from role ${rule.role} for ${what} (${[...approvers].join(', ')})`}
        : {ok: false, reason: `needs ${rule.min} approval(s) from role ${rule.role} for ${what}, has ${approvers.size}`};
    }
    case 'no-self-approval': {
      const self = countedApprovals(request, facts, now, false).length - countedApprovals(request, facts, now, true).length;
      return {ok: true, reason: self > 0 ? `${self} self-approval(s) not counted` : `approvals by ${request.actor} (or by their requester) are not counted`};
    }
    case 'e2e-green':
      if (!RELEASE_ACTIONS.has(request.action)) return notApplicable;
      if (facts.e2eGreen === null) return {ok: false, reason: `unknown: e2e result for the commit${request.commit ? ` ${request.commit}` : ' (no commit known)'}`};
      return facts.e2eGreen ? {ok: true, reason: 'e2e green for this commit'} : {ok: false, reason: 'e2e not green for this commit'};
    case 'staging-run-green':
      if (!RELEASE_ACTIONS.has(request.action)) return notApplicable;
      if (facts.stagingRunGreen === null) return {ok: false, reason: `unknown: staging run of ${request.release ? `release ${request.release}` : 'the release (no release given)'}`};
      return facts.stagingRunGreen ? {ok: true, reason: 'staging run green for this release'} : {ok: false, reason: 'staging run not green for this release'};
    case 'backup-younger-than': {
      if (facts.newestBackupAt === null) return {ok: false, reason: `unknown: newest complete backup of ${request.env} (none found)`};
      const age = now.getTime() - facts.newestBackupAt.getTime();
      return age < rule.maxAgeMs
        ? {ok: true, reason: `newest backup is ${formatAge(age)} old`}
        : {ok: false, reason: `newest backup is ${formatAge(age)} old, older than ${rule.duration}`};
    }
    case 'upgrade-report-approved':
      if (!RELEASE_ACTIONS.has(request.action)) return notApplicable;
      if (facts.odooMajorChange === null) return {ok: false, reason: 'unknown: whether the Odoo major version changes'};
      if (!facts.odooMajorChange) return {ok: true, reason: 'the Odoo major version does not change'};
      if (facts.upgradeReportApproved === null) return {ok: false, reason: 'unknown: upgrade report (the Odoo major version changes)'};
      return facts.upgradeReportApproved
        ? {ok: true, reason: 'upgrade report approved'}
        : {ok: false, reason: 'the Odoo major version changes and the upgrade report is not approved'};
    case 'deploy-window': {
      const own = openWindow(rule, now);
      if (own) return {ok: true, reason: `inside the window opened at ${own.opened.toISOString()} (until ${own.closes.toISOString()})`};
      const other = policy.rules.find((r) => r.kind === 'deploy-window' && r !== rule && openWindow(r, now));
      if (other) return {ok: true, reason: `outside this window, inside "${other.text}"`};
      const next = nextWindow(rule, now);
      return {ok: false, reason: `outside every deploy window${next ? `; this one next opens at ${next.toISOString()}` : ''}`};
    }
    case 'freeze': {
      const inside = now.getTime() >= rule.from.getTime() && now.getTime() < rule.to.getTime();
      const why = rule.reason ? ` (${rule.reason})` : '';
      return inside
        ? {ok: false, reason: `frozen from ${rule.from.toISOString()} until ${rule.to.toISOString()}${why}`}
        : {ok: true, reason: now.getTime() < rule.from.getTime() ? `freeze starts at ${rule.from.toISOString()}` : 'freeze is over'};
    }
  }
}

/** Evaluates every rule; allowed when none failed. Pure. */
export function evaluatePolicy(request: PolicyRequest, facts: PolicyFacts, policy: Policy, now: Date): PolicyEvaluation {
  const results: RuleResult[] = [
    ...policy.rules.map((rule) => ({rule: rule.text, ...checkRule(rule, request, facts, policy, now)})),
    ...(policy.invalid ?? []).map((r) => ({rule: r.rule, ok: false, reason: `invalid rule: ${r.error}`})),
  ];
  const failed = results.filter((r) => !r.ok);
  return {allowed: failed.length === 0, results, failed};
}

/** `rule: reason` for each failed rule: the reasons of a PolicyDeniedError. */
export function denialReasons(evaluation: PolicyEvaluation): string[] {
  return evaluation.failed.map((r) => `${r.rule}: ${r.reason}`);
}
