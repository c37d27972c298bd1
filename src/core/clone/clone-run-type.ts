/**
 * The `clone` run type: (re)builds a staging environment on a fresh copy of production.
 *
 *   snapshot   plan the copy (clone-plan.ts); for a dump, take the consistent snapshot of the live
 *              source (production keeps serving; none of its sessions is touched)
 *   database   a NEW database named after the build (cloneDatabaseName): template copy, restore of
 *              the dump, or (fromBackup) the newest backup and its filestore (clone-from-backup.ts)
 *   filestore  production's filestore copied (reflinks / hard links / copy: LocalFilestore.copy),
 *              started once the snapshot exists and running alongside the restore
 *   prepare    prepareClonedDatabase: new identity, web.base.url frozen, neutralization + checks,
 *              masking + scan. Nothing starts on a database that failed here.
 *   start      a release of the staging env on the new database (providers without blue-green
 *              stop the previous release first)
 *   health     /web/health, route, web.base.url = the routed URL, /web/login smoke check; then the
 *              environment record points at the new database
 *   cleanup    only now: the previous releases, databases and filestores of the env are removed
 *
 * A build that fails before the switch drops its own database and filestore (a half-prepared copy
 * may hold production's unmasked data) and brings the previous release back when it had stopped it.
 */
import {availableParallelism} from 'node:os';
import type {Clock} from '../clock.js';
import {ProviderError, UsageError} from '../errors.js';
import type {EnvironmentRepository} from '../environments/environment-repository.js';
import {odooCodeFromConfig, type OdooSectionInput} from '../odoo/odoo-code.js';
import type {RunContext, RunTypeHandler} from '../run/run-types.js';
import {prepareClonedDatabase, type CloneMasking} from './prepare-clone.js';
import type {Provider} from '../../providers/provider.js';
import {CLONE_RUN_TYPE, requireCloneSource, type ClonePayload} from './clone-plan.js';
import {StagingBuild} from './staging-build.js';
import type {CloneBackupDeps} from './clone-from-backup.js';
import type {BuildRelease, BuiltRelease} from '../release/build-composition.js';

export {CLONE_RUN_TYPE, type ClonePayload} from './clone-plan.js';

export interface CloneRunDeps {
  readonly project: string;
  readonly odoo: OdooSectionInput;
  /** Masking of every clone (from masking.rules); none: an event says the clone keeps personal data. */
  readonly masking?: CloneMasking | undefined;
  readonly provider: () => Promise<Provider>;
  readonly environments: () => Promise<EnvironmentRepository>;
  readonly clock: Clock;
  /** Container providers run built images: builds the release image of the run's commit first. */
  readonly buildRelease?: (() => Promise<BuildRelease>) | undefined;
  /** Where directory-format dumps are written (the project's disk, e.g. <projectRoot>/.odoo-sh-next/tmp). */
  readonly scratchDir: string;
  /** Default prepareClonedDatabase. */
  readonly prepare?: typeof prepareClonedDatabase | undefined;
  /** How long a started Odoo may take to answer /web/health (default 120 s). */
  readonly healthTimeoutMs?: number | undefined;
  /** Parallel dump/restore jobs are min(cpus, 4) (default: the machine's). */
  readonly cpus?: number | undefined;
  /** Clone from the newest backup of the source when younger than maxAgeMs (config backups.cloneFromBackupMaxAge; unset: live copy). */
  readonly fromBackup?: CloneBackupDeps | undefined;
}

export function cloneRunType(deps: CloneRunDeps): RunTypeHandler {
  return {
    type: CLONE_RUN_TYPE,
    summary: 'Build a staging environment on a fresh, neutralized and masked copy of production',
    timeoutMs: 4 * 3600_000,
    async execute(ctx: RunContext) {
      const env = ctx.run.env;
      if (!env) throw new ProviderError('clone run without an environment');
      const p = ctx.run.payload as unknown as ClonePayload;
      const envs = await deps.environments();
      const target = await envs.get(env);
      if (target.type !== 'staging') {
        throw new UsageError(`refusing to clone into ${env}: it is a ${target.type} environment, clones go to staging environments`);
      }
      const source = requireCloneSource(await envs.find(p.source), p.source);
      const provider = await deps.provider();
      let code = odooCodeFromConfig(deps.odoo, {requireBin: provider.name === 'local'});
      let built: BuiltRelease | undefined;
      if (provider.name !== 'local') {
        if (!deps.buildRelease) throw new ProviderError(`the ${provider.name} provider runs built images, but no image builder is configured`);
        // The image is the release: built (or found in the layer cache) once, then promoted unchanged.
        built = await (await deps.buildRelease())(ctx, env, ctx.run.gitSha);
        code = built.code;
      }
      const build = new StagingBuild({
        ctx, provider, envs, target, source,
        project: deps.project,
        code,
        release: built?.release,
        masking: deps.masking,
        prepare: deps.prepare ?? prepareClonedDatabase,
        clock: deps.clock,
        scratchDir: deps.scratchDir,
        healthTimeoutMs: deps.healthTimeoutMs ?? 120_000,
        cpus: deps.cpus ?? availableParallelism(),
        fromBackup: deps.fromBackup,
      });
      const result = await build.run();
      // What `deploy promote` checks: this release ran on staging.
      await built?.markDeployed({staging: 'build succeeded', image: built.image});
      return {...result};
    },
  };
}
