/**
 * Policies as code: where the rules come from, the facts they need, evaluation and its audit.
 *
 * Precedence, per environment type: a row in ops.policies (set with `policy set`) REPLACES the
 * configuration file's `policies.<type>` list as a whole (no merging); without a row the config
 * list is the default; without either, no rules (everything allowed). `policy set --reset` removes
 * the row, so the config list applies again.
 *
 * Audit: `enforcePolicy` (what deploy/promote/restore/exec call) records every refusal as
 * `policy.deny` (ops.record_policy_denial) before throwing PolicyDeniedError (exit 8). `policy
 * test` is a dry evaluation: it records `policy.test` (allowed or not, with the failed reasons)
 * and exits 8 when the action would be denied, but it is NOT recorded as a denial, so
 * `audit list --action policy.deny` lists refused actions only.
 */
import {ConfigError, NotFoundError, PolicyDeniedError, UsageError} from '../errors.js';
import type {Clock} from '../clock.js';
import {formatProblem, parseRule, parseRules, type PolicyRule} from './policy-rules.js';
import {denialReasons, evaluatePolicy, type Policy, type PolicyEnvType, type PolicyEvaluation, type PolicyFacts, type PolicyRequest} from './promotion-policy.js';
import type {PolicyRepository} from './policy-repository.js';

export const POLICY_ENV_TYPES: readonly PolicyEnvType[] = ['production', 'staging', 'preview', 'dev'];

/** One rule in force, with where it comes from. */
export interface EffectiveRule {
  readonly rule: string;
  readonly source: 'config' | 'store';
  /** Set when the rule does not parse (possible only for rows written around `policy set`): it fails closed. */
  readonly error?: string;
}
export interface EffectivePolicy {
  readonly envType: PolicyEnvType;
  readonly source: 'config' | 'store' | 'none';
  readonly rules: readonly EffectiveRule[];
  readonly updatedBy?: string;
  readonly updatedAt?: string;
}

/** Run types whose outcome on a staging environment counts as "the staging run" of a release. */
export const STAGING_RUN_TYPES: readonly string[] = ['deploy', 'promote', 'preview-up', 'e2e'];

/** Where facts come from (the DB-backed one below; tests may pass their own). */
export interface FactsProvider {
  facts(request: PolicyRequest): Promise<PolicyFacts>;
}

/**
 * Facts from the state store. Null where the data does not exist yet (fail closed): e2e results
 * are runs of type `e2e` for the request's commit (null without a commit or without such a run);
 * the staging run is the latest finished run (of STAGING_RUN_TYPES) on a staging environment whose
 * payload or result names the release (`release` key); whether the Odoo major version changes and whether an
 * approved ready upgrade report exists come from PolicyRepository.upgradeFacts (release and environment
 * versions, ops.upgrade_reports), unless given through `extra`.
 */
export class DbFactsProvider implements FactsProvider {
  /** `configuredOdooVersion`: odoo.version of the configuration, the version of a release built from it (not recorded yet). */
  constructor(private readonly repo: PolicyRepository, private readonly extra: Partial<Pick<PolicyFacts, 'odooMajorChange' | 'upgradeReportApproved'>> = {},
    private readonly configuredOdooVersion: string | null = null) {}

  async facts(request: PolicyRequest): Promise<PolicyFacts> {
    const [approvals, newestBackupAt, e2eGreen, stagingRunGreen, upgrade] = await Promise.all([
      this.repo.approvals(request.action, request.env, request.envType),
      this.repo.newestBackupAt(request.env),
      request.commit ? this.repo.latestRunGreen({types: ['e2e'], commit: request.commit}) : Promise.resolve(null),
      request.release ? this.repo.latestRunGreen({types: STAGING_RUN_TYPES, release: request.release, envType: 'staging'}) : Promise.resolve(null),
      this.repo.upgradeFacts(request.env, request.release, request.odooVersion ?? null, this.configuredOdooVersion),
    ]);
    return {approvals, newestBackupAt, e2eGreen, stagingRunGreen,
      odooMajorChange: this.extra.odooMajorChange ?? upgrade.odooMajorChange,
      upgradeReportApproved: this.extra.upgradeReportApproved ?? upgrade.upgradeReportApproved};
  }
}

export interface PolicyDeps {
  readonly repo: PolicyRepository;
  /** The configuration file's `policies` section. */
  readonly config: Readonly<Record<PolicyEnvType, readonly string[]>>;
  readonly facts: FactsProvider;
  readonly clock: Clock;
}

/** The rules in force for each type, with their source. Config rules that do not parse are a ConfigError. */
export async function effectivePolicies(deps: Pick<PolicyDeps, 'repo' | 'config'>): Promise<EffectivePolicy[]> {
  const stored = new Map((await deps.repo.list()).map((s) => [s.envType, s]));
  return POLICY_ENV_TYPES.map((envType) => {
    const row = stored.get(envType);
    if (row) {
      return {envType, source: 'store', updatedBy: row.updatedBy, updatedAt: row.updatedAt.toISOString(),
        rules: row.rules.map((rule) => {
          const p = parseRule(rule);
          return p.ok ? {rule: p.rule.text, source: 'store'} : {rule: p.text, source: 'store', error: p.error};
        })};
    }
    const list = deps.config[envType] ?? [];
    const {rules, problems} = parseRules(list, `policies.${envType}`);
    if (problems.length > 0) {
      throw new ConfigError(`invalid policy rules in the configuration file:\n${problems.map(formatProblem).join('\n')}`,
        {actions: ['fix the rules under `policies:` in odoo-sh-next.config.yaml'], data: {problems}});
    }
    return {envType, source: list.length > 0 ? 'config' : 'none', rules: rules.map((r) => ({rule: r.text, source: 'config'}))};
  });
}

function toPolicy(effective: EffectivePolicy): Policy {
  const rules: PolicyRule[] = [];
  const invalid: {rule: string; error: string}[] = [];
  for (const r of effective.rules) {
    const p = parseRule(r.rule);
    if (p.ok) rules.push(p.rule);
    else invalid.push({rule: r.rule, error: p.error});
  }
  return {rules, invalid};
}

export interface PolicyCheck {
  readonly request: PolicyRequest;
  readonly policy: EffectivePolicy;
  readonly facts: PolicyFacts;
  readonly evaluation: PolicyEvaluation;
}

/** Gathers facts and evaluates the request against the policy of its environment type (no audit). */
export async function checkPolicy(deps: PolicyDeps, request: PolicyRequest): Promise<PolicyCheck> {
  const policy = (await effectivePolicies(deps)).find((p) => p.envType === request.envType)!;
  const facts = await deps.facts.facts(request);
  return {request, policy, facts, evaluation: evaluatePolicy(request, facts, toPolicy(policy), deps.clock.now())};
}

function auditPayload(check: PolicyCheck): Record<string, unknown> {
  return {release: check.request.release, env_type: check.request.envType, allowed: check.evaluation.allowed,
    source: check.policy.source, reasons: denialReasons(check.evaluation), results: check.evaluation.results};
}

function deniedError(check: PolicyCheck, dryRun: boolean): PolicyDeniedError {
  const {action, env, release} = check.request;
  const reasons = denialReasons(check.evaluation);
  return new PolicyDeniedError(
    `${dryRun ? 'policy would deny' : 'policy denies'} ${action} of ${release ? `release ${release}` : 'this change'} on ${env}:\n  - ${reasons.join('\n  - ')}`,
    reasons, {actions: [`odoo-sh-next policy show --env-type ${check.request.envType}`, 'odoo-sh-next approvals request ...'],
      data: {action, env, release, envType: check.request.envType, results: check.evaluation.results}});
}

/**
 * What deploy/promote/restore/exec call before acting: evaluates; when denied, records the
 * refusal (policy.deny) and throws PolicyDeniedError listing every failed rule. Returns the check when allowed.
 */
export async function enforcePolicy(deps: PolicyDeps, request: PolicyRequest): Promise<PolicyCheck> {
  const check = await checkPolicy(deps, request);
  if (check.evaluation.allowed) return check;
  await deps.repo.recordDenial(request.action, request.env, auditPayload(check));
  throw deniedError(check, false);
}

/** `policy test`: the dry evaluation, audited as policy.test; throws PolicyDeniedError (exit 8) when it would be denied. */
export async function testPolicy(deps: PolicyDeps, input: Omit<PolicyRequest, 'envType' | 'actor'> & {envType?: PolicyEnvType; actor?: string}): Promise<PolicyCheck> {
  const envType = input.envType ?? (await deps.repo.envType(input.env)) ?? (input.env === 'production' ? 'production' : undefined);
  if (!envType) {
    throw new NotFoundError(`environment "${input.env}" not found, so its type is unknown`, {actions: ['pass --env-type production|staging|preview|dev', 'odoo-sh-next env list']});
  }
  const actor = input.actor ?? (await deps.repo.currentActor());
  const check = await checkPolicy(deps, {...input, envType, actor});
  await deps.repo.recordTest(input.action, input.env, {...auditPayload(check), actor});
  if (!check.evaluation.allowed) throw deniedError(check, true);
  return check;
}

/** `policy set`: validates every rule (UsageError naming each bad one), stores them (audited). `null` resets to the config defaults. */
export async function setPolicy(deps: Pick<PolicyDeps, 'repo' | 'config'>, envType: PolicyEnvType, rules: readonly string[] | null): Promise<EffectivePolicy> {
  if (rules !== null) {
    const {problems} = parseRules(rules, '--rule');
    if (problems.length > 0) {
      throw new UsageError(`invalid policy rule(s):\n${problems.map(formatProblem).join('\n')}`, {data: {problems}});
    }
    await deps.repo.set(envType, rules.map((r) => parseRule(r)).map((p) => (p.ok ? p.rule.text : '')));
  } else {
    await deps.repo.set(envType, null);
  }
  return (await effectivePolicies(deps)).find((p) => p.envType === envType)!;
}

/**
 * Whether the rules in force for this type let a requester approve their own request: what
 * `approvals approve` passes to ops.decide_approval(p_allow_self). Only a STORED policy (ops.policies,
 * admin-only, audited) without a `no self-approval` rule allows it, the same test the database makes
 * (000018.sql): rules from the configuration file never do, since any member can edit that file.
 */
export async function selfApprovalAllowed(deps: Pick<PolicyDeps, 'repo' | 'config'>, envType: PolicyEnvType): Promise<boolean> {
  const policy = (await effectivePolicies(deps)).find((p) => p.envType === envType)!;
  return policy.source === 'store' && !toPolicy(policy).rules.some((r) => r.kind === 'no-self-approval');
}
