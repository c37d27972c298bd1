/**
 * From a build graph to what the builder writes: one deterministic tar per layer (entries listed
 * here, in order, directories included) and a Dockerfile that ADDs them over the base image.
 * Pure: the builder (IO) writes the tars with exactly these entries and runs the build.
 *
 * - Tars are named after the layer key (`layers/<key>.tar`), so the build context is
 *   content-addressed; Docker's own cache key for ADD is the tar's content, equal for equal keys.
 * - Entries: every parent directory (0755) before its files, paths without a leading "/", sorted
 *   in code-unit order, owner 0:0, mtime = SOURCE_DATE_EPOCH: byte-identical tars for equal keys.
 * - No `# syntax=` line (it would pull a frontend image from a registry).
 * - The image carries the label `odoo-sh.build-key` = the last layer's key, so a build with an
 *   unchanged graph can find its image by label instead of rebuilding.
 */
import {InternalError} from '../errors.js';
import {compareCodeUnits, type LayerFile} from './layer-key.js';
import type {BuildGraph, Layer} from './build-graph-plan.js';

export interface TarEntry {
  readonly type: 'dir' | 'file';
  /** Relative to the image root, no leading "/" (directories without a trailing "/"). */
  readonly path: string;
  readonly mode: number;
  readonly mtime: number;
  readonly uid: 0;
  readonly gid: 0;
  /** Files: the content the builder must write (it checks the hash while writing). */
  readonly sha256?: string | undefined;
}

export const BUILD_KEY_LABEL = 'odoo-sh.build-key';

/** The tar file of a layer in the build context. */
export function layerTarName(layer: Pick<Layer, 'key'>): string {
  return `layers/${layer.key}.tar`;
}

function layerFilesOf(layer: Layer): readonly LayerFile[] | null {
  return layer.contents.kind === 'base' ? [] : layer.contents.files;
}

/**
 * The entries of a layer's tar, or null for a git layer planned without its file list (list
 * the checkout's files and plan again). The base layer has no tar: [].
 */
export function tarEntries(layer: Layer): TarEntry[] | null {
  const files = layerFilesOf(layer);
  if (files === null) return null;
  const entries = new Map<string, TarEntry>();
  for (const file of files) {
    const path = file.path.replace(/^\/+/, '');
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (!entries.has(dir)) entries.set(dir, {type: 'dir', path: dir, mode: 0o755, mtime: file.mtime, uid: 0, gid: 0});
    }
    entries.set(path, {type: 'file', path, mode: file.mode, mtime: file.mtime, uid: 0, gid: 0, sha256: file.sha256});
  }
  // Sorting on "path/" puts a directory right before its content, whatever characters follow.
  return [...entries.values()].sort((a, b) => compareCodeUnits(`${a.path}/`, `${b.path}/`));
}

export interface DockerfileOptions {
  /** The user the base image runs as (restored after pip runs as root); `odoo` for odoo images. */
  readonly baseUser?: string | undefined;
}

/** The Dockerfile of a graph: FROM the pinned base, one ADD per layer tar, pip as root. */
export function renderDockerfile(graph: BuildGraph, options: DockerfileOptions = {}): string {
  const [base, ...rest] = graph.layers;
  if (base?.contents.kind !== 'base') throw new InternalError('a build graph starts with its base layer');
  const lines = [`FROM ${base.contents.image}`];
  for (const layer of rest) {
    lines.push(`ADD ${layerTarName(layer)} /`);
    if (layer.contents.kind === 'python-deps') {
      const {env, argv, user} = layer.contents.run;
      const envArgs = Object.keys(env)
        .sort(compareCodeUnits)
        .map((name) => `${name}=${env[name]}`);
      lines.push(`USER ${user}`, `RUN ${JSON.stringify(['env', ...envArgs, ...argv])}`, `USER ${options.baseUser ?? 'odoo'}`);
    }
  }
  const last = graph.layers.at(-1)!;
  lines.push('ENV ODOO_RC=/etc/odoo/odoo.conf', `LABEL ${BUILD_KEY_LABEL}="${last.key}"`);
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------- one build per layer
// The builder runs one `docker build` per layer, FROM the previous layer's image, and tags each
// result in the project's cache repository: a layer whose key is tagged there (and carries the key
// as a label) is a cache hit, so an unchanged layer is never rebuilt, whatever Docker's own cache
// holds. Each of those builds has this Dockerfile and a context of two files: Dockerfile and
// layer.tar (the layer's deterministic tar, extracted by ADD).

/** The label carrying a layer's full key on its cache image. */
export const LAYER_KEY_LABEL = 'odoo-sh.layer-key';
/** The name of the layer tar inside a per-layer build context. */
export const LAYER_CONTEXT_TAR = 'layer.tar';

/** The cache repository of a project's layers: `odoo-sh-next-cache/<project>`. */
export function cacheRepository(project: string): string {
  return `odoo-sh-next-cache/${project}`;
}

/** The default repository of a project's release images: `odoo-sh-next/<project>`. */
export function imageRepository(project: string): string {
  return `odoo-sh-next/${project}`;
}

/** The cache tag of a layer: `<cache repository>:<first 24 hex of the key>` (the label holds the full key). */
export function layerCacheTag(project: string, layer: Pick<Layer, 'key'>): string {
  return `${cacheRepository(project)}:${layer.key.slice(0, 24)}`;
}

export interface LayerDockerfileOptions {
  /** What to build FROM: the base image reference, or the previous layer's image id. */
  readonly from: string;
  /** The user the base image runs as ('' = root), restored after pip. */
  readonly baseUser: string;
  readonly project: string;
  /** The last layer of the graph: the final image (ENV ODOO_RC and the build key label). */
  readonly last: boolean;
  /**
   * The image's addons_path, put on the final image as the label `odoo-sh.addons-path`, so a
   * provider writing its own Odoo config at run time (with the secrets) keeps the same path.
   */
  readonly addonsPath?: readonly string[] | undefined;
}

/** The label of the final image listing its addons_path (comma-separated, config order). */
export const ADDONS_PATH_LABEL = 'odoo-sh.addons-path';

/** The Dockerfile of one layer's build. */
export function renderLayerDockerfile(layer: Layer, options: LayerDockerfileOptions): string {
  if (layer.contents.kind === 'base') throw new InternalError('the base layer is not built: it is pulled or present');
  // Labels first: the intermediate images of the steps carry them too (cleanup by label).
  const labels = [`${LAYER_KEY_LABEL}="${layer.key}"`, `odoo-sh.managed="true"`, `odoo-sh.project="${options.project}"`];
  if (options.last) labels.push(`${BUILD_KEY_LABEL}="${layer.key}"`);
  if (options.last && options.addonsPath !== undefined) labels.push(`${ADDONS_PATH_LABEL}="${options.addonsPath.join(',')}"`);
  const lines = [`FROM ${options.from}`, `LABEL ${labels.join(' ')}`, `ADD ${LAYER_CONTEXT_TAR} /`];
  if (layer.contents.kind === 'python-deps') {
    const {env, argv, user} = layer.contents.run;
    const envArgs = Object.keys(env)
      .sort(compareCodeUnits)
      .map((name) => `${name}=${env[name]}`);
    lines.push(`USER ${user}`, `RUN ${JSON.stringify(['env', ...envArgs, ...argv])}`, `USER ${options.baseUser === '' ? 'root' : options.baseUser}`);
  }
  if (options.last) lines.push('ENV ODOO_RC=/etc/odoo/odoo.conf');
  return `${lines.join('\n')}\n`;
}

/**
 * The Odoo config baked into the image: addons_path (the sources in config order) and data_dir.
 * No database settings or secrets: the provider gives those at run time.
 */
export function renderImageOdooConfig(addonsPath: readonly string[]): string {
  for (const path of addonsPath) {
    if (path.includes(',')) throw new InternalError(`addons path ${JSON.stringify(path)} contains a comma`);
  }
  const lines = ['; generated by odoo-sh-next build: image defaults; database settings and secrets are given at run time', '[options]'];
  if (addonsPath.length > 0) lines.push(`addons_path = ${addonsPath.join(',')}`);
  lines.push('data_dir = /var/lib/odoo');
  return `${lines.join('\n')}\n`;
}
