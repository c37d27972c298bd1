/**
 * Thin I/O over dockerode for the docker-local provider: find by labels, idempotent create,
 * start / stop / remove, exec with demultiplexed streams, logs, files in and out of containers,
 * volumes and networks by label. Engine errors become ProviderError; 404 → undefined / false.
 */
import {PassThrough, type Readable, type Writable} from 'node:stream';
import {pipeline} from 'node:stream/promises';
import type Docker from 'dockerode';
import {InterruptedError, ProviderError} from '../../core/errors.js';
import type {ToolIo} from '../provider.js';
import {Demuxer, capture} from './engine-streams.js';
import {demuxBuffer, labelFilter, singleFileTar, textLines} from './specs.js';

interface EngineError {
  readonly statusCode?: number;
  readonly json?: {readonly message?: string};
  readonly message?: string;
}

const status = (err: unknown): number | undefined => (err as EngineError)?.statusCode;

function engineError(what: string, err: unknown): ProviderError {
  const e = err as EngineError;
  const detail = e?.json?.message ?? e?.message ?? String(err);
  return new ProviderError(`docker: ${what}: ${detail}`, {
    cause: err,
    retryable: status(err) === undefined || (status(err) ?? 0) >= 500,
    actions: ['check that the Docker engine runs (docker info)'],
  });
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new InterruptedError('interrupted', {cause: signal.reason});
}

export interface ExecOptions {
  readonly user?: string;
  readonly env?: readonly string[];
  readonly workingDir?: string;
}

export interface ExecResult {
  readonly exitCode: number;
  /** Captured stdout ('' when io.stdout was given). */
  readonly stdout: string;
  /** Captured stderr (also when io.stderr was given: the last 64 kB). */
  readonly stderr: string;
}


export class DockerEngine {
  constructor(readonly docker: Docker) {}

  async ping(): Promise<void> {
    try {
      await this.docker.ping();
    } catch (err) {
      throw engineError('the engine does not answer', err);
    }
  }

  async imageExists(image: string): Promise<boolean> {
    try {
      await this.docker.getImage(image).inspect();
      return true;
    } catch (err) {
      if (status(err) === 404) return false;
      throw engineError(`inspect image ${image}`, err);
    }
  }

  async requireImage(image: string): Promise<void> {
    if (await this.imageExists(image)) return;
    throw new ProviderError(`docker: image ${image} is not on this engine`, {
      actions: [`docker pull ${image}`, 'or set the image in odoo-sh-next.config.yaml (odoo.image, postgres.image, router.image)'],
    });
  }

  /** Containers (running or not) carrying every label given. */
  async findContainers(labels: Readonly<Record<string, string>>): Promise<Docker.ContainerInfo[]> {
    try {
      return await this.docker.listContainers({all: true, filters: labelFilter(labels)});
    } catch (err) {
      throw engineError('list containers', err);
    }
  }

  async inspect(id: string): Promise<Docker.ContainerInspectInfo | undefined> {
    try {
      return await this.docker.getContainer(id).inspect();
    } catch (err) {
      if (status(err) === 404) return undefined;
      throw engineError(`inspect container ${id}`, err);
    }
  }

  /** Creates a container; a name already taken gives undefined (someone else created it). */
  async create(opts: Docker.ContainerCreateOptions): Promise<string | undefined> {
    try {
      return (await this.docker.createContainer(opts)).id;
    } catch (err) {
      if (status(err) === 409) return undefined;
      if (status(err) === 404) throw new ProviderError(`docker: image ${opts.Image} is not on this engine`, {cause: err, actions: [`docker pull ${opts.Image}`]});
      throw engineError(`create container ${opts.name ?? opts.Image}`, err);
    }
  }

  async start(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).start();
    } catch (err) {
      if (status(err) === 304) return;
      throw engineError(`start container ${id}`, err);
    }
  }

  /** Stops a container (SIGTERM, SIGKILL after graceSeconds); false when it was not running or is gone. */
  async stop(id: string, graceSeconds: number): Promise<boolean> {
    try {
      await this.docker.getContainer(id).stop({t: graceSeconds});
      return true;
    } catch (err) {
      if (status(err) === 304 || status(err) === 404) return false;
      throw engineError(`stop container ${id}`, err);
    }
  }

  /** Removes a container (forced) and its anonymous volumes; false when it is gone already. */
  async remove(id: string): Promise<boolean> {
    try {
      await this.docker.getContainer(id).remove({force: true, v: true});
      return true;
    } catch (err) {
      if (status(err) === 404) return false;
      if (status(err) === 409 && /already in progress/.test((err as EngineError).json?.message ?? '')) return false;
      throw engineError(`remove container ${id}`, err);
    }
  }

  /** Waits for a container to end; its exit code. */
  async wait(id: string, signal?: AbortSignal): Promise<number> {
    const onAbort = () => void this.docker.getContainer(id).kill().catch(() => undefined);
    signal?.addEventListener('abort', onAbort, {once: true});
    try {
      const res = (await this.docker.getContainer(id).wait()) as {StatusCode: number};
      return res.StatusCode;
    } catch (err) {
      throw engineError(`wait for container ${id}`, err);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Puts one file into a container (created or running) at dir/name. */
  async putFile(id: string, dir: string, name: string, content: string, mode = 0o644): Promise<void> {
    try {
      await this.docker.getContainer(id).putArchive(singleFileTar(name, content, {mode}), {path: dir});
    } catch (err) {
      throw engineError(`copy ${name} into container ${id}`, err);
    }
  }

  /** A tar stream of a path in a container; undefined when the path does not exist. */
  async getArchive(id: string, path: string): Promise<Readable | undefined> {
    try {
      return (await this.docker.getContainer(id).getArchive({path})) as Readable;
    } catch (err) {
      if (status(err) === 404) return undefined;
      throw engineError(`read ${path} from container ${id}`, err);
    }
  }

  /** Extracts a tar stream into an existing folder of a container. */
  async putArchive(id: string, path: string, tar: Readable): Promise<void> {
    try {
      const res = (await this.docker.getContainer(id).putArchive(tar, {path})) as unknown;
      if (res && typeof (res as Readable).resume === 'function') (res as Readable).resume();
    } catch (err) {
      throw engineError(`extract an archive into ${path} of container ${id}`, err);
    }
  }

  /**
   * Runs argv in a running container. stdin is piped in (and closed at its end), stdout/stderr
   * demultiplexed into io's streams (io.stdout is ended when the output ends) or captured.
   */
  async exec(id: string, argv: readonly string[], opts: ExecOptions, io: ToolIo, signal: AbortSignal): Promise<ExecResult> {
    throwIfAborted(signal);
    let exec: Docker.Exec;
    try {
      exec = await this.docker.getContainer(id).exec({
        Cmd: [...argv],
        AttachStdin: Boolean(io.stdin),
        AttachStdout: true,
        AttachStderr: true,
        ...(opts.user ? {User: opts.user} : {}),
        ...(opts.env ? {Env: [...opts.env]} : {}),
        ...(opts.workingDir ? {WorkingDir: opts.workingDir} : {}),
      });
    } catch (err) {
      if (status(err) === 409) throw new ProviderError(`docker: container ${id} is not running`, {cause: err});
      throw engineError(`exec in container ${id}`, err);
    }
    const stream = (await exec.start({hijack: true, stdin: Boolean(io.stdin)})) as unknown as NodeJS.ReadWriteStream & {destroy(err?: Error): void};
    const outCap = capture();
    const errCap = capture(64 * 1024);
    const demux = new Demuxer({stdout: [io.stdout ?? outCap.sink], stderr: [errCap.sink, ...(io.stderr ? [io.stderr] : [])]});
    const onAbort = () => stream.destroy(new InterruptedError('interrupted', {cause: signal.reason}));
    signal.addEventListener('abort', onAbort, {once: true});
    try {
      const ended = new Promise<void>((resolve, reject) => {
        demux.on('finish', resolve);
        demux.on('error', reject);
        stream.on('error', reject);
      });
      (stream as NodeJS.ReadableStream).pipe(demux);
      if (io.stdin) {
        const stdin = io.stdin;
        stdin.on('error', (e) => stream.destroy(e));
        stdin.pipe(stream as unknown as Writable);
      }
      await ended;
      throwIfAborted(signal);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    // The exec's exit code appears shortly after its streams close.
    let exitCode: number | null = null;
    for (let i = 0; i < 100; i++) {
      const info = await exec.inspect();
      if (!info.Running && info.ExitCode !== null) {
        exitCode = info.ExitCode;
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    if (io.stdout) await new Promise<void>((resolve) => io.stdout!.end(resolve));
    return {exitCode: exitCode ?? 1, stdout: outCap.text(), stderr: errCap.text()};
  }

  /** The last n lines of a container's output (stdout and stderr merged in order). */
  async logTail(id: string, n: number): Promise<string[]> {
    try {
      const buf = (await this.docker.getContainer(id).logs({stdout: true, stderr: true, tail: n, follow: false})) as unknown as Buffer;
      const {stdout, stderr} = demuxBuffer(Buffer.isBuffer(buf) ? buf : Buffer.from(String(buf)));
      return textLines(stdout.toString('utf8') + stderr.toString('utf8')).slice(-n);
    } catch (err) {
      if (status(err) === 404) return [];
      throw engineError(`logs of container ${id}`, err);
    }
  }

  /** A container's output line by line: the last `tail` lines, then, with follow, new lines until it stops or signal fires. */
  async *logLines(id: string, opts: {readonly tail?: number; readonly follow?: boolean}, signal: AbortSignal): AsyncGenerator<string> {
    if (!opts.follow) {
      for (const line of await this.logTail(id, opts.tail ?? Number.MAX_SAFE_INTEGER)) yield line;
      return;
    }
    let stream: NodeJS.ReadableStream;
    try {
      stream = (await this.docker.getContainer(id).logs({
        stdout: true, stderr: true, follow: true, ...(opts.tail === undefined ? {} : {tail: opts.tail}),
      })) as NodeJS.ReadableStream;
    } catch (err) {
      throw engineError(`logs of container ${id}`, err);
    }
    const lines = new PassThrough();
    this.docker.modem.demuxStream(stream, lines, lines);
    stream.on('end', () => lines.end());
    stream.on('close', () => lines.end());
    const onAbort = () => {
      (stream as unknown as {destroy(): void}).destroy();
      lines.end();
    };
    signal.addEventListener('abort', onAbort, {once: true});
    let partial = '';
    try {
      for await (const chunk of lines) {
        const parts = (partial + (chunk as Buffer).toString('utf8')).split('\n');
        partial = parts.pop() ?? '';
        for (const p of parts) yield p.replace(/\r$/, '');
      }
      if (partial) yield partial;
    } finally {
      signal.removeEventListener('abort', onAbort);
      (stream as unknown as {destroy(): void}).destroy();
    }
  }

  // ------------------------------------------------------------- volumes and networks

  async ensureVolume(spec: Docker.VolumeCreateOptions): Promise<void> {
    try {
      await this.docker.createVolume(spec);
    } catch (err) {
      throw engineError(`create volume ${String(spec.Name)}`, err);
    }
  }

  async volumeExists(name: string): Promise<boolean> {
    try {
      await this.docker.getVolume(name).inspect();
      return true;
    } catch (err) {
      if (status(err) === 404) return false;
      throw engineError(`inspect volume ${name}`, err);
    }
  }

  async findVolumes(labels: Readonly<Record<string, string>>): Promise<{Name: string; Labels: Record<string, string>}[]> {
    try {
      const res = await this.docker.listVolumes({filters: labelFilter(labels)});
      return (res.Volumes ?? []).map((v) => ({Name: v.Name, Labels: v.Labels ?? {}}));
    } catch (err) {
      throw engineError('list volumes', err);
    }
  }

  async removeVolume(name: string): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.docker.getVolume(name).remove();
        return true;
      } catch (err) {
        if (status(err) === 404) return false;
        // In use by a container being removed (AutoRemove helpers): try again shortly.
        if (status(err) === 409 && attempt < 25) {
          await new Promise((r) => setTimeout(r, 200));
          continue;
        }
        throw engineError(`remove volume ${name}`, err);
      }
    }
  }

  async ensureNetwork(spec: Docker.NetworkCreateOptions): Promise<void> {
    const existing = await this.findNetworks({'odoo-sh.managed': 'true'}).then((ns) => ns.some((n) => n.Name === spec.Name));
    if (existing) return;
    try {
      await this.docker.createNetwork(spec);
    } catch (err) {
      if (status(err) === 409) return;
      throw engineError(`create network ${spec.Name}`, err);
    }
  }

  async findNetworks(labels: Readonly<Record<string, string>>): Promise<{Id: string; Name: string}[]> {
    try {
      return (await this.docker.listNetworks({filters: labelFilter(labels)})).map((n) => ({Id: n.Id, Name: n.Name}));
    } catch (err) {
      throw engineError('list networks', err);
    }
  }

  async removeNetwork(id: string): Promise<boolean> {
    try {
      await this.docker.getNetwork(id).remove();
      return true;
    } catch (err) {
      if (status(err) === 404) return false;
      throw engineError(`remove network ${id}`, err);
    }
  }

  /** Streams a tar out of a container into sink (ended afterwards). */
  async archiveTo(id: string, path: string, sink: Writable, empty: Buffer): Promise<void> {
    const tar = await this.getArchive(id, path);
    if (!tar) {
      sink.end(empty);
      return;
    }
    await pipeline(tar, sink);
  }
}
