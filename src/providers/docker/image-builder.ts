/**
 * Buildpack v1 on a Docker engine: reads the addons sources from disk, plans the build graph
 * (src/core/build, pure) and builds it one layer at a time.
 *
 * - Each layer is one `docker build` FROM the previous layer's image with a two-file context
 *   (Dockerfile, layer.tar), tagged `odoo-sh-next-cache/<project>:<key prefix>` and labelled with
 *   its full key. A layer whose cache tag exists with that label is a hit and is not rebuilt.
 * - layer.tar is written from the plan's entries (sorted, 0:0, fixed mtime) with each file's
 *   content checked against the hash the key was computed from: a file changed between planning
 *   and writing fails the build instead of caching content under the wrong key.
 * - Git sources are cloned once per commit under .odoo-sh-next/git/ (the commit pins the files).
 * - Docker's own build output becomes run events, one per line, tagged with the layer.
 * - The python-deps layer runs pip (the RUN is planned in build-graph-plan.ts, with the index
 *   settings of config build.pip); on a `network: host` project the builds use host networking,
 *   so pip reaches an index or proxy on the host's loopback.
 */
import {createHash} from 'node:crypto';
import {lstat, mkdir, readdir, readFile, rename, rm} from 'node:fs/promises';
import {join, relative, sep} from 'node:path';
import {Readable} from 'node:stream';
import type Docker from 'dockerode';
import {execa} from 'execa';
import {ConfigError, InterruptedError, NotFoundError, ProviderError} from '../../core/errors.js';
import type {Clock} from '../../core/clock.js';
import {addonsDirFor, redactUrl, type BuildSource} from '../../core/build/addon-sources.js';
import {planBuildGraph, type BuildGraph, type DiscoveredAddon, type Layer} from '../../core/build/build-graph-plan.js';
import {
  LAYER_CONTEXT_TAR, LAYER_KEY_LABEL, layerCacheTag, renderImageOdooConfig, renderLayerDockerfile, tarEntries,
} from '../../core/build/dockerfile-plan.js';
import type {BuiltLayer, ImageBuilder, ImageBuildOutcome, ImageBuildRequest} from '../../core/build/image-build.js';
import {parseImageReference} from '../../core/build/image-tags.js';
import {sha256Hex, type SourceFile} from '../../core/build/layer-key.js';
import type {PipIndex} from '../../core/build/pip-index.js';
import {parseManifest} from '../../core/build/odoo-manifest.js';
import {tarEnd, tarHeader, tarOf, tarPadding} from '../../core/build/tar-format.js';

const SKIP_DIRS = new Set(['.git', '__pycache__', 'node_modules']);

interface ScannedSource {
  readonly source: BuildSource;
  /** Absolute folder on disk holding the source's files. */
  readonly root: string;
}

async function listFiles(root: string, dir = root, out: SourceFile[] = []): Promise<SourceFile[]> {
  let entries;
  try {
    entries = await readdir(dir, {withFileTypes: true});
  } catch (err) {
    if (dir === root) throw new ConfigError(`addons source ${root} cannot be read: ${(err as Error).message}`, {actions: ['fix odoo.addons in the config']});
    throw err;
  }
  for (const e of entries) {
    if (SKIP_DIRS.has(e.name) || e.name.endsWith('.pyc')) continue;
    const path = join(dir, e.name);
    if (e.isDirectory()) {
      await listFiles(root, path, out);
      continue;
    }
    const rel = relative(root, path).split(sep).join('/');
    const st = await lstat(path);
    // Symlinks and special files are listed with their real mode: layerFiles refuses them, naming the file.
    const sha256 = e.isFile() ? createHash('sha256').update(await readFile(path)).digest('hex') : '0'.repeat(64);
    out.push({path: rel, sha256, mode: st.mode});
  }
  return out;
}

async function gitCheckout(projectRoot: string, url: string, commit: string, signal: AbortSignal): Promise<string> {
  const dir = join(projectRoot, '.odoo-sh-next', 'git', `${sha256Hex(url).slice(0, 16)}-${commit}`);
  if (await lstat(dir).then(() => true, () => false)) return dir;
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, {recursive: true, force: true});
  await mkdir(tmp, {recursive: true});
  try {
    const git = (args: string[]) => execa('git', args, {cwd: tmp, stdin: 'ignore', cancelSignal: signal, env: {GIT_TERMINAL_PROMPT: '0'}});
    await git(['init', '--quiet']);
    await git(['fetch', '--quiet', '--depth', '1', url, commit]).catch(() => git(['fetch', '--quiet', url]));
    await git(['-c', 'advice.detachedHead=false', 'checkout', '--quiet', commit]);
    await rm(join(tmp, '.git'), {recursive: true, force: true});
    await rename(tmp, dir);
  } catch (err) {
    await rm(tmp, {recursive: true, force: true});
    const why = ((err as {stderr?: string}).stderr || (err as Error).message).trim().replace(/(:\/\/)[^/@\s]*@/g, '$1');
    throw new ProviderError(`cannot check out ${redactUrl(url)} at ${commit}: ${why}`, {
      retryable: true, actions: ['check the URL, your access to it and that the commit exists'],
    });
  }
  return dir;
}

/** Reads the sources of the config: files (hashed), and the addons (folders with a manifest) of each. */
export async function scanSources(request: Pick<ImageBuildRequest, 'projectRoot' | 'addons' | 'signal'>): Promise<{sources: ScannedSource[]; addons: DiscoveredAddon[]}> {
  const sources: ScannedSource[] = [];
  const addons: DiscoveredAddon[] = [];
  for (const [index, entry] of request.addons.entries()) {
    let root: string;
    let source: BuildSource;
    if ('path' in entry) {
      root = entry.path;
      source = {kind: 'path', path: relative(request.projectRoot, entry.path).split(sep).join('/') || '.', files: await listFiles(root)};
    } else {
      const checkout = await gitCheckout(request.projectRoot, entry.git, entry.commit, request.signal);
      root = entry.subdir === undefined ? checkout : join(checkout, entry.subdir);
      source = {kind: 'git', url: entry.git, commit: entry.commit, subdir: entry.subdir, files: await listFiles(root)};
    }
    sources.push({source, root});
    const manifests = (source.files ?? []).filter((f) => /^[^/]+\/__manifest__\.py$/.test(f.path)).map((f) => f.path).sort();
    for (const manifestPath of manifests) {
      const name = manifestPath.split('/')[0]!;
      const where = join(root, manifestPath);
      const manifest = parseManifest(await readFile(where, 'utf8'), where);
      const requirementsTxt = await readFile(join(root, name, 'requirements.txt'), 'utf8').catch(() => undefined);
      addons.push({
        name, source: index, manifestVersion: manifest.version, depends: manifest.depends, externalPythonDeps: manifest.externalPythonDeps,
        ...(requirementsTxt === undefined ? {} : {requirementsTxt}),
      });
    }
  }
  return {sources, addons};
}

/** Where each file of a layer comes from: a file on disk or text generated by the plan. */
type ContentOf = (imagePath: string) => {readonly file: string} | {readonly text: string};

async function layerTar(layer: Layer, contentOf: ContentOf): Promise<Buffer> {
  const entries = tarEntries(layer);
  if (entries === null) throw new ProviderError(`layer ${layer.id} was planned without its file list`);
  const parts: Buffer[] = [];
  for (const entry of entries) {
    if (entry.type === 'dir') {
      parts.push(tarHeader(entry, 0));
      continue;
    }
    const from = contentOf(`/${entry.path}`);
    const data = 'file' in from ? await readFile(from.file) : Buffer.from(from.text, 'utf8');
    if (createHash('sha256').update(data).digest('hex') !== entry.sha256) {
      throw new ConflictDuringBuild(`/${entry.path}`, 'file' in from ? from.file : 'generated text');
    }
    parts.push(tarHeader(entry, data.length), data, tarPadding(data.length));
  }
  parts.push(tarEnd());
  return Buffer.concat(parts);
}

class ConflictDuringBuild extends ProviderError {
  constructor(imagePath: string, origin: string) {
    super(`${origin} changed while the image was being built (${imagePath}): build again`, {retryable: true});
  }
}

export interface DockerImageBuilderDeps {
  readonly docker: Docker;
  readonly clock: Clock;
  /** Where pip gets packages (config build.pip); default PyPI. */
  readonly pip?: PipIndex | undefined;
  /**
   * The project's Docker network mode (provider.docker.network). `host`: builds run with host
   * networking too, so pip reaches an index on the host's loopback (127.0.0.1); `bridge`: Docker's
   * default build network.
   */
  readonly network?: 'host' | 'bridge' | undefined;
}

export class DockerImageBuilder implements ImageBuilder {
  constructor(private readonly deps: DockerImageBuilderDeps) {}

  async build(request: ImageBuildRequest): Promise<ImageBuildOutcome> {
    const base = (await this.#inspect(request.baseImage)) ?? (await this.#pull(request));
    const {sources, addons} = await scanSources(request);
    const addonsPath = sources.map((s) => addonsDirFor(s.source));
    const odooConfigText = renderImageOdooConfig(addonsPath);
    const graph = planBuildGraph({
      baseImage: {name: request.baseImage, id: base.Id}, odooVersion: request.odooVersion,
      sources: sources.map((s) => s.source), addons, odooConfigText, sourceDateEpoch: request.sourceDateEpoch, pip: this.deps.pip,
    });
    const warnings = graph.warnings.filter((w) => !w.startsWith(`base image ${request.baseImage} is not pinned`));
    for (const w of warnings) await request.event('warn', w);
    const contentOf = contentResolver(graph, sources, odooConfigText);

    const layers: BuiltLayer[] = [];
    let parent = base.Id;
    const rest = graph.layers.slice(1);
    for (const [i, layer] of rest.entries()) {
      if (request.signal.aborted) throw new InterruptedError('build interrupted');
      const started = this.deps.clock.now().getTime();
      const tag = layerCacheTag(request.project, layer);
      const hit = await this.#inspect(tag);
      let imageId: string;
      const cached = hit !== undefined && hit.Config?.Labels?.[LAYER_KEY_LABEL] === layer.key;
      if (cached) {
        imageId = hit!.Id;
        await request.event('info', `layer ${layer.id}: cached (${tag})`, {layer: layer.id, key: layer.key, cached: true});
      } else {
        await request.event('info', `layer ${layer.id}: building`, {layer: layer.id, key: layer.key, cached: false});
        const dockerfile = renderLayerDockerfile(layer, {from: parent, baseUser: base.Config?.User ?? '', project: request.project, last: i === rest.length - 1, addonsPath});
        const context = tarOf([
          {entry: {type: 'file', path: 'Dockerfile', mode: 0o644, mtime: 0, uid: 0, gid: 0}, content: Buffer.from(dockerfile, 'utf8')},
          {entry: {type: 'file', path: LAYER_CONTEXT_TAR, mode: 0o644, mtime: 0, uid: 0, gid: 0}, content: await layerTar(layer, contentOf)},
        ]);
        imageId = await this.#dockerBuild(context, {layer: layer.id, tag}, (line) => request.event('info', line, {layer: layer.id}), request.signal);
      }
      const seconds = Math.round((this.deps.clock.now().getTime() - started) / 10) / 100;
      layers.push({name: layer.id, key: layer.key, cached, seconds, imageId});
      parent = imageId;
    }
    for (const reference of request.references) {
      const ref = parseImageReference(reference);
      await this.deps.docker.getImage(parent).tag({repo: ref.name, tag: ref.tag ?? 'latest'});
    }
    await request.event('info', `image ${parent.slice(0, 19)} tagged ${request.references.join(', ')}`, {image: parent});
    return {imageId: parent, references: request.references, layers, warnings, addonsPaths: sources.map((s) => s.root)};
  }

  /** Pulls a missing base image once (then it is keyed by its local id like any other). */
  async #pull(request: ImageBuildRequest): Promise<Docker.ImageInspectInfo> {
    const missing = (why: string) => new NotFoundError(`base image ${request.baseImage} is not on the Docker engine and cannot be pulled: ${why}`, {
      actions: [`docker pull ${request.baseImage}`, 'or set odoo.image to an image present on the engine'],
    });
    await request.event('info', `pulling base image ${request.baseImage}`);
    try {
      const stream = await this.deps.docker.pull(request.baseImage, {abortSignal: request.signal});
      await new Promise<void>((resolve, reject) => this.deps.docker.modem.followProgress(stream, (err) => (err ? reject(err as Error) : resolve())));
    } catch (err) {
      throw missing((err as Error).message.trim());
    }
    const pulled = await this.#inspect(request.baseImage);
    if (!pulled) throw missing('the pull reported no image');
    return pulled;
  }

  async #inspect(reference: string): Promise<Docker.ImageInspectInfo | undefined> {
    try {
      return await this.deps.docker.getImage(reference).inspect();
    } catch (err) {
      if ((err as {statusCode?: number}).statusCode === 404) return undefined;
      throw new ProviderError(`Docker engine: inspecting ${reference} failed: ${(err as Error).message}`, {retryable: true});
    }
  }

  async #dockerBuild(context: Buffer, {layer, tag}: {layer: string; tag: string}, log: (line: string) => Promise<void>, signal: AbortSignal): Promise<string> {
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.deps.docker.buildImage(Readable.from([context]), {
        t: tag, rm: true, forcerm: true, pull: false, abortSignal: signal, ...(this.deps.network === 'host' ? {networkmode: 'host'} : {}),
      });
    } catch (err) {
      throw new ProviderError(`Docker engine: build of ${tag} failed to start: ${(err as Error).message}`, {retryable: true});
    }
    const lines: string[] = [];
    let id: string | undefined;
    let failure: string | undefined;
    let pending = Promise.resolve();
    await new Promise<void>((resolve, reject) => {
      this.deps.docker.modem.followProgress(
        stream,
        (err) => (err ? reject(err as Error) : resolve()),
        (event: {stream?: string; error?: string; aux?: {ID?: string}}) => {
          if (event.aux?.ID) id = event.aux.ID;
          if (event.error) failure = event.error;
          // The classic builder colours a step's stderr (ESC[91m ... ESC[0m): events get plain text.
          const text = (event.stream ?? '').replace(/\u001b\[[0-9;]*m/g, '');
          for (const line of text.split('\n').map((l) => l.trimEnd()).filter((l) => l !== '')) {
            lines.push(line);
            pending = pending.then(() => log(line));
          }
        },
      );
    }).catch((err: Error) => {
      if (signal.aborted) throw new InterruptedError('build interrupted');
      throw new ProviderError(`Docker engine: build of ${tag} failed: ${err.message}`, {retryable: true});
    });
    await pending;
    if (failure !== undefined) {
      // The classic builder keeps the images of the steps that succeeded (untagged): remove the
      // last one, which prunes its untagged parents down to our tagged parent layer.
      const steps = lines.map((l) => /^ ---> ([0-9a-f]{12})$/.exec(l)?.[1]).filter((id): id is string => id !== undefined).slice(1);
      if (steps.length > 0) await this.deps.docker.getImage(steps.at(-1)!).remove().catch(() => undefined);
      // pip says why on its last "ERROR:" line (no matching version, index unreachable...).
      const why = lines.findLast((l) => l.startsWith('ERROR: '));
      throw new ProviderError(`layer ${layer}: docker build failed: ${failure.trim()}${why === undefined ? '' : ` (${why})`}`, {
        data: {layer, output: lines.slice(-20)}, actions: ['odoo-sh-next run logs <run id> shows the whole build output'],
      });
    }
    id ??= (await this.#inspect(tag))?.Id;
    if (id === undefined) throw new ProviderError(`docker build of ${tag} reported no image`);
    return id;
  }
}

function contentResolver(graph: BuildGraph, sources: readonly ScannedSource[], odooConfigText: string): ContentOf {
  const generated = new Map<string, string>();
  for (const layer of graph.layers) {
    if (layer.contents.kind === 'config') for (const f of layer.contents.files) generated.set(f.path, odooConfigText);
    if (layer.contents.kind === 'python-deps') for (const f of layer.contents.files) generated.set(f.path, graph.requirements);
  }
  const roots = sources.map((s) => ({dest: `${addonsDirFor(s.source)}/`, root: s.root}));
  return (imagePath) => {
    const text = generated.get(imagePath);
    if (text !== undefined) return {text};
    const match = roots.find((r) => imagePath.startsWith(r.dest));
    if (!match) throw new ProviderError(`no source for ${imagePath} in the image`);
    return {file: join(match.root, ...imagePath.slice(match.dest.length).split('/'))};
  };
}
