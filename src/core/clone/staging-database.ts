/**
 * The database side of a staging build, through the provider's DatabaseHandle only: how many
 * sessions use the source, the copy itself (template copy, or pg_dump + pg_restore of a live
 * source), listing an environment's build databases, and pointing web.base.url at the routed URL.
 */
import {mkdir, rm} from 'node:fs/promises';
import {dirname} from 'node:path';
import {PassThrough} from 'node:stream';
import {ConflictError, InternalError, InterruptedError} from '../errors.js';
import {withHandleDatabase} from '../neutralize/env-database.js';
import type {DatabaseHandle} from '../../providers/provider.js';
import {dumpArgv, restoreArgv, type DumpRestoreMode} from './clone-plan.js';

/** Sessions connected to `database`, ours excluded. */
export async function sourceConnections(handle: DatabaseHandle, database: string, signal: AbortSignal): Promise<number> {
  return withHandleDatabase(handle, 'postgres', signal, async (c) => {
    const {rows} = await c.query<{n: number}>(
      'select count(*)::int as n from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [database]);
    return rows[0]?.n ?? 0;
  });
}

/** Databases of the server whose name matches `pattern`. */
export async function matchingDatabases(handle: DatabaseHandle, pattern: RegExp, signal: AbortSignal): Promise<string[]> {
  return withHandleDatabase(handle, 'postgres', signal, async (c) => {
    const {rows} = await c.query<{datname: string}>('select datname from pg_database order by datname');
    return rows.map((r) => r.datname).filter((n) => pattern.test(n));
  });
}

/**
 * CREATE DATABASE target TEMPLATE source. False when somebody connected to the source in the
 * meantime (PostgreSQL refuses then): the caller falls back to dump + restore.
 */
export async function copyByTemplate(handle: DatabaseHandle, source: string, target: string, signal: AbortSignal): Promise<boolean> {
  try {
    const {created} = await handle.createDatabase(target, {template: source}, signal);
    if (!created) throw new InternalError(`database ${target} already exists`);
    return true;
  } catch (err) {
    // createDatabase reports an existing target as created: false, so a conflict here is a busy source.
    if (err instanceof ConflictError) return false;
    throw err;
  }
}

export interface DatabaseRef {
  readonly handle: DatabaseHandle;
  readonly database: string;
}

/**
 * A consistent snapshot of a live database in directory format: pg_dump reads one REPEATABLE READ
 * snapshot (its parallel workers share it) and holds only ACCESS SHARE locks, so the source keeps
 * serving and none of its sessions is touched. `dir` must not exist yet.
 */
export async function dumpToDirectory(source: DatabaseRef, mode: DumpRestoreMode, dir: string, signal: AbortSignal): Promise<void> {
  await mkdir(dirname(dir), {recursive: true, mode: 0o700});
  await rm(dir, {recursive: true, force: true});
  await source.handle.runTool('pg_dump', dumpArgv(mode, source.database, dir), {}, signal);
}

/** Creates the target (owned by the handle's owner role) and restores a directory dump into it with parallel jobs. */
export async function restoreFromDirectory(
  target: DatabaseRef, opts: {readonly mode: DumpRestoreMode; readonly dir: string; readonly sourceOwner: string}, signal: AbortSignal,
): Promise<void> {
  await createEmpty(target, signal);
  const keepOwners = opts.sourceOwner === target.handle.ownerRole;
  await target.handle.runTool('pg_restore', restoreArgv(opts.mode, target.database, {keepOwners, ownerRole: target.handle.ownerRole, dir: opts.dir}), {}, signal);
}

/**
 * The same through one stream (pg_dump custom format piped into pg_restore: one restore job), for
 * tools that cannot see a folder of ours. When either side fails the other is stopped.
 */
export async function copyByStream(source: DatabaseRef, target: DatabaseRef, signal: AbortSignal): Promise<void> {
  const mode: DumpRestoreMode = {kind: 'stream'};
  await createEmpty(target, signal);
  const keepOwners = source.handle.ownerRole === target.handle.ownerRole;
  const ac = new AbortController();
  const both = AbortSignal.any([signal, ac.signal]);
  const pipe = new PassThrough({highWaterMark: 1 << 20});
  const stopOther = (err: unknown): never => {
    if (!ac.signal.aborted) ac.abort(err);
    pipe.destroy();
    throw err;
  };
  const dump = source.handle.runTool('pg_dump', dumpArgv(mode, source.database), {stdout: pipe}, both).catch(stopOther);
  const restore = target.handle.runTool('pg_restore', restoreArgv(mode, target.database, {keepOwners, ownerRole: target.handle.ownerRole}), {stdin: pipe}, both)
    .catch(stopOther);
  const results = await Promise.allSettled([dump, restore]);
  if (signal.aborted) throw new InterruptedError('interrupted while copying the database', {cause: signal.reason});
  // The first failure is the cause; the other side only saw its partner go away.
  if (ac.signal.aborted) throw ac.signal.reason;
  for (const r of results) if (r.status === 'rejected') throw r.reason;
}

async function createEmpty(target: DatabaseRef, signal: AbortSignal): Promise<void> {
  const {created} = await target.handle.createDatabase(target.database, {}, signal);
  if (!created) throw new ConflictError(`database ${target.database} already exists`);
}

/**
 * Points web.base.url at the environment's URL (frozen, so an admin login does not rewrite it).
 * Used when the routed URL is known only once the release runs (providers without a router).
 */
export async function setBaseUrl(handle: DatabaseHandle, database: string, url: string, signal: AbortSignal): Promise<void> {
  await withHandleDatabase(handle, database, signal, async (c) => {
    for (const [key, value] of [['web.base.url', url.replace(/\/+$/, '')], ['web.base.url.freeze', 'True']] as const) {
      await c.query(
        'insert into ir_config_parameter (key, value) values ($1, $2) on conflict (key) do update set value = excluded.value', [key, value]);
    }
  });
}
