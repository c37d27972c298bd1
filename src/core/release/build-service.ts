/**
 * `odoo-sh-next build`: the `build` run type and the service the command calls. The run resolves
 * the commit and the tags, has the image builder (Docker: src/providers/docker/image-builder.ts)
 * apply the build graph, and, with --env, records the release with its image on that environment.
 * Docker's output of every layer is recorded as run events (`run logs <id>`), and kept, whether the
 * build succeeds or fails, as the run's artifact `build.log` (`run artifacts <id> --name build.log`),
 * which outlives the events' retention.
 */
import type {Clock} from '../clock.js';
import {ConflictError, NotFoundError} from '../errors.js';
import {validateSha} from '../env/git-ref.js';
import {validateEnvName} from '../env/env-name.js';
import type {AddonSourceConfig, ImageBuilder, ImageBuildOutcome} from '../build/image-build.js';
import {imageRepository} from '../build/dockerfile-plan.js';
import {dateTag, releaseTags} from '../build/image-tags.js';
import type {Run} from '../run/run-record.js';
import type {RunService} from '../run/run-service.js';
import type {RunContext, RunTypeHandler} from '../run/run-types.js';
import type {EnvironmentRepository} from '../environments/environment-repository.js';
import {addonsArtifact, headCommit} from './release-artifact.js';
import {releaseId} from './release-record.js';
import type {ReleaseRepository} from './release-repository.js';

/** The build's log kept as an artifact of its run. */
export interface BuildLogRef {
  /** The artifact id (`run artifacts <run> --name build.log` reads it). */
  readonly artifact: string;
  readonly name: string;
  readonly sizeBytes: number;
  readonly sha256: string;
  /** Only the last 8 MiB were kept. */
  readonly truncated: boolean;
}

export const BUILD_LOG = 'build.log';

export interface BuildLayerResult {
  /** `python-deps`, `addons:<source>` or `config` (the base image is not built). */
  readonly name: string;
  readonly key: string;
  readonly cached: boolean;
  readonly seconds: number;
}

/** The result of a build run (and of `build --json`). */
export interface BuildRunResult {
  /** The first tag: `<repository>:<short_sha>` (or `:<date>` without a commit). */
  readonly image: string;
  /** The local image id `sha256:...` (a registry push would give the repo digest). */
  readonly digest: string;
  readonly tags: readonly string[];
  readonly layers: readonly BuildLayerResult[];
  /** How many layers were built (not cache hits). */
  readonly rebuilt: number;
  readonly commit: string | null;
  /** The release recorded on --env, or null without --env. */
  readonly release: string | null;
  readonly env: string | null;
  readonly warnings: readonly string[];
  /** The build's log (Docker's output), or null when it could not be kept (see warnings). */
  readonly log: BuildLogRef | null;
}

export interface BuildDeps {
  readonly project: string;
  readonly projectRoot: string;
  readonly odoo: {readonly version: string; readonly image: string; readonly addons: readonly AddonSourceConfig[]};
  readonly clock: Clock;
  readonly builder: () => Promise<ImageBuilder>;
  readonly releases: () => Promise<ReleaseRepository>;
  readonly environments: () => Promise<EnvironmentRepository>;
  /** Fixed mtime of the files in the image (SOURCE_DATE_EPOCH); default 0. */
  readonly sourceDateEpoch?: number | undefined;
}

interface BuildPayload {
  readonly commit?: string | undefined;
  readonly tagLatest?: boolean | undefined;
}

/** What buildImage() gives back: the result fields of a build run and the builder's outcome. */
export interface ImageBuildDone {
  readonly outcome: ImageBuildOutcome;
  readonly references: readonly string[];
  readonly commit: string | null;
  readonly warnings: readonly string[];
  readonly log: BuildLogRef | null;
}

/**
 * Builds the project's image for a commit (phase `build` of the calling run; Docker's output of
 * every layer becomes that run's events). Used by the `build` run type and, on container
 * providers, by `preview-up` (the image an environment runs is always a built one).
 */
export async function buildImage(deps: BuildDeps, ctx: RunContext, opts: {readonly commit: string | null; readonly tagLatest: boolean}): Promise<ImageBuildDone> {
  const {commit} = opts;
  const warnings: string[] = [];
  const repository = imageRepository(deps.project);
  const now = deps.clock.now();
  let references: readonly string[];
  if (commit !== null && /^[0-9a-f]{12,40}$/i.test(commit)) {
    references = releaseTags({repository, commit, now, latest: opts.tagLatest}).references;
  } else {
    warnings.push('no commit of 12+ hex digits (is the project a git checkout?): the image gets no <short_sha> tag (give --sha with the full sha)');
    references = [dateTag(now), ...(opts.tagLatest ? ['latest'] : [])].map((tag) => `${repository}:${tag}`);
  }
  for (const w of warnings) await ctx.event('warn', w);
  const builder = await deps.builder();
  let outcome: ImageBuildOutcome;
  try {
    outcome = await ctx.phase('build', () => builder.build({
      project: deps.project, projectRoot: deps.projectRoot, odooVersion: deps.odoo.version, baseImage: deps.odoo.image,
      addons: deps.odoo.addons, repository, references, sourceDateEpoch: deps.sourceDateEpoch ?? 0,
      event: (level, message, p) => ctx.event(level, message, p), signal: ctx.signal,
    }));
  } catch (err) {
    await saveBuildLog(ctx).catch(() => undefined); // the build's own error is the one to report
    throw err;
  }
  let log: BuildLogRef | null = null;
  try {
    log = await saveBuildLog(ctx);
  } catch (err) {
    if (err instanceof ConflictError) throw err; // the lease is lost: this attempt's result would be refused anyway
    warnings.push(`the build log could not be kept as an artifact (${err instanceof Error ? err.message : String(err)}): its events remain in \`run logs ${ctx.run.id}\` until they are pruned`);
  }
  return {outcome, references, commit, warnings: [...warnings, ...outcome.warnings], log};
}

/** Keeps the events of the `build` phase as the run's artifact build.log and says so in an event. */
async function saveBuildLog(ctx: RunContext): Promise<BuildLogRef> {
  const saved = await ctx.saveLog(BUILD_LOG, {phase: 'build'});
  const log = {artifact: saved.id, name: saved.name, sizeBytes: saved.sizeBytes, sha256: saved.sha256, truncated: saved.truncated};
  await ctx.event('info', `build log kept (${saved.sizeBytes} bytes${saved.truncated ? ', last 8 MiB only' : ''}): odoo-sh-next run artifacts ${ctx.run.id} --name ${BUILD_LOG}`, {artifact: saved.id})
    .catch(() => undefined);
  return log;
}

/** Records the release a build made on an environment (its image id as the digest); returns the release id. */
export async function recordBuiltRelease(deps: BuildDeps, ctx: RunContext, env: string, built: ImageBuildDone): Promise<string> {
  return ctx.phase('record', async () => {
    const {addonsHash, modules} = await addonsArtifact(built.outcome.addonsPaths);
    const artifact = {commit: built.commit, addonsHash, odooVersion: deps.odoo.version, modules, imageDigest: built.outcome.imageId};
    const id = releaseId(artifact);
    await (await deps.releases()).record({...artifact, id, env, sourceEnv: null, preDeployBackup: null, runId: ctx.run.id});
    await ctx.event('info', `release ${id} recorded on ${env} with image ${built.outcome.imageId}`, {release: id});
    return id;
  });
}

/** The layers of a build as results report them. */
export function layerResults(outcome: ImageBuildOutcome): BuildLayerResult[] {
  return outcome.layers.map(({name, key, cached, seconds}) => ({name, key, cached, seconds}));
}

/** The `build` run type. */
export function buildRunType(deps: BuildDeps): RunTypeHandler {
  return {
    type: 'build',
    summary: 'Build the Odoo image: base + Python requirements + one layer per addons source + config (cached per layer)',
    timeoutMs: 60 * 60_000,
    async execute(ctx) {
      const payload = (ctx.run.payload ?? {}) as BuildPayload;
      const env = ctx.run.env;
      if (env !== null && env !== 'production' && !(await (await deps.environments()).find(env))) {
        throw new NotFoundError(`environment "${env}" not found`, {actions: ['odoo-sh-next env list']});
      }
      const commit = payload.commit ?? ctx.run.gitSha ?? (await headCommit(deps.projectRoot));
      const built = await buildImage(deps, ctx, {commit, tagLatest: payload.tagLatest === true});
      const release = env === null ? null : await recordBuiltRelease(deps, ctx, env, built);
      const {outcome, references} = built;
      const result: BuildRunResult = {
        image: references[0]!, digest: outcome.imageId, tags: references,
        layers: layerResults(outcome), rebuilt: outcome.layers.filter((l) => !l.cached).length, commit, release, env,
        warnings: built.warnings, log: built.log,
      };
      return {...result};
    },
  };
}

export interface BuildInput {
  readonly env?: string | undefined;
  readonly sha?: string | undefined;
  readonly tagLatest: boolean;
  readonly detach?: boolean | undefined;
  readonly signal: AbortSignal;
}

export class BuildService {
  constructor(private readonly runs: RunService) {}

  /** Queues a `build` run and (unless detach) executes it here; the ended run holds a BuildRunResult. */
  async build(input: BuildInput): Promise<Run> {
    const sha = input.sha === undefined ? undefined : validateSha(input.sha.toLowerCase());
    return this.runs.create({
      type: 'build', ...(input.env === undefined ? {} : {env: validateEnvName(input.env)}), ...(sha === undefined ? {} : {gitSha: sha}),
      payload: {...(sha === undefined ? {} : {commit: sha}), tagLatest: input.tagLatest}, detach: input.detach, signal: input.signal,
    });
  }
}
