/**
 * The locally built Docker test images (scripts/docker-test-images.mjs) on the real engine: the
 * interfaces the Docker providers rely on (official postgres / caddy / odoo images' behaviour).
 * Fails when the engine is missing; OSN_SKIP_DOCKER_TESTS=1 skips with a reason.
 */
import {randomUUID} from 'node:crypto';
import pg from 'pg';
import {afterEach, expect, it} from 'vitest';
import {
  CADDY_IMAGE,
  describeDocker,
  docker,
  freePort,
  ODOO_IMAGE,
  POSTGRES_IMAGE,
  removeContainers,
  SKIP_DOCKER,
  SKIP_REASON,
  TEST_LABEL,
  useDockerTestImages,
} from '../../helpers/docker.js';

const started: string[] = [];

/** `docker run` with a test label and a unique name; the container is removed after each test. */
async function run(args: readonly string[], opts: {detach?: boolean} = {}): Promise<string> {
  const name = `osn-images-test-${randomUUID().slice(0, 8)}`;
  started.push(name);
  const mode = opts.detach ? ['-d'] : [];
  return docker(['run', ...mode, '--name', name, '--label', `${TEST_LABEL}=images`, ...args], 120_000);
}

async function waitForPostgres(url: string, timeoutMs = 60_000): Promise<pg.Client> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = new pg.Client({connectionString: url});
    try {
      await client.connect();
      return client;
    } catch (error) {
      await client.end().catch(() => undefined);
      const msg = (error as Error).message;
      // a wrong password must fail the test at once, not be retried
      if (/password authentication failed/.test(msg) || Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

describeDocker('Docker test images', () => {
  useDockerTestImages();

  afterEach(async () => {
    await removeContainers(started.splice(0));
  });

  it('postgres: host network, POSTGRES_PASSWORD, scram password login, pg_dump via docker exec', async () => {
    const port = await freePort();
    const password = `pw-${randomUUID()}`;
    const id = (
      await run(
        ['--network', 'host', '-e', `POSTGRES_PASSWORD=${password}`, '-e', 'POSTGRES_DB=appdb', POSTGRES_IMAGE,
          'postgres', '-c', `port=${port}`, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off'],
        {detach: true},
      )
    ).trim();
    const client = await waitForPostgres(`postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/appdb`);
    try {
      const r = await client.query<{db: string; auth: string}>(
        `select current_database() as db, (select auth_method from pg_hba_file_rules where type = 'host' order by line_number desc limit 1) as auth`,
      );
      expect(r.rows[0]).toEqual({db: 'appdb', auth: 'scram-sha-256'});
      await client.query('create table t (id int primary key, name text)');
      await client.query(`insert into t values (1, 'kept')`);
    } finally {
      await client.end();
    }
    await expect(waitForPostgres(`postgres://postgres:wrong@127.0.0.1:${port}/appdb`)).rejects.toThrow(/password authentication failed/);
    const dump = await docker(['exec', id, 'pg_dump', '-U', 'postgres', '-p', String(port), '--no-owner', 'appdb']);
    expect(dump).toContain('CREATE TABLE public.t');
    expect(dump).toMatch(/1\tkept/);
    expect((await docker(['exec', id, 'sh', '-c', 'command -v psql; command -v pg_restore; id -u postgres'])).trim().split('\n')).toEqual([
      '/usr/lib/postgresql/15/bin/psql',
      '/usr/lib/postgresql/15/bin/pg_restore',
      '999',
    ]);
    // fast shutdown on `docker stop`, as the official image's STOPSIGNAL
    expect((await docker(['image', 'inspect', '--format', '{{.Config.StopSignal}}', POSTGRES_IMAGE])).trim()).toBe('SIGINT');
    const t0 = Date.now();
    await docker(['stop', '-t', '20', id]);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it('postgres: refuses to initialise without POSTGRES_PASSWORD (official image message)', async () => {
    await expect(run([POSTGRES_IMAGE])).rejects.toThrow(/superuser password is not specified/);
  });

  it('caddy: `caddy version`, and CADDY_ADMIN sets the admin address of `caddy run`', async () => {
    expect(await run(['--rm', CADDY_IMAGE, 'caddy', 'version'])).toMatch(/^v?2\./);
    const port = await freePort();
    await run(['--network', 'host', '-e', `CADDY_ADMIN=127.0.0.1:${port}`, CADDY_IMAGE], {detach: true});
    const deadline = Date.now() + 30_000;
    let config: unknown;
    for (;;) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/config/`);
        config = await res.json();
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    expect(config).toEqual({admin: {listen: `127.0.0.1:${port}`}});
  });

  it('odoo: `odoo --version` like the official image, `-*` args go to odoo, other commands run as given', async () => {
    expect((await run(['--rm', ODOO_IMAGE, 'odoo', '--version'])).trim()).toBe('Odoo Server 17.0');
    expect((await run(['--rm', ODOO_IMAGE, '--version'])).trim()).toBe('Odoo Server 17.0');
    const info = await run(['--rm', ODOO_IMAGE, 'sh', '-c', 'id -un; command -v odoo; command -v psql; test -w /var/lib/odoo && test -d /mnt/extra-addons && echo dirs-ok']);
    expect(info.trim().split('\n')).toEqual(['odoo', '/usr/bin/odoo', '/usr/bin/psql', 'dirs-ok']);
  });
});

// the reason shows in the report when the Docker tests are skipped on purpose
if (SKIP_DOCKER) it.skip(SKIP_REASON, () => undefined);
