/**
 * `upgrade preview`, `upgrade report show`, `upgrade report approve`, `upgrade discard`: checks
 * the request (target series, the provider's way of naming the target Odoo), queues the
 * `upgrade-preview` run on the environment previewed, reads or approves the recorded reports, and
 * queues the `upgrade-discard` run that removes what a preview kept (--keep).
 */
import {isAbsolute, resolve} from 'node:path';
import {NotFoundError, UsageError} from '../errors.js';
import type {EnvironmentRepository} from '../environments/environment-repository.js';
import type {Run} from '../run/run-record.js';
import type {RunService} from '../run/run-service.js';
import {requireCloneSource} from '../clone/clone-plan.js';
import {validateTargetVersion} from './odoo-version.js';
import {UPGRADE_PREVIEW_RUN_TYPE, type UpgradePreviewPayload} from './upgrade-run-type.js';
import {parseReportRef, type StoredUpgradeReport, type UpgradeRepository} from './upgrade-repository.js';
import {discardPayloadFor, UPGRADE_DISCARD_RUN_TYPE} from './upgrade-discard.js';

export interface UpgradeServiceDeps {
  readonly cwd: string;
  readonly providerName: string;
  /** The series the project runs now (odoo.version). */
  readonly currentVersion: string;
  /** upgrade.openupgrade from the configuration, when set. */
  readonly openupgrade?: string | undefined;
  readonly environments: EnvironmentRepository;
  readonly runs: RunService;
  readonly reports: UpgradeRepository;
}

export interface PreviewInput {
  readonly toVersion: string;
  readonly env: string;
  readonly odooBin?: string | undefined;
  readonly image?: string | undefined;
  readonly keep: boolean;
  readonly detach?: boolean | undefined;
  readonly signal?: AbortSignal | undefined;
}

export interface PreviewOutcome {
  readonly run: Run;
  readonly report: StoredUpgradeReport | undefined;
}

export class UpgradeService {
  constructor(private readonly deps: UpgradeServiceDeps) {}

  async preview(input: PreviewInput): Promise<PreviewOutcome> {
    const toVersion = validateTargetVersion(input.toVersion, this.deps.currentVersion);
    const local = this.deps.providerName === 'local';
    if (local && input.image) {
      throw new UsageError(`--image names a container image: the ${this.deps.providerName} provider runs Odoo as a process, pass --odoo-bin PATH`);
    }
    if (!local && input.odooBin) {
      throw new UsageError(`--odoo-bin is for the local provider: the ${this.deps.providerName} provider runs images, pass --image IMAGE`);
    }
    if (local && !input.odooBin) throw new UsageError('the local provider needs --odoo-bin PATH (the odoo-bin of the target Odoo version)');
    if (!local && !input.image) throw new UsageError(`the ${this.deps.providerName} provider needs --image IMAGE (an Odoo ${toVersion} image)`);
    requireCloneSource(await this.deps.environments.find(input.env), input.env);
    const abs = (p: string) => (isAbsolute(p) ? p : resolve(this.deps.cwd, p));
    const payload: UpgradePreviewPayload = {
      source: input.env, toVersion, keep: input.keep,
      ...(input.odooBin ? {odooBin: abs(input.odooBin)} : {}), ...(input.image ? {image: input.image} : {}),
      ...(this.deps.openupgrade ? {openupgrade: abs(this.deps.openupgrade)} : {}),
    };
    const run = await this.deps.runs.create({
      type: UPGRADE_PREVIEW_RUN_TYPE, env: input.env, payload: {...payload}, maxAttempts: 1, detach: input.detach, signal: input.signal,
    });
    const report = run.state === 'succeeded' ? await this.deps.reports.find({run: run.id}) : undefined;
    return {run, report};
  }

  async show(ref: string): Promise<StoredUpgradeReport> {
    const parsed = parseReportRef(ref);
    if (!parsed) throw new UsageError(`"${ref}" is neither a report id (upg-N) nor a run id (N)`);
    const found = await this.deps.reports.find(parsed);
    if (!found) {
      throw new NotFoundError(`no upgrade report ${'report' in parsed ? `upg-${parsed.report}` : `for run ${parsed.run}`}`, {
        actions: ['odoo-sh-next run list --type upgrade-preview'],
      });
    }
    return found;
  }

  /**
   * Removes the scratch database, filestore and work folder an upgrade preview kept (`--keep`),
   * named by its run id or its report id (upg-N), through an `upgrade-discard` run (events,
   * audit). A preview that kept nothing, is still running, or is not a preview is refused.
   */
  async discard(ref: string, opts: {readonly detach?: boolean | undefined; readonly signal?: AbortSignal | undefined} = {}): Promise<Run> {
    const parsed = parseReportRef(ref);
    if (!parsed) throw new UsageError(`"${ref}" is neither a report id (upg-N) nor a run id (N)`);
    const runId = 'run' in parsed ? parsed.run : (await this.show(ref)).runId;
    if (runId === null) throw new NotFoundError(`upgrade report ${ref} has no run (its run was purged): nothing to discard`);
    const preview = await this.deps.runs.status(runId);
    const payload = discardPayloadFor(preview);
    return this.deps.runs.create({
      type: UPGRADE_DISCARD_RUN_TYPE, env: preview.env ?? undefined, payload: {...payload}, maxAttempts: 1, detach: opts.detach, signal: opts.signal,
    });
  }

  async approve(ref: string): Promise<StoredUpgradeReport> {
    const found = await this.show(ref);
    return this.deps.reports.approve(found.id.replace(/^upg-/, ''));
  }
}
