/**
 * Builds the policy dependencies from the composition root's accessors (src/cli/services.ts), so
 * commands and later deploy/promote code get them in one call: `await policyDeps(services)`.
 */
import type pg from 'pg';
import type {Clock} from '../clock.js';
import type {OdooShConfig} from '../config/schema.js';
import {PolicyRepository} from './policy-repository.js';
import {DbFactsProvider, type PolicyDeps} from './policy-service.js';

export interface PolicyServices {
  readonly clock: Clock;
  pool(): Promise<pg.Pool>;
  projectId(): Promise<string>;
  config(): Promise<OdooShConfig>;
}

export async function policyDeps(services: PolicyServices): Promise<PolicyDeps> {
  const [pool, projectId, config] = await Promise.all([services.pool(), services.projectId(), services.config()]);
  const repo = new PolicyRepository(pool, projectId);
  return {repo, config: config.policies, facts: new DbFactsProvider(repo, {}, config.odoo.version), clock: services.clock};
}
