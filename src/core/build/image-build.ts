/**
 * The port between the build run (src/core/release/build-service.ts) and whatever applies a build
 * graph on an engine (src/providers/docker/image-builder.ts): plain types, no IO.
 */
import type {EventLevel} from '../events.js';

/** One addons source of the config: a folder (absolute path) or a git repository pinned to a commit. */
export type AddonSourceConfig =
  | {readonly path: string}
  | {readonly git: string; readonly commit: string; readonly subdir?: string | undefined};

export interface ImageBuildRequest {
  readonly project: string;
  /** Folder of the config file: folder sources are keyed relative to it. */
  readonly projectRoot: string;
  readonly odooVersion: string;
  /** The base image (config odoo.image). */
  readonly baseImage: string;
  readonly addons: readonly AddonSourceConfig[];
  /** The release image repository (tags go there). */
  readonly repository: string;
  /** `<short_sha>`, `<date>` and maybe `latest` (image-tags.ts releaseTags). */
  readonly references: readonly string[];
  /** Fixed mtime of every file written into the image. */
  readonly sourceDateEpoch: number;
  /** Progress and build output (recorded as run events). */
  readonly event: (level: EventLevel, message: string, payload?: Readonly<Record<string, unknown>>) => Promise<void>;
  readonly signal: AbortSignal;
}

export interface BuiltLayer {
  /** The layer id of the plan: `base`, `python-deps`, `addons:<source>`, `config`. */
  readonly name: string;
  readonly key: string;
  readonly cached: boolean;
  readonly seconds: number;
  /** The image of the build up to this layer (`sha256:...`). */
  readonly imageId: string;
}

export interface ImageBuildOutcome {
  /** The final image's local id (`sha256:...`); a registry push would give a repo digest instead. */
  readonly imageId: string;
  readonly references: readonly string[];
  /** Every layer but the base one, in build order. */
  readonly layers: readonly BuiltLayer[];
  readonly warnings: readonly string[];
  /** The addons folders on disk (checkouts included), for the release's addons hash. */
  readonly addonsPaths: readonly string[];
}

export interface ImageBuilder {
  build(request: ImageBuildRequest): Promise<ImageBuildOutcome>;
}
