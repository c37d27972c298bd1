import {execa} from 'execa';
import {mkdtemp, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {inject} from 'vitest';
import type {DoctorCommandResult} from '../../src/commands/doctor.js';
import type {RunCreateResult} from '../../src/commands/run/create.js';
import type {RunListResult} from '../../src/commands/run/list.js';
import type {RunLogsResult} from '../../src/commands/run/logs.js';
import type {RunStatusResult} from '../../src/commands/run/status.js';
import type {RunCancelResult} from '../../src/commands/run/cancel.js';
import type {RunnerResult} from '../../src/commands/runner.js';
import {createTestDatabase, type TestDatabase} from '../helpers/db.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'run.js');
const STANDIN = join(ROOT, 'test', 'fixtures', 'odoo-standin', 'odoo-bin');

let db: TestDatabase;
let project: string;
let broken: string;

/** A state.url the config schema accepts for a unix-socket server (no host in the authority). */
function stateUrl(name: string): string {
  const {socketDir, port} = inject('pg');
  return `postgresql:///${name}?host=${encodeURIComponent(socketDir)}&port=${port}&user=postgres`;
}

async function projectDir(odooBin: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'odoo-sh-next-e2e-run-'));
  await writeFile(
    join(dir, 'odoo-sh-next.config.yaml'),
    [`project: e2e-run`, `provider: {name: local}`, `odoo: {bin: ${JSON.stringify(odooBin)}}`, `state: {url: ${JSON.stringify(stateUrl(db.name))}}`, ''].join('\n'),
  );
  return dir;
}

interface Envelope<R> {
  status: number;
  result?: R;
  error?: {code: string; message: string; exitCode: number; actions: string[]; data?: Record<string, unknown>};
  warnings: string[];
}

async function cli<R>(cwd: string, ...args: string[]): Promise<{exitCode: number; json: Envelope<R>; stderr: string}> {
  const r = await execa(process.execPath, [BIN, ...args, '--json'], {cwd, reject: false, env: {NO_COLOR: '1'}});
  let json: Envelope<R>;
  try {
    json = JSON.parse(r.stdout) as Envelope<R>;
  } catch {
    throw new Error(`not a JSON envelope (exit ${r.exitCode}):\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
  return {exitCode: r.exitCode ?? -1, json, stderr: r.stderr};
}

beforeAll(async () => {
  db = await createTestDatabase('e2e_run');
  project = await projectDir(STANDIN);
  broken = await projectDir('./no-such-odoo-bin');
});
afterAll(async () => {
  await Promise.all([project, broken].filter(Boolean).map((d) => rm(d, {recursive: true, force: true})));
  await db?.drop();
});

describe('run commands (e2e)', () => {
  let doctorRunId: string;

  it('doctor --json passes with the stand-in as odoo.bin and lists its checks', async () => {
    const {exitCode, json, stderr} = await cli<DoctorCommandResult>(project, 'doctor');
    expect(exitCode, stderr).toBe(0);
    expect(json.status).toBe(0);
    expect(json.warnings).toEqual([]);
    expect(json.result!.run).toMatchObject({type: 'doctor', state: 'succeeded', attempts: 1});
    expect(json.result!.checks.map((c) => [c.name, c.status])).toEqual([['state-db', 'ok'], ['postgres-binaries', 'ok'], ['provider', 'ok']]);
    // Progress went to stderr as JSON lines, one event per line.
    const events = stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as {type: string; kind: string});
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((e) => e.type === 'event')).toBe(true);
    doctorRunId = json.result!.run.id;
  });

  it('doctor fails with exit 6 and the failed check in the error envelope when odoo.bin is missing', async () => {
    const {exitCode, json} = await cli<DoctorCommandResult>(broken, 'doctor');
    expect(exitCode).toBe(6);
    expect(json.status).toBe(6);
    expect(json.error).toMatchObject({code: 'PROVIDER', exitCode: 6, message: expect.stringContaining('doctor checks failed: provider')});
    const checks = json.error!.data!['checks'] as {name: string; status: string}[];
    expect(checks.find((c) => c.name === 'provider')).toMatchObject({status: 'fail'});
  });

  it('run create --type doctor executes inline; --detach queues for `runner --once`', async () => {
    const inline = await cli<RunCreateResult>(project, 'run', 'create', '--type', 'doctor');
    expect(inline.exitCode, inline.stderr).toBe(0);
    expect(inline.json.result!.run).toMatchObject({type: 'doctor', state: 'succeeded'});

    const queued = await cli<RunCreateResult>(project, 'run', 'create', '--type', 'doctor', '--detach', '--payload', '{"why": "e2e"}');
    expect(queued.exitCode, queued.stderr).toBe(0);
    expect(queued.json.result!.run).toMatchObject({state: 'queued', payload: {why: 'e2e'}});
    const runner = await cli<RunnerResult>(project, 'runner', '--once');
    expect(runner.exitCode, runner.stderr).toBe(0);
    expect(runner.json.result).toMatchObject({executed: 1, succeeded: 1});
    const after = await cli<RunStatusResult>(project, 'run', 'status', queued.json.result!.run.id);
    expect(after.json.result!.run.state).toBe('succeeded');
  });

  it('run create refuses an unknown type (exit 2) listing the known ones, and bad --payload', async () => {
    const unknown = await cli(project, 'run', 'create', '--type', 'nope');
    expect(unknown.exitCode).toBe(2);
    expect(unknown.json.error).toMatchObject({code: 'USAGE', message: expect.stringContaining('known types: ')});
    expect(unknown.json.error!.message).toContain('doctor');
    const badPayload = await cli(project, 'run', 'create', '--type', 'doctor', '--payload', '[1]');
    expect(badPayload.exitCode).toBe(2);
  });

  it('run list, run status, run logs', async () => {
    const list = await cli<RunListResult>(project, 'run', 'list', '--type', 'doctor', '--limit', '10');
    expect(list.exitCode).toBe(0);
    expect(list.json.result!.runs.length).toBeGreaterThanOrEqual(3);
    expect(list.json.result!.runs.map((r) => Number(r.id))).toEqual([...list.json.result!.runs.map((r) => Number(r.id))].sort((a, b) => b - a));

    const status = await cli<RunStatusResult>(project, 'run', 'status', doctorRunId);
    expect(status.exitCode).toBe(0);
    expect(status.json.result!.run).toMatchObject({id: doctorRunId, type: 'doctor', state: 'succeeded', result: {summary: {status: 'ok'}}});

    const logs = await cli<RunLogsResult>(project, 'run', 'logs', doctorRunId);
    expect(logs.exitCode).toBe(0);
    const messages = logs.json.result!.events.map((e) => e.message);
    expect(messages[0]).toMatch(/^attempt 1 of 5 started on worker /);
    expect(messages).toContain('state-db started');
    expect(messages.at(-1)).toBe('run succeeded');
    const followed = await cli<RunLogsResult>(project, 'run', 'logs', doctorRunId, '--follow');
    expect(followed.json.result!.events).toEqual(logs.json.result!.events);
  });

  it('run cancel cancels a queued run; cancelling it again is a conflict (exit 5)', async () => {
    const queued = await cli<RunCreateResult>(project, 'run', 'create', '--type', 'doctor', '--detach');
    const id = queued.json.result!.run.id;
    const cancel = await cli<RunCancelResult>(project, 'run', 'cancel', id);
    expect(cancel.exitCode).toBe(0);
    expect(cancel.json.result!.run).toMatchObject({id, state: 'cancelled'});
    expect((await cli(project, 'run', 'cancel', id)).exitCode).toBe(5);
  });

  it('unknown run id → exit 4, malformed id → exit 2', async () => {
    const missing = await cli(project, 'run', 'status', '999999');
    expect(missing.exitCode).toBe(4);
    expect(missing.json.error).toMatchObject({code: 'NOT_FOUND', exitCode: 4});
    const bad = await cli(project, 'run', 'status', 'abc');
    expect(bad.exitCode).toBe(2);
    expect(bad.json.error).toMatchObject({code: 'USAGE', exitCode: 2});
    expect((await cli(project, 'run', 'logs', '999999')).exitCode).toBe(4);
    expect((await cli(project, 'run', 'cancel', 'x1')).exitCode).toBe(2);
  });
});
