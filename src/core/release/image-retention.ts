/**
 * Which images of a project a prune keeps (like Kamal's prune after deploys). Pure: the engine's
 * images and the pinned image ids come in, a plan comes out (src/core/release/image-service.ts
 * reads and applies it).
 *
 * A project owns two repositories: `odoo-sh-next/<project>` (release images, tags `<short_sha>`,
 * `<date>`, `latest`) and `odoo-sh-next-cache/<project>` (one image per layer key). Kept:
 *   - the image an environment runs (`in use by <env>`) and the release it would roll back to
 *     (`rollback target of <env>`);
 *   - the N newest release images by creation time (`newest N`);
 *   - every project image in the parent chain of a kept image (`layer of a kept image`): the classic
 *     builder records `Parent`, through the untagged intermediate images of each layer build;
 *   - cache layers newer than every release image: a running build may be building on them.
 * Everything else of the project loses its project tags (release and cache). Tags of any other
 * repository are never touched, so an image also tagged elsewhere stays on the engine.
 */
import {UsageError} from '../errors.js';
import {cacheRepository, imageRepository} from '../build/dockerfile-plan.js';

export const DEFAULT_KEEP = 5;
/** The reason of a cache layer newer than every release image. */
export const IN_PROGRESS = 'newer than every release image (a build may be using it)';

/** An image on the engine (a project image, or an intermediate known only by its parent link). */
export interface EngineImage {
  /** `sha256:...`. */
  readonly id: string;
  readonly parentId: string | null;
  /** `repository:tag`, every tag of the image (also tags outside the project). */
  readonly tags: readonly string[];
  /** ISO 8601. */
  readonly created: string;
  readonly size: number;
}

/** An image that must stay: an environment's current release image, or its rollback target. */
export interface ImagePin {
  /** The image id recorded on the release (`sha256:...`), or a `repository:tag` reference. */
  readonly image: string;
  readonly env: string;
  readonly kind: 'in-use' | 'rollback';
  readonly release?: string | undefined;
}

export interface RetentionInput {
  readonly project: string;
  /** The images carrying a tag of the project's two repositories. */
  readonly images: readonly EngineImage[];
  /** image id → parent id of other images (untagged intermediates, base images): the chain walk goes through them. */
  readonly parents?: Readonly<Record<string, string>> | undefined;
  readonly pins: readonly ImagePin[];
  /** How many of the newest release images to keep (besides pinned ones). */
  readonly keep: number;
}

export interface PlannedImage {
  readonly id: string;
  /** `release` when it carries a release tag (the final image of a build also carries its config layer's cache tag). */
  readonly kind: 'release' | 'cache';
  /** The project's tags (release and cache), sorted. */
  readonly tags: readonly string[];
  /** Tags outside the project's repositories: never removed. */
  readonly otherTags: readonly string[];
  readonly created: string;
  readonly size: number;
  readonly keep: boolean;
  /** Why it is kept (empty when it is removed). */
  readonly reasons: readonly string[];
}

export interface RetentionPlan {
  readonly keepCount: number;
  /** Newest first. */
  readonly kept: readonly PlannedImage[];
  /** In removal order: children before their parents, so each removal frees its untagged layers. */
  readonly removed: readonly PlannedImage[];
  /** Pins whose image is not on the engine (nothing to keep for them). */
  readonly missingPins: readonly ImagePin[];
}

/** The part of an image reference before the tag: `repo` of `repo:tag`. */
function repositoryOf(tag: string): string {
  const colon = tag.lastIndexOf(':');
  return colon > tag.lastIndexOf('/') ? tag.slice(0, colon) : tag;
}

/** Newest first (ISO times compare as strings), then by id. */
export function compareNewest(a: {readonly id: string; readonly created: string}, b: {readonly id: string; readonly created: string}): number {
  if (a.created !== b.created) return a.created < b.created ? 1 : -1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function shortId(id: string): string {
  return id.replace(/^sha256:/, '');
}

export function planImageRetention(input: RetentionInput): RetentionPlan {
  if (!Number.isInteger(input.keep) || input.keep < 0) {
    throw new UsageError(`invalid keep ${input.keep}: use a whole number of release images to keep (0 or more)`);
  }
  const releaseRepo = imageRepository(input.project);
  const cacheRepo = cacheRepository(input.project);
  const ours = (tag: string) => {
    const repo = repositoryOf(tag);
    return repo === releaseRepo || repo === cacheRepo;
  };
  const images = new Map<string, EngineImage>();
  for (const image of input.images) if (image.tags.some(ours)) images.set(image.id, image);
  const isRelease = (image: EngineImage) => image.tags.some((t) => repositoryOf(t) === releaseRepo);

  const reasons = new Map<string, string[]>();
  const addReason = (id: string, reason: string) => {
    const list = reasons.get(id) ?? [];
    if (!list.includes(reason)) list.push(reason);
    reasons.set(id, list);
  };

  const missingPins: ImagePin[] = [];
  for (const pin of input.pins) {
    const image = [...images.values()].find((i) =>
      i.id === pin.image || shortId(i.id) === shortId(pin.image) || i.tags.includes(pin.image));
    if (!image) {
      missingPins.push(pin);
      continue;
    }
    addReason(image.id, pin.kind === 'in-use' ? `in use by ${pin.env}` : `rollback target of ${pin.env}`);
  }

  const releases = [...images.values()].filter(isRelease).sort(compareNewest);
  for (const image of releases.slice(0, input.keep)) addReason(image.id, `newest ${input.keep}`);
  // A cache layer newer than every release image may belong to a build still running (its next
  // layer builds FROM it): kept until a later release image exists.
  const newestRelease = releases[0]?.created ?? '';
  for (const image of images.values()) {
    if (!isRelease(image) && image.created > newestRelease) addReason(image.id, IN_PROGRESS);
  }

  const parentOf = (id: string): string | null => images.get(id)?.parentId ?? input.parents?.[id] ?? null;
  for (const id of [...reasons.keys()]) {
    const seen = new Set<string>([id]);
    for (let p = parentOf(id); p !== null && !seen.has(p); p = parentOf(p)) {
      seen.add(p);
      if (images.has(p)) addReason(p, 'layer of a kept image');
    }
  }

  // Depth in the parent chain: removing children first lets the engine delete each freed parent.
  const depth = (id: string): number => {
    let n = 0;
    const seen = new Set<string>([id]);
    for (let p = parentOf(id); p !== null && !seen.has(p); p = parentOf(p)) {
      seen.add(p);
      n++;
    }
    return n;
  };
  const planned = [...images.values()].map((image): PlannedImage => {
    const why = reasons.get(image.id) ?? [];
    return {
      id: image.id, kind: isRelease(image) ? 'release' : 'cache',
      tags: image.tags.filter(ours).sort(), otherTags: image.tags.filter((t) => !ours(t)).sort(),
      created: image.created, size: image.size, keep: why.length > 0, reasons: why,
    };
  });
  const kept = planned.filter((p) => p.keep).sort(compareNewest);
  const depths = new Map(planned.map((p) => [p.id, depth(p.id)]));
  const removed = planned.filter((p) => !p.keep).sort((a, b) => depths.get(b.id)! - depths.get(a.id)! || compareNewest(a, b));
  return {keepCount: input.keep, kept, removed, missingPins};
}
