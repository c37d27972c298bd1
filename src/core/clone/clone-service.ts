/**
 * `db clone --from production --to E` and the `clone-production` data source of staging branches:
 * checks the request (never into production, the source must be an up production), records the
 * staging environment, and runs a `clone` build (clone-run-type.ts).
 */
import {ConflictError, UsageError} from '../errors.js';
import {PRODUCTION_ENV_NAME} from '../env/branch-rules.js';
import {validateEnvName} from '../env/env-name.js';
import {validateBranchName, validateSha} from '../env/git-ref.js';
import type {EnvironmentRepository} from '../environments/environment-repository.js';
import type {Run} from '../run/run-record.js';
import type {RunService} from '../run/run-service.js';
import {CLONE_RUN_TYPE, requireCloneSource, type ClonePayload} from './clone-plan.js';

export interface CloneInput {
  /** The environment copied (production). */
  readonly from: string;
  /** The staging environment built (created when missing). */
  readonly to: string;
  /** The branch the staging environment follows (event push), recorded on the environment. */
  readonly branch?: string | null | undefined;
  readonly sha?: string | undefined;
  readonly detach?: boolean | undefined;
  readonly signal?: AbortSignal | undefined;
}

export interface CloneResult {
  readonly env: string;
  readonly source: string;
  readonly branch: string | null;
  readonly sha: string | null;
  /** The new database (null until the build succeeded). */
  readonly database: string | null;
  /** template | dump-restore | backup (null until the build succeeded). */
  readonly strategy: string | null;
  /** Where the data came from: "live copy" or "from backup <id> taken <age> ago" (null until the build succeeded). */
  readonly copiedFrom: string | null;
  readonly url: string | null;
  readonly run: Run;
}

export class CloneService {
  constructor(private readonly deps: {readonly environments: EnvironmentRepository; readonly runs: RunService}) {}

  async clone(input: CloneInput): Promise<CloneResult> {
    const from = validateEnvName(input.from);
    const to = validateEnvName(input.to);
    const sha = input.sha === undefined ? null : validateSha(input.sha);
    const existing = await this.deps.environments.find(to);
    if (to === PRODUCTION_ENV_NAME || existing?.type === 'production') {
      throw new UsageError(`refusing to clone into ${to}: production is never overwritten by a copy`, {
        actions: ['clone into a staging environment: odoo-sh-next db clone --from production --to staging'],
      });
    }
    if (to === from) throw new UsageError('--from and --to name the same environment');
    if (existing && existing.type !== 'staging') {
      throw new ConflictError(`"${to}" is a ${existing.type} environment; production clones go to staging environments`, {
        data: {env: to, type: existing.type}, actions: ['pick another --to name'],
      });
    }
    requireCloneSource(await this.deps.environments.find(from), from);
    const branch = input.branch != null ? validateBranchName(input.branch) : existing?.branch ?? null;
    await this.deps.environments.upsert({name: to, type: 'staging', branch, ttlExpiresAt: null, settings: {data: 'clone-production', source: from}});
    const payload: ClonePayload = {source: from};
    const run = await this.deps.runs.create({
      type: CLONE_RUN_TYPE, env: to, ref: branch ?? undefined, gitSha: sha ?? undefined, payload: {...payload}, detach: input.detach, signal: input.signal,
    });
    const env = await this.deps.environments.find(to);
    const result = run.state === 'succeeded' ? run.result ?? {} : {};
    const text = (v: unknown) => (typeof v === 'string' ? v : null);
    return {env: to, source: from, branch, sha, database: text(result['database']), strategy: text(result['strategy']),
      copiedFrom: text(result['copiedFrom']), url: env?.url ?? null, run};
  }
}
