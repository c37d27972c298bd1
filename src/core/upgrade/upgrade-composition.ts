/** Builds the upgrade service and the `upgrade-preview` run type from the composition root (src/cli/services.ts). */
import type pg from 'pg';
import type {Clock} from '../clock.js';
import type {OdooShConfig} from '../config/schema.js';
import type {RunService} from '../run/run-service.js';
import type {RunTypeHandler} from '../run/run-types.js';
import type {Provider} from '../../providers/provider.js';
import {EnvironmentRepository} from '../environments/environment-repository.js';
import {upgradeDiscardRunType} from './upgrade-discard.js';
import {upgradePreviewRunType} from './upgrade-run-type.js';
import {UpgradeRepository} from './upgrade-repository.js';
import {UpgradeService} from './upgrade-service.js';
import {scratchDirOf} from '../state/state-dir.js';

export interface UpgradeServices {
  readonly clock: Clock;
  readonly cwd: string;
  pool(): Promise<pg.Pool>;
  projectId(): Promise<string>;
  config(): Promise<OdooShConfig>;
  provider(): Promise<Provider>;
  runs(): Promise<RunService>;
}

/** upgrade.openupgrade of the configuration (absolute on the local provider). */
function openupgradePath(cfg: OdooShConfig): string | undefined {
  return cfg.upgrade.openupgrade;
}

export async function upgradeRunType(s: Pick<UpgradeServices, 'clock' | 'pool' | 'projectId' | 'config' | 'provider'>): Promise<RunTypeHandler> {
  const [pool, projectId, cfg] = await Promise.all([s.pool(), s.projectId(), s.config()]);
  return upgradePreviewRunType({
    project: cfg.project, odoo: cfg.odoo, provider: () => s.provider(), clock: s.clock,
    masking: cfg.masking.rules ? {rulesFile: cfg.masking.rules} : undefined,
    environments: async () => new EnvironmentRepository(pool, projectId), reports: async () => new UpgradeRepository(pool, projectId),
    scratchDir: scratchDirOf(cfg.projectRoot),
  });
}

/** The `upgrade-discard` run type (what `upgrade discard` queues). */
export async function upgradeDiscardType(s: Pick<UpgradeServices, 'config' | 'provider'>): Promise<RunTypeHandler> {
  const cfg = await s.config();
  return upgradeDiscardRunType({project: cfg.project, provider: () => s.provider(), scratchDir: scratchDirOf(cfg.projectRoot)});
}

export async function upgradeServiceFor(s: UpgradeServices): Promise<UpgradeService> {
  const [pool, projectId, cfg, runs] = await Promise.all([s.pool(), s.projectId(), s.config(), s.runs()]);
  return new UpgradeService({
    cwd: s.cwd, providerName: cfg.provider.name, currentVersion: cfg.odoo.version, openupgrade: openupgradePath(cfg),
    environments: new EnvironmentRepository(pool, projectId), runs, reports: new UpgradeRepository(pool, projectId),
  });
}
