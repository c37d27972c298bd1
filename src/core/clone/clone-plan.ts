/**
 * Cloning production into a staging environment: the decisions, as pure functions.
 *
 * - Database names of builds: `<project>_<env>__b<run id>` (`_<attempt>` appended on a retry of the
 *   same run), so every build gets a fresh database that is never reused. The `__` cannot come out
 *   of databaseName() (it collapses runs of non-alphanumerics into one `_`), and build names are at
 *   most 62 bytes while databaseName's hashed names are exactly 63: the two never meet. Long
 *   `<project>_<env>` parts become their first 26 characters + `__` + 8 hex of sha256(project, env),
 *   so the prefix of an environment's builds is fixed whatever the run id's length, and
 *   cloneDatabasePattern() finds every build of one environment and nothing else.
 * - The copy strategy (planClone): `template` (CREATE DATABASE … TEMPLATE, a file-level copy: the
 *   fastest, but PostgreSQL refuses it while anyone is connected to the source — a session that
 *   arrives meanwhile makes the build fall back to dump + restore — and new sessions of the source
 *   wait until the copy ends; Odoo's own way around that, terminating the source's connections,
 *   would cut a live production, so an idle or stopped production is the only case), `backup`
 *   (the newest backup when younger than a configured age: no load on production at all), else
 *   `dump-restore` of a consistent snapshot (pg_dump runs in one REPEATABLE READ snapshot, shared by
 *   its parallel workers) taken while production keeps serving.
 * - How to dump and restore (dumpRestoreMode): measured on 2 cores with a 417 MB Odoo-like database
 *   (fsync on), `pg_dump -Fd -j2 -Z0` to a scratch folder then `pg_restore -j2` took 7.8-10.9 s,
 *   `pg_dump -Fc -Z0 | pg_restore` (a pipe allows one restore job) 10-14 s, and a plain SQL pipe into
 *   psql 11.8-12.2 s (template copy: 0.9-1.6 s). Restoring is the long part and its index builds
 *   are what parallelises, so the directory format wins whenever the tools can see a scratch folder
 *   of ours; otherwise (tools running elsewhere) the stream is the way.
 */
import {createHash} from 'node:crypto';
import {InternalError, NotFoundError, UsageError} from '../errors.js';
import type {Environment} from '../environments/environment-record.js';

/** Longest build database name: one below databaseName()'s hashed names (63). */
export const MAX_CLONE_DATABASE_NAME = 62;
/** Longest prefix (`<project>_<env>` part) used as is. */
export const CLONE_PREFIX_MAX = 36;
const LONG_PREFIX_KEEP = 26;

export const CLONE_RUN_TYPE = 'clone';

/** The payload of a clone run (the run's env is the staging environment). */
export interface ClonePayload {
  /** The environment copied (production). */
  readonly source: string;
}

/** The source of a clone: a production environment that is up, with a database. Pure. */
export function requireCloneSource(source: Environment | undefined, name: string): Environment & {readonly databaseName: string} {
  if (!source || source.type !== 'production') {
    throw new NotFoundError(`no production environment "${name}" to clone: bring production up first`, {
      data: {env: name}, actions: ['odoo-sh-next env list', 'deploy production first, then clone it'],
    });
  }
  if (!source.databaseName || source.status !== 'active') {
    throw new NotFoundError(`production environment "${name}" has no running database (status ${source.status}): bring production up first`, {
      data: {env: name, status: source.status},
    });
  }
  return source as Environment & {readonly databaseName: string};
}

const RUN_ID_RE = /^[1-9][0-9]{0,18}$/;

/** The fixed part of an environment's build database names (see the module comment). */
export function cloneDatabasePrefix(project: string, env: string): string {
  if (project.length === 0 || env.length === 0) throw new UsageError('project and environment names must not be empty');
  const plain = `${project}_${env}`.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '');
  if (plain.length > 0 && plain.length <= CLONE_PREFIX_MAX) return plain;
  const hash = createHash('sha256').update(`${project}\0${env}`, 'utf8').digest('hex').slice(0, 8);
  return `${plain.slice(0, LONG_PREFIX_KEEP).replace(/_+$/, '')}__${hash}`;
}

/** The database of one build: `<prefix>__b<runId>`, plus `_<attempt>` from the second attempt on. */
export function cloneDatabaseName(project: string, env: string, runId: string, attempt = 1): string {
  if (!RUN_ID_RE.test(runId)) throw new UsageError(`invalid run id ${JSON.stringify(runId)}`);
  if (!Number.isInteger(attempt) || attempt < 1 || attempt > 999) throw new UsageError(`invalid attempt ${attempt}`);
  const name = `${cloneDatabasePrefix(project, env)}__b${runId}${attempt > 1 ? `_${attempt}` : ''}`;
  if (Buffer.byteLength(name) > MAX_CLONE_DATABASE_NAME) throw new InternalError(`clone database name ${name} is too long`);
  return name;
}

/** Matches the build databases of exactly one environment. */
export function cloneDatabasePattern(project: string, env: string): RegExp {
  return new RegExp(`^${cloneDatabasePrefix(project, env)}__b[0-9]+(_[0-9]+)?$`);
}

export type CloneStrategy = 'template' | 'dump-restore' | 'backup';

export interface ClonePlanInput {
  /** Sessions connected to the source database (besides ours). */
  readonly sourceConnections: number;
  /** Source and target databases live on the same PostgreSQL server. */
  readonly sameServer: boolean;
  /** Age of the newest usable backup of the source, when there is one. */
  readonly backupAgeMs?: number | undefined;
  /** Use a backup younger than this instead of dumping the live source (unset: never). */
  readonly backupMaxAgeMs?: number | undefined;
}

export interface ClonePlan {
  readonly strategy: CloneStrategy;
  readonly reason: string;
}

/** Which way to copy the source database. Pure. */
export function planClone(input: ClonePlanInput): ClonePlan {
  if (!Number.isInteger(input.sourceConnections) || input.sourceConnections < 0) {
    throw new UsageError(`invalid connection count ${input.sourceConnections}`);
  }
  if (input.sameServer && input.sourceConnections === 0) {
    return {strategy: 'template', reason: 'nobody is connected to the source: file-level template copy'};
  }
  const {backupAgeMs: age, backupMaxAgeMs: max} = input;
  if (age !== undefined && max !== undefined && age >= 0 && age <= max) {
    return {strategy: 'backup', reason: `the newest backup is ${Math.round(age / 60_000)} min old (limit ${Math.round(max / 60_000)} min)`};
  }
  const why = input.sameServer ? `${input.sourceConnections} session(s) connected to the source` : 'source on another server';
  return {strategy: 'dump-restore', reason: `${why}: dump a consistent snapshot and restore it (the source keeps serving)`};
}

export type DumpRestoreMode =
  | {readonly kind: 'directory'; readonly jobs: number}
  | {readonly kind: 'stream'};

/** Directory format with parallel jobs when the tools see our scratch folder, else a stream. Pure. */
export function dumpRestoreMode(input: {readonly toolsSeeScratch: boolean; readonly cpus: number}): DumpRestoreMode {
  if (!input.toolsSeeScratch) return {kind: 'stream'};
  return {kind: 'directory', jobs: Math.max(1, Math.min(4, Math.floor(input.cpus) || 1))};
}

/** pg_dump arguments (the source is only read: no lock beyond ACCESS SHARE, connections untouched). Pure. */
export function dumpArgv(mode: DumpRestoreMode, source: string, dir?: string): string[] {
  const common = ['--compress=0', '--no-sync', `--dbname=${source}`];
  if (mode.kind === 'stream') return ['--format=custom', ...common];
  if (dir === undefined) throw new InternalError('a directory dump needs a folder');
  return ['--format=directory', `--jobs=${mode.jobs}`, `--file=${dir}`, ...common];
}

/**
 * pg_restore arguments. Ownership is kept when the target's owner role is the source's (the same
 * server: tables stay owned by the Odoo role); otherwise objects are created as the target's role.
 * Pure.
 */
export function restoreArgv(mode: DumpRestoreMode, target: string, opts: {readonly keepOwners: boolean; readonly ownerRole: string; readonly dir?: string}): string[] {
  const owners = opts.keepOwners ? [] : ['--no-owner', `--role=${opts.ownerRole}`];
  const common = ['--exit-on-error', `--dbname=${target}`, ...owners];
  if (mode.kind === 'stream') return common;
  if (opts.dir === undefined) throw new InternalError('a directory restore needs a folder');
  return [`--jobs=${mode.jobs}`, ...common, opts.dir];
}
