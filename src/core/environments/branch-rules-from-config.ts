import type {BranchRule} from '../env/branch-rules.js';
import type {OdooShConfig} from '../config/schema.js';

/** Pure: the config's `branches` section as the branch-rule engine's input. */
export function toBranchRules(branches: OdooShConfig['branches']): BranchRule[] {
  return branches.map((b) => ({
    pattern: b.pattern,
    type: b.type,
    ...(b.ttl ? {ttlMs: b.ttl.ms} : {}),
    ...(b.data ? {data: b.data} : {}),
    ...(b.demo !== undefined ? {demo: b.demo} : {}),
    ...(b.modules ? {modules: b.modules} : {}),
  }));
}
