/**
 * The build graph of an Odoo image: which layers it has, what each depends on, and the cache key
 * of each. Pure: the caller lists and hashes files, parses manifests, renders the Odoo config and
 * resolves the base image digest; the builder (IO) builds the layers `planRebuild` names.
 *
 * Layer order, chosen for caching:
 *
 *   base image → python-deps → addons of git sources (config order) → addons of folders → config
 *
 * - Each key is sha256 over the canonical JSON of the layer's inputs AND its parent's key, as an
 *   image layer is a diff over its parent: equal keys mean equal images up to that layer. The
 *   price: once a layer changes, every later layer is rebuilt too. The order keeps that cheap:
 * - python-deps (pip install: slow, network) comes right after the base. Its inputs are only the
 *   merged requirement lines (not which addon declared them, nor any addon code) and pip's RUN,
 *   index settings included (config build.pip: another index may resolve other versions), so
 *   editing an addon never reinstalls packages; it rebuilds when requirements, index or base change.
 * - Addon layers are plain file copies (fast). Git sources are pinned and change rarely, local
 *   folders change on every edit: folders go last, so an edit rebuilds only the folder layers
 *   after it, never the git checkouts. Since duplicate addon names are refused, the order of
 *   `addons_path` does not change which addon Odoo loads, so this reordering is safe.
 * - config (one small file) goes last: it changes whenever a source is added, and rebuilding it
 *   after any addon change costs one file copy.
 * - The python-deps layer is left out when no addon needs any package.
 * - Rejected alternative: keys on each layer's own inputs only, assembling independently built
 *   layer tars. It would spare the later addon layers too, but pip's layer is not independent of
 *   what lies under it, and Docker's own cache chains parents anyway; the cost it saves is a few
 *   file copies.
 * - A git layer is keyed on URL (without credentials), commit and subdir, not on its file list:
 *   the commit pins contents and modes, so a plan made before the checkout keys the same.
 *
 * Contents are described exactly (sorted paths, modes 0644/0755, owner 0:0, mtime =
 * SOURCE_DATE_EPOCH), so the builder writes the same tar for the same key. pip's output is the
 * exception: a rebuild without cache may resolve unpinned requirements to newer versions (warned).
 */
import {ConfigError} from '../errors.js';
import {pypiName} from './odoo-manifest.js';
import {addonsDirFor, parseRequirement, parseRequirementsTxt, redactUrl, sourceLabel, validateSources, type BuildSource, type Requirement} from './addon-sources.js';
import {parseImageReference, validateDigest} from './image-tags.js';
import {compareCodeUnits, layerFiles, layerKey, sha256Hex, type Json, type LayerFile} from './layer-key.js';
import {pipIndexArgs, validatePipIndex, type PipIndex} from './pip-index.js';
import {mergeRequirements, requirementsText} from './python-deps-plan.js';

export const IMAGE_REQUIREMENTS_PATH = '/opt/odoo-sh/requirements.txt';
export const IMAGE_CONFIG_PATH = '/etc/odoo/odoo.conf';
const MODULE_NAME = /^[A-Za-z0-9_]+$/;

export interface DiscoveredAddon {
  readonly name: string;
  /** Index of the addon's source in `BuildGraphInput.sources`. */
  readonly source: number;
  readonly manifestVersion?: string | undefined;
  readonly depends: readonly string[];
  /** The manifest's `external_dependencies.python` entries. */
  readonly externalPythonDeps: readonly string[];
  /** The addon's requirements.txt, when it has one. */
  readonly requirementsTxt?: string | undefined;
}

export interface BuildGraphInput {
  /**
   * The base image: `name` as given in the config; `digest` its registry digest when known (used
   * in FROM); `id` the local image id (config digest) when known, e.g. for an image built or
   * imported locally, which has no registry digest: part of the key, not of FROM.
   */
  readonly baseImage: {readonly name: string; readonly digest?: string | undefined; readonly id?: string | undefined};
  readonly odooVersion: string;
  readonly sources: readonly BuildSource[];
  readonly addons: readonly DiscoveredAddon[];
  /** The generated Odoo config (no secrets: those are given at run time). */
  readonly odooConfigText: string;
  /** The fixed mtime of every file (SOURCE_DATE_EPOCH); default 0. */
  readonly sourceDateEpoch?: number | undefined;
  /** Where pip gets packages (config build.pip); default PyPI. An input of the python-deps layer. */
  readonly pip?: PipIndex | undefined;
}

export type LayerKind = 'base' | 'python-deps' | 'addons' | 'config';

export type LayerContents =
  | {readonly kind: 'base'; readonly image: string}
  | {readonly kind: 'python-deps'; readonly files: readonly LayerFile[]; readonly run: PipRun}
  | {
      readonly kind: 'addons';
      readonly source: string;
      readonly dest: string;
      readonly addons: readonly string[];
      /** null for a git source given without its file list: the commit determines the files. */
      readonly files: readonly LayerFile[] | null;
      readonly git?: {readonly url: string; readonly commit: string; readonly subdir: string | null} | undefined;
    }
  | {readonly kind: 'config'; readonly files: readonly LayerFile[]};

export type PipRun = {
  readonly user: 'root';
  readonly env: Readonly<Record<string, string>>;
  readonly argv: readonly string[];
};

export interface Layer {
  /** `base`, `python-deps`, `addons:<source label>`, `config`. */
  readonly id: string;
  readonly kind: LayerKind;
  readonly inputs: Json;
  readonly parentKey: string | null;
  readonly key: string;
  readonly contents: LayerContents;
}

export interface BuildGraph {
  readonly layers: readonly Layer[];
  /** The `addons_path` entries inside the image, in config order (for the Odoo config). */
  readonly addonsPath: readonly string[];
  /** The merged requirements.txt written into the image. */
  readonly requirements: string;
  readonly warnings: readonly string[];
}

function checkAddons(input: BuildGraphInput, labels: readonly string[]): Map<number, string[]> {
  const seen = new Map<string, number>();
  const bySource = new Map<number, string[]>(input.sources.map((_s, i) => [i, []]));
  for (const addon of input.addons) {
    const names = bySource.get(addon.source);
    if (names === undefined) throw new ConfigError(`addon "${addon.name}" names source #${addon.source}, which does not exist`);
    if (!MODULE_NAME.test(addon.name)) {
      throw new ConfigError(`addon folder ${JSON.stringify(addon.name)} in ${labels[addon.source]} is not a valid Odoo module name (letters, digits and _)`);
    }
    const other = seen.get(addon.name);
    if (other !== undefined) {
      const [a, b] = [other, addon.source].sort((x, y) => x - y);
      const where = a === b ? `twice in ${labels[a!]}` : `in ${labels[a!]} and in ${labels[b!]}`;
      throw new ConfigError(`addon "${addon.name}" is ${where}: keep one`, {
        actions: ['remove the addon from one source, or rename one of them'],
        data: {addon: addon.name, sources: [labels[a!], labels[b!]]},
      });
    }
    seen.set(addon.name, addon.source);
    names.push(addon.name);
  }
  for (const names of bySource.values()) names.sort(compareCodeUnits);
  return bySource;
}

function addonRequirements(addon: DiscoveredAddon, origin: string): Requirement[] {
  const fromTxt = addon.requirementsTxt === undefined ? [] : parseRequirementsTxt(addon.requirementsTxt, `${origin}: requirements.txt`);
  const fromManifest = addon.externalPythonDeps.map((dep) => parseRequirement(pypiName(dep), `${origin}: external_dependencies.python`));
  return [...fromTxt, ...fromManifest];
}

function seriesWarnings(input: BuildGraphInput, labels: readonly string[]): string[] {
  const out: string[] = [];
  for (const addon of input.addons) {
    const parts = addon.manifestVersion?.split('.') ?? [];
    if (parts.length >= 5 && `${parts[0]}.${parts[1]}` !== input.odooVersion) {
      out.push(`addon "${addon.name}" in ${labels[addon.source]} has version ${addon.manifestVersion}, made for Odoo ${parts[0]}.${parts[1]}, not ${input.odooVersion}`);
    }
  }
  return out;
}

/** Whether a merged requirement line pins one exact version (`==X`, `===X` or `@ URL`). */
function isPinnedLine(line: string): boolean {
  if (line.includes(' @ ')) return true;
  const spec = (line.split(';')[0] ?? '').replace(/^[a-z0-9.-]+(\[[^\]]*\])?/, '').trim();
  return spec.split(',').some((clause) => /^===?[^*]+$/.test(clause));
}

/**
 * pip's RUN in the python-deps layer, as root (the builder gives the image back to the base user).
 * - PIP_BREAK_SYSTEM_PACKAGES=1: Debian bookworm and Ubuntu noble (odoo:18) mark the system Python
 *   "externally managed" (PEP 668) and refuse a plain install; pips older than 23.0.1 (jammy's, in
 *   odoo:17) ignore the variable. In an image nothing else manages those packages.
 * - --no-cache-dir (and PIP_NO_CACHE_DIR): no wheel cache left in the layer.
 * - PIP_NO_INPUT: an index asking for a password fails instead of waiting for one;
 *   PIP_ROOT_USER_ACTION=ignore silences the root warning (older pips ignore the variable).
 * - The index settings (build.pip) are arguments, so they are part of the layer's key.
 */
function pipRun(index: PipIndex, mtime: number): PipRun {
  return {
    user: 'root',
    env: {
      PIP_BREAK_SYSTEM_PACKAGES: '1', PIP_NO_CACHE_DIR: '1', PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_NO_INPUT: '1',
      PIP_ROOT_USER_ACTION: 'ignore', SOURCE_DATE_EPOCH: String(mtime),
    },
    argv: ['python3', '-m', 'pip', 'install', '--no-cache-dir', ...pipIndexArgs(index), '--requirement', IMAGE_REQUIREMENTS_PATH],
  };
}

/** The ordered layers of the image, each with its inputs, key and exact contents. */
export function planBuildGraph(input: BuildGraphInput): BuildGraph {
  const mtime = input.sourceDateEpoch ?? 0;
  if (!Number.isInteger(mtime) || mtime < 0) throw new ConfigError(`SOURCE_DATE_EPOCH must be a whole number of seconds, not ${mtime}`);
  const base = parseImageReference(input.baseImage.name);
  if (input.baseImage.digest !== undefined) validateDigest(input.baseImage.digest, input.baseImage.name);
  if (input.baseImage.id !== undefined) validateDigest(input.baseImage.id, input.baseImage.id);
  if (base.digest !== undefined && input.baseImage.digest !== undefined && base.digest !== input.baseImage.digest) {
    throw new ConfigError(`base image ${input.baseImage.name} names digest ${base.digest} but resolved to ${input.baseImage.digest}`);
  }
  const digest = input.baseImage.digest ?? base.digest ?? null;
  const imageId = input.baseImage.id ?? null;
  validateSources(input.sources);
  validatePipIndex(input.pip ?? {});
  const labels = input.sources.map(sourceLabel);
  const addonsBySource = checkAddons(input, labels);
  const warnings = seriesWarnings(input, labels);
  if (digest === null && imageId === null) {
    warnings.push(`base image ${input.baseImage.name} is not pinned to a digest or image id: a new pull may change it without changing the cache keys`);
  }

  const layers: Layer[] = [];
  const push = (id: string, kind: LayerKind, inputs: Json, contents: LayerContents): void => {
    const parentKey = layers.at(-1)?.key ?? null;
    layers.push({id, kind, inputs, parentKey, key: layerKey(kind, inputs, parentKey), contents});
  };

  const image = digest === null || base.digest !== undefined ? input.baseImage.name : `${input.baseImage.name}@${digest}`;
  push('base', 'base', {image: input.baseImage.name, digest, imageId, odooVersion: input.odooVersion}, {kind: 'base', image});

  const requirementLines = mergeRequirements(
    input.addons.map((addon) => {
      const origin = `addon ${addon.name} in ${labels[addon.source]}`;
      return {origin, requirements: addonRequirements(addon, origin)};
    }),
  );
  const requirements = requirementsText(requirementLines);
  if (requirementLines.length > 0) {
    const loose = requirementLines.filter((l) => !isPinnedLine(l)).map((l) => l.split(/[[<>=!~;@ ]/)[0]);
    if (loose.length > 0) warnings.push(`Python requirements without an exact pin (a rebuild without cache may install other versions): ${loose.join(', ')}`);
    const files = [{path: IMAGE_REQUIREMENTS_PATH, sha256: sha256Hex(requirements), mode: 0o644, mtime, uid: 0, gid: 0} as const];
    const run = pipRun(input.pip ?? {}, mtime);
    push('python-deps', 'python-deps', {requirements: requirementLines, files, run}, {kind: 'python-deps', files, run});
  }

  const order = input.sources.map((source, index) => ({source, index}));
  order.sort((a, b) => (a.source.kind === b.source.kind ? a.index - b.index : a.source.kind === 'git' ? -1 : 1));
  for (const {source, index} of order) {
    const dest = addonsDirFor(source);
    const label = labels[index]!;
    const addons = addonsBySource.get(index) ?? [];
    if (addons.length === 0) warnings.push(`addons source ${label} holds no addons`);
    const files = source.files === undefined ? null : layerFiles(source.files, dest, mtime, `addons source ${label}`);
    const git = source.kind === 'git' ? {url: redactUrl(source.url), commit: source.commit, subdir: source.subdir ?? null} : undefined;
    const from = source.kind === 'git' ? {kind: 'git', ...git} : {kind: 'path', path: source.path};
    // A git commit pins its files (content and mode), so they stay out of the key: a plan made
    // before the checkout is listed keys the same as one made after.
    const keyedFiles = source.kind === 'git' ? undefined : files;
    push(`addons:${label}`, 'addons', {from, dest, addons, files: keyedFiles, mtime}, {kind: 'addons', source: label, dest, addons, files, ...(git ? {git} : {})});
  }

  const configFiles = [{path: IMAGE_CONFIG_PATH, sha256: sha256Hex(input.odooConfigText), mode: 0o644, mtime, uid: 0, gid: 0} as const];
  push('config', 'config', {files: configFiles}, {kind: 'config', files: configFiles});

  return {layers, addonsPath: input.sources.map(addonsDirFor), requirements, warnings};
}

export interface RebuildPlan {
  /** Layer ids to build, in order. */
  readonly build: readonly string[];
  /** Layer ids whose key is already built. */
  readonly cached: readonly string[];
}

/**
 * Which layers must be built. A layer is a cache hit when a previously built layer has its key;
 * since keys include the parent's key, a hit implies every earlier layer is a hit too, and after
 * the first changed layer nothing is. `previous` is the last build's layers (or any set of keys
 * known to be in the cache).
 */
export function planRebuild(previous: readonly (Pick<Layer, 'key'> | string)[], next: readonly Layer[]): RebuildPlan {
  const known = new Set(previous.map((layer) => (typeof layer === 'string' ? layer : layer.key)));
  const build: string[] = [];
  const cached: string[] = [];
  for (const layer of next) {
    if (build.length === 0 && known.has(layer.key)) cached.push(layer.id);
    else build.push(layer.id);
  }
  return {build, cached};
}
