/**
 * What the docker-local provider remembers on the project's disk, under .odoo-sh-next/docker/:
 *   postgres.json   {superuserPassword, odooPassword, port}   (0600; created once)
 *   router.json     {adminPort, httpPort, askPort, httpsPort, publicHttpPort}  (created once; fields
 *                   added later are filled in once: askPort a free port, httpsPort 443, publicHttpPort 80)
 *   routes/<env>.json  {launchId, upstream, routedAt}         the instance the env URL points at
 *   stopped/<id>    marks a container stop() ended (vs one that exited by itself)
 */
import {randomBytes} from 'node:crypto';
import {mkdir, readFile, readdir, rename, rm, writeFile} from 'node:fs/promises';
import {existsSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {Secret} from '../../core/secret.js';
import {freePort} from '../local/free-port.js';

export interface PostgresState {
  readonly superuserPassword: Secret;
  readonly odooPassword: Secret;
  readonly port: number;
}

export interface RouterState {
  readonly adminPort: number;
  /** The front's plain HTTP port on 127.0.0.1 (localhost/IP domains). */
  readonly httpPort: number;
  /** The routing Caddy's on-demand TLS ask endpoint, 127.0.0.1:<askPort> (real domains only). */
  readonly askPort: number;
  /** Real domains: the front's public HTTPS port (default 443; edit router.json to change). */
  readonly httpsPort: number;
  /** Real domains: the front's public HTTP port, redirecting to HTTPS and serving ACME challenges (default 80). */
  readonly publicHttpPort: number;
}

export interface RouteEntry {
  readonly launchId: string;
  readonly upstream: string;
  readonly routedAt: string;
}

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await mkdir(dirname(file), {recursive: true, mode: 0o700});
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`, {mode: 0o600});
  await rename(tmp, file);
}

/** Writes value once: an existing file wins (a concurrent first run keeps one value). */
async function createOnce<T>(file: string, make: () => Promise<T>): Promise<T> {
  const existing = await readJson<T>(file);
  if (existing !== undefined) return existing;
  const value = await make();
  await mkdir(dirname(file), {recursive: true, mode: 0o700});
  try {
    await writeFile(file, `${JSON.stringify(value, null, 2)}\n`, {mode: 0o600, flag: 'wx'});
    return value;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return (await readJson<T>(file))!;
  }
}

export class DockerState {
  readonly dir: string;

  constructor(projectRoot: string) {
    this.dir = join(projectRoot, '.odoo-sh-next', 'docker');
  }

  async postgres(): Promise<PostgresState> {
    const raw = await createOnce(join(this.dir, 'postgres.json'), async () => ({
      superuserPassword: randomBytes(24).toString('base64url'),
      odooPassword: randomBytes(24).toString('base64url'),
      port: await freePort(),
    }));
    const source = `file:${join(this.dir, 'postgres.json')}`;
    return {superuserPassword: new Secret(raw.superuserPassword, source), odooPassword: new Secret(raw.odooPassword, source), port: raw.port};
  }

  async router(): Promise<RouterState> {
    const file = join(this.dir, 'router.json');
    const distinct = async (taken: number[]): Promise<number> => {
      let port = await freePort();
      while (taken.includes(port)) port = await freePort();
      return port;
    };
    const raw = await createOnce<Partial<RouterState> & {adminPort: number; httpPort: number}>(file, async () => {
      const adminPort = await freePort();
      const httpPort = await distinct([adminPort]);
      return {adminPort, httpPort, askPort: await distinct([adminPort, httpPort]), httpsPort: 443, publicHttpPort: 80};
    });
    if (raw.askPort !== undefined && raw.httpsPort !== undefined && raw.publicHttpPort !== undefined) return raw as RouterState;
    // A router.json of an earlier version: fill the new fields in once (re-read first: a concurrent run may have).
    const again = (await readJson<Partial<RouterState> & {adminPort: number; httpPort: number}>(file)) ?? raw;
    const full: RouterState = {
      ...again,
      askPort: again.askPort ?? (await distinct([again.adminPort, again.httpPort])),
      httpsPort: again.httpsPort ?? 443,
      publicHttpPort: again.publicHttpPort ?? 80,
    };
    await writeJsonAtomic(file, full);
    return full;
  }

  /** env → the instance its URL points at (one file per env: concurrent switches of two envs never collide). */
  async routes(): Promise<Record<string, RouteEntry>> {
    const dir = join(this.dir, 'routes');
    const names = await readdir(dir).catch(() => [] as string[]);
    const out: Record<string, RouteEntry> = {};
    for (const name of names.filter((n) => n.endsWith('.json'))) {
      const entry = await readJson<RouteEntry>(join(dir, name));
      if (entry) out[name.slice(0, -'.json'.length)] = entry;
    }
    return out;
  }

  async setRoute(env: string, entry: RouteEntry | undefined): Promise<void> {
    const file = join(this.dir, 'routes', `${env}.json`);
    if (entry) await writeJsonAtomic(file, entry);
    else await rm(file, {force: true});
  }

  stoppedMarker(containerId: string): string {
    return join(this.dir, 'stopped', containerId.replace(/[^a-f0-9]/g, ''));
  }

  isStopped(containerId: string): boolean {
    return existsSync(this.stoppedMarker(containerId));
  }

  async markStopped(containerId: string, stopped: boolean): Promise<void> {
    const file = this.stoppedMarker(containerId);
    if (!stopped) return rm(file, {force: true});
    await mkdir(dirname(file), {recursive: true, mode: 0o700});
    await writeFile(file, '');
  }
}
