/**
 * The doctor's checks: the state database, the PostgreSQL binaries, a Docker engine when the
 * provider needs one, and the provider's own settings. Every probe of the outside world is an
 * injectable (DoctorProbes) so the checks are tested without the real machine.
 */
import {constants} from 'node:fs';
import {access, stat} from 'node:fs/promises';
import type pg from 'pg';
import {migrationStatus, type MigrationStatus} from '../store/migrate.js';
import {query} from '../store/pool.js';
import {findPgBinDir, pgBinaryVersion} from '../../providers/local/pg-binaries.js';
import {pingDocker, type DockerPing} from './docker-ping.js';
import {check, MIN_STATE_SERVER_VERSION_NUM, pgVersionMatches, type CheckResult} from './doctor-report.js';

/** The parts of the project configuration the doctor reads (OdooShConfig satisfies it). */
export interface DoctorConfig {
  readonly odoo: {readonly bin?: string | undefined; readonly image?: string | undefined; readonly version?: string | undefined};
  readonly provider: {
    readonly name: string;
    readonly docker?: {readonly socketPath?: string | undefined; readonly network?: string | undefined} | undefined;
    readonly ssh?: {readonly host: string; readonly user?: string | undefined; readonly port?: number | undefined; readonly identityFile?: string | undefined} | undefined;
    readonly k8s?: {readonly context?: string | undefined; readonly namespace?: string | undefined} | undefined;
  };
  readonly postgres: {readonly binDir?: string | undefined; readonly version?: string | undefined};
  readonly state: {readonly url?: unknown};
}

export type FileProbe = 'ok' | 'missing' | 'not-a-file' | 'not-executable';

export interface DoctorProbes {
  stateDb(): Promise<{readonly versionNum: number; readonly version: string; readonly migration: MigrationStatus}>;
  findPgBinDir(configured: string | undefined): Promise<string>;
  pgVersion(binDir: string): Promise<string>;
  dockerPing(socketPath: string): Promise<DockerPing>;
  executable(path: string): Promise<FileProbe>;
}

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

export function realProbes(pool: pg.Pool): DoctorProbes {
  return {
    async stateDb() {
      const {rows} = await query<{num: string; version: string}>(
        pool,
        `select current_setting('server_version_num') as num, current_setting('server_version') as version`,
      );
      return {versionNum: Number(rows[0]?.num ?? 0), version: rows[0]?.version ?? 'unknown', migration: await migrationStatus(pool)};
    },
    findPgBinDir: (configured) => findPgBinDir(configured),
    pgVersion: (binDir) => pgBinaryVersion(binDir),
    dockerPing: (socketPath) => pingDocker(socketPath),
    async executable(path) {
      try {
        if (!(await stat(path)).isFile()) return 'not-a-file';
      } catch {
        return 'missing';
      }
      try {
        await access(path, constants.X_OK);
        return 'ok';
      } catch {
        return 'not-executable';
      }
    },
  };
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));
const actionsOf = (err: unknown) => [...((err as {actions?: readonly string[]})?.actions ?? [])];

export async function checkStateDb(probes: DoctorProbes): Promise<CheckResult> {
  try {
    const db = await probes.stateDb();
    const m = db.migration;
    const level = `migration ${m.current} of ${m.latest}`;
    if (db.versionNum < MIN_STATE_SERVER_VERSION_NUM) {
      return check('state-db', 'fail', `PostgreSQL ${db.version} is too old: the state store needs 13 or newer`, ['point state.url at a PostgreSQL 13+ server']);
    }
    if (m.unknown.length) {
      return check('state-db', 'fail', `PostgreSQL ${db.version}, migrated by a newer release (${m.unknown.join(', ')})`, ['upgrade odoo-sh-next']);
    }
    if (m.pending.length) {
      return check('state-db', 'fail', `PostgreSQL ${db.version}, ${level} (pending: ${m.pending.join(', ')})`, ['run `odoo-sh-next state migrate`']);
    }
    return check('state-db', 'ok', `PostgreSQL ${db.version}, ${level}`);
  } catch (err) {
    return check('state-db', 'fail', `cannot use the state database: ${message(err)}`, actionsOf(err));
  }
}

export async function checkPgBinaries(config: DoctorConfig, probes: DoctorProbes): Promise<CheckResult> {
  // The local provider runs PostgreSQL itself, and without state.url the state store is the
  // project's own cluster: then the server binaries are required. Otherwise they are optional.
  const needed = config.provider.name === 'local' || !config.state.url;
  try {
    const dir = await probes.findPgBinDir(config.postgres.binDir);
    const version = await probes.pgVersion(dir);
    if (!pgVersionMatches(version, config.postgres.version)) {
      return check('postgres-binaries', 'warn', `PostgreSQL ${version} in ${dir}, but postgres.version is ${config.postgres.version}`, [
        `install PostgreSQL ${config.postgres.version} or point postgres.binDir at it`,
      ]);
    }
    return check('postgres-binaries', 'ok', `PostgreSQL ${version} in ${dir}`);
  } catch (err) {
    const why = needed ? `required by provider ${config.provider.name}${config.state.url ? '' : ' and the local state store'}` : 'optional here';
    return check('postgres-binaries', needed ? 'fail' : 'warn', `${message(err)} (${why})`, actionsOf(err));
  }
}

/** Whether the provider runs environments on a Docker engine. */
export function usesDocker(providerName: string): boolean {
  return providerName === 'docker-local' || providerName === 'ssh-host';
}

/** Undefined when the provider does not use a Docker engine. */
export async function checkDocker(config: DoctorConfig, probes: DoctorProbes): Promise<CheckResult | undefined> {
  const name = config.provider.name;
  if (!usesDocker(name)) return undefined;
  const socket = config.provider.docker?.socketPath ?? DEFAULT_DOCKER_SOCKET;
  const ping = await probes.dockerPing(socket);
  if (ping.ok) {
    return check('docker', 'ok', `Docker engine answers on ${socket}${ping.apiVersion ? ` (API ${ping.apiVersion})` : ''}`);
  }
  if (name === 'ssh-host') {
    return check('docker', 'warn', `no local Docker engine on ${socket} (${ping.error}); ssh-host uses the engine of ${config.provider.ssh?.host ?? 'the remote host'} over SSH`);
  }
  return check('docker', 'fail', `no Docker engine on ${socket}: ${ping.error}`, [
    'start Docker (e.g. `systemctl start docker`) and make sure this user may use its socket',
    'or set provider.docker.socketPath in odoo-sh-next.config.yaml',
  ]);
}

export async function checkProvider(config: DoctorConfig, probes: DoctorProbes): Promise<CheckResult> {
  const p = config.provider;
  switch (p.name) {
    case 'local': {
      const bin = config.odoo.bin;
      if (!bin) {
        return check('provider', 'fail', 'local: odoo.bin is not set', ['set odoo.bin in odoo-sh-next.config.yaml to your odoo-bin (or an executable taking Odoo server flags)']);
      }
      const found = await probes.executable(bin);
      if (found === 'ok') return check('provider', 'ok', `local: odoo.bin ${bin} is executable`);
      const why = {missing: 'does not exist', 'not-a-file': 'is not a file', 'not-executable': 'is not executable'}[found];
      return check('provider', 'fail', `local: odoo.bin ${bin} ${why}`, [
        found === 'not-executable' ? `chmod +x ${bin}` : 'fix odoo.bin in odoo-sh-next.config.yaml',
      ]);
    }
    case 'docker-local':
      return check('provider', 'ok', `docker-local: image ${config.odoo.image ?? '(default)'}, network ${p.docker?.network ?? 'bridge'}`);
    case 'ssh-host': {
      const ssh = p.ssh;
      if (!ssh) return check('provider', 'fail', 'ssh-host: provider.ssh is not set', ['set provider.ssh.host in odoo-sh-next.config.yaml']);
      const target = `${ssh.user ? `${ssh.user}@` : ''}${ssh.host}:${ssh.port ?? 22}`;
      return check('provider', 'ok', `ssh-host: ${target}${ssh.identityFile ? `, identity ${ssh.identityFile}` : ''}, image ${config.odoo.image ?? '(default)'}`);
    }
    case 'k8s':
      return check('provider', 'ok', `k8s: context ${p.k8s?.context ?? '(current)'}, namespace ${p.k8s?.namespace ?? '(default)'}`);
    default:
      return check('provider', 'fail', `unknown provider "${p.name}"`, ['use local, docker-local, ssh-host or k8s']);
  }
}
