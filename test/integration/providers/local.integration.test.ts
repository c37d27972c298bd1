import {randomUUID} from 'node:crypto';
import {readFile, stat} from 'node:fs/promises';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {systemClock} from '../../../src/core/clock.js';
import {ConfigError, ConflictError, ProviderError} from '../../../src/core/errors.js';
import {nullLogger} from '../../../src/core/logger.js';
import {databaseName} from '../../../src/core/odoo/database-name.js';
import {LocalProvider} from '../../../src/providers/local/local-provider.js';
import {processAlive} from '../../../src/providers/local/odoo-process.js';
import {waitHealthy, type EnvironmentType, type ReleaseInstance} from '../../../src/providers/provider.js';
import {describeProviderContract} from './contract.js';
import {makeLocalFixture, standinCode, type LocalFixture} from './local-fixture.js';
import {collector, tarEntries} from './tar-entries.js';

describeProviderContract('local', () => makeLocalFixture());

const sig = () => AbortSignal.timeout(120_000);

describe('local provider', () => {
  let fx: LocalFixture;
  let p: LocalProvider;
  let baseKey: string | undefined;
  const code = standinCode();

  beforeAll(async () => {
    fx = await makeLocalFixture({templateCache: {maxCount: 2, maxAgeMs: 3600_000}});
    p = fx.provider;
  });
  afterAll(async () => {
    await fx?.cleanup();
  });

  const start = async (env: string, envType: EnvironmentType = 'dev', opts: {fresh?: boolean} = {}): Promise<ReleaseInstance> => {
    const database = databaseName(fx.project, env);
    if (opts.fresh !== false) {
      const r = await p.initDatabase({env, database, code, modules: ['base'], demo: false}, sig());
      baseKey ??= r.templateKey;
    }
    const instance = await p.startRelease({env, envType, release: `rel-${env}`, launchId: randomUUID(), database, code}, sig());
    await waitHealthy(p, instance, {timeoutMs: 60_000, clock: systemClock, signal: sig()});
    return instance;
  };
  const instanceFile = (i: ReleaseInstance, file: string) => join(p.layout.instanceDir(i.env, i.launchId), file);
  const statePid = async (i: ReleaseInstance) => (JSON.parse(await readFile(instanceFile(i, 'state.json'), 'utf8')) as {pid: number}).pid;
  const params = async (env: string, db: string): Promise<Record<string, string>> => {
    const handle = await p.database(env, sig());
    const {stdout} = await handle.runTool('psql', ['-X', '-A', '-t', '-F', '=', '-d', db, '-c', 'select key, value from ir_config_parameter order by key'], {}, sig());
    return Object.fromEntries(stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  };

  it('runs two environments side by side, isolated', async () => {
    const a = await start('iso-a', 'dev');
    const b = await start('iso-b', 'production');
    expect(a.port).not.toBe(b.port);
    expect(a.database).not.toBe(b.database);
    for (const [i, crons] of [[a, 0], [b, 2]] as const) {
      const conf = await readFile(instanceFile(i, 'odoo.conf'), 'utf8');
      expect(conf).toContain('\nhttp_interface = 127.0.0.1\n');
      expect(conf).toContain(`\nhttp_port = ${i.port}\n`);
      expect(conf).toContain(`\ndb_name = ${i.database}\n`);
      expect(conf).toContain(`\ndbfilter = ^${i.database}$\n`);
      expect(conf).toContain('\nlist_db = False\n');
      expect(conf).toContain('\ndb_user = odoo\n');
      expect(conf).toContain(`\ndata_dir = ${p.layout.dataDir(i.env)}\n`);
      expect(conf).toContain(`\nmax_cron_threads = ${crons}\n`);
      expect((await stat(instanceFile(i, 'odoo.conf'))).mode & 0o777).toBe(0o600);
      const environ = await readFile(`/proc/${await statePid(i)}/environ`, 'utf8');
      expect(environ.split('\0')).toContain(`XDG_DATA_HOME=${p.layout.xdgDir(i.env)}`);
      expect((await fetch(`${i.url}/web/health`)).status).toBe(200);
    }
    expect(p.filestore.location(a).path).not.toBe(p.filestore.location(b).path);
    // Each server only serves its own database.
    await (await p.database('iso-a', sig())).runTool('psql', ['-X', '-d', a.database, '-c', "update res_partner set name = 'only-in-a' where id = 1"], {}, sig());
    expect((await params('iso-a', a.database))['database.uuid']).not.toBe((await params('iso-b', b.database))['database.uuid']);
    const other = await (await p.database('iso-b', sig())).runTool('psql', ['-X', '-A', '-t', '-d', b.database, '-c', 'select name from res_partner where id = 1'], {}, sig());
    expect(other.stdout.trim()).not.toBe('only-in-a');
  });

  it('reports a killed Odoo process as unhealthy with the reason and log tail, and does not restart it', async () => {
    const i = await start('crash');
    const pid = await statePid(i);
    process.kill(pid, 'SIGKILL');
    for (let n = 0; n < 50 && (await processAlive(pid, instanceFile(i, 'odoo.conf'))); n++) await systemClock.sleep(100);
    const health = await p.health(i, sig());
    expect(health.healthy).toBe(false);
    expect(health.alive).toBe(false);
    expect(health.reason).toMatch(/exited/);
    expect(health.logTail?.join('\n')).toMatch(/HTTP service/);
    await systemClock.sleep(500);
    expect((await p.list({env: 'crash'}, sig()))[0]?.state).toBe('exited');
    await expect(waitHealthy(p, i, {timeoutMs: 5000, clock: systemClock, signal: sig()})).rejects.toBeInstanceOf(ProviderError);
  });

  it('is found again by a later invocation (a new provider object)', async () => {
    const i = await start('later', 'dev', {fresh: false});
    const later = new LocalProvider({config: {project: fx.project, projectRoot: fx.projectRoot, postgres: {}}, clock: systemClock, logger: nullLogger});
    const found = await later.list({env: 'later'}, sig());
    expect(found.map((x) => [x.launchId, x.state])).toEqual([[i.launchId, 'running']]);
    expect((await later.health(found[0]!, sig())).healthy).toBe(true);
    expect(await later.stop(found[0]!, sig())).toEqual({stopped: true});
    expect((await p.health(i, sig())).alive).toBe(false);
  });

  it('copies fresh databases from the template cache with a new identity', async () => {
    const spec = (env: string) => ({env, database: databaseName(fx.project, env), code, modules: ['mail'], demo: true});
    const first = await p.initDatabase(spec('tpl-a'), sig());
    const second = await p.initDatabase(spec('tpl-b'), sig());
    expect(first).toMatchObject({created: true, cache: 'miss'});
    expect(second).toMatchObject({created: true, cache: 'hit', templateKey: first.templateKey});
    const pa = await params('tpl-a', first.database);
    const pb = await params('tpl-b', second.database);
    for (const key of ['database.uuid', 'database.secret']) {
      expect(pa[key]).toBeTruthy();
      expect(pb[key]).not.toBe(pa[key]);
    }
    expect(pb['database.create_date']).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    expect(pb['web.base.url']).toBe('http://localhost:8069');
    // The filestore came along.
    const entries = async (env: string, database: string) => {
      const {sink, done} = collector();
      await p.filestore.archive({env, database}, sink, sig());
      return tarEntries(await done);
    };
    const fa = await entries('tpl-a', first.database);
    expect(fa.size).toBeGreaterThan(0);
    expect(await entries('tpl-b', second.database)).toEqual(fa);
    // Idempotent, and never over a database of another origin.
    expect(await p.initDatabase(spec('tpl-b'), sig())).toMatchObject({created: false, templateKey: first.templateKey});
    const handle = await p.database('tpl-c', sig());
    await handle.createDatabase(databaseName(fx.project, 'tpl-c'), {}, sig());
    await expect(p.initDatabase(spec('tpl-c'), sig())).rejects.toBeInstanceOf(ConflictError);
  });

  it('keeps at most maxCount templates, dropping the least recently used', async () => {
    const endpoint = await p.postgres.ready(sig());
    const r = await p.initDatabase({env: 'tpl-d', database: databaseName(fx.project, 'tpl-d'), code, modules: ['payment'], demo: false}, sig());
    expect(r.cache).toBe('miss');
    const names = (await p.templates.list(endpoint)).map((t) => t.name);
    expect(names).toHaveLength(2);
    expect(names).toContain(`tpl_${r.templateKey!.slice(0, 16)}`);
    expect(names).not.toContain(`tpl_${baseKey!.slice(0, 16)}`);
  });

  it('initialises directly when the template cache is off', async () => {
    const direct = new LocalProvider(
      {config: {project: fx.project, projectRoot: fx.projectRoot, postgres: {}}, clock: systemClock, logger: nullLogger},
      {templateCache: {maxCount: 0, maxAgeMs: 0}},
    );
    const database = databaseName(fx.project, 'direct');
    const r = await direct.initDatabase({env: 'direct', database, code, modules: ['base'], demo: false}, sig());
    expect(r).toEqual({database, created: true, cache: 'off'});
    expect((await params('direct', database))['database.uuid']).toBeTruthy();
    expect(await direct.initDatabase({env: 'direct', database, code, modules: ['base'], demo: false}, sig())).toMatchObject({created: false});
  });

  it('runs one-off Odoo commands, failing with the log tail', async () => {
    const database = databaseName(fx.project, 'iso-a');
    const job = {env: 'iso-a', envType: 'dev' as const, database, code};
    expect((await p.runOdoo({...job, command: 'neutralize', args: ['-d', database]}, sig())).exitCode).toBe(0);
    expect((await params('iso-a', database))['database.is_neutralized']).toBe('true');
    const err = await p.runOdoo({...job, args: ['--no-such-flag']}, sig()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(((err as ProviderError).data?.['logTail'] as string[]).join('\n')).toContain('no such option');
  });

  it('refuses a missing or broken odoo.bin without leaving an instance behind', async () => {
    const base = {env: 'broken', envType: 'dev' as const, release: 'r', database: databaseName(fx.project, 'broken')};
    await expect(p.startRelease({...base, launchId: randomUUID(), code: {version: '17.0', addonsPaths: []}}, sig())).rejects.toBeInstanceOf(ConfigError);
    await expect(p.startRelease({...base, launchId: randomUUID(), code: {...code, bin: '/nonexistent/odoo-bin'}}, sig())).rejects.toBeInstanceOf(ProviderError);
    expect(await p.list({env: 'broken'}, sig())).toEqual([]);
  });

  it('follows the log until the release stops', async () => {
    const i = await start('follow', 'dev', {fresh: false});
    const lines: string[] = [];
    const reading = (async () => {
      for await (const line of p.logs(i, {follow: true, tail: 5}, sig())) lines.push(line);
    })();
    await systemClock.sleep(300);
    await p.stop(i, sig());
    await reading;
    expect(lines.join('\n')).toMatch(/Initiating shutdown/);
  });
});
