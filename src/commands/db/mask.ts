import {Flags} from '@oclif/core';
import {BaseCommand} from '../../cli/base-command.js';
import {detachFlag, envFlag} from '../../cli/flags.js';
import {exitForRun} from '../../cli/render/run-outcome.js';
import {MASK_RUN_TYPE, previewMasking, resolveMaskTarget, type MaskPlanView} from '../../core/masking/mask-env.js';
import type {Run} from '../../core/run/run-record.js';

export type DbMaskResult = {
  env: string;
  database: string;
  rulesFile: string;
  dryRun: boolean;
  /** --dry-run: the plan (statements, column coverage, attachment rules, rule errors). */
  plan: MaskPlanView | null;
  /** Otherwise: the db-mask run (its result holds the per-table counts and the scan report). */
  run: Run | null;
};

export default class DbMask extends BaseCommand<typeof DbMask> {
  static override summary = "Mask personal data in an environment's database with the masking rules (never production).";
  static override description = 'With --dry-run, prints the SQL plan and which text columns are covered; otherwise masks (one UPDATE per table) and scans the result.';
  static override examples = [
    '<%= config.bin %> db mask --env staging-x --dry-run',
    '<%= config.bin %> db mask --env staging-x --rules masking.yaml --json',
  ];
  static override flags = {
    env: envFlag({required: true}),
    rules: Flags.string({summary: 'Masking rules file (default: masking.rules of the configuration).', helpValue: 'FILE'}),
    'dry-run': Flags.boolean({summary: 'Print the plan; change nothing.', default: false}),
    detach: detachFlag,
  };

  async run(): Promise<DbMaskResult> {
    const s = await this.services();
    const [config, envs] = await Promise.all([s.config(), s.environments()]);
    const env = await envs.locate({env: this.flags.env});
    const target = resolveMaskTarget({env, project: config.project, cwd: s.cwd, rulesFlag: this.flags.rules, configRules: config.masking.rules});
    const base = {env: target.env, database: target.database, rulesFile: target.rulesFile, dryRun: this.flags['dry-run']};
    if (this.flags['dry-run']) {
      const plan = await previewMasking({provider: await s.provider(), target, variables: process.env, signal: this.signal});
      for (const e of plan.errors) this.warn(`${e.rule}: ${e.message}`);
      this.out(plan.statements.map((st) => `${st};`).join('\n\n'));
      this.out();
      this.table(plan.coverage.map((c) => ({...c, strategy: c.strategy ?? 'UNCOVERED'})), ['table', 'column', 'type', 'strategy']);
      for (const a of plan.attachments) this.out(`attachments[${a.rule}]: ${a.action} ${a.models.join(', ')}`);
      return {...base, plan, run: null};
    }
    const runs = await s.runs();
    const run = await runs.create({type: MASK_RUN_TYPE, env: target.env, payload: {rulesFile: target.rulesFile}, detach: this.flags.detach, signal: this.signal});
    exitForRun(run);
    this.out(`${target.env}: ${run.state === 'succeeded' ? `${target.database} masked and scanned` : `run ${run.id} is ${run.state}`}`);
    return {...base, plan: null, run};
  }
}
