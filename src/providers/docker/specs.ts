/**
 * Pure builders of what the docker-local provider asks the engine for: resource names, labels,
 * container / volume / network create options, the Odoo config file it puts into a container, and
 * a one-file tar to put it there. No I/O (engine.ts does that).
 *
 * Names: `osn-<project>-postgres`, `osn-<project>-router`, `osn-<project>-<env>-<launchShort>`
 * (releases), volumes `osn-<project>-pgdata` and `osn-<project>-<env>-data` (the env's Odoo
 * data_dir: filestore/<db>, sessions), network `osn-<project>` (bridge mode only).
 */
import {createHash} from 'node:crypto';
import type Docker from 'dockerode';
import {renderOdooConfig} from '../../core/odoo/odoo-config.js';
import type {Secret} from '../../core/secret.js';
import {LABELS, ownershipLabels} from '../provider.js';
import {askUrlFor, buildFrontConfig} from '../router/caddy-config.js';

export type DockerNetworkMode = 'host' | 'bridge';

/** Labels beyond the ownership ones. */
export const DOCKER_LABELS = {
  role: 'odoo-sh.role',
  port: 'odoo-sh.port',
  database: 'odoo-sh.database',
  /** On the router: the front's mode (`http` or `tls:<https port>:<http port>`); another mode recreates the container. */
  front: 'odoo-sh.router-front',
} as const;

/** The router front's mode label value (see DOCKER_LABELS.front). */
export function routerFrontMode(tls: {readonly httpsPort: number; readonly publicHttpPort: number} | undefined): string {
  return tls ? `tls:${tls.httpsPort}:${tls.publicHttpPort}` : 'http';
}

export type ResourceRole = 'postgres' | 'router' | 'release' | 'job' | 'helper' | 'pgdata' | 'data' | 'network';

/** Inside Odoo containers: the env's data volume, the generated config. */
export const ODOO_DATA_DIR = '/var/lib/odoo';
export const ODOO_CONFIG_DIR = '/etc/odoo-sh';
export const ODOO_CONFIG_FILE = `${ODOO_CONFIG_DIR}/odoo.conf`;
/** Container port of Odoo and Postgres under bridge networking. */
export const ODOO_CONTAINER_PORT = 8069;
export const POSTGRES_CONTAINER_PORT = 5432;
export const ROUTER_CONFIG_FILE = `${ODOO_CONFIG_DIR}/caddy.json`;

export const prefix = (project: string): string => `osn-${project}`;
export const networkName = (project: string): string => prefix(project);
export const postgresContainerName = (project: string): string => `${prefix(project)}-postgres`;
export const routerContainerName = (project: string): string => `${prefix(project)}-router`;
export const postgresVolumeName = (project: string): string => `${prefix(project)}-pgdata`;
export const dataVolumeName = (project: string, env: string): string => `${prefix(project)}-${env}-data`;

/** A short, stable, name-safe form of a launch id (its head plus a hash when it is long). */
export function launchShort(launchId: string): string {
  const clean = launchId.toLowerCase().replace(/[^a-z0-9]/g, '');
  if (clean.length <= 12 && clean === launchId) return clean;
  return `${clean.slice(0, 8)}${createHash('sha256').update(launchId).digest('hex').slice(0, 6)}`;
}

export const releaseContainerName = (project: string, env: string, launchId: string): string => `${prefix(project)}-${env}-${launchShort(launchId)}`;

/** Labels of a project-wide resource (no env). */
export function projectLabels(project: string, role: ResourceRole): Record<string, string> {
  return {[LABELS.managed]: 'true', [LABELS.project]: project, [DOCKER_LABELS.role]: role};
}

/** Labels of an env's resource. */
export function envLabels(project: string, env: string, role: ResourceRole, extra: {release?: string; launchId?: string} = {}): Record<string, string> {
  return {...ownershipLabels({project, env, ...extra}), [DOCKER_LABELS.role]: role};
}

/** The engine's label filter (`label=k=v` for each pair). */
export function labelFilter(labels: Readonly<Record<string, string>>): {label: string[]} {
  return {label: Object.entries(labels).map(([k, v]) => `${k}=${v}`)};
}

/** True when labels carry the managed + project marks (teardown never touches anything else). */
export function ownedBy(labels: Readonly<Record<string, string>> | undefined, project: string): boolean {
  return labels?.[LABELS.managed] === 'true' && labels[LABELS.project] === project;
}

export function volumeSpec(name: string, labels: Record<string, string>): Docker.VolumeCreateOptions {
  return {Name: name, Labels: labels};
}

export function networkSpec(project: string): Docker.NetworkCreateOptions {
  return {Name: networkName(project), Driver: 'bridge', Labels: projectLabels(project, 'network'), CheckDuplicate: true};
}

function hostConfig(network: DockerNetworkMode, project: string, extra: Docker.HostConfig = {}): Docker.HostConfig {
  return {NetworkMode: network === 'host' ? 'host' : networkName(project), ...extra};
}

const publish = (containerPort: number, hostPort: number) => ({
  ExposedPorts: {[`${containerPort}/tcp`]: {}},
  PortBindings: {[`${containerPort}/tcp`]: [{HostIp: '127.0.0.1', HostPort: String(hostPort)}]},
});

export interface PostgresSpecInput {
  readonly project: string;
  readonly image: string;
  readonly network: DockerNetworkMode;
  /** Host port on 127.0.0.1 (host networking: the server's own port). */
  readonly port: number;
  readonly password: Secret;
  readonly settings?: Readonly<Record<string, string | number>>;
}

/** The project's PostgreSQL container (official postgres image conventions). */
export function postgresContainerSpec(input: PostgresSpecInput): Docker.ContainerCreateOptions {
  const host = input.network === 'host';
  const serverPort = host ? input.port : POSTGRES_CONTAINER_PORT;
  const settings: Record<string, string | number> = {listen_addresses: host ? '127.0.0.1' : '*', port: serverPort, ...input.settings};
  const ports = host ? undefined : publish(POSTGRES_CONTAINER_PORT, input.port);
  return {
    name: postgresContainerName(input.project),
    Image: input.image,
    Cmd: ['postgres', ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])],
    // Fast shutdown (SIGTERM is a smart shutdown, waiting for every client to leave), as the official image.
    StopSignal: 'SIGINT',
    Env: [`POSTGRES_PASSWORD=${input.password.reveal()}`, 'POSTGRES_USER=postgres', 'PGDATA=/var/lib/postgresql/data/pgdata', `PGPORT=${serverPort}`],
    Labels: {...projectLabels(input.project, 'postgres'), [DOCKER_LABELS.port]: String(input.port)},
    ...(ports ? {ExposedPorts: ports.ExposedPorts} : {}),
    HostConfig: hostConfig(input.network, input.project, {
      Mounts: [{Type: 'volume', Source: postgresVolumeName(input.project), Target: '/var/lib/postgresql/data'}],
      RestartPolicy: {Name: 'unless-stopped'},
      ...(ports ? {PortBindings: ports.PortBindings} : {}),
    }),
  };
}

export interface OdooContainerInput {
  readonly project: string;
  readonly env: string;
  readonly image: string;
  readonly network: DockerNetworkMode;
  readonly role: 'release' | 'job';
  readonly name?: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** release: host port on 127.0.0.1 where Odoo answers. */
  readonly hostPort?: number;
  /** The argv after the `odoo` executable (the entrypoint), config included. */
  readonly args: readonly string[];
}

/** An Odoo container: the env's data volume on /var/lib/odoo, ODOO_RC = the generated config. */
export function odooContainerSpec(input: OdooContainerInput): Docker.ContainerCreateOptions {
  const ports = input.network === 'bridge' && input.hostPort !== undefined ? publish(ODOO_CONTAINER_PORT, input.hostPort) : undefined;
  return {
    ...(input.name ? {name: input.name} : {}),
    Image: input.image,
    // The image's own entrypoint is skipped: the generated config holds every setting it would add.
    Entrypoint: ['odoo'],
    Cmd: [...input.args],
    Env: [`ODOO_RC=${ODOO_CONFIG_FILE}`],
    Labels: {...envLabels(input.project, input.env, input.role), ...input.labels},
    ...(ports ? {ExposedPorts: ports.ExposedPorts} : {}),
    HostConfig: hostConfig(input.network, input.project, {
      // An init process as PID 1: signals reach Odoo, and its child processes get reaped.
      Init: true,
      Mounts: [{Type: 'volume', Source: dataVolumeName(input.project, input.env), Target: ODOO_DATA_DIR}],
      ...(ports ? {PortBindings: ports.PortBindings} : {}),
    }),
  };
}

/** A short-lived root container with an env's data volume mounted, for filestore work through exec. */
export function helperContainerSpec(input: {readonly project: string; readonly env: string; readonly image: string}): Docker.ContainerCreateOptions {
  return {
    Image: input.image,
    Entrypoint: ['sleep'],
    Cmd: ['3600'],
    User: '0',
    Labels: envLabels(input.project, input.env, 'helper'),
    HostConfig: {NetworkMode: 'none', AutoRemove: true, Mounts: [{Type: 'volume', Source: dataVolumeName(input.project, input.env), Target: ODOO_DATA_DIR}]},
  };
}

export interface RouterSpecInput {
  readonly project: string;
  readonly image: string;
  readonly network: DockerNetworkMode;
  readonly adminPort: number;
  readonly httpPort: number;
  /**
   * A real domain (automatic HTTPS): the front's public ports. Under bridge they are published on
   * all host addresses (a public certificate needs a publicly reachable server: no 127.0.0.1
   * restriction is possible); under host networking the front binds them itself.
   */
  readonly tls?: {readonly httpsPort: number; readonly publicHttpPort: number} | undefined;
}

/** The front Caddy's config file and the unix socket the routing Caddy listens on (inside the router container). */
export const ROUTER_FRONT_CONFIG_FILE = `${ODOO_CONFIG_DIR}/caddy-front.json`;
export const ROUTER_SOCKET = '/tmp/odoo-sh-router.sock';
/** Caddy network address of the routing server (see buildFrontConfig in router/caddy-config.ts). */
export const ROUTER_INNER_LISTEN = `unix/${ROUTER_SOCKET}`;

/**
 * The router container's command: two Caddy processes (the two-tier router of
 * src/providers/router/caddy-config.ts). The routing Caddy (ROUTER_CONFIG_FILE: admin endpoint
 * only at boot; its server on ROUTER_SOCKET arrives through the admin API) and the static front
 * Caddy (ROUTER_FRONT_CONFIG_FILE, never changed) that takes the client connections. When either
 * exits, the other is stopped and the container exits non-zero (the restart policy brings both
 * back); SIGTERM/SIGINT (through the init process) stop both. Plain POSIX sh: the official
 * caddy image and the test image both have /bin/sh.
 */
export const ROUTER_SCRIPT = [
  `rm -f ${ROUTER_SOCKET}`,
  `caddy run --config ${ROUTER_CONFIG_FILE} & r=$!`,
  `caddy run --config ${ROUTER_FRONT_CONFIG_FILE} & f=$!`,
  'stopping=0',
  'trap \'stopping=1; kill -TERM $r $f 2>/dev/null\' TERM INT',
  'while [ $stopping = 0 ] && kill -0 $r 2>/dev/null && kill -0 $f 2>/dev/null; do sleep 1; done',
  'kill -TERM $r $f 2>/dev/null',
  'wait',
  '[ $stopping = 1 ]',
].join('\n');

/**
 * The router container (two Caddy processes, see ROUTER_SCRIPT): the routing Caddy's admin API
 * and the front's HTTP port on 127.0.0.1 (published there under bridge).
 */
export function routerContainerSpec(input: RouterSpecInput): Docker.ContainerCreateOptions {
  const host = input.network === 'host';
  return {
    name: routerContainerName(input.project),
    Image: input.image,
    Entrypoint: ['/bin/sh', '-c'],
    Cmd: [ROUTER_SCRIPT],
    Labels: {
      ...projectLabels(input.project, 'router'),
      [DOCKER_LABELS.port]: String(input.httpPort),
      [DOCKER_LABELS.front]: routerFrontMode(input.tls),
    },
    ...(host ? {} : {ExposedPorts: {'2019/tcp': {}, '80/tcp': {}, ...(input.tls ? {'443/tcp': {}} : {})}}),
    HostConfig: hostConfig(input.network, input.project, {
      // An init process as PID 1 forwards docker stop's SIGTERM to the script.
      Init: true,
      RestartPolicy: {Name: 'unless-stopped'},
      ...(host
        ? {}
        : {
            PortBindings: {
              '2019/tcp': [{HostIp: '127.0.0.1', HostPort: String(input.adminPort)}],
              ...(input.tls
                ? {
                    '80/tcp': [{HostIp: '', HostPort: String(input.tls.publicHttpPort)}],
                    '443/tcp': [{HostIp: '', HostPort: String(input.tls.httpsPort)}],
                  }
                : {'80/tcp': [{HostIp: '127.0.0.1', HostPort: String(input.httpPort)}]}),
            },
          }),
    }),
  };
}

/** The routing Caddy's initial JSON config: only the admin endpoint (routes arrive through the admin API). */
export function routerBootConfig(input: {readonly network: DockerNetworkMode; readonly adminPort: number}): string {
  const listen = input.network === 'host' ? `127.0.0.1:${input.adminPort}` : '0.0.0.0:2019';
  return `${JSON.stringify({admin: {listen, origins: [`127.0.0.1:${input.adminPort}`, `localhost:${input.adminPort}`]}})}\n`;
}

/**
 * The front Caddy's config (static): client connections on the router port → the routing Caddy's
 * socket. With `tls` (a real domain): HTTPS with on-demand certificates on the public ports (all
 * addresses: a public domain cannot be served from 127.0.0.1 only; under bridge the container's
 * 443/80, published), asking the routing Caddy's ask server on 127.0.0.1:<askPort> (the same
 * network namespace as the front in both modes) before any certificate.
 */
export function routerFrontConfig(input: {
  readonly network: DockerNetworkMode;
  readonly httpPort: number;
  readonly tls?: {readonly askPort: number; readonly httpsPort: number; readonly publicHttpPort: number} | undefined;
}): string {
  const host = input.network === 'host';
  const listen = host ? `127.0.0.1:${input.httpPort}` : ':80';
  const tls = input.tls && {
    askUrl: askUrlFor(`127.0.0.1:${input.tls.askPort}`),
    httpsPort: host ? input.tls.httpsPort : 443,
    httpPort: host ? input.tls.publicHttpPort : 80,
  };
  return `${JSON.stringify(buildFrontConfig({listen, inner: ROUTER_INNER_LISTEN, tls}))}\n`;
}

export interface OdooConfigInput {
  readonly network: DockerNetworkMode;
  readonly project: string;
  readonly database: string;
  readonly postgresPort: number;
  readonly dbPassword: Secret;
  readonly adminPassword: Secret;
  /** Host networking: the port Odoo listens on (127.0.0.1). */
  readonly httpPort: number;
  readonly addonsPaths: readonly string[];
  readonly maxCronThreads: number;
  readonly proxyMode: boolean;
}

/** The Odoo config of a container (the same renderer as the local provider). */
export function odooContainerConfig(input: OdooConfigInput): string {
  const host = input.network === 'host';
  return renderOdooConfig({
    db: {
      host: host ? '127.0.0.1' : postgresContainerName(input.project),
      port: host ? input.postgresPort : POSTGRES_CONTAINER_PORT,
      user: 'odoo',
      password: input.dbPassword,
      name: input.database,
    },
    http: host ? {interface: '127.0.0.1', port: input.httpPort} : {interface: '0.0.0.0', port: ODOO_CONTAINER_PORT},
    dataDir: ODOO_DATA_DIR,
    addonsPaths: input.addonsPaths,
    adminPassword: input.adminPassword,
    maxCronThreads: input.maxCronThreads,
    workers: 0,
    proxyMode: input.proxyMode,
  });
}

/** The upstream the router uses to reach a release. */
export function routerUpstream(input: {readonly network: DockerNetworkMode; readonly hostPort: number; readonly containerName: string}): string {
  return input.network === 'host' ? `127.0.0.1:${input.hostPort}` : `${input.containerName}:${ODOO_CONTAINER_PORT}`;
}

/** An env's host name behind the router. */
export const envHost = (env: string, project: string, domain: string): string => `${env}.${project}.${domain}`;

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

/** A tar archive holding one regular file (for the engine's put-archive call). */
export function singleFileTar(name: string, content: string | Buffer, opts: {readonly mode?: number; readonly mtime?: number} = {}): Buffer {
  const data = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  if (Buffer.byteLength(name) > 99) throw new Error(`tar entry name too long: ${name}`);
  const header = Buffer.alloc(512);
  header.write(name, 0, 'utf8');
  header.write(octal(opts.mode ?? 0o644, 8), 100, 'ascii');
  header.write(octal(0, 8), 108, 'ascii');
  header.write(octal(0, 8), 116, 'ascii');
  header.write(octal(data.length, 12), 124, 'ascii');
  header.write(octal(opts.mtime ?? 0, 12), 136, 'ascii');
  header.write('        ', 148, 'ascii');
  header.write('0', 156, 'ascii');
  header.write('ustar\0', 257, 'ascii');
  header.write('00', 263, 'ascii');
  let sum = 0;
  for (const b of header) sum += b;
  header.write(octal(sum, 7), 148, 'ascii');
  header.write(' ', 155, 'ascii');
  const pad = Buffer.alloc((512 - (data.length % 512)) % 512);
  return Buffer.concat([header, data, pad, Buffer.alloc(1024)]);
}

/** An empty tar archive (two zero blocks). */
export const EMPTY_TAR: Buffer = Buffer.alloc(1024);

/** Splits a buffer of the engine's multiplexed output (8-byte frame headers) into stdout and stderr. */
export function demuxBuffer(buf: Buffer): {stdout: Buffer; stderr: Buffer} {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let off = 0;
  while (off + 8 <= buf.length) {
    const type = buf[off];
    const len = buf.readUInt32BE(off + 4);
    const chunk = buf.subarray(off + 8, off + 8 + len);
    (type === 2 ? err : out).push(chunk);
    off += 8 + len;
  }
  return {stdout: Buffer.concat(out), stderr: Buffer.concat(err)};
}

/** The text lines of a log buffer (last empty line dropped). */
export function textLines(text: string): string[] {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  if (lines.at(-1) === '') lines.pop();
  return lines;
}
