/**
 * A project's images on a Docker engine: listed by repository reference (the release and cache
 * repositories only), the parent links of every image (the classic builder records `Parent`, through
 * the untagged intermediate image of each build step), and removal by tag. An image the engine
 * refuses to remove (a container uses it) is reported, not fatal.
 */
import type Docker from 'dockerode';
import {ProviderError} from '../../core/errors.js';
import type {EngineImage} from '../../core/release/image-retention.js';

export interface ImageInventoryListing {
  readonly images: readonly EngineImage[];
  /** image id → parent id of every other image of the engine (intermediates, base images). */
  readonly parents: Readonly<Record<string, string>>;
}

export type TagRemoval =
  | {readonly tag: string; readonly removed: true; readonly untagged: readonly string[]; readonly deleted: readonly string[]}
  | {readonly tag: string; readonly removed: false; readonly reason: string};

function engineError(what: string, err: unknown): ProviderError {
  return new ProviderError(`Docker engine: ${what} failed: ${(err as Error).message}`, {cause: err, retryable: true});
}

function iso(created: number): string {
  return new Date(created * 1000).toISOString();
}

/** RFC 3339 with nanoseconds, zeros kept (`...:20.500000000Z`), so creation times sort as strings. */
export function fixedCreated(created: string): string {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(created);
  return m ? `${m[1]}.${(m[2] ?? '').padEnd(9, '0')}Z` : created;
}

export class DockerImageInventory {
  constructor(private readonly docker: Docker) {}

  /** The images tagged in `repositories` (e.g. `odoo-sh-next/acme`, `odoo-sh-next-cache/acme`). */
  async list(repositories: readonly string[]): Promise<ImageInventoryListing> {
    let tagged: Docker.ImageInfo[];
    let all: Docker.ImageInfo[];
    try {
      [tagged, all] = await Promise.all([
        this.docker.listImages({filters: {reference: [...repositories]}}),
        this.docker.listImages({all: true}),
      ]);
    } catch (err) {
      throw engineError('listing images', err);
    }
    const parents: Record<string, string> = {};
    for (const image of all) if (image.ParentId) parents[image.Id] = image.ParentId;
    // Inspect gives the creation time to the nanosecond (the list has seconds: builds a second apart tie).
    const images = await Promise.all(tagged.map(async (i): Promise<EngineImage> => {
      const detail = await this.docker.getImage(i.Id).inspect().catch(() => undefined);
      return {
        id: i.Id, parentId: detail?.Parent || i.ParentId || parents[i.Id] || null,
        tags: (i.RepoTags ?? []).filter((t) => t !== '<none>:<none>'), created: fixedCreated(detail?.Created ?? iso(i.Created)), size: i.Size,
      };
    }));
    return {images, parents};
  }

  /**
   * Removes one tag; the engine deletes the image (and its untagged parents without other children)
   * when it was the last reference. A conflict (a container uses the image) is returned, not thrown.
   */
  async removeTag(tag: string): Promise<TagRemoval> {
    try {
      const out = (await this.docker.getImage(tag).remove({noprune: false})) as Array<{Untagged?: string; Deleted?: string}>;
      return {
        tag, removed: true,
        untagged: out.flatMap((o) => (o.Untagged ? [o.Untagged] : [])), deleted: out.flatMap((o) => (o.Deleted ? [o.Deleted] : [])),
      };
    } catch (err) {
      const status = (err as {statusCode?: number}).statusCode;
      const message = ((err as {json?: {message?: string}}).json?.message ?? (err as Error).message).trim();
      if (status === 409) return {tag, removed: false, reason: message};
      if (status === 404) return {tag, removed: true, untagged: [], deleted: []};
      throw engineError(`removing ${tag}`, err);
    }
  }
}
