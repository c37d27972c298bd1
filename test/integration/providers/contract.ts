import {existsSync} from 'node:fs';
// The provider contract suite: one set of behaviours every provider must show. Each provider's
// integration test calls describeProviderContract with a factory giving a provider, the Odoo code
// it runs and a cleanup. Only the Provider interface is used here.
import {randomUUID} from 'node:crypto';
import {Readable} from 'node:stream';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {systemClock, type Clock} from '../../../src/core/clock.js';
import {NotFoundError} from '../../../src/core/errors.js';
import {waitHealthy, type OdooCode, type Provider, type ReleaseInstance} from '../../../src/providers/provider.js';
import {collector, tarEntries} from './tar-entries.js';

export interface ContractFixture {
  readonly provider: Provider;
  readonly code: OdooCode;
  readonly clock?: Clock;
  /** A database-name prefix unique to this run. */
  readonly dbPrefix: string;
  cleanup(): Promise<void>;
}

const signal = () => AbortSignal.timeout(120_000);

async function archive(provider: Provider, target: {env: string; database: string}): Promise<Map<string, string>> {
  const {sink, done} = collector();
  await provider.filestore.archive(target, sink, signal());
  return tarEntries(await done);
}

export function describeProviderContract(name: string, makeFixture: () => Promise<ContractFixture>): void {
  describe(`provider contract: ${name}`, () => {
    let fx: ContractFixture;
    let provider: Provider;
    let clock: Clock;
    const env = 'contract-main';
    let db: string;
    let instance: ReleaseInstance;
    const launchId = randomUUID();

    beforeAll(async () => {
      fx = await makeFixture();
      provider = fx.provider;
      clock = fx.clock ?? systemClock;
      db = `${fx.dbPrefix}_contract_main`;
    });
    afterAll(async () => {
      await fx?.cleanup();
    });

    it('prepare is idempotent', async () => {
      const a = await provider.prepare(signal());
      const b = await provider.prepare(signal());
      expect(b).toEqual(a);
      expect(a.postgres.port).toBeGreaterThan(0);
    });

    it('creates, finds and drops databases', async () => {
      const handle = await provider.database(env, signal());
      const name = `${fx.dbPrefix}_scratch`;
      expect(await handle.databaseExists(name, signal())).toBe(false);
      expect(await handle.createDatabase(name, {}, signal())).toEqual({created: true});
      expect(await handle.createDatabase(name, {}, signal())).toEqual({created: false});
      expect(await handle.databaseExists(name, signal())).toBe(true);
      const copy = `${fx.dbPrefix}_scratch_copy`;
      expect(await handle.createDatabase(copy, {template: name}, signal())).toEqual({created: true});
      expect(await handle.dropDatabase(copy, signal())).toEqual({dropped: true});
      expect(await handle.dropDatabase(name, signal())).toEqual({dropped: true});
      expect(await handle.dropDatabase(name, signal())).toEqual({dropped: false});
      expect(await handle.databaseExists(name, signal())).toBe(false);
      expect(String(handle.adminUrl)).toBe('[REDACTED]');
    });

    it("runs psql where the database is", async () => {
      const handle = await provider.database(env, signal());
      const {stdout} = await handle.runTool('psql', ['-X', '-A', '-t', '-c', 'select 1'], {}, signal());
      expect(stdout.trim()).toBe('1');
      const piped = collector();
      await handle.runTool('psql', ['-X', '-A', '-t', '-f', '-'], {stdin: Readable.from(['select 40 + 2;\n']), stdout: piped.sink}, signal());
      expect((await piped.done).toString().trim()).toBe('42');
      await expect(handle.runTool('psql', ['-X', '-v', 'ON_ERROR_STOP=1', '-c', 'select nope'], {}, signal())).rejects.toThrow(/nope/);
    });

    it('initialises a fresh database', async () => {
      const result = await provider.initDatabase({env, database: db, code: fx.code, modules: ['base'], demo: true}, signal());
      expect(result.database).toBe(db);
      expect(result.created).toBe(true);
      expect(['hit', 'miss', 'off']).toContain(result.cache);
      expect(await (await provider.database(env, signal())).databaseExists(db, signal())).toBe(true);
    });

    it('starts a release that becomes healthy and serves Odoo', async () => {
      instance = await provider.startRelease(
        {env, envType: 'dev', release: 'r1', launchId, database: db, code: fx.code},
        signal(),
      );
      expect(instance).toMatchObject({env, launchId, release: 'r1', database: db, state: 'running'});
      expect(instance.labels['odoo-sh.launch-id']).toBe(launchId);
      await waitHealthy(provider, instance, {timeoutMs: 60_000, clock, signal: signal()});
      const health = await fetch(`${instance.url}/web/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({status: 'pass'});
      const login = await fetch(`${instance.url}/web/login`);
      expect(login.status).toBe(200);
      expect(await login.text()).toContain('csrf_token');
    });

    it('returns the same instance for the same launch id', async () => {
      const again = await provider.startRelease(
        {env, envType: 'dev', release: 'r1', launchId, database: db, code: fx.code},
        signal(),
      );
      expect(again.id).toBe(instance.id);
      expect(again.url).toBe(instance.url);
      const mine = (await provider.list({env}, signal())).filter((i) => i.launchId === launchId);
      expect(mine).toHaveLength(1);
    });

    it('lists instances by environment label', async () => {
      const listed = await provider.list({env}, signal());
      expect(listed.map((i) => i.launchId)).toContain(launchId);
      expect(listed.every((i) => i.env === env)).toBe(true);
      expect((await provider.list({env: 'contract-other'}, signal())).map((i) => i.launchId)).not.toContain(launchId);
      expect((await provider.list({}, signal())).map((i) => i.launchId)).toContain(launchId);
    });

    it('shows logs and routes the environment', async () => {
      const lines: string[] = [];
      for await (const line of provider.logs(instance, {tail: 50}, signal())) lines.push(line);
      expect(lines.length).toBeGreaterThan(0);
      expect(lines.length).toBeLessThanOrEqual(50);
      const {url} = await provider.route(env, instance, signal());
      expect(url).toMatch(/^https?:\/\//);
      expect((await provider.list({env}, signal())).find((i) => i.launchId === launchId)?.routed).toBe(true);
    });

    it('execs in the release when the provider can', async () => {
      if (!provider.capabilities.exec) return;
      const out = collector();
      const code = await provider.exec(instance, ['odoo-bin', '--version'], {stdout: out.sink}, signal());
      expect(code).toBe(0);
      expect((await out.done).toString()).toMatch(/Odoo Server \d+\.\d/);
    });

    it('round-trips a filestore through archive and restore, and copies one', async () => {
      const source = {env, database: db};
      const original = await archive(provider, source);
      expect(original.size).toBeGreaterThan(0);
      const target = {env: 'contract-other', database: `${fx.dbPrefix}_restored`};
      const {sink, done} = collector();
      await provider.filestore.archive(source, sink, signal());
      await provider.filestore.restore(target, Readable.from([await done]), signal());
      expect(await archive(provider, target)).toEqual(original);
      const copied = {env: 'contract-other', database: `${fx.dbPrefix}_copied`};
      await provider.filestore.copy(source, copied, signal());
      expect(await archive(provider, copied)).toEqual(original);
      expect(await provider.filestore.remove(copied, signal())).toEqual({removed: true});
      expect(await provider.filestore.remove(copied, signal())).toEqual({removed: false});
      expect((await archive(provider, copied)).size).toBe(0);
      await provider.filestore.remove(target, signal());
    });

    it('stops a release: it is then reported unhealthy', async () => {
      expect(await provider.stop(instance, signal())).toEqual({stopped: true});
      const health = await provider.health(instance, signal());
      expect(health).toMatchObject({healthy: false, alive: false});
      expect(health.reason).toBeTruthy();
      expect(await provider.stop(instance, signal())).toEqual({stopped: false});
      expect((await provider.list({env}, signal())).find((i) => i.launchId === launchId)?.state).toBe('stopped');
    });

    it('removes a release: it is gone from the list', async () => {
      expect(await provider.remove(instance, signal())).toEqual({removed: true});
      expect((await provider.list({env}, signal())).map((i) => i.launchId)).not.toContain(launchId);
      expect(await provider.remove(instance, signal())).toEqual({removed: false});
      await expect(provider.health(instance, signal())).rejects.toBeInstanceOf(NotFoundError);
    });

    it('removes everything of an environment but its databases, idempotently', async () => {
      const other = await provider.startRelease(
        {env, envType: 'preview', release: 'r2', launchId: randomUUID(), database: db, code: fx.code}, signal());
      expect(await provider.removeEnvironment(env, signal())).toEqual({removed: true});
      expect(await provider.list({env}, signal())).toEqual([]);
      expect((await provider.health(other, signal()).catch((e: unknown) => e))).toBeInstanceOf(NotFoundError);
      expect(provider.filestore.location({env, database: db}).path ?? '').not.toSatisfy((p: string) => p !== '' && existsSync(p));
      expect(await provider.removeEnvironment(env, signal())).toEqual({removed: false});
      const handle = await provider.database(env, signal());
      expect(await handle.databaseExists(db, signal())).toBe(true);
    });
  });
}
