/** Builds the `build` run type and service from the composition root (src/cli/services.ts). */
import type pg from 'pg';
import type {Clock} from '../clock.js';
import type {OdooShConfig} from '../config/schema.js';
import {ProviderError} from '../errors.js';
import type {RunService} from '../run/run-service.js';
import type {RunContext, RunTypeHandler} from '../run/run-types.js';
import type {ImageBuilder} from '../build/image-build.js';
import {ADDONS_PATH_LABEL} from '../build/dockerfile-plan.js';
import {EnvironmentRepository} from '../environments/environment-repository.js';
import type {OdooCode} from '../../providers/provider.js';
import {ReleaseRepository} from './release-repository.js';
import {BuildService, buildImage, buildRunType, layerResults, recordBuiltRelease, type BuildDeps, type BuildLayerResult} from './build-service.js';
import {headCommit} from './release-artifact.js';

export interface BuildServices {
  readonly clock: Clock;
  pool(): Promise<pg.Pool>;
  projectId(): Promise<string>;
  config(): Promise<OdooShConfig>;
  runs(): Promise<RunService>;
}

/** The Docker client of the configured engine: the provider's socket (or SSH for ssh-host). */
export async function dockerOf(cfg: OdooShConfig) {
  const {dockerClient} = await import('../../providers/docker/transport.js');
  const ssh = cfg.provider.name === 'ssh-host' ? cfg.provider.ssh : undefined;
  return ssh
    ? dockerClient({kind: 'ssh', host: ssh.host, port: ssh.port, ...(ssh.user === undefined ? {} : {username: ssh.user})})
    : dockerClient({kind: 'socket', socketPath: cfg.provider.docker.socketPath});
}

/** The image builder of the configured engine. */
async function imageBuilder(cfg: OdooShConfig, clock: Clock): Promise<ImageBuilder> {
  const {DockerImageBuilder} = await import('../../providers/docker/image-builder.js');
  return new DockerImageBuilder({docker: await dockerOf(cfg), clock, pip: cfg.build.pip, network: cfg.provider.docker.network});
}

/**
 * The Odoo code of a built image: the image itself and the addons_path it carries (label
 * `odoo-sh.addons-path`, written by the buildpack), so the provider's generated config keeps it.
 */
export async function imageCode(cfg: OdooShConfig, image: string): Promise<OdooCode> {
  let labels: Record<string, string> | undefined;
  try {
    labels = (await (await dockerOf(cfg)).getImage(image).inspect()).Config?.Labels ?? undefined;
  } catch (err) {
    throw new ProviderError(`image ${image} is not on the Docker engine: ${(err as Error).message}`, {
      cause: err, actions: ['odoo-sh-next build --env <env> (builds and records a release with its image)'],
    });
  }
  const path = labels?.[ADDONS_PATH_LABEL];
  return {version: cfg.odoo.version, image, addonsPaths: path ? path.split(',').filter((p) => p !== '') : []};
}

function buildDeps(cfg: OdooShConfig, clock: Clock, pool: pg.Pool, projectId: string): BuildDeps {
  return {
    project: cfg.project, projectRoot: cfg.projectRoot,
    odoo: {version: cfg.odoo.version, image: cfg.odoo.image, addons: cfg.odoo.addons},
    clock, builder: () => imageBuilder(cfg, clock),
    releases: async () => new ReleaseRepository(pool, projectId), environments: async () => new EnvironmentRepository(pool, projectId),
  };
}

/** The `build` run type (registered on the run service). */
export async function buildRunTypes(s: Omit<BuildServices, 'runs'>): Promise<RunTypeHandler[]> {
  const [pool, projectId, cfg] = await Promise.all([s.pool(), s.projectId(), s.config()]);
  return [buildRunType(buildDeps(cfg, s.clock, pool, projectId))];
}

/** A release built inside another run (preview-up on a container provider). */
export interface BuiltRelease {
  readonly code: OdooCode;
  readonly release: string;
  readonly image: string;
  readonly layers: readonly BuildLayerResult[];
  readonly rebuilt: number;
  /** Once the environment serves the release healthy: marks it deployed there (what promotion checks). */
  markDeployed(gates: Record<string, unknown>): Promise<void>;
}

/** Builds the image of a commit (HEAD of the project when null) in the calling run and records the release on env. */
export type BuildRelease = (ctx: RunContext, env: string, commit: string | null) => Promise<BuiltRelease>;

export async function buildReleaseFn(s: Omit<BuildServices, 'runs'>): Promise<BuildRelease> {
  const [pool, projectId, cfg] = await Promise.all([s.pool(), s.projectId(), s.config()]);
  const deps = buildDeps(cfg, s.clock, pool, projectId);
  return async (ctx, env, commit) => {
    const built = await buildImage(deps, ctx, {commit: commit ?? (await headCommit(cfg.projectRoot)), tagLatest: false});
    const release = await recordBuiltRelease(deps, ctx, env, built);
    return {
      code: await imageCode(cfg, built.outcome.imageId), release, image: built.outcome.imageId,
      layers: layerResults(built.outcome), rebuilt: built.outcome.layers.filter((l) => !l.cached).length,
      markDeployed: async (gates) => {
        await (await deps.releases()).mark({id: release, env, status: 'deployed', gates, runId: ctx.run.id});
      },
    };
  };
}

export async function buildServiceFor(s: BuildServices): Promise<BuildService> {
  return new BuildService(await s.runs());
}
