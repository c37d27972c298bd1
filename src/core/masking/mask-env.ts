/**
 * Masking an environment's database outside a clone (`db mask`): target resolution (production is
 * refused: masking rewrites personal data in place), the dry-run view of the plan, and the
 * `db-mask` run type that applies it (mask + scan) as a run with events.
 */
import {resolve} from 'node:path';
import {ConfigError, PolicyDeniedError, ProviderError} from '../errors.js';
import type {Environment} from '../environments/environment-record.js';
import {databaseName} from '../odoo/database-name.js';
import type {RunContext, RunTypeHandler} from '../run/run-types.js';
import type {Provider} from '../../providers/provider.js';
import type {CoverageEntry, MaskingPlan} from './masking-plan.js';
import {HELPERS_DESCRIPTION} from './masking-sql.js';
import {loadMaskingRules, maskDatabase, planMasking} from './masking-service.js';

export const MASK_RUN_TYPE = 'db-mask';

export interface MaskEnvTarget {
  readonly env: string;
  readonly database: string;
  /** Absolute path of the rules file. */
  readonly rulesFile: string;
}

/** Where `db mask` works; refuses production and a missing rules file setting. Pure. */
export function resolveMaskTarget(input: {
  readonly env: Pick<Environment, 'name' | 'type' | 'databaseName'>;
  readonly project: string;
  readonly cwd: string;
  readonly rulesFlag?: string | undefined;
  readonly configRules?: string | undefined;
}): MaskEnvTarget {
  const {env} = input;
  if (env.type === 'production') {
    throw new PolicyDeniedError(`refusing to mask ${env.name}: it is the production environment`, ['masking rewrites personal data in place; it runs on copies only'], {
      actions: ['odoo-sh-next db clone --from production --to <staging env>'],
    });
  }
  const file = input.rulesFlag ?? input.configRules;
  if (file === undefined) {
    throw new ConfigError('no masking rules: set masking.rules in the configuration or pass --rules FILE', {actions: ['odoo-sh-next db mask --env <env> --rules masking.yaml --dry-run']});
  }
  return {env: env.name, database: env.databaseName ?? databaseName(input.project, env.name), rulesFile: resolve(input.cwd, file)};
}

export interface MaskPlanView {
  readonly statements: readonly string[];
  readonly coverage: readonly CoverageEntry[];
  readonly uncovered: readonly {readonly table: string; readonly column: string}[];
  readonly attachments: readonly {readonly rule: number; readonly action: 'drop' | 'replace'; readonly models: readonly string[]}[];
  readonly errors: readonly {readonly rule: string; readonly message: string}[];
}

export function planView(plan: MaskingPlan): MaskPlanView {
  return {
    statements: [HELPERS_DESCRIPTION, ...plan.statements],
    coverage: plan.coverage,
    uncovered: plan.uncovered,
    attachments: plan.attachments.map((a) => ({rule: a.rule, action: a.action, models: a.models})),
    errors: plan.errors,
  };
}

/** The plan against the environment's current catalog (nothing is changed; plan errors are returned, not thrown). */
export async function previewMasking(o: {
  readonly provider: Pick<Provider, 'database'>;
  readonly target: MaskEnvTarget;
  readonly variables: Readonly<Record<string, string | undefined>>;
  readonly signal: AbortSignal;
}): Promise<MaskPlanView> {
  const rules = await loadMaskingRules({file: o.target.rulesFile, variables: o.variables});
  return planView(await planMasking({provider: o.provider, env: o.target.env, database: o.target.database, rules, signal: o.signal}));
}

export interface MaskRunDeps {
  readonly project: string;
  readonly provider: () => Promise<Pick<Provider, 'database' | 'filestore'>>;
  readonly environments: () => Promise<{locate(by: {env: string}): Promise<Environment>}>;
  /** For ${VAR} in the rules file (the process environment). */
  readonly variables: Readonly<Record<string, string | undefined>>;
}

/** Payload of a db-mask run. */
export interface MaskRunPayload {
  readonly rulesFile: string;
}

/** The `db-mask` run type: mask an environment's database, then scan it. */
export function maskRunType(deps: MaskRunDeps): RunTypeHandler {
  return {
    type: MASK_RUN_TYPE,
    summary: "Mask an environment's database with the masking rules, then scan it",
    timeoutMs: 4 * 3600_000,
    async execute(ctx: RunContext) {
      if (!ctx.run.env) throw new ProviderError('db-mask run without an environment');
      const p = ctx.run.payload as unknown as MaskRunPayload;
      const env = await (await deps.environments()).locate({env: ctx.run.env});
      const target = resolveMaskTarget({env, project: deps.project, cwd: '/', rulesFlag: p.rulesFile});
      const rules = await ctx.phase('rules', () => loadMaskingRules({file: target.rulesFile, variables: deps.variables}));
      const provider = await deps.provider();
      const result = await ctx.phase('mask', () => maskDatabase({
        provider, env: target.env, database: target.database, rules, signal: ctx.signal, event: (level, message, data) => ctx.event(level, message, data),
      }));
      return {...result};
    },
  };
}
