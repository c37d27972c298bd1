import {execFileSync} from 'node:child_process';
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {describe, expect, it} from 'vitest';
import {Secret} from '../../../src/core/secret.js';
import {
  EMPTY_TAR, demuxBuffer, envLabels, labelFilter, launchShort, odooContainerConfig, odooContainerSpec, ownedBy,
  postgresContainerSpec, releaseContainerName, ROUTER_SCRIPT, routerBootConfig, routerContainerSpec, routerFrontConfig, routerUpstream, singleFileTar,
} from '../../../src/providers/docker/specs.js';

const owned = {'odoo-sh.managed': 'true', 'odoo-sh.project': 'shop'};

describe('docker specs', () => {
  it('names releases by project, env and a short stable launch id', () => {
    expect(launchShort('abc123')).toBe('abc123');
    const uuid = '0f8fad5b-d9cb-469f-a165-70867728950e';
    expect(launchShort(uuid)).toMatch(/^0f8fad5b[0-9a-f]{6}$/);
    expect(launchShort(uuid)).toBe(launchShort(uuid));
    expect(launchShort(uuid)).not.toBe(launchShort('0f8fad5b-0000-469f-a165-70867728950e'));
    expect(releaseContainerName('shop', 'main', 'r1')).toBe('osn-shop-main-r1');
  });

  it('labels env resources and filters by label', () => {
    expect(envLabels('shop', 'main', 'release', {release: 'r1', launchId: 'l1'})).toEqual({
      ...owned, 'odoo-sh.env': 'main', 'odoo-sh.release': 'r1', 'odoo-sh.launch-id': 'l1', 'odoo-sh.role': 'release',
    });
    expect(labelFilter({a: '1', b: '2'})).toEqual({label: ['a=1', 'b=2']});
    expect(ownedBy(owned, 'shop')).toBe(true);
    expect(ownedBy(owned, 'other')).toBe(false);
    expect(ownedBy({'odoo-sh.project': 'shop'}, 'shop')).toBe(false);
    expect(ownedBy(undefined, 'shop')).toBe(false);
  });

  it('builds the Postgres container: host networking listens on 127.0.0.1:<port>', () => {
    const spec = postgresContainerSpec({project: 'shop', image: 'postgres:16', network: 'host', port: 15432, password: new Secret('pw'), settings: {fsync: 'off'}});
    expect(spec).toEqual({
      name: 'osn-shop-postgres',
      Image: 'postgres:16',
      Cmd: ['postgres', '-c', 'listen_addresses=127.0.0.1', '-c', 'port=15432', '-c', 'fsync=off'],
      StopSignal: 'SIGINT',
      Env: ['POSTGRES_PASSWORD=pw', 'POSTGRES_USER=postgres', 'PGDATA=/var/lib/postgresql/data/pgdata', 'PGPORT=15432'],
      Labels: {...owned, 'odoo-sh.role': 'postgres', 'odoo-sh.port': '15432'},
      HostConfig: {
        NetworkMode: 'host',
        Mounts: [{Type: 'volume', Source: 'osn-shop-pgdata', Target: '/var/lib/postgresql/data'}],
        RestartPolicy: {Name: 'unless-stopped'},
      },
    });
  });

  it('builds the Postgres container: bridge networking publishes 5432 on 127.0.0.1 only', () => {
    const spec = postgresContainerSpec({project: 'shop', image: 'postgres:16', network: 'bridge', port: 15432, password: new Secret('pw')});
    expect(spec.Cmd).toEqual(['postgres', '-c', 'listen_addresses=*', '-c', 'port=5432']);
    expect(spec.HostConfig?.NetworkMode).toBe('osn-shop');
    expect(spec.HostConfig?.PortBindings).toEqual({'5432/tcp': [{HostIp: '127.0.0.1', HostPort: '15432'}]});
  });

  it('builds Odoo containers with the env data volume and the generated config', () => {
    const spec = odooContainerSpec({project: 'shop', env: 'main', image: 'odoo:17.0', network: 'bridge', role: 'release', name: 'n', hostPort: 18069, args: ['-c', '/etc/odoo-sh/odoo.conf']});
    expect(spec).toMatchObject({
      name: 'n',
      Entrypoint: ['odoo'],
      Cmd: ['-c', '/etc/odoo-sh/odoo.conf'],
      Env: ['ODOO_RC=/etc/odoo-sh/odoo.conf'],
      HostConfig: {
        NetworkMode: 'osn-shop',
        Init: true,
        Mounts: [{Type: 'volume', Source: 'osn-shop-main-data', Target: '/var/lib/odoo'}],
        PortBindings: {'8069/tcp': [{HostIp: '127.0.0.1', HostPort: '18069'}]},
      },
    });
    const host = odooContainerSpec({project: 'shop', env: 'main', image: 'odoo:17.0', network: 'host', role: 'job', args: []});
    expect(host.HostConfig?.NetworkMode).toBe('host');
    expect(host.HostConfig?.PortBindings).toBeUndefined();
    expect(host.Labels?.['odoo-sh.role']).toBe('job');
  });

  it('renders the Odoo config per network mode', () => {
    const base = {
      project: 'shop', database: 'shop_main', postgresPort: 15432, dbPassword: new Secret('dbpw'), adminPassword: new Secret('adm'),
      httpPort: 18069, addonsPaths: ['/mnt/addons'], maxCronThreads: 0, proxyMode: true,
    };
    const host = odooContainerConfig({...base, network: 'host'});
    for (const line of ['db_host = 127.0.0.1', 'db_port = 15432', 'db_user = odoo', 'db_password = dbpw', 'dbfilter = ^shop_main$',
      'http_interface = 127.0.0.1', 'http_port = 18069', 'data_dir = /var/lib/odoo', 'addons_path = /mnt/addons', 'proxy_mode = True', 'list_db = False']) {
      expect(host.split('\n')).toContain(line);
    }
    const bridge = odooContainerConfig({...base, network: 'bridge'}).split('\n');
    expect(bridge).toContain('db_host = osn-shop-postgres');
    expect(bridge).toContain('db_port = 5432');
    expect(bridge).toContain('http_interface = 0.0.0.0');
    expect(bridge).toContain('http_port = 8069');
  });

  it('builds the router container and its boot config', () => {
    const host = routerContainerSpec({project: 'shop', image: 'caddy:2', network: 'host', adminPort: 2999, httpPort: 8088});
    expect(host).toMatchObject({name: 'osn-shop-router', Entrypoint: ['/bin/sh', '-c'], Cmd: [ROUTER_SCRIPT], HostConfig: {NetworkMode: 'host', Init: true}});
    expect(JSON.parse(routerFrontConfig({network: 'host', httpPort: 8088})).apps.http.servers['odoo-sh-next-front'].listen).toEqual(['127.0.0.1:8088']);
    expect(JSON.parse(routerBootConfig({network: 'host', adminPort: 2999}))).toMatchObject({admin: {listen: '127.0.0.1:2999'}});
    const bridge = routerContainerSpec({project: 'shop', image: 'caddy:2', network: 'bridge', adminPort: 2999, httpPort: 8088});
    expect(bridge.HostConfig?.PortBindings).toEqual({
      '2019/tcp': [{HostIp: '127.0.0.1', HostPort: '2999'}],
      '80/tcp': [{HostIp: '127.0.0.1', HostPort: '8088'}],
    });
    expect(host.Labels?.['odoo-sh.router-front']).toBe('http');
    expect(routerUpstream({network: 'host', hostPort: 18069, containerName: 'c'})).toBe('127.0.0.1:18069');
    expect(routerUpstream({network: 'bridge', hostPort: 18069, containerName: 'c'})).toBe('c:8069');
  });

  it('builds the router for a real domain: public HTTPS/HTTP ports, on-demand TLS asking 127.0.0.1:<askPort>', () => {
    const tls = {httpsPort: 443, publicHttpPort: 80};
    const bridge = routerContainerSpec({project: 'shop', image: 'caddy:2', network: 'bridge', adminPort: 2999, httpPort: 8088, tls});
    expect(bridge.HostConfig?.PortBindings).toEqual({
      '2019/tcp': [{HostIp: '127.0.0.1', HostPort: '2999'}],
      '80/tcp': [{HostIp: '', HostPort: '80'}],
      '443/tcp': [{HostIp: '', HostPort: '443'}],
    });
    expect(bridge.Labels?.['odoo-sh.router-front']).toBe('tls:443:80');
    const hostFront = JSON.parse(routerFrontConfig({network: 'host', httpPort: 8088, tls: {askPort: 7001, httpsPort: 8443, publicHttpPort: 8080}}));
    expect(hostFront.apps.tls.automation).toEqual({policies: [{on_demand: true}], on_demand: {ask: 'http://127.0.0.1:7001/ask'}});
    expect(hostFront.apps.http.servers['odoo-sh-next-front'].listen).toEqual([':8443']);
    expect(hostFront.apps.http.servers['odoo-sh-next-front-redirect'].listen).toEqual([':8080']);
    // Under bridge the container listens on 443/80 whatever the published host ports.
    const bridgeFront = JSON.parse(routerFrontConfig({network: 'bridge', httpPort: 8088, tls: {askPort: 7001, httpsPort: 8443, publicHttpPort: 8080}}));
    expect(bridgeFront.apps.http.servers['odoo-sh-next-front'].listen).toEqual([':443']);
  });

  it('writes a one-file tar that tar reads back', () => {
    const dir = mkdtempSync(join(tmpdir(), 'osn-tar-'));
    const content = 'x'.repeat(700);
    writeFileSync(join(dir, 'a.tar'), singleFileTar('etc/odoo-sh/odoo.conf', content, {mode: 0o600}));
    expect(execFileSync('tar', ['-tvf', join(dir, 'a.tar')]).toString()).toMatch(/-rw------- .* 700 .* etc\/odoo-sh\/odoo\.conf/);
    execFileSync('tar', ['-xf', join(dir, 'a.tar'), '-C', dir]);
    expect(readFileSync(join(dir, 'etc/odoo-sh/odoo.conf'), 'utf8')).toBe(content);
    writeFileSync(join(dir, 'e.tar'), EMPTY_TAR);
    expect(execFileSync('tar', ['-tf', join(dir, 'e.tar')]).toString()).toBe('');
  });

  it('demultiplexes the engine output frames', () => {
    const frame = (type: number, text: string) => {
      const h = Buffer.alloc(8);
      h[0] = type;
      h.writeUInt32BE(Buffer.byteLength(text), 4);
      return Buffer.concat([h, Buffer.from(text)]);
    };
    const {stdout, stderr} = demuxBuffer(Buffer.concat([frame(1, 'a\n'), frame(2, 'e\n'), frame(1, 'b\n')]));
    expect(stdout.toString()).toBe('a\nb\n');
    expect(stderr.toString()).toBe('e\n');
  });
});
