import {execa} from 'execa';
import {randomBytes, createHash} from 'node:crypto';
import {existsSync} from 'node:fs';
import {chmod, chown, mkdir, readFile, rm, stat, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {dirname, join, resolve} from 'node:path';
import {ProviderError} from '../../core/errors.js';
import {Secret} from '../../core/secret.js';
import {findPgBinDir} from './pg-binaries.js';
import {freePort} from './free-port.js';
import {unprivilegedAccount, type RunAs} from './run-as.js';

export const SUPERUSER = 'postgres';

export interface ClusterStatus {
  readonly initialized: boolean;
  readonly running: boolean;
  readonly pid?: number;
  readonly port?: number;
  readonly socketDir?: string;
  readonly dataDir: string;
}

export interface ClusterOptions {
  /** Folder holding data/, run/, postgres.log and the superuser password. */
  readonly root: string;
  readonly binDir?: string;
  /** Extra server settings written to the cluster's odoo-sh-next.conf. */
  readonly settings?: Readonly<Record<string, string | number>>;
}

/**
 * The project's own PostgreSQL cluster: initdb on first use, started on demand on a free
 * 127.0.0.1 port with its socket in the project folder, run as an unprivileged account when
 * this process is root. Local socket connections use trust (the socket folder is private);
 * TCP connections need the superuser password kept in <root>/superuser.password (mode 0600).
 */
export class PostgresCluster {
  readonly root: string;
  readonly dataDir: string;
  readonly logFile: string;
  readonly passwordFile: string;
  readonly runAs: RunAs | undefined;
  #binDir: string | undefined;

  constructor(private readonly options: ClusterOptions) {
    this.root = resolve(options.root);
    this.dataDir = join(this.root, 'data');
    this.logFile = join(this.root, 'postgres.log');
    this.passwordFile = join(this.root, 'superuser.password');
    this.runAs = unprivilegedAccount();
  }

  /** The socket folder: inside the project unless that path is too long for a unix socket. */
  get socketDir(): string {
    const inProject = join(this.root, 'run');
    if (Buffer.byteLength(join(inProject, '.s.PGSQL.65535')) < 100) return inProject;
    const hash = createHash('sha256').update(this.root).digest('hex').slice(0, 12);
    return join(tmpdir(), `odoo-sh-next-${hash}`);
  }

  async binDir(): Promise<string> {
    this.#binDir ??= await findPgBinDir(this.options.binDir);
    return this.#binDir;
  }

  private async tool(name: string, args: readonly string[], opts: {env?: Record<string, string>} = {}) {
    const bin = join(await this.binDir(), name);
    try {
      return await execa(bin, args, {
        ...(this.runAs ? {uid: this.runAs.uid, gid: this.runAs.gid} : {}),
        env: {LC_ALL: 'C', ...opts.env},
        cwd: this.root,
        stdin: 'ignore',
      });
    } catch (err) {
      const e = err as {stderr?: string; shortMessage?: string};
      throw new ProviderError(`${name} failed: ${(e.stderr || e.shortMessage || String(err)).trim()}`, {
        cause: err,
        actions: [`see ${this.logFile}`],
      });
    }
  }

  private async own(path: string): Promise<void> {
    if (this.runAs) await chown(path, this.runAs.uid, this.runAs.gid);
  }

  /** Every parent of the data folder must be traversable by the account PostgreSQL runs as. */
  private async checkReachable(): Promise<void> {
    if (!this.runAs) return;
    let dir = dirname(this.root);
    while (true) {
      const st = await stat(dir);
      const ok = st.uid === this.runAs.uid ? (st.mode & 0o100) !== 0 : (st.mode & 0o001) !== 0;
      if (!ok) {
        throw new ProviderError(
          `PostgreSQL runs as "${this.runAs.name}" (it refuses root) and cannot enter ${dir} (mode ${(st.mode & 0o777).toString(8)})`,
          {actions: [`chmod o+x ${dir}`, 'or put the project in a folder other accounts can traverse']},
        );
      }
      const up = dirname(dir);
      if (up === dir) return;
      dir = up;
    }
  }

  async status(): Promise<ClusterStatus> {
    const initialized = existsSync(join(this.dataDir, 'PG_VERSION'));
    const pidFile = join(this.dataDir, 'postmaster.pid');
    if (!initialized || !existsSync(pidFile)) return {initialized, running: false, dataDir: this.dataDir};
    const lines = (await readFile(pidFile, 'utf8').catch(() => '')).split('\n');
    const pid = Number(lines[0]);
    const port = Number(lines[3]);
    const socketDir = lines[4]?.trim() || undefined;
    let running = false;
    try {
      process.kill(pid, 0);
      running = true;
    } catch {
      running = false;
    }
    return {initialized, running, dataDir: this.dataDir, ...(running ? {pid, port, ...(socketDir ? {socketDir} : {})} : {})};
  }

  async init(): Promise<void> {
    if (existsSync(join(this.dataDir, 'PG_VERSION'))) return;
    await mkdir(this.root, {recursive: true});
    await this.own(this.root);
    await this.checkReachable();
    const password = randomBytes(24).toString('base64url');
    await writeFile(this.passwordFile, password, {mode: 0o600});
    const pwTmp = join(this.root, `.pwfile-${process.pid}`);
    await writeFile(pwTmp, password, {mode: 0o600});
    await this.own(pwTmp);
    try {
      await this.tool('initdb', [
        '-D', this.dataDir, '-U', SUPERUSER, '--pwfile', pwTmp,
        '--auth-local=trust', '--auth-host=scram-sha-256', '--encoding=UTF8', '--locale=C', '--no-sync',
      ]);
    } finally {
      await rm(pwTmp, {force: true});
    }
    const conf = join(this.dataDir, 'postgresql.conf');
    await writeFile(conf, `${await readFile(conf, 'utf8')}\ninclude_if_exists = 'odoo-sh-next.conf'\n`);
  }

  /** Starts the cluster when it is not running; returns the running status. Idempotent. */
  async start(): Promise<ClusterStatus & {port: number; socketDir: string}> {
    await this.init();
    const current = await this.status();
    if (current.running && current.port && current.socketDir) return {...current, port: current.port, socketDir: current.socketDir};
    const socketDir = this.socketDir;
    await mkdir(socketDir, {recursive: true, mode: 0o700});
    await chmod(socketDir, 0o700);
    await this.own(socketDir);
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      const settings: Record<string, string | number> = {
        port,
        listen_addresses: '127.0.0.1',
        unix_socket_directories: socketDir,
        max_connections: 200,
        fsync: 'on',
        ...this.options.settings,
      };
      const lines = Object.entries(settings).map(([k, v]) => `${k} = '${String(v).replaceAll("'", "''")}'`);
      const confFile = join(this.dataDir, 'odoo-sh-next.conf');
      await writeFile(confFile, `# written by odoo-sh-next on each start\n${lines.join('\n')}\n`);
      await this.own(confFile);
      try {
        await this.tool('pg_ctl', ['-D', this.dataDir, '-l', this.logFile, '-w', '-t', '60', 'start']);
        const s = await this.status();
        if (s.running) return {...s, port, socketDir};
      } catch (err) {
        lastError = err;
      }
    }
    throw lastError instanceof Error ? lastError : new ProviderError('PostgreSQL did not start', {actions: [`see ${this.logFile}`]});
  }

  async stop(): Promise<boolean> {
    const s = await this.status();
    if (!s.running) return false;
    await this.tool('pg_ctl', ['-D', this.dataDir, '-m', 'fast', '-w', 'stop']);
    return true;
  }

  async superuserPassword(): Promise<Secret> {
    return new Secret((await readFile(this.passwordFile, 'utf8')).trim(), `file:${this.passwordFile}`);
  }

  /** A libpq URL for the superuser over the private socket. */
  socketUrl(database: string, socketDir: string, port: number): string {
    return `postgresql://${SUPERUSER}@/${encodeURIComponent(database)}?host=${encodeURIComponent(socketDir)}&port=${port}`;
  }

  async destroy(): Promise<void> {
    await this.stop().catch(() => false);
    await rm(this.root, {recursive: true, force: true});
  }
}
