/**
 * Test fixtures for the router: a real `caddy run` process (Debian's /usr/bin/caddy, or $CADDY_BIN)
 * with its admin API on a free 127.0.0.1 port and its state in a temp folder, and tiny upstream
 * HTTP servers that answer their own name.
 */
import {spawn, type ChildProcess} from 'node:child_process';
import {mkdtemp, rm, writeFile} from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

export const CADDY_BIN = process.env.CADDY_BIN ?? '/usr/bin/caddy';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const {port} = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export interface CaddyProcess {
  readonly adminUrl: string;
  readonly dir: string;
  readonly child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts `caddy run --config <file>`; waits until its admin endpoint answers. By default the config
 * is only the admin endpoint on a free port; `config(adminListen)` gives a whole config instead
 * (it must keep that admin listen address).
 */
export async function startCaddy(opts: {config?: (adminListen: string) => unknown} = {}): Promise<CaddyProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'osn-caddy-'));
  const adminPort = await freePort();
  const configFile = join(dir, 'caddy.json');
  const adminListen = `127.0.0.1:${adminPort}`;
  await writeFile(configFile, JSON.stringify(opts.config ? opts.config(adminListen) : {admin: {listen: adminListen}}));
  const child = spawn(CADDY_BIN, ['run', '--config', configFile], {
    env: {PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, XDG_CONFIG_HOME: join(dir, 'config'), XDG_DATA_HOME: join(dir, 'data')},
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => { out = (out + c.toString()).slice(-20_000); });
  child.stderr?.on('data', (c: Buffer) => { out = (out + c.toString()).slice(-20_000); });
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`caddy exited ${child.exitCode}: ${out}`);
    try {
      if ((await fetch(`${adminUrl}/config/`)).ok) break;
    } catch { /* not up yet */ }
    if (Date.now() > deadline) throw new Error(`caddy admin did not answer: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    adminUrl, dir, child,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, {recursive: true, force: true});
    },
  };
}

export interface Upstream {
  readonly name: string;
  readonly port: number;
  readonly address: string;
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1 answering `name` (200) to every request. */
export async function startUpstream(name: string): Promise<Upstream> {
  const server = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, {'content-type': 'text/plain'});
    res.end(`${name}\n`);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const {port} = server.address() as net.AddressInfo;
  return {
    name, port, address: `127.0.0.1:${port}`,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
