/**
 * `deploy`, `deploy promote`, `deploy rollback`, `releases list`. Order of a production deploy:
 * resolve the release (computed from the code, or a recorded one) → confirmation → policy
 * (enforcePolicy, audited denial, exit 8) → the environment (created on the first deploy) →
 * automatic pre-deploy backup (a `backup` run, BEFORE the deploy run is queued: backup runs are
 * exclusive per environment) → the release recorded with that backup → the `deploy` run.
 * Promotion deploys exactly the release that ran on the staging environment; a release that never
 * ran on staging is refused (PolicyDeniedError).
 */
import {ConflictError, NotFoundError, PolicyDeniedError, UsageError} from '../errors.js';
import {odooCodeFromConfig, type OdooSectionInput} from '../odoo/odoo-code.js';
import type {Run} from '../run/run-record.js';
import type {RunService} from '../run/run-service.js';
import {errorForRun} from '../run/run-outcome.js';
import type {EnvironmentRepository} from '../environments/environment-repository.js';
import type {EnvType} from '../env/branch-rules.js';
import {enforcePolicy, type PolicyDeps} from '../policy/policy-service.js';
import type {PolicyEnvType} from '../policy/promotion-policy.js';
import {ensurePreOperationBackup} from '../backup/schedule-service.js';
import type {RestoreService} from '../backup/restore-service.js';
import {computeArtifact} from './release-artifact.js';
import {isReleaseId, releaseId, type Release, type ReleaseArtifact} from './release-record.js';
import type {ReleaseRepository} from './release-repository.js';

export interface ReleaseServiceDeps {
  readonly cwd: string;
  readonly odoo: OdooSectionInput;
  readonly releases: ReleaseRepository;
  readonly environments: EnvironmentRepository;
  readonly runs: RunService;
  readonly policies: () => Promise<PolicyDeps>;
  readonly restores: () => Promise<RestoreService>;
  /** The provider runs images (docker-local...): a release must carry the image it was built into. */
  readonly containers?: boolean | undefined;
}

export interface DeployInput {
  readonly env: string;
  readonly sha?: string | undefined;
  readonly release?: string | undefined;
  readonly allModules: boolean;
  readonly strategy?: string | undefined;
  /** Asks for confirmation (production); throws when refused. */
  readonly confirm: (what: string, envType: EnvType) => Promise<void>;
  readonly signal: AbortSignal;
}

export interface DeployResult {
  readonly release: Release;
  readonly run: Run;
  readonly backupId: string | null;
}

export interface RollbackOutcome {
  readonly run: Run;
  readonly restoreRun: Run | null;
  readonly preDeployBackup: string | null;
  readonly schemaChanged: boolean;
}

const SHA_RE = /^[0-9a-f]{40}$/;

export class ReleaseService {
  constructor(private readonly deps: ReleaseServiceDeps) {}

  list(env?: string): Promise<Release[]> {
    return this.deps.releases.list({env});
  }

  async deploy(input: DeployInput): Promise<DeployResult> {
    const artifact = input.release
      ? await this.#recorded(input.release)
      : this.deps.containers ? await this.#recorded(await this.#buildImage(input)) : await this.#build(input.sha);
    return this.#deploy(input, 'deploy', artifact, null);
  }

  async promote(input: Omit<DeployInput, 'sha' | 'env'> & {readonly from: string; readonly to: string}): Promise<DeployResult> {
    const source = await this.deps.environments.get(input.from);
    if (source.type !== 'staging') {
      throw new UsageError(`--from takes a staging environment; "${input.from}" is a ${source.type} environment`, {actions: ['odoo-sh-next env list']});
    }
    let id = input.release ?? source.currentRelease ?? undefined;
    if (!id) throw new NotFoundError(`${input.from} runs no release to promote`, {actions: [`odoo-sh-next releases list --env ${input.from}`]});
    if (!input.release) id = (await this.recordStagingBuild(input.from)) ?? id;
    if (!(await this.deps.releases.ranOn(id, 'staging'))) {
      const reason = `release ${id} never ran on staging`;
      const policies = await this.deps.policies();
      await policies.repo.recordDenial('promote', input.to, {release: id, from: input.from, reasons: [reason]});
      throw new PolicyDeniedError(`promotion refused: ${reason}`, [reason], {
        actions: [`odoo-sh-next releases list --env ${input.from}`], data: {release: id, from: input.from, to: input.to},
      });
    }
    return this.#deploy({...input, env: input.to}, 'promote', await this.#recorded(id), input.from);
  }

  /**
   * A staging build records the commit it ran; its release is the artifact of that commit as built
   * there. Records it (once) and returns its id, or undefined when the environment runs no build.
   */
  async recordStagingBuild(envName: string): Promise<string | undefined> {
    const env = await this.deps.environments.get(envName);
    const commit = env.currentRelease;
    if (env.type !== 'staging' || env.status !== 'active' || !commit) return undefined;
    if (isReleaseId(commit)) return commit;
    if (!SHA_RE.test(commit)) return undefined;
    const built = await this.#build(commit);
    const rel = await this.deps.releases.record({...built, id: built.id, env: envName, sourceEnv: null, preDeployBackup: null, runId: null});
    return (await this.deps.releases.mark({id: rel.id, env: envName, status: 'deployed', gates: {staging: 'build succeeded'}})).id;
  }

  async rollback(input: {
    readonly env: string; readonly to?: string | undefined; readonly restoreBackup: boolean;
    readonly confirm: (what: string, envType: EnvType) => Promise<void>; readonly signal: AbortSignal;
  }): Promise<RollbackOutcome> {
    const env = await this.deps.environments.get(input.env);
    const current = env.currentRelease ? await this.deps.releases.find(input.env, env.currentRelease) : undefined;
    if (input.restoreBackup && !current?.preDeployBackup) {
      throw new NotFoundError(`the serving release of ${input.env} recorded no pre-deploy backup: nothing to restore (nothing was rolled back)`, {
        actions: [`odoo-sh-next deploy rollback --env ${input.env}`, `odoo-sh-next backups list --env ${input.env}`],
      });
    }
    await input.confirm(`rolling back ${input.env}${input.restoreBackup ? ` and restoring its pre-deploy backup ${current?.preDeployBackup}` : ''}`, env.type);
    const run = await this.deps.runs.create({type: 'rollback', env: input.env, payload: {...(input.to ? {to: input.to} : {})}, signal: input.signal});
    const result = (run.result ?? {}) as {preDeployBackup?: string | null; schemaChanged?: boolean};
    const preDeployBackup = result.preDeployBackup ?? null;
    let restoreRun: Run | null = null;
    if (input.restoreBackup && !errorForRun(run)) {
      if (!preDeployBackup) throw new NotFoundError(`the rolled-back deploy of ${input.env} recorded no pre-deploy backup`, {actions: [`odoo-sh-next backups list --env ${input.env}`]});
      const restores = await this.deps.restores();
      const planned = await restores.plan({source: {kind: 'backup', backupId: preDeployBackup}, toEnv: input.env, noFilestore: false}, input.signal);
      restoreRun = await restores.run(planned, {signal: input.signal});
    }
    return {run, restoreRun, preDeployBackup, schemaChanged: result.schemaChanged ?? false};
  }

  async #deploy(input: Omit<DeployInput, 'sha'>, action: 'deploy' | 'promote', artifact: ReleaseArtifact & {id: string}, sourceEnv: string | null): Promise<DeployResult> {
    const existing = await this.deps.environments.find(input.env);
    if (!existing && input.env !== 'production') {
      throw new NotFoundError(`environment "${input.env}" not found (only production is created by its first deploy)`, {actions: ['odoo-sh-next env list']});
    }
    const envType: EnvType = existing?.type ?? 'production';
    if (this.deps.containers && !artifact.imageDigest) {
      throw new UsageError(`release ${artifact.id} has no image: on a container provider a release is deployed as the image it was built into, never rebuilt here`, {
        actions: [`odoo-sh-next build --env ${input.env}${artifact.commit ? ` --sha ${artifact.commit}` : ''}`, `then: odoo-sh-next deploy --env ${input.env} --release <the release id build prints>`],
        data: {release: artifact.id},
      });
    }
    await input.confirm(`${action === 'promote' ? `promoting release ${artifact.id} from ${sourceEnv}` : `deploying release ${artifact.id}`} to ${envType} environment "${input.env}"`, envType);
    const policies = await this.deps.policies();
    await enforcePolicy(policies, {
      action, env: input.env, envType: envType as PolicyEnvType, release: artifact.id, actor: await policies.repo.currentActor(), commit: artifact.commit,
    });
    const env = existing ?? (await this.deps.environments.upsert({name: input.env, type: 'production', branch: null, ttlExpiresAt: null}));
    const backupRun = env.status === 'active'
      ? await ensurePreOperationBackup(this.deps.runs, {env: input.env, envType, kind: 'pre-deploy', reason: `${action} of ${artifact.id}`, signal: input.signal})
      : undefined;
    const backupId = (backupRun?.result?.['backupId'] as string | undefined) ?? null;
    const release = await this.deps.releases.record({...artifact, env: input.env, sourceEnv, preDeployBackup: backupId, runId: null});
    const run = await this.deps.runs.create({
      type: 'deploy', env: input.env, ...(artifact.commit && SHA_RE.test(artifact.commit) ? {gitSha: artifact.commit} : {}),
      payload: {release: release.id, allModules: input.allModules, action, ...(input.strategy ? {strategy: input.strategy} : {})},
      signal: input.signal,
    });
    return {release: (await this.deps.releases.find(input.env, release.id)) ?? release, run, backupId};
  }

  /**
   * Container providers: a `build` run makes the release image of the commit (the layer cache makes
   * an unchanged build instant) and records the release on the environment; returns its id.
   */
  async #buildImage(input: Pick<DeployInput, 'env' | 'sha' | 'signal'>): Promise<string> {
    const sha = input.sha?.toLowerCase();
    const run = await this.deps.runs.create({
      type: 'build', env: input.env, ...(sha && SHA_RE.test(sha) ? {gitSha: sha} : {}),
      payload: {...(sha ? {commit: sha} : {}), tagLatest: false}, signal: input.signal,
    });
    const failed = errorForRun(run);
    if (failed) throw failed;
    const release = (run.result as {release?: string | null} | null)?.release;
    if (!release) throw new NotFoundError(`build run ${run.id} recorded no release for ${input.env}`, {actions: [`odoo-sh-next run logs ${run.id}`]});
    return release;
  }

  async #build(sha: string | undefined): Promise<ReleaseArtifact & {id: string}> {
    const code = odooCodeFromConfig(this.deps.odoo);
    const artifact = await computeArtifact({cwd: this.deps.cwd, addonsPaths: code.addonsPaths, odooVersion: this.deps.odoo.version, sha});
    return {...artifact, id: releaseId(artifact)};
  }

  /** A recorded release; on the local provider its code must still be what the addons paths hold (never a rebuild). */
  async #recorded(id: string): Promise<ReleaseArtifact & {id: string}> {
    const found = (await this.deps.releases.list({id, limit: 1}))[0];
    if (!found) throw new NotFoundError(`release ${id} not found`, {actions: ['odoo-sh-next releases list']});
    if (found.imageDigest) {
      // An image is the whole artifact: what the addons folders hold now does not matter.
      const {commit, addonsHash, odooVersion, modules, imageDigest} = found;
      return {id, commit, addonsHash, odooVersion, modules, imageDigest};
    }
    const current = await this.#build(found.commit ?? undefined);
    if (current.addonsHash !== found.addonsHash || current.odooVersion !== found.odooVersion) {
      throw new ConflictError(`the addons on disk are not release ${id} any more (addons hash ${current.addonsHash.slice(0, 12)}, release has ${found.addonsHash.slice(0, 12)}): check out commit ${found.commit ?? '?'} first`, {
        data: {release: id, commit: found.commit},
      });
    }
    const {commit, addonsHash, odooVersion, modules, imageDigest} = found;
    return {id, commit, addonsHash, odooVersion, modules, imageDigest};
  }
}
