// `backups create` killed with SIGKILL at random points of its write, through the built CLI on
// the local provider (a preview made by the Odoo stand-in) with both storages: the killed backup
// is never listed complete, and the next `backups create` fails it and removes what it left
// (the `.partial` folder; the open multipart upload and objects without manifest; its scratch
// folder in .odoo-sh-next/tmp with the directory dump).
import {ListMultipartUploadsCommand, S3Client} from '@aws-sdk/client-s3';
import {execa, type ResultPromise} from 'execa';
import {randomBytes} from 'node:crypto';
import {existsSync} from 'node:fs';
import {mkdir, readdir, readFile, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {parseDocument} from 'yaml';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import type {BackupsCreateResult} from '../../../src/commands/backups/create.js';
import type {BackupsListResult} from '../../../src/commands/backups/list.js';
import type {PreviewUpResult} from '../../../src/commands/preview/up.js';
import {assertContract, BIN, ROOT, runCli, STANDIN, tempProject} from '../../helpers/cli.js';
import {startS3Server, type S3TestServer} from '../../helpers/s3-server.js';

const LEASE_SECONDS = 5;
let project: {dir: string; remove(): Promise<void>};
let s3: S3TestServer;
let env: string;
const s3Env = () => ({S3_KEY: s3.accessKeyId, S3_SECRET: s3.secretAccessKey});
const cli = <R>(...args: string[]) => runCli<R>([...args, '--json'], {cwd: project.dir, env: s3Env()});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const backupsRoot = () => join(project.dir, '.odoo-sh-next', 'backups', 'shop', env);

async function until<T>(fn: () => Promise<T | undefined | false>, timeoutMs: number, what: string): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function git(...args: string[]) {
  await execa('git', args, {cwd: project.dir, env: {GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.invalid'}});
}

async function setStorage(type: 'filesystem' | 's3') {
  const file = join(project.dir, 'odoo-sh-next.config.yaml');
  const doc = parseDocument(await readFile(file, 'utf8'));
  doc.setIn(['state', 'leaseSeconds'], LEASE_SECONDS);
  doc.setIn(['backups', 'storage'], type === 'filesystem'
    ? {type: 'filesystem', path: '.odoo-sh-next/backups'}
    : {type: 's3', bucket: s3.bucket, prefix: 'kill-test', region: s3.region, endpoint: s3.endpoint, forcePathStyle: true,
      accessKeyId: '${S3_KEY}', secretAccessKey: '${S3_SECRET}'});
  await writeFile(file, doc.toString());
}

const s3Client = () => new S3Client({endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: {accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey}});
const openUploads = async () => (await s3Client().send(new ListMultipartUploadsCommand({Bucket: s3.bucket}))).Uploads ?? [];
/** What killed backups leave in the project's scratch folder (their dump folders, spooled logs). */
const scratchFolders = async () => {
  const dir = join(project.dir, '.odoo-sh-next', 'tmp');
  return existsSync(dir) ? (await readdir(dir)).filter((n) => n.startsWith('backup-')) : [];
};
const partialFolders = async () => (existsSync(backupsRoot()) ? (await readdir(backupsRoot())).filter((n) => n.endsWith('.partial')) : []);

function spawnBackup(): ResultPromise {
  return execa(process.execPath, [BIN, 'backups', 'create', '--env', env, '--json'], {
    cwd: project.dir, reject: false, stdin: 'ignore',
    env: {PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env['PATH'] ?? ''}`, NO_COLOR: '1', ...s3Env()},
  });
}

beforeAll(async () => {
  project = await tempProject();
  s3 = await startS3Server();
  await git('init', '-q', '-b', 'main');
  await writeFile(join(project.dir, 'README.md'), 'kill test\n');
  await git('add', '-A');
  await git('commit', '-q', '-m', 'init');
  await git('branch', 'feature/kill');
  const init = await cli('init', '--project', 'shop', '--odoo-bin', STANDIN);
  expect(init.exitCode, init.stderr).toBe(0);
  await setStorage('filesystem');
  const up = await cli<PreviewUpResult>('preview', 'up', '--branch', 'feature/kill');
  expect(up.exitCode, up.stderr).toBe(0);
  env = up.json.result!.env;
  // A filestore big enough that the S3 upload of its archive is multipart (parts of 16 MiB).
  const envs = (await cli<{name: string; databaseName: string}[]>('env', 'list')).json.result!;
  const database = envs.find((e) => e.name === env)!.databaseName;
  const dir = join(project.dir, '.odoo-sh-next', 'envs', env, 'data', 'filestore', database, 'ee');
  await mkdir(dir, {recursive: true});
  await writeFile(join(dir, 'ee00112233445566778899aabbccddeeff001122'), randomBytes(20 * 1024 * 1024));
});

afterAll(async () => {
  if (project) await runCli(['down'], {cwd: project.dir});
  await s3?.stop();
  await project?.remove();
});

/** Spawns `backups create`, waits until `started` holds, then SIGKILLs it after a random part of maxDelayMs. */
async function killDuring(started: () => Promise<boolean>, maxDelayMs: number): Promise<number> {
  const child = spawnBackup();
  let exited = false;
  void child.then(() => (exited = true));
  await until(async () => exited || (await started()), 60_000, 'the backup to start writing');
  const delay = Math.floor(Math.random() * maxDelayMs);
  await sleep(delay);
  child.kill('SIGKILL');
  await child;
  return delay;
}

/** How long the backup folder stays `<id>.partial` in an uninterrupted run (polled). */
async function partialWindowMs(): Promise<number> {
  const child = spawnBackup();
  let exited = false;
  void child.then(() => (exited = true));
  let seen = 0;
  let gone = 0;
  while (!exited) {
    const now = Date.now();
    const partial = (await partialFolders()).length > 0;
    if (partial && !seen) seen = now;
    if (!partial && seen && !gone) gone = now;
    await sleep(10);
  }
  const res = await child;
  expect(res.exitCode, String(res.stdout)).toBe(0);
  return Math.max(20, (gone || Date.now()) - seen);
}

describe('backups create killed with SIGKILL', () => {
  it('is never listed complete, and the next create cleans up after it on both storages', async () => {
    // Filesystem: killed at a random moment while the backup folder is still <id>.partial.
    const window = await partialWindowMs();
    let delay = -1;
    for (let attempt = 0; attempt < 3 && (await partialFolders()).length === 0; attempt++) {
      if (attempt > 0) await sleep(LEASE_SECONDS * 1000 + 500); // a kill after completion may still hold the env
      delay = await killDuring(async () => (await partialFolders()).length > 0, window * 0.6);
    }
    expect(await partialFolders(), `killed ${delay} ms into a ${window} ms write`).toHaveLength(1);

    // S3: killed while a multipart upload is open. The env stays held by the killed run until its lease lapses.
    await setStorage('s3');
    await sleep(LEASE_SECONDS * 1000 + 500);
    for (let attempt = 0; attempt < 3 && (await openUploads()).length === 0; attempt++) {
      if (attempt > 0) await sleep(LEASE_SECONDS * 1000 + 500);
      delay = await killDuring(async () => (await openUploads()).length > 0, 30);
    }
    expect(await openUploads(), `killed ${delay} ms after the upload started`).toHaveLength(1);

    let list = (await cli<BackupsListResult>('backups', 'list', '--env', env)).json.result!;
    const interrupted = list.filter((b) => b.status !== 'complete').map((b) => b.id);
    expect(interrupted.length).toBeGreaterThanOrEqual(2);

    expect((await scratchFolders()).length).toBeGreaterThanOrEqual(1);

    // The next backups clean up: the killed ones are failed and their leftovers removed.
    await sleep(LEASE_SECONDS * 1000 + 500);
    const onS3 = await cli<BackupsCreateResult>('backups', 'create', '--env', env);
    expect(onS3.exitCode, onS3.stderr + onS3.stdout).toBe(0);
    assertContract('backups create', onS3.json.result);
    expect(onS3.json.result!.backup?.status).toBe('complete');
    expect(await openUploads()).toEqual([]);
    await setStorage('filesystem');
    const onFs = await cli<BackupsCreateResult>('backups', 'create', '--env', env, '--kind', 'daily');
    expect(onFs.exitCode, onFs.stderr + onFs.stdout).toBe(0);
    expect(await partialFolders()).toEqual([]);
    expect(await scratchFolders()).toEqual([]);

    list = (await cli<BackupsListResult>('backups', 'list', '--env', env)).json.result!;
    assertContract('backups list', list);
    for (const b of list) {
      if (interrupted.includes(b.id)) {
        expect(b.status).toBe('failed');
        expect(b.error).toMatch(/interrupted/);
      } else {
        expect(b.status).toBe('complete');
      }
    }
    // Whatever is complete verifies (the uninterrupted ones, or a kill that came after the end).
    for (const b of list.filter((x) => x.status === 'complete')) {
      await setStorage(b.location!.startsWith('s3://') ? 's3' : 'filesystem');
      const verified = await cli('backups', 'verify', b.id);
      expect(verified.exitCode, verified.stderr + verified.stdout).toBe(0);
      assertContract('backups verify', verified.json.result);
    }
    // A backup is only reached through the storage that holds it.
    await setStorage('s3');
    const id = onFs.json.result!.backup!.id;
    const elsewhere = await cli('backups', 'verify', id);
    expect(elsewhere.exitCode).toBe(5);
    expect(elsewhere.json.error?.message).toMatch(/outside the configured storage/);
    await setStorage('filesystem');
    const download = await cli('backups', 'download', id, '--out', 'backup.tar');
    expect(download.exitCode, download.stderr + download.stdout).toBe(0);
    assertContract('backups download', download.json.result);
    expect(existsSync(join(project.dir, 'backup.tar'))).toBe(true);
    const deleted = await cli('backups', 'delete', id);
    expect(deleted.exitCode, deleted.stderr + deleted.stdout).toBe(0);
    assertContract('backups delete', deleted.json.result);
    expect(existsSync(join(backupsRoot(), id))).toBe(false);
  });
});
