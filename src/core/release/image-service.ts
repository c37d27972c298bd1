/**
 * `images list` / `images prune`: a project's release and cache images on a container provider's
 * engine, and the prune that keeps what environments run, their rollback targets, the N newest
 * release images and the layers under them (plan: image-retention.ts; engine: the Docker provider's
 * image-inventory.ts). Prune is audited (`images.prune`) before anything is removed; a dry run
 * changes nothing.
 */
import type pg from 'pg';
import type {OdooShConfig} from '../config/schema.js';
import {ConflictError, UsageError} from '../errors.js';
import {query} from '../store/pool.js';
import {cacheRepository, imageRepository} from '../build/dockerfile-plan.js';
import {EnvironmentRepository} from '../environments/environment-repository.js';
import {ReleaseRepository} from './release-repository.js';
import {compareNewest, DEFAULT_KEEP, planImageRetention, type EngineImage, type ImagePin, type PlannedImage} from './image-retention.js';

export interface ImageInventoryPort {
  list(repositories: readonly string[]): Promise<{readonly images: readonly EngineImage[]; readonly parents: Readonly<Record<string, string>>}>;
  removeTag(tag: string): Promise<{readonly tag: string; readonly removed: boolean; readonly reason?: string}>;
}

export interface ImageServiceDeps {
  readonly project: string;
  readonly inventory: () => Promise<ImageInventoryPort>;
  /** The images environments run and roll back to. */
  readonly pins: () => Promise<readonly ImagePin[]>;
  readonly audit: (payload: Record<string, unknown>) => Promise<void>;
  /** Runs of the project that may be building images now (id and type). */
  readonly activeBuilds: () => Promise<readonly {readonly id: string; readonly type: string}[]>;
}

/** Run types that build images (a prune during one could remove a cache layer it is reusing). */
export const IMAGE_BUILDING_RUN_TYPES = ['build', 'preview-up', 'deploy', 'clone', 'upgrade-preview'] as const;

export interface ImagesListing {
  readonly project: string;
  /** The keep count the `keep` / `reasons` of each image assume (prune's default). */
  readonly keep: number;
  /** Newest first. */
  readonly images: readonly PlannedImage[];
  readonly missingPins: readonly ImagePin[];
}

export type PruneOutcome = 'removed' | 'would remove' | 'refused';

export interface PrunedImage extends PlannedImage {
  readonly outcome: PruneOutcome;
  /** Why the engine refused (e.g. a container uses the image). */
  readonly reason: string | null;
}

export interface ImagesPruneOutcome {
  readonly project: string;
  readonly keep: number;
  readonly dryRun: boolean;
  readonly kept: readonly PlannedImage[];
  readonly removed: readonly PrunedImage[];
  readonly missingPins: readonly ImagePin[];
}

export class ImageService {
  constructor(private readonly deps: ImageServiceDeps) {}

  async #plan(keep: number) {
    const [inventory, pins] = await Promise.all([this.deps.inventory(), this.deps.pins()]);
    const {images, parents} = await inventory.list([imageRepository(this.deps.project), cacheRepository(this.deps.project)]);
    return {inventory, plan: planImageRetention({project: this.deps.project, images, parents, pins, keep})};
  }

  async list(): Promise<ImagesListing> {
    const {plan} = await this.#plan(DEFAULT_KEEP);
    const images = [...plan.kept, ...plan.removed].sort(compareNewest);
    return {project: this.deps.project, keep: plan.keepCount, images, missingPins: plan.missingPins};
  }

  async prune(opts: {readonly keep: number; readonly dryRun: boolean}): Promise<ImagesPruneOutcome> {
    const {inventory, plan} = await this.#plan(opts.keep);
    const base = {project: this.deps.project, keep: opts.keep, dryRun: opts.dryRun, kept: plan.kept, missingPins: plan.missingPins};
    if (opts.dryRun) return {...base, removed: plan.removed.map((p) => ({...p, outcome: 'would remove', reason: null}))};
    const building = await this.deps.activeBuilds();
    if (building.length > 0) {
      throw new ConflictError(`images are being built now (${building.map((r) => `run ${r.id}, ${r.type}`).join('; ')}): prune after ${building.length === 1 ? 'it ends' : 'they end'}, so no layer a build is reusing is removed under it`, {
        actions: building.map((r) => `odoo-sh-next run status ${r.id}`),
        data: {runs: building},
      });
    }
    if (plan.removed.length > 0) {
      await this.deps.audit({
        keep: opts.keep, images: plan.removed.map((p) => p.id), tags: plan.removed.flatMap((p) => p.tags),
        kept: plan.kept.map((p) => ({id: p.id, reasons: p.reasons})),
      });
    }
    const removed: PrunedImage[] = [];
    for (const image of plan.removed) {
      let refused: string | null = null;
      for (const tag of image.tags) {
        const r = await inventory.removeTag(tag);
        if (!r.removed) refused ??= `${tag}: ${r.reason ?? 'refused by the engine'}`;
      }
      removed.push({...image, outcome: refused ? 'refused' : 'removed', reason: refused});
    }
    return {...base, removed};
  }
}

/** Each live environment's current release image and the release it would roll back to (the newest other deployed one). */
export async function readImagePins(envs: EnvironmentRepository, releases: ReleaseRepository): Promise<ImagePin[]> {
  const pins: ImagePin[] = [];
  for (const env of await envs.list()) {
    const history = await releases.list({env: env.name, limit: 50});
    const current = env.currentRelease
      ? (history.find((r) => r.id === env.currentRelease) ?? (await releases.find(env.name, env.currentRelease)))
      : undefined;
    if (current?.imageDigest) pins.push({image: current.imageDigest, env: env.name, kind: 'in-use', release: current.id});
    const previous = history.find((r) => r.id !== env.currentRelease && r.deployedAt !== null && r.imageDigest !== null
      && (r.status === 'deployed' || r.status === 'rolled_back'));
    if (previous?.imageDigest) pins.push({image: previous.imageDigest, env: env.name, kind: 'rollback', release: previous.id});
  }
  return pins;
}

const CONTAINER_PROVIDERS = ['docker-local', 'ssh-host'];

export interface ImageServices {
  pool(): Promise<pg.Pool>;
  projectId(): Promise<string>;
  config(): Promise<OdooShConfig>;
}

/** The image service of the configured provider; the local provider has no images (usage error). */
export async function imageServiceFor(s: ImageServices): Promise<ImageService> {
  const cfg = await s.config();
  if (!CONTAINER_PROVIDERS.includes(cfg.provider.name)) {
    throw new UsageError(`images exist only on container providers (${CONTAINER_PROVIDERS.join(', ')}); this project uses the "${cfg.provider.name}" provider`, {
      actions: ['set provider.name: docker-local in odoo-sh-next.config.yaml to build and run images'],
      data: {provider: cfg.provider.name},
    });
  }
  return new ImageService({
    project: cfg.project,
    inventory: async () => {
      const [{dockerOf}, {DockerImageInventory}] = await Promise.all([
        import('./build-composition.js'), import('../../providers/docker/image-inventory.js'),
      ]);
      return new DockerImageInventory(await dockerOf(cfg));
    },
    pins: async () => {
      const [pool, projectId] = await Promise.all([s.pool(), s.projectId()]);
      return readImagePins(new EnvironmentRepository(pool, projectId), new ReleaseRepository(pool, projectId));
    },
    activeBuilds: async () => {
      const [pool, projectId] = await Promise.all([s.pool(), s.projectId()]);
      const rows = await query<{id: string; type: string}>(pool,
        `select id::text as id, type from ops.runs where project_id = $1 and state in ('claimed', 'running') and type = any ($2::text[]) order by id`,
        [projectId, [...IMAGE_BUILDING_RUN_TYPES]]);
      return rows.rows;
    },
    audit: async (payload) => {
      const [pool, projectId] = await Promise.all([s.pool(), s.projectId()]);
      await query(pool, `select ops.record_audit($1, 'images.prune', null, null, null, $2::jsonb)`, [projectId, JSON.stringify(payload)]);
    },
  });
}
