import {Flags} from '@oclif/core';
import {BaseCommand} from '../../cli/base-command.js';
import {exitForRun} from '../../cli/render/run-outcome.js';
import type {Run} from '../../core/run/run-record.js';
import {upgradeScratchEnv} from '../../core/upgrade/upgrade-run-type.js';

export interface UpgradePreviewResult {
  readonly run: Run;
  /** `upg-N` (null when detached: the runner records it). */
  readonly reportId: string | null;
  readonly verdict: 'ready' | 'blocked' | null;
  readonly reasons: readonly string[];
  readonly fromVersion: string | null;
  readonly toVersion: string;
  readonly updated: readonly string[];
  readonly failed: readonly string[];
  readonly missing: readonly string[];
  readonly removedApis: number;
  readonly smoke: string | null;
  /** With --keep: the scratch environment and database left for inspection (`upgrade discard` removes them). */
  readonly kept: {readonly env: string; readonly database: string} | null;
}

/** What a finished preview run kept (its result's `kept`), when it ran with --keep. */
function keptCopy(run: Run): {env: string; database: string} | null {
  const kept = run.result?.['kept'] as {env?: unknown; database?: unknown} | null | undefined;
  return kept && typeof kept.env === 'string' && typeof kept.database === 'string' ? {env: kept.env, database: kept.database} : null;
}

export default class UpgradePreview extends BaseCommand<typeof UpgradePreview> {
  static override summary = 'Preview an Odoo upgrade on a neutralized, masked copy of production and write an upgrade report.';
  static override examples = [
    '<%= config.bin %> upgrade preview --to-version 18.0 --odoo-bin ../odoo-18/odoo-bin',
    '<%= config.bin %> upgrade preview --to-version 18.0 --image odoo:18.0 --json',
  ];
  static override flags = {
    'to-version': Flags.string({required: true, summary: 'Target Odoo series (16.0, 17.0, 18.0, ...).', helpValue: 'SERIES'}),
    'odoo-bin': Flags.string({summary: 'odoo-bin of the target Odoo (local provider).', helpValue: 'PATH', exclusive: ['image']}),
    image: Flags.string({summary: 'Odoo image of the target version (container providers).', helpValue: 'IMAGE'}),
    env: Flags.string({char: 'e', default: 'production', summary: 'Environment whose database is previewed.', helpValue: 'ENV'}),
    keep: Flags.boolean({default: false, summary: 'Keep the scratch database and filestore (env upgrade-<run>) for inspection; `upgrade discard <run>` removes them.'}),
    detach: Flags.boolean({default: false, summary: 'Queue the run for a runner and return at once.'}),
  };

  async run(): Promise<UpgradePreviewResult> {
    const upgrades = await (await this.services()).upgrades();
    const {run, report} = await upgrades.preview({
      toVersion: this.flags['to-version'], env: this.flags.env, odooBin: this.flags['odoo-bin'], image: this.flags.image,
      keep: this.flags.keep, detach: this.flags.detach, signal: this.signal,
    });
    exitForRun(run);
    const r = report?.report;
    if (!r) this.out(`run ${run.id} queued (${run.state}); see it with: odoo-sh-next run status ${run.id}`);
    else {
      this.out(`upgrade report ${report.id}: ${r.verdict.status.toUpperCase()} (${r.fromVersion} → ${r.toVersion})`);
      for (const reason of r.verdict.reasons) this.out(`  - ${reason}`);
      this.out(`show it with: odoo-sh-next upgrade report show ${report.id}`);
    }
    const kept = keptCopy(run);
    if (kept) this.out(`kept ${kept.database} (env ${kept.env}) for inspection; remove it with: odoo-sh-next upgrade discard ${run.id}`);
    else if (this.flags.keep && run.state !== 'succeeded' && run.state !== 'queued') {
      this.out(`what the preview made was kept (env ${upgradeScratchEnv(run.id)}); remove it with: odoo-sh-next upgrade discard ${run.id}`);
    }
    return {
      run, reportId: report?.id ?? null, verdict: r?.verdict.status ?? null, reasons: r?.verdict.reasons ?? [],
      fromVersion: r?.fromVersion ?? null, toVersion: r?.toVersion ?? this.flags['to-version'],
      updated: r?.modules.updated.map((m) => m.name) ?? [], failed: r?.modules.failed.map((m) => m.name) ?? [],
      missing: r?.modules.missing ?? [], removedApis: r?.removedApis.length ?? 0,
      smoke: r ? (r.smoke.ran ? (r.smoke.ok ? 'pass' : 'fail') : 'not run') : null,
      kept,
    };
  }
}
