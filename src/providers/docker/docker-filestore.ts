/**
 * Filestores of the docker-local provider: <volume osn-<project>-<env>-data>/filestore/<database>,
 * the Odoo container's /var/lib/odoo/filestore/<database>. Archives stream out of and into a
 * short-lived helper container (the Odoo image, root, no network) through the engine's archive
 * calls; replacements go through a staging folder and a rename, like the local provider.
 */
import {randomBytes} from 'node:crypto';
import {existsSync} from 'node:fs';
import {Readable, type Writable} from 'node:stream';
import {create as tarCreate} from 'tar';
import {InterruptedError, ProviderError} from '../../core/errors.js';
import {validateDatabaseName} from '../../core/odoo/database-name.js';
import {validateEnvName} from '../../core/env/env-name.js';
import type {FilestoreOps, FilestoreTarget} from '../provider.js';
import type {DockerEngine} from './engine.js';
import {EMPTY_TAR, ODOO_DATA_DIR, dataVolumeName, envLabels, helperContainerSpec, volumeSpec} from './specs.js';

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new InterruptedError('interrupted', {cause: signal.reason});
}

const filestoreDir = (database: string, root = ODOO_DATA_DIR) => `${root}/filestore/${validateDatabaseName(database)}`;

/** Replaces $1 with $2 (a staging folder), owned like the data folder. */
const SWAP = 'set -e; dir="$1"; staging="$2"; chown -R "$(stat -c %u:%g /var/lib/odoo)" "$staging"; '
  + 'old="$dir.old-$$"; if [ -e "$dir" ]; then mv "$dir" "$old"; fi; mv "$staging" "$dir"; rm -rf "$old"';

export class DockerFilestore implements FilestoreOps {
  constructor(private readonly deps: {readonly engine: DockerEngine; readonly project: string; readonly image: () => string}) {}

  location(target: FilestoreTarget): {readonly path?: string} {
    validateDatabaseName(target.database);
    return {};
  }

  async archive(target: FilestoreTarget, sink: Writable, signal: AbortSignal): Promise<void> {
    throwIfAborted(signal);
    const dir = filestoreDir(target.database);
    if (!(await this.deps.engine.volumeExists(dataVolumeName(this.deps.project, validateEnvName(target.env))))) {
      sink.end(EMPTY_TAR);
      return;
    }
    await this.#withHelper(target.env, [], false, async (id) => {
      await this.deps.engine.archiveTo(id, `${dir}/.`, sink, EMPTY_TAR);
    });
  }

  async restore(target: FilestoreTarget, source: Readable, signal: AbortSignal): Promise<void> {
    throwIfAborted(signal);
    const dir = filestoreDir(target.database);
    await this.#withHelper(target.env, [], true, async (id) => {
      const staging = await this.#staging(id, dir, signal);
      await this.deps.engine.putArchive(id, staging, source);
      throwIfAborted(signal);
      await this.#sh(id, SWAP, [dir, staging], signal);
    });
  }

  async copy(from: FilestoreTarget | {readonly path: string}, to: FilestoreTarget, signal: AbortSignal): Promise<void> {
    throwIfAborted(signal);
    const dir = filestoreDir(to.database);
    if ('path' in from) {
      const source: Readable = existsSync(from.path) ? (tarCreate({cwd: from.path, portable: true}, ['.']) as unknown as Readable) : Readable.from([EMPTY_TAR]);
      return this.restore(to, source, signal);
    }
    if (from.env === to.env && from.database === to.database) return;
    const sameEnv = from.env === to.env;
    const srcRoot = sameEnv ? ODOO_DATA_DIR : '/source';
    const sourceVolume = dataVolumeName(this.deps.project, validateEnvName(from.env));
    const sourceExists = await this.deps.engine.volumeExists(sourceVolume);
    const mounts = sameEnv || !sourceExists ? [] : [{Type: 'volume' as const, Source: sourceVolume, Target: '/source', ReadOnly: true}];
    await this.#withHelper(to.env, mounts, true, async (id) => {
      const staging = await this.#staging(id, dir, signal);
      if (sameEnv || sourceExists) {
        await this.#sh(id, 'if [ -d "$1" ]; then cp -a "$1/." "$2/"; fi', [filestoreDir(from.database, srcRoot), staging], signal);
      }
      await this.#sh(id, SWAP, [dir, staging], signal);
    });
  }

  async remove(target: FilestoreTarget, signal: AbortSignal): Promise<{readonly removed: boolean}> {
    throwIfAborted(signal);
    const dir = filestoreDir(target.database);
    if (!(await this.deps.engine.volumeExists(dataVolumeName(this.deps.project, validateEnvName(target.env))))) return {removed: false};
    let removed = false;
    await this.#withHelper(target.env, [], true, async (id) => {
      const out = await this.#sh(id, 'if [ -e "$1" ]; then rm -rf "$1"; echo removed; fi', [dir], signal);
      removed = out.includes('removed');
    });
    return {removed};
  }

  async #staging(id: string, dir: string, signal: AbortSignal): Promise<string> {
    const staging = `${dir}.incoming-${randomBytes(6).toString('hex')}`;
    await this.#sh(id, 'mkdir -p "$1"', [staging], signal);
    return staging;
  }

  async #sh(id: string, script: string, args: readonly string[], signal: AbortSignal): Promise<string> {
    const res = await this.deps.engine.exec(id, ['sh', '-c', script, 'sh', ...args], {user: '0'}, {}, signal);
    if (res.exitCode !== 0) {
      throw new ProviderError(`filestore helper failed (status ${res.exitCode}): ${res.stderr.trim().split('\n').slice(-5).join('\n')}`);
    }
    return res.stdout;
  }

  /** Runs fn with a helper container holding the env's data volume (created, labelled, if missing). */
  async #withHelper(
    env: string,
    mounts: {Type: 'volume'; Source: string; Target: string; ReadOnly: boolean}[],
    running: boolean,
    fn: (id: string) => Promise<void>,
  ): Promise<void> {
    const {engine, project} = this.deps;
    validateEnvName(env);
    const image = this.deps.image();
    await engine.requireImage(image);
    await engine.ensureVolume(volumeSpec(dataVolumeName(project, env), envLabels(project, env, 'data')));
    const spec = helperContainerSpec({project, env, image});
    spec.HostConfig = {...spec.HostConfig, Mounts: [...(spec.HostConfig?.Mounts ?? []), ...mounts]};
    const id = await engine.create(spec);
    if (!id) throw new ProviderError('docker: could not create the filestore helper container', {retryable: true});
    try {
      if (running) await engine.start(id);
      await fn(id);
    } finally {
      await engine.remove(id).catch(() => false);
    }
  }
}
