/**
 * `deploy rollback --env E [--to RELEASE]`: point the environment back at a kept previous release.
 * Code only: the database stays as the rolled-back deploy left it, so a deploy that changed the
 * schema (module updates) also needs its pre-deploy backup restored; the message says so.
 * Pure: no IO (rollback-service.ts applies the plan).
 */
import {ConflictError, NotFoundError} from '../errors.js';
import type {ReleaseInstance} from '../../providers/provider.js';

export interface RollbackRequest {
  readonly env: string;
  /**
   * Release id or launch id to go back to; default: `previous` when it is kept, else the newest kept
   * release that is not serving.
   */
  readonly to?: string | undefined;
  /** What served before the current release, as its deploy recorded it (start times alone can point at a rolled-away release). */
  readonly previous?: {readonly release: string; readonly launchId: string} | undefined;
  /** The env's instances (provider.list({env})). */
  readonly instances: readonly ReleaseInstance[];
  /** The backup taken before the deploy being rolled back, when known. */
  readonly preDeployBackupId?: string | undefined;
}

export type RollbackStep = 'start-previous' | 'wait-healthy' | 'switch-route' | 'stop-current';

export interface RollbackDecision {
  readonly env: string;
  readonly target: ReleaseInstance;
  /** The instance serving now (none when the env had no routed instance, e.g. after a failed immediate deploy). */
  readonly current?: ReleaseInstance;
  /** In order; start-previous/wait-healthy only when the target is not running. */
  readonly steps: readonly RollbackStep[];
  /** The database warning, for the command's output. */
  readonly message: string;
  readonly actions: readonly string[];
}

export function planRollback(req: RollbackRequest): RollbackDecision {
  const mine = req.instances.filter((i) => i.env === req.env);
  const current = mine.find((i) => i.routed);
  const kept = mine.filter((i) => i.launchId !== current?.launchId).sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  const known = kept.map((i) => `${i.release} (${i.launchId})`).join(', ') || 'none';
  let target: ReleaseInstance | undefined;
  if (req.to !== undefined) {
    if (current && (current.release === req.to || current.launchId === req.to)) {
      throw new ConflictError(`release ${req.to} already serves ${req.env}`, {data: {env: req.env, to: req.to}});
    }
    target = kept.find((i) => i.release === req.to || i.launchId === req.to);
    if (!target) {
      throw new NotFoundError(`no kept release "${req.to}" of ${req.env}; kept releases: ${known}`, {
        actions: [`odoo-sh-next status`],
        data: {env: req.env, to: req.to},
      });
    }
  } else {
    const p = req.previous;
    target = (p && (kept.find((i) => i.launchId === p.launchId) ?? kept.find((i) => i.release === p.release))) || kept[0];
    if (!target) {
      throw new NotFoundError(`${req.env} has no kept previous release to roll back to`, {
        actions: ['redeploy a previous commit', `odoo-sh-next backups list --env ${req.env}`],
        data: {env: req.env},
      });
    }
  }
  const steps: RollbackStep[] = [
    ...(target.state === 'running' ? [] : (['start-previous', 'wait-healthy'] as const)),
    'switch-route',
    ...(current ? (['stop-current'] as const) : []),
  ];
  const restore = `odoo-sh-next backups restore ${req.preDeployBackupId ?? '<backup-id>'}`;
  return {
    env: req.env,
    target,
    ...(current ? {current} : {}),
    steps,
    message:
      `${req.env} goes back to release ${target.release} (${target.launchId})` +
      `${current ? ` from ${current.release} (${current.launchId})` : ''}. Only the code is rolled back: ` +
      `if the deploy changed the database schema (module updates), restore the pre-deploy backup: ${restore}`,
    actions: [restore, ...(req.preDeployBackupId ? [] : [`odoo-sh-next backups list --env ${req.env}`])],
  };
}
