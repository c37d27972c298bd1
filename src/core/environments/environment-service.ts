/**
 * Environments from the user's side: `preview up/down/list/reap`, `env list/show/destroy`,
 * `event push` / `event pr-closed`. Decisions (which rule, which name, which TTL) are pure
 * (src/core/env); this service reads inputs, records the environment, and runs the lifecycle.
 */
import {execa} from 'execa';
import type {Clock} from '../clock.js';
import {NotFoundError, NotImplementedError, UsageError} from '../errors.js';
import {PRODUCTION_ENV_NAME, resolveBranch, type BranchRule, type EnvType, type ResolvedBranch} from '../env/branch-rules.js';
import {parsePushRef, validateBranchName, validateSha} from '../env/git-ref.js';
import {validateEnvName} from '../env/env-name.js';
import type {Run} from '../run/run-record.js';
import type {RunService} from '../run/run-service.js';
import type {Environment} from './environment-record.js';
import type {EnvironmentRepository} from './environment-repository.js';
import {CloneService, type CloneInput, type CloneResult} from '../clone/clone-service.js';

/** What `event push` did: a preview/dev environment, or a staging build from production. */
export type PushOutcome = {action: 'preview-up'; result: UpResult} | {action: 'staging-clone'; result: CloneResult} | {action: 'deploy'; result: PushDeployResult};

/** A push of a production branch: `deploy --env production --sha S` (src/core/release). */
export interface PushDeployResult {
  readonly env: string;
  readonly release: string;
  readonly url: string | null;
  readonly run: Run;
}

export const DEFAULT_PREVIEW_TTL_MS = 72 * 3600_000;

export interface EnvironmentServiceDeps {
  readonly cwd: string;
  readonly clock: Clock;
  readonly rules: readonly BranchRule[];
  readonly defaultModules: readonly string[];
  readonly environments: EnvironmentRepository;
  readonly runs: RunService;
  /** Deploys a commit to production (release-service.ts); without it production pushes are refused. */
  readonly deploy?: (input: {env: string; sha: string; signal?: AbortSignal | undefined}) => Promise<PushDeployResult>;
  /** Records the release a successful staging build runs (release-service.ts), so it can be approved and promoted. */
  readonly recordStagingRelease?: (env: string) => Promise<string | undefined>;
}

export interface UpInput {
  readonly branch?: string | undefined;
  readonly sha?: string | undefined;
  readonly ttlMs?: number | undefined;
  readonly pr?: number | undefined;
  readonly detach?: boolean | undefined;
  readonly signal?: AbortSignal | undefined;
}

export interface UpResult {
  readonly env: string;
  readonly type: EnvType;
  readonly branch: string;
  readonly sha: string | null;
  readonly url: string | null;
  readonly ttlExpiresAt: string | null;
  readonly run: Run;
}

async function git(cwd: string, args: string[]): Promise<string | undefined> {
  try {
    const {stdout} = await execa('git', args, {cwd, stdin: 'ignore'});
    return stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

export class EnvironmentService {
  constructor(private readonly deps: EnvironmentServiceDeps) {}

  /** The branch to act on: the given one, or the checked-out branch of the project folder. */
  private async branchOrCurrent(branch: string | undefined): Promise<string> {
    if (branch !== undefined) return validateBranchName(branch);
    const current = await git(this.deps.cwd, ['rev-parse', '--abbrev-ref', 'HEAD']);
    if (!current || current === 'HEAD') {
      throw new UsageError('no --branch given and the project folder has no checked-out git branch', {actions: ['pass --branch NAME']});
    }
    return validateBranchName(current);
  }

  private resolve(branch: string): ResolvedBranch {
    return resolveBranch(branch, this.deps.rules, {modules: this.deps.defaultModules});
  }

  /** Create or update the branch's preview (or dev) environment; TTL extended on every update. */
  async up(input: UpInput): Promise<UpResult> {
    const branch = await this.branchOrCurrent(input.branch);
    const resolved = this.resolve(branch);
    if (resolved.type === 'production' || resolved.type === 'staging') {
      throw new UsageError(`branch "${branch}" is a ${resolved.type} branch (rule "${resolved.rule.pattern}"), not a preview`, {
        actions: [resolved.type === 'production' ? 'production deploys use `odoo-sh-next deploy`' : 'staging is built by `odoo-sh-next event push`'],
      });
    }
    if (input.ttlMs !== undefined && (!Number.isInteger(input.ttlMs) || input.ttlMs <= 0)) throw new UsageError('--ttl must be a positive duration');
    const sha = input.sha !== undefined ? validateSha(input.sha)
      : (await git(this.deps.cwd, ['rev-parse', '--verify', '--quiet', `refs/heads/${branch}^{commit}`])) ?? null;
    const ttlMs = input.ttlMs ?? resolved.ttlMs ?? DEFAULT_PREVIEW_TTL_MS;
    const ttlExpiresAt = new Date(this.deps.clock.now().getTime() + ttlMs);
    await this.deps.environments.upsert({
      name: resolved.envName, type: resolved.type, branch, ttlExpiresAt,
      settings: {data: resolved.data, demo: resolved.demo, modules: resolved.modules, ...(input.pr !== undefined ? {pr: input.pr} : {})},
    });
    const run = await this.deps.runs.create({
      type: 'preview-up', env: resolved.envName, ref: branch, gitSha: sha ?? undefined,
      payload: {type: resolved.type, branch, modules: resolved.modules, demo: resolved.demo},
      detach: input.detach, signal: input.signal,
    });
    const env = await this.deps.environments.find(resolved.envName);
    return {env: resolved.envName, type: resolved.type, branch, sha, url: env?.url ?? null, ttlExpiresAt: ttlExpiresAt.toISOString(), run};
  }

  /** The live environment named by --env, --branch or --pr. */
  async locate(by: {env?: string | undefined; branch?: string | undefined; pr?: number | undefined}): Promise<Environment> {
    const given = [by.env, by.branch, by.pr].filter((v) => v !== undefined).length;
    if (given > 1) throw new UsageError('name the environment once: --env, --branch or --pr');
    if (by.pr !== undefined) {
      const env = await this.deps.environments.findByPr(by.pr);
      if (!env) throw new NotFoundError(`no live environment for pull request #${by.pr}`);
      return env;
    }
    if (by.env !== undefined) return this.deps.environments.get(validateEnvName(by.env));
    return this.deps.environments.get(this.resolve(await this.branchOrCurrent(by.branch)).envName);
  }

  /** Destroys an environment (production is refused here: it is never torn down by a preview command). */
  async destroy(env: Environment, opts: {detach?: boolean | undefined; signal?: AbortSignal | undefined}): Promise<Run> {
    if (env.type === 'production') {
      throw new UsageError('the production environment is not destroyed by this command', {data: {env: env.name}});
    }
    return this.deps.runs.create({type: 'destroy', env: env.name, ref: env.branch ?? undefined, payload: {}, detach: opts.detach, signal: opts.signal});
  }

  list(opts: {type?: EnvType | undefined; includeDestroyed?: boolean} = {}): Promise<Environment[]> {
    return this.deps.environments.list(opts);
  }

  /** Destroys every preview/dev environment past its TTL. */
  async reap(opts: {dryRun?: boolean; detach?: boolean; signal?: AbortSignal | undefined} = {}): Promise<{expired: Environment[]; runs: Run[]}> {
    const expired = (await this.deps.environments.expired(this.deps.clock.now())).filter((e) => e.type === 'preview' || e.type === 'dev');
    const runs: Run[] = [];
    if (!opts.dryRun) for (const env of expired) runs.push(await this.destroy(env, {signal: opts.signal, detach: opts.detach}));
    return {expired, runs};
  }

  /** Builds a staging environment on a fresh copy of production (`db clone`, staging branches). */
  async clone(input: CloneInput): Promise<CloneResult> {
    const result = await new CloneService({environments: this.deps.environments, runs: this.deps.runs}).clone(input);
    if (result.run.state === 'succeeded') await this.deps.recordStagingRelease?.(result.env);
    return result;
  }

  /** A push from CI or a webhook: apply the branch rules. */
  async push(input: {ref: string; sha: string; pr?: number | undefined; signal?: AbortSignal | undefined; detach?: boolean | undefined}):
  Promise<PushOutcome> {
    const ref = parsePushRef(input.ref);
    if (ref.kind !== 'branch') {
      throw new UsageError(`event push takes a branch ref (refs/heads/...), got a ${ref.kind} ref`, {
        actions: ['for pull requests pass the head branch: --ref refs/heads/<branch> --pr N'],
      });
    }
    const sha = validateSha(input.sha);
    const resolved = this.resolve(ref.name);
    if (resolved.type === 'staging' && resolved.data === 'clone-production') {
      return {action: 'staging-clone', result: await this.clone({
        from: PRODUCTION_ENV_NAME, to: resolved.envName, branch: ref.name, sha, signal: input.signal, detach: input.detach,
      })};
    }
    if (resolved.type === 'staging') {
      throw new NotImplementedError(`branch "${ref.name}" is a staging branch with data "${resolved.data}": staging is built from production clones only`);
    }
    if (resolved.type === 'production') {
      if (!this.deps.deploy) throw new NotImplementedError(`branch "${ref.name}" deploys production, but no deploy service is configured`);
      return {action: 'deploy', result: await this.deps.deploy({env: resolved.envName, sha, signal: input.signal})};
    }
    return {action: 'preview-up', result: await this.up({branch: ref.name, sha, pr: input.pr, signal: input.signal, detach: input.detach})};
  }
}
