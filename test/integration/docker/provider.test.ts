// The docker-local provider on the real engine (host networking, loopback only, the locally built
// test images): the shared provider contract, then what only a container provider does (kept
// stopped releases and resume, the router, label-only ownership, streaming dumps). One project per
// file, prepared once; afterwards nothing labelled with it may remain.
import {randomBytes, randomUUID} from 'node:crypto';
import {execFileSync} from 'node:child_process';
import {mkdir, mkdtemp, readFile, readdir, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {Readable} from 'node:stream';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {systemClock} from '../../../src/core/clock.js';
import {ConflictError, NotFoundError, ProviderError} from '../../../src/core/errors.js';
import {nullLogger} from '../../../src/core/logger.js';
import {databaseName} from '../../../src/core/odoo/database-name.js';
import {DockerProvider} from '../../../src/providers/docker/docker-provider.js';
import {writeBackup} from '../../../src/core/backup/backup-pipeline.js';
import {verifyBackup} from '../../../src/core/backup/backup-verify.js';
import {createEmptyDatabase} from '../../../src/core/backup/restore-database.js';
import {NativeBackupSource} from '../../../src/core/backup/restore-source.js';
import {FilesystemBackupStorage} from '../../../src/core/storage/filesystem-storage.js';
import {waitHealthy, type OdooCode, type ReleaseInstance} from '../../../src/providers/provider.js';
import {CADDY_IMAGE, ODOO_IMAGE, POSTGRES_IMAGE, TEST_LABEL, docker, ensureTestImages, leftovers} from '../../helpers/docker.js';
import {describeProviderContract, type ContractFixture} from '../providers/contract.js';
import {collector, tarEntries} from '../providers/tar-entries.js';
import {getWithHost} from '../../helpers/http.js';

const project = `dk${randomBytes(3).toString('hex')}`;
const code: OdooCode = {version: '17.0', image: ODOO_IMAGE, addonsPaths: []};
const sig = () => AbortSignal.timeout(120_000);
let dir: string | undefined;
let shared: Promise<DockerProvider> | undefined;

function makeProvider(root: string, opts: {templateCache?: boolean} = {}): DockerProvider {
  return new DockerProvider(
    {
      config: {
        project, projectRoot: root,
        postgres: {image: POSTGRES_IMAGE}, odoo: {image: ODOO_IMAGE}, router: {image: CADDY_IMAGE, domain: 'localhost'},
        provider: {docker: {network: 'host'}},
      },
      clock: systemClock, logger: nullLogger,
    },
    {postgresSettings: {fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off'}, stopGraceSeconds: 5, ...opts},
  );
}

/** One provider for the whole file (the contract suite and the tests below). */
function provider(): Promise<DockerProvider> {
  shared ??= (async () => {
    dir = await mkdtemp(join(tmpdir(), 'odoo-sh-docker-'));
    return makeProvider(join(dir, 'project'));
  })();
  return shared;
}

// Builds the test images when missing (about 1.5 min on a fresh machine), before any fixture.
beforeAll(() => ensureTestImages(), 600_000);

afterAll(async () => {
  if (!shared) return;
  const p = await shared;
  await p.down(sig()).catch(() => undefined);
  await p.destroyProject();
  if (dir) await rm(dir, {recursive: true, force: true});
  expect(await leftovers(project)).toEqual({containers: [], volumes: [], networks: []});
}, 120_000);

describeProviderContract('docker-local', async (): Promise<ContractFixture> => ({
  provider: await provider(),
  code,
  dbPrefix: `t${randomBytes(3).toString('hex')}`,
  cleanup: async () => undefined,
}));

const viaRouter = getWithHost;

describe('docker-local provider', () => {
  let p: DockerProvider;
  const env = 'dk-main';
  const database = databaseName(project, env);
  let blue: ReleaseInstance;
  let baseKey: string | undefined;

  beforeAll(async () => {
    p = await provider();
    baseKey = (await p.initDatabase({env, database, code, modules: ['base'], demo: false}, sig())).templateKey;
  }, 300_000);

  it('copies fresh databases from the template cache with a new identity and the filestore', async () => {
    // mail + demo data: attachments, so the filestore has files.
    const spec = (e: string) => ({env: e, database: databaseName(project, e), code, modules: ['mail'], demo: true});
    const first = await p.initDatabase(spec('dk-tpl-a'), sig());
    expect(first).toMatchObject({created: true, cache: 'miss'});
    expect(first.templateKey).not.toBe(baseKey);
    const other = databaseName(project, 'dk-tpl');
    const r = await p.initDatabase(spec('dk-tpl'), sig());
    expect(r).toMatchObject({created: true, cache: 'hit', templateKey: first.templateKey});
    const source = {env: 'dk-tpl-a', database: first.database};
    const handle = await p.database(env, sig());
    const uuid = async (db: string) => (await handle.runTool('psql', ['-X', '-A', '-t', '-d', db, '-c', "select value from ir_config_parameter where key = 'database.uuid'"], {}, sig())).stdout.trim();
    expect(await uuid(other)).not.toBe(await uuid(first.database));
    const files = async (target: {env: string; database: string}) => {
      const {sink, done} = collector();
      await p.filestore.archive(target, sink, sig());
      return tarEntries(await done);
    };
    const copied = await files({env: 'dk-tpl', database: other});
    expect(copied.size).toBeGreaterThan(0);
    expect(copied).toEqual(await files(source));
    expect(await p.initDatabase(spec('dk-tpl'), sig())).toMatchObject({created: false});
    const direct = makeProvider(p.state.dir.replace(/\/\.odoo-sh-next\/docker$/, ''), {templateCache: false});
    const plain = databaseName(project, 'dk-direct');
    expect(await direct.initDatabase({env: 'dk-direct', database: plain, code, modules: ['base'], demo: false}, sig())).toEqual({database: plain, created: true, cache: 'off'});
    for (const e of ['dk-tpl', 'dk-tpl-a', 'dk-direct']) expect(await p.removeEnvironment(e, sig())).toEqual({removed: true});
  });

  const start = async (release: string, launchId = randomUUID()) => {
    const i = await p.startRelease({env, envType: 'dev', release, launchId, database, code}, sig());
    await waitHealthy(p, i, {timeoutMs: 60_000, clock: systemClock, signal: sig()});
    return i;
  };

  it('starts one container per launch id, also when two starts race', async () => {
    const launchId = randomUUID();
    const [a, b] = await Promise.all([
      p.startRelease({env, envType: 'dev', release: 'race', launchId, database, code}, sig()),
      p.startRelease({env, envType: 'dev', release: 'race', launchId, database, code}, sig()),
    ]);
    expect(a.id).toBe(b.id);
    expect((await p.list({env}, sig())).filter((i) => i.launchId === launchId)).toHaveLength(1);
    await expect(p.startRelease({env: 'dk-other', envType: 'dev', release: 'race', launchId, database, code}, sig())).rejects.toBeInstanceOf(ConflictError);
    expect(await p.remove(a, sig())).toEqual({removed: true});
  });

  it('routes the environment through the router and switches blue → green', async () => {
    blue = await start('blue');
    const {url} = await p.route(env, blue, sig());
    const {httpPort} = await p.state.router();
    expect(url).toBe(`http://${env}.${project}.localhost:${httpPort}`);
    const host = `${env}.${project}.localhost`;
    expect(await viaRouter(httpPort, host, '/web/health')).toMatchObject({status: 200});
    expect((await viaRouter(httpPort, `nope.${project}.localhost`, '/web/health')).status).toBe(404);
    const green = await start('green');
    await p.route(env, green, sig());
    const listed = await p.list({env}, sig());
    expect(listed.find((i) => i.id === green.id)?.routed).toBe(true);
    expect(listed.find((i) => i.id === blue.id)?.routed).toBe(false);
    expect(await viaRouter(httpPort, host, '/web/health')).toMatchObject({status: 200});
    // Blue is stopped but kept: a rollback resumes it in seconds.
    expect(await p.stop(blue, sig())).toEqual({stopped: true});
    expect((await p.list({env}, sig())).find((i) => i.id === blue.id)?.state).toBe('stopped');
    expect((await docker(['inspect', '--format', '{{.State.Status}}', blue.id])).trim()).toBe('exited');
    const t0 = Date.now();
    const resumed = await p.resume(blue, sig());
    await waitHealthy(p, resumed, {timeoutMs: 30_000, clock: systemClock, signal: sig()});
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(resumed).toMatchObject({id: blue.id, state: 'running', port: blue.port});
    await p.route(env, resumed, sig());
    expect(await viaRouter(httpPort, host, '/web/health')).toMatchObject({status: 200});
    expect((await p.list({env}, sig())).find((i) => i.id === blue.id)?.routed).toBe(true);
    await p.remove(green, sig());
  });

  it('lists and removes by label only: an unlabelled container is never touched', async () => {
    const name = `${project}-foreign`;
    // Project, env and role labels but not odoo-sh.managed: not ours.
    await docker(['create', '--name', name, '--label', `${TEST_LABEL}=1`, '--label', `odoo-sh.project=${project}`, '--label', `odoo-sh.env=${env}`,
      '--label', 'odoo-sh.role=release', '--label', 'odoo-sh.launch-id=foreign', POSTGRES_IMAGE, 'true']);
    try {
      expect((await p.list({env}, sig())).map((i) => i.launchId)).not.toContain('foreign');
      await expect(p.health({provider: 'docker-local', id: name, env, launchId: 'foreign'}, sig())).rejects.toBeInstanceOf(NotFoundError);
      expect(await p.remove({provider: 'docker-local', id: name, env, launchId: 'foreign'}, sig())).toEqual({removed: false});
      expect((await docker(['ps', '-a', '--filter', `name=${name}`, '--format', '{{.Names}}'])).trim()).toBe(name);
    } finally {
      await docker(['rm', '-f', name]);
    }
  });

  it('streams a pg_dump out of the Postgres container and pg_restore back in', async () => {
    const handle = await p.database(env, sig());
    const dump = collector();
    await handle.runTool('pg_dump', ['-Fc', '-d', database], {stdout: dump.sink}, sig());
    const bytes = await dump.done;
    expect(bytes.subarray(0, 5).toString()).toBe('PGDMP');
    const copy = `${database}_copy`;
    await handle.createDatabase(copy, {}, sig());
    // Like the product's restore: extensions come from the dump, created as the owner role.
    await handle.runTool('psql', ['-X', '-q', '-d', copy, '-c', 'drop extension if exists pg_trgm'], {}, sig());
    await handle.runTool('pg_restore', ['--exit-on-error', '--no-owner', `--role=${handle.ownerRole}`, '-d', copy], {stdin: Readable.from([bytes])}, sig());
    const count = (db: string) => handle.runTool('psql', ['-X', '-A', '-t', '-d', db, '-c', 'select count(*) from ir_module_module'], {}, sig());
    expect((await count(copy)).stdout.trim()).toBe((await count(database)).stdout.trim());
    expect(await handle.dropDatabase(copy, sig())).toEqual({dropped: true});
  });

  it('bridges files of this machine named in pg tool argv (directory dumps, dump files, FIFOs)', async () => {
    const handle = await p.database(env, sig());
    const work = await mkdtemp(join(tmpdir(), 'odoo-sh-dump-'));
    try {
      const dumpDir = join(work, 'dir');
      await handle.runTool('pg_dump', ['--format=directory', '--jobs=2', `--file=${dumpDir}`, `--dbname=${database}`], {}, sig());
      expect((await readdir(dumpDir))).toContain('toc.dat');
      const copy = `${database}_dir`;
      await handle.createDatabase(copy, {}, sig());
      await handle.runTool('psql', ['-X', '-q', '-d', copy, '-c', 'drop extension if exists pg_trgm'], {}, sig());
      await handle.runTool('pg_restore', ['--jobs=2', '--exit-on-error', '--no-owner', `--role=${handle.ownerRole}`, `--dbname=${copy}`, dumpDir], {}, sig());
      const count = (db: string) => handle.runTool('psql', ['-X', '-A', '-t', '-d', db, '-c', 'select count(*) from ir_module_module'], {}, sig());
      expect((await count(copy)).stdout.trim()).toBe((await count(database)).stdout.trim());
      await handle.dropDatabase(copy, sig());
      // A dump written into a FIFO of this machine, read back as it is written.
      const fifo = join(work, 'fifo');
      execFileSync('mkfifo', [fifo]);
      const reading = readFile(fifo);
      await handle.runTool('pg_dump', ['-Fc', `--file=${fifo}`, '-d', database], {}, sig());
      const bytes = await reading;
      expect(bytes.subarray(0, 5).toString()).toBe('PGDMP');
      // A dump file of this machine restored by path (listed).
      await writeFile(join(work, 'db.dump'), bytes);
      const {stdout} = await handle.runTool('pg_restore', ['--list', join(work, 'db.dump')], {}, sig());
      expect(stdout).toContain('TABLE DATA public ir_module_module');
    } finally {
      await rm(work, {recursive: true, force: true});
    }
  });

  it('backs up as a parallel directory dump copied out of the container, verifies it, restores it into a new database', async () => {
    const work = await mkdtemp(join(tmpdir(), 'odoo-sh-dk-backup-'));
    try {
      const storage = new FilesystemBackupStorage(join(work, 'backups'));
      const ref = {project, env, id: randomUUID()};
      const progress = {phase: <T>(_n: string, fn: () => Promise<T>) => fn(), event: async () => undefined};
      const written = await writeBackup({provider: p, storage, clock: systemClock, scratchDir: join(work, 'tmp')},
        {ref, kind: 'manual', database, release: null, createdAt: new Date()}, progress, sig());
      expect(written.manifest.database.format).toBe('pg_dump-directory+tar');
      expect(written.manifest.parts.map((x) => x.file)).toEqual(['database.dir.tar', 'filestore.tar.zst', 'logs.tar.zst']);
      expect(await readdir(join(work, 'tmp'))).toEqual([]); // the dump folder copied out went with the backup
      const handle = await p.database(env, sig());
      const report = await verifyBackup({storage, database: async () => handle}, ref, written.manifest, sig());
      expect(report).toMatchObject({ok: true, failureCount: 0});
      expect(report.database.tocEntries).toBeGreaterThan(10);
      // Restore the way a restore run does: fetch (extract), pg_restore --jobs from the folder (copied in).
      const source = new NativeBackupSource(written.manifest, {open: (file, s) => storage.read(ref, file, s)}, 'backup', {}, ref.id);
      await source.fetch(join(work, 'fetch'), sig());
      const copy = `${database}_rt`;
      await createEmptyDatabase(handle, copy, sig());
      await source.loadDatabase(handle, copy, {jobs: 2}, sig());
      const count = (db: string) => handle.runTool('psql', ['-X', '-A', '-t', '-d', db, '-c', 'select count(*) from ir_module_module'], {}, sig());
      expect((await count(copy)).stdout.trim()).toBe((await count(database)).stdout.trim());
      await handle.dropDatabase(copy, sig());
    } finally {
      await rm(work, {recursive: true, force: true});
    }
  });

  it('copies a folder of this machine into a filestore, owned by the Odoo user', async () => {
    const work = await mkdtemp(join(tmpdir(), 'odoo-sh-fs-'));
    try {
      await mkdir(join(work, 'ab'));
      await writeFile(join(work, 'ab', 'ab12'), 'content', {mode: 0o600});
      const target = {env: 'dk-path', database: `${database}_path`};
      await p.filestore.copy({path: work}, target, sig());
      const {sink, done} = collector();
      await p.filestore.archive(target, sink, sig());
      expect([...tarEntries(await done).keys()]).toEqual(['ab/ab12']);
      const owner = await docker(['run', '--rm', '--entrypoint', 'stat', '-v', `osn-${project}-dk-path-data:/var/lib/odoo`, ODOO_IMAGE,
        '-c', '%U', `/var/lib/odoo/filestore/${target.database}/ab/ab12`]);
      expect(owner.trim()).toBe('odoo');
      expect(await p.removeEnvironment('dk-path', sig())).toEqual({removed: true});
    } finally {
      await rm(work, {recursive: true, force: true});
    }
  });

  it('runs one-off Odoo commands in throwaway containers, failing with the log tail', async () => {
    const job = {env, envType: 'dev' as const, database, code};
    expect((await p.runOdoo({...job, command: 'neutralize', args: ['-d', database]}, sig())).exitCode).toBe(0);
    const err = await p.runOdoo({...job, args: ['--no-such-flag']}, sig()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(((err as ProviderError).data?.['logTail'] as string[]).join('\n')).toContain('no such option');
    expect((await docker(['ps', '-a', '--filter', `label=odoo-sh.project=${project}`, '--filter', 'label=odoo-sh.role=job', '-q'])).trim()).toBe('');
  });

  it('execs with stdin piped and follows the log until the release stops', async () => {
    const out = collector();
    const exit = await p.exec(blue, ['sh', '-c', 'cat; exit 3'], {stdin: Readable.from(['piped\n']), stdout: out.sink}, sig());
    expect(exit).toBe(3);
    expect((await out.done).toString()).toBe('piped\n');
    const lines: string[] = [];
    const reading = (async () => {
      for await (const line of p.logs(blue, {follow: true, tail: 5}, sig())) lines.push(line);
    })();
    await systemClock.sleep(300);
    await p.stop(blue, sig());
    await reading;
    expect(lines.length).toBeGreaterThan(0);
    await expect(p.exec(blue, ['true'], {}, sig())).rejects.toBeInstanceOf(ConflictError);
  });

  it('down stops everything but keeps the data; prepare brings the project back', async () => {
    const i = await start('after-down');
    await p.down(sig());
    const status = async (name: string) => (await docker(['inspect', '--format', '{{.State.Status}}', name])).trim();
    expect(await status(`osn-${project}-postgres`)).toBe('exited');
    expect(await status(`osn-${project}-router`)).toBe('exited');
    expect((await p.list({env}, sig())).find((x) => x.id === i.id)?.state).toBe('stopped');
    const again = makeProvider(p.state.dir.replace(/\/\.odoo-sh-next\/docker$/, ''));
    await again.prepare(sig());
    expect(await (await again.database(env, sig())).databaseExists(database, sig())).toBe(true);
    await again.resume(i, sig());
    await waitHealthy(again, i, {timeoutMs: 30_000, clock: systemClock, signal: sig()});
    expect(await again.removeEnvironment(env, sig())).toEqual({removed: true});
    expect(await again.list({env}, sig())).toEqual([]);
  });
});
