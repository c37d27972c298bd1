/**
 * `run artifacts` through the built CLI: a run queued with the CLI, executed here as a worker that
 * keeps its log (RunRepository.saveLog → ops.record_run_log, what ctx.saveLog does), then listed,
 * printed, written to a file; an artifact stored elsewhere says where it lives; a member of another
 * project gets not found; a bad run id is a usage error.
 */
import {createHash} from 'node:crypto';
import {readFile, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import type {RunArtifactsResult} from '../../src/commands/run/artifacts.js';
import type {RunCreateResult} from '../../src/commands/run/create.js';
import {RunRepository} from '../../src/core/run/run-repository.js';
import {assertContract, runCli, STANDIN, tempProject} from '../helpers/cli.js';
import {createMemberRole, createTestDatabase, type TestDatabase, stateUrlFor as stateUrl} from '../helpers/db.js';

let db: TestDatabase;
let project: {dir: string; remove(): Promise<void>};
let outsider: {dir: string; remove(): Promise<void>};
let runId: string;
let log: {id: string; sha256: string; sizeBytes: number};


async function configure(dir: string, name: string, user: string): Promise<void> {
  await writeFile(join(dir, 'odoo-sh-next.config.yaml'), [
    `project: ${name}`, 'provider: {name: local}', `odoo: {bin: ${JSON.stringify(STANDIN)}}`,
    `state: {url: ${JSON.stringify(stateUrl(db.name, user))}}`, '',
  ].join('\n'));
}

const cli = <R>(dir: string, ...args: string[]) => runCli<R>(['run', 'artifacts', ...args], {cwd: dir});

beforeAll(async () => {
  db = await createTestDatabase('e2e_art');
  project = await tempProject('odoo-sh-next-e2e-art-');
  outsider = await tempProject('odoo-sh-next-e2e-art-out-');
  await configure(project.dir, 'e2e-art', 'postgres');

  const created = await runCli<RunCreateResult>(['run', 'create', '--type', 'doctor', '--detach', '--json'], {cwd: project.dir});
  expect(created.exitCode, created.stderr).toBe(0);
  runId = created.json.result!.run.id;

  // Execute it here as a worker would, keeping its log.
  const {rows} = await db.pool.query<{id: string}>(`select id from ops.projects where name = 'e2e-art'`);
  const repo = new RunRepository(db.pool, rows[0]!.id);
  const claimed = (await repo.claim(runId, 'e2e-worker', 60))!;
  const lease = {runId, workerId: 'e2e-worker', attempt: claimed.attempts};
  await repo.start(lease, 60);
  await repo.event(runId, {level: 'info', message: 'Step 1/3 : FROM odoo-sh-next-test/odoo:17.0', phase: 'build', lease});
  await repo.event(runId, {level: 'warn', message: 'layer config: slow', phase: 'build', lease});
  log = await repo.saveLog(lease, 'build.log', {phase: 'build'});
  await repo.finish(lease, 'succeeded', {result: {}});
  await db.pool.query(
    `insert into ops.artifacts (run_id, project_id, kind, name, uri) values ($1, $2, 'upgrade-report', 'upgrade-report-3.md', 'ops:upgrade_reports/3#markdown')`,
    [runId, rows[0]!.id],
  );

  await createMemberRole(db.pool, 'e2e_art_outsider');
  const other = await db.pool.query<{id: string}>(`select (ops.create_project('e2e-other')).id as id`);
  await db.pool.query(`select ops.add_member($1, 'e2e_art_outsider', 'developer')`, [other.rows[0]!.id]);
  await configure(outsider.dir, 'e2e-other', 'e2e_art_outsider');
}, 120_000);

afterAll(async () => {
  await project?.remove();
  await outsider?.remove();
  await db?.drop();
});

describe('run artifacts (e2e)', () => {
  it('lists the run’s artifacts (--json matches the contract; a table for people)', async () => {
    const res = await cli<RunArtifactsResult>(project.dir, runId, '--json');
    expect(res.exitCode, res.stderr).toBe(0);
    assertContract('run artifacts', res.json.result);
    expect(res.json.result!.artifacts.map((a) => [a.id, a.kind, a.name, a.sizeBytes, a.sha256, a.stored])).toEqual([
      [log.id, 'log', 'build.log', log.sizeBytes, log.sha256, true],
      [expect.any(String), 'upgrade-report', 'upgrade-report-3.md', null, null, false],
    ]);
    const human = await cli(project.dir, runId);
    expect(human.exitCode, human.stderr).toBe(0);
    expect(human.stdout.split('\n')[0]).toMatch(/^ID\s+KIND\s+NAME\s+SIZE\s+SHA256\s+CREATED$/);
    expect(human.stdout).toContain(`build.log`);
  });

  it('--name prints the log; --out writes it; the bytes are the ones the sha256 names', async () => {
    const printed = await cli(project.dir, runId, '--name', 'build.log');
    expect(printed.exitCode, printed.stderr).toBe(0);
    const lines = printed.stdout.split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO \[build\] Step 1\/3 : FROM odoo-sh-next-test\/odoo:17.0$/);
    expect(lines[1]).toMatch(/Z WARN \[build\] layer config: slow$/);

    const out = join(project.dir, 'saved.log');
    const written = await cli<RunArtifactsResult>(project.dir, runId, '--name', 'build.log', '--out', out, '--json');
    expect(written.exitCode, written.stderr).toBe(0);
    assertContract('run artifacts', written.json.result);
    expect(written.json.result).toMatchObject({runId, writtenTo: out, content: null, artifacts: [{name: 'build.log'}]});
    const bytes = await readFile(out);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(log.sha256);
    expect(bytes.toString('utf8').trimEnd()).toBe(printed.stdout);

    const json = await cli<RunArtifactsResult>(project.dir, runId, '--name', 'build.log', '--json');
    expect(json.json.result!.content).toBe(bytes.toString('utf8'));
  });

  it('an artifact stored elsewhere says where it lives and how to read it', async () => {
    const res = await cli<RunArtifactsResult>(project.dir, runId, '--name', 'upgrade-report-3.md', '--json');
    expect(res.exitCode, res.stderr).toBe(0);
    expect(res.json.result).toMatchObject({content: null, location: 'ops:upgrade_reports/3#markdown', readWith: 'odoo-sh-next upgrade report show upg-3'});
    const human = await cli(project.dir, runId, '--name', 'upgrade-report-3.md');
    expect(human.stderr).toContain('lives at ops:upgrade_reports/3#markdown; read it with `odoo-sh-next upgrade report show upg-3`');
  });

  it('unknown name or run → exit 4; a member of another project → exit 4; a bad run id → exit 2', async () => {
    const noName = await cli(project.dir, runId, '--name', 'nope.log', '--json');
    expect(noName.exitCode).toBe(4);
    expect(noName.json.error?.message).toContain('has no artifact named "nope.log" (it has: build.log, upgrade-report-3.md)');
    expect((await cli(project.dir, '999999', '--json')).exitCode).toBe(4);
    const other = await cli(outsider.dir, runId, '--json');
    expect(other.exitCode, other.stderr).toBe(4);
    expect(other.json.error?.message).toBe(`run ${runId} not found`);
    expect((await cli(outsider.dir, runId, '--name', 'build.log', '--json')).exitCode).toBe(4);
    const bad = await cli(project.dir, 'abc', '--json');
    expect(bad.exitCode).toBe(2);
    expect(bad.json.error?.message).toContain('invalid run id "abc"');
  });
});
