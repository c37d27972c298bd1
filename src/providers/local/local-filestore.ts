/**
 * Filestores of the local provider: folders <env data_dir>/filestore/<database>, archived and
 * restored as tar streams with the system `tar` (argv only, never a shell).
 */
import {randomBytes} from 'node:crypto';
import {existsSync} from 'node:fs';
import {cp, mkdir, rename, rm} from 'node:fs/promises';
import {dirname, join} from 'node:path';
import type {Readable, Writable} from 'node:stream';
import {InterruptedError} from '../../core/errors.js';
import {validateDatabaseName} from '../../core/odoo/database-name.js';
import type {FilestoreOps, FilestoreTarget} from '../provider.js';
import type {LocalLayout} from './layout.js';
import {cleanEnv, runChecked} from './run-process.js';

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new InterruptedError('interrupted', {cause: signal.reason});
}

const tarEnv = () => cleanEnv({LC_ALL: 'C'});

/**
 * Fills the empty folder `to` with the tree of `from`, the cheapest way the file system allows:
 * reflinks (copy-on-write clones: btrfs, XFS), else hard links (same file system), else a copy.
 * Hard links are safe for filestores because Odoo never rewrites a stored file: a file is named by
 * the sha1 of its content, written once, and only ever unlinked (garbage collection, masking),
 * which leaves the other tree's link alone. Anything that must change a filestore file in place
 * has to write a new file and rename it over the old name.
 */
async function copyTree(from: string, to: string, signal: AbortSignal): Promise<void> {
  for (const flags of [['-a', '--reflink=always'], ['-a', '--link']]) {
    try {
      await runChecked('cp', [...flags, '--', `${from}/.`, to], {env: tarEnv(), signal, label: `cp ${flags.join(' ')}`});
      return;
    } catch (err) {
      throwIfAborted(signal);
      if (err instanceof InterruptedError) throw err;
      // Not supported here (or not GNU cp): start again from an empty folder.
      await rm(to, {recursive: true, force: true});
      await mkdir(to, {recursive: true, mode: 0o700});
    }
  }
  await cp(from, to, {recursive: true, force: true, preserveTimestamps: true});
}

export class LocalFilestore implements FilestoreOps {
  constructor(private readonly layout: LocalLayout) {}

  /** The filestore folder of a target. */
  dir(target: FilestoreTarget): string {
    return this.layout.filestoreDir(this.layout.dataDir(target.env), validateDatabaseName(target.database));
  }

  location(target: FilestoreTarget): {readonly path: string} {
    return {path: this.dir(target)};
  }

  async archive(target: FilestoreTarget, sink: Writable, signal: AbortSignal): Promise<void> {
    throwIfAborted(signal);
    const dir = this.dir(target);
    const argv = existsSync(dir)
      ? ['--create', '--file=-', '--format=posix', '--numeric-owner', '--directory', dir, '.']
      : ['--create', '--file=-', '--format=posix', '--files-from', '/dev/null'];
    await runChecked('tar', argv, {env: tarEnv(), io: {stdout: sink}, signal, label: 'tar (archive filestore)'});
  }

  async restore(target: FilestoreTarget, source: Readable, signal: AbortSignal): Promise<void> {
    throwIfAborted(signal);
    const dir = this.dir(target);
    const staging = await this.#staging(dir);
    try {
      await runChecked('tar', ['--extract', '--file=-', '--no-same-owner', '--no-same-permissions', '--directory', staging], {
        env: tarEnv(),
        io: {stdin: source},
        signal,
        label: 'tar (restore filestore)',
      });
      await this.#swap(staging, dir);
    } finally {
      await rm(staging, {recursive: true, force: true});
    }
  }

  async copy(from: FilestoreTarget | {readonly path: string}, to: FilestoreTarget, signal: AbortSignal): Promise<void> {
    throwIfAborted(signal);
    const source = 'path' in from ? from.path : this.dir(from);
    const dir = this.dir(to);
    if (source === dir) return;
    const staging = await this.#staging(dir);
    try {
      if (existsSync(source)) await copyTree(source, staging, signal);
      throwIfAborted(signal);
      await this.#swap(staging, dir);
    } finally {
      await rm(staging, {recursive: true, force: true});
    }
  }

  async remove(target: FilestoreTarget, signal: AbortSignal): Promise<{readonly removed: boolean}> {
    throwIfAborted(signal);
    const dir = this.dir(target);
    if (!existsSync(dir)) return {removed: false};
    await rm(dir, {recursive: true, force: true});
    return {removed: true};
  }

  /** An empty folder next to dir (same file system, so the swap is a rename). */
  async #staging(dir: string): Promise<string> {
    const staging = join(dirname(dir), `.incoming-${randomBytes(6).toString('hex')}`);
    await mkdir(staging, {recursive: true, mode: 0o700});
    return staging;
  }

  /** Replaces dir with staging: the old tree is moved aside, then deleted. */
  async #swap(staging: string, dir: string): Promise<void> {
    const old = `${dir}.old-${randomBytes(6).toString('hex')}`;
    const hadOld = existsSync(dir);
    if (hadOld) await rename(dir, old);
    await rename(staging, dir);
    if (hadOld) await rm(old, {recursive: true, force: true});
  }
}
