/** Builds the release service and the deploy/rollback run types from the composition root (src/cli/services.ts). */
import type pg from 'pg';
import type {Clock} from '../clock.js';
import type {OdooShConfig} from '../config/schema.js';
import type {RunService} from '../run/run-service.js';
import type {RunTypeHandler} from '../run/run-types.js';
import type {PolicyDeps} from '../policy/policy-service.js';
import type {RestoreService} from '../backup/restore-service.js';
import type {Provider} from '../../providers/provider.js';
import {EnvironmentRepository} from '../environments/environment-repository.js';
import {deployRunType, rollbackRunType} from './deploy-run-type.js';
import {ReleaseRepository} from './release-repository.js';
import {ReleaseService} from './release-service.js';

export interface ReleaseServices {
  readonly clock: Clock;
  pool(): Promise<pg.Pool>;
  projectId(): Promise<string>;
  config(): Promise<OdooShConfig>;
  provider(): Promise<Provider>;
  runs(): Promise<RunService>;
  policies(): Promise<PolicyDeps>;
  restores(): Promise<RestoreService>;
}

type Base = Pick<ReleaseServices, 'clock' | 'pool' | 'projectId' | 'config' | 'provider'>;

/** The `deploy` and `rollback` run types (registered on the run service). */
export async function releaseRunTypes(s: Base): Promise<RunTypeHandler[]> {
  const [pool, projectId, cfg] = await Promise.all([s.pool(), s.projectId(), s.config()]);
  const deps = {
    project: cfg.project, odoo: cfg.odoo, provider: () => s.provider(), clock: s.clock,
    environments: async () => new EnvironmentRepository(pool, projectId), releases: async () => new ReleaseRepository(pool, projectId),
    imageCode: async (image: string) => (await import('./build-composition.js')).imageCode(cfg, image),
  };
  return [deployRunType(deps), rollbackRunType(deps)];
}

export async function releaseServiceFor(s: ReleaseServices): Promise<ReleaseService> {
  const [pool, projectId, cfg, runs] = await Promise.all([s.pool(), s.projectId(), s.config(), s.runs()]);
  return new ReleaseService({
    cwd: cfg.projectRoot, odoo: cfg.odoo, releases: new ReleaseRepository(pool, projectId),
    environments: new EnvironmentRepository(pool, projectId), runs, policies: () => s.policies(), restores: () => s.restores(),
    containers: cfg.provider.name !== 'local',
  });
}
