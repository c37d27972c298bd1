/**
 * The `upgrade-discard` run type: removes what `upgrade preview --keep` kept for inspection, the
 * scratch environment `upgrade-<run>` (its filestore, instances, logs), its database(s) and the
 * preview's work folder. Without it a kept preview stays until the project is taken down.
 *
 * The names come from the preview run (its id and attempts), never from user input: only what
 * that preview made can be dropped. Discarding twice is harmless (the second finds nothing).
 */
import {rm} from 'node:fs/promises';
import {join} from 'node:path';
import {ConflictError, UsageError} from '../errors.js';
import type {Run} from '../run/run-record.js';
import {isTerminal} from '../run/run-state.js';
import type {RunContext, RunTypeHandler} from '../run/run-types.js';
import {cloneDatabaseName} from '../clone/clone-plan.js';
import type {Provider} from '../../providers/provider.js';
import {UPGRADE_PREVIEW_RUN_TYPE, upgradeScratchEnv, upgradeWorkDirName, type UpgradePreviewPayload} from './upgrade-run-type.js';

export const UPGRADE_DISCARD_RUN_TYPE = 'upgrade-discard';

export interface UpgradeDiscardPayload {
  /** The upgrade-preview run whose kept copy goes. */
  readonly previewRun: string;
  /** Its attempts (one database and work folder each). */
  readonly attempts: number;
}

export type UpgradeDiscardResult = {
  readonly previewRun: string;
  /** The scratch environment (`upgrade-<run>`). */
  readonly env: string;
  readonly databases: readonly {readonly name: string; readonly dropped: boolean}[];
  /** Its filestore, instances and logs were there and are gone. */
  readonly environmentRemoved: boolean;
  /** Nothing was left to discard (discarded before). */
  readonly nothingLeft: boolean;
};

export interface UpgradeDiscardDeps {
  readonly project: string;
  readonly provider: () => Promise<Provider>;
  /** Where the preview's work folders (`upgrade-<run>-<attempt>`) are. */
  readonly scratchDir: string;
}

/**
 * Checks that `run` is an upgrade preview that kept its copy and has ended; returns the payload
 * of the discard run. Errors say what is wrong and change nothing.
 */
export function discardPayloadFor(run: Run): UpgradeDiscardPayload {
  if (run.type !== UPGRADE_PREVIEW_RUN_TYPE) {
    throw new UsageError(`run ${run.id} is a ${run.type} run, not an upgrade preview`, {actions: ['odoo-sh-next run list --type upgrade-preview']});
  }
  const payload = run.payload as unknown as UpgradePreviewPayload;
  if (!payload.keep) {
    throw new ConflictError(`upgrade preview ${run.id} ran without --keep: its scratch database was dropped when it ended, there is nothing to discard`);
  }
  if (!isTerminal(run.state)) {
    throw new ConflictError(`upgrade preview ${run.id} is ${run.state}: discard it once it has ended`, {actions: [`odoo-sh-next run status ${run.id}`]});
  }
  return {previewRun: run.id, attempts: Math.max(1, run.attempts)};
}

export function upgradeDiscardRunType(deps: UpgradeDiscardDeps): RunTypeHandler {
  return {
    type: UPGRADE_DISCARD_RUN_TYPE,
    summary: 'Remove the scratch database, filestore and work folder an upgrade preview kept (--keep)',
    timeoutMs: 30 * 60_000,
    async execute(ctx: RunContext): Promise<UpgradeDiscardResult> {
      const p = ctx.run.payload as unknown as UpgradeDiscardPayload;
      const env = upgradeScratchEnv(p.previewRun);
      const provider = await deps.provider();
      await provider.prepare(ctx.signal);
      return ctx.phase('discard', async () => {
        const handle = await provider.database(env, ctx.signal);
        const databases: {name: string; dropped: boolean}[] = [];
        for (let attempt = 1; attempt <= p.attempts; attempt++) {
          const name = cloneDatabaseName(deps.project, env, p.previewRun, attempt);
          const {dropped} = await handle.dropDatabase(name, ctx.signal);
          databases.push({name, dropped});
          if (dropped) await ctx.event('info', `dropped ${name}`);
          await rm(join(deps.scratchDir, upgradeWorkDirName(p.previewRun, attempt)), {recursive: true, force: true});
        }
        const {removed} = await provider.removeEnvironment(env, ctx.signal);
        if (removed) await ctx.event('info', `removed the scratch environment ${env} (filestore, instances, logs)`);
        const nothingLeft = !removed && databases.every((d) => !d.dropped);
        if (nothingLeft) await ctx.event('info', `nothing was left of upgrade preview ${p.previewRun} (discarded before)`);
        return {previewRun: p.previewRun, env, databases, environmentRemoved: removed, nothingLeft};
      });
    },
  };
}
