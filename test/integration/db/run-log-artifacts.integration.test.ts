import {createHash} from 'node:crypto';
import {mkdtemp, readFile, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import pg from 'pg';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {systemClock} from '../../../src/core/clock.js';
import {ConflictError, NotFoundError, UsageError} from '../../../src/core/errors.js';
import {nullSink} from '../../../src/core/events.js';
import {nullLogger} from '../../../src/core/logger.js';
import type {RunEvent} from '../../../src/core/run/run-record.js';
import {RunRepository, type Lease} from '../../../src/core/run/run-repository.js';
import {RunService} from '../../../src/core/run/run-service.js';
import {RunTypeRegistry} from '../../../src/core/run/run-types.js';
import {createMemberRole} from '../../helpers/db.js';
import {expireLease, runTestEnv, testConfig, type RunTestEnv} from '../run/helpers.js';

// ops.record_run_log (000019): a run's log kept as an artifact, composed in SQL from the events of
// the caller's attempt, fenced by the lease, replaced by a retry, bounded (tail kept), and hidden
// from members of other projects by RLS.

let env: RunTestEnv;
let repo: RunRepository;
let dir: string;
beforeAll(async () => {
  env = await runTestEnv('runlog');
  repo = new RunRepository(env.db.pool, env.projectId);
  dir = await mkdtemp(join(tmpdir(), 'run-log-'));
});
afterAll(async () => {
  await env?.db.drop();
  if (dir) await rm(dir, {recursive: true, force: true});
});

/** A run claimed and started by `worker`; returns its lease. */
async function started(worker = 'w1'): Promise<Lease> {
  const run = await repo.queue({type: 'build', backoffMs: 1});
  const claimed = (await repo.claim(run.id, worker, 30))!;
  const lease = {runId: run.id, workerId: worker, attempt: claimed.attempts};
  await repo.start(lease, 30);
  return lease;
}

/** The line ops.record_run_log writes for an event. */
const line = (e: RunEvent) => `${e.at} ${e.level.toUpperCase()} ${e.phase ? `[${e.phase}] ` : ''}${e.message}\n`;
const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

async function content(artifactId: string): Promise<string> {
  const {rows} = await env.db.pool.query<{content: string}>('select content from ops.artifact_contents where artifact_id = $1', [artifactId]);
  return rows[0]!.content;
}

describe('ops.record_run_log', () => {
  it('composes the log from the events of the attempt (one phase when asked), ordered, with size and sha256', async () => {
    const lease = await started();
    await repo.event(lease.runId, {level: 'warn', message: 'before the build', lease});
    await repo.event(lease.runId, {level: 'info', message: 'build started', phase: 'build', lease});
    await repo.event(lease.runId, {level: 'info', message: 'Step 1/2 : FROM odoo — ünïcode', phase: 'build', payload: {layer: 'x'}, lease});
    await repo.event(lease.runId, {level: 'error', message: 'layer failed', phase: 'build', lease});
    await repo.event(lease.runId, {level: 'debug', message: 'after', phase: 'record', lease});
    const events = await repo.events(lease.runId);

    const saved = await repo.saveLog(lease, 'build.log', {phase: 'build'});
    const expected = events.filter((e) => e.phase === 'build').map(line).join('');
    expect(await content(saved.id)).toBe(expected);
    expect(saved).toEqual({id: saved.id, name: 'build.log', sizeBytes: Buffer.byteLength(expected), sha256: sha256(expected), truncated: false});

    const all = await repo.saveLog(lease, 'run.log');
    expect(await content(all.id)).toBe(events.map(line).join(''));
    expect((await content(all.id)).split('\n')).toContainEqual(expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z WARN before the build$/));

    const artifacts = await repo.artifacts(lease.runId);
    expect(artifacts.map((a) => [a.kind, a.name, a.uri, a.stored])).toEqual([
      ['log', 'build.log', `ops:artifacts/${saved.id}`, true],
      ['log', 'run.log', `ops:artifacts/${all.id}`, true],
    ]);
    expect(artifacts[0]!.metadata).toMatchObject({format: 'text', attempt: 1, phase: 'build', lines: 3, truncated: false, omitted_lines: 0});
  });

  it('refuses a stale attempt (lease fencing); a retry replaces the earlier attempt’s log of that name', async () => {
    const first = await started('worker-a');
    await repo.event(first.runId, {level: 'info', message: 'attempt one', phase: 'build', lease: first});
    const old = await repo.saveLog(first, 'build.log', {phase: 'build'});

    await expireLease(env.db.pool, first.runId);
    await repo.sweep();
    await env.db.pool.query('update ops.runs set run_at = now() where id = $1', [first.runId]);
    const again = (await repo.claim(first.runId, 'worker-b', 30))!;
    const second = {runId: first.runId, workerId: 'worker-b', attempt: again.attempts};
    expect(second.attempt).toBe(2);
    await repo.start(second, 30);

    await expect(repo.saveLog(first, 'build.log', {phase: 'build'})).rejects.toBeInstanceOf(ConflictError);
    await expect(repo.saveLog({...second, attempt: 1}, 'build.log')).rejects.toBeInstanceOf(ConflictError);

    await repo.event(first.runId, {level: 'info', message: 'attempt two', phase: 'build', lease: second});
    const fresh = await repo.saveLog(second, 'build.log', {phase: 'build'});
    expect(fresh.id).not.toBe(old.id);
    const artifacts = await repo.artifacts(first.runId);
    expect(artifacts.map((a) => [a.id, a.name, a.metadata['attempt']])).toEqual([[fresh.id, 'build.log', 2]]);
    const text = await content(fresh.id);
    expect(text).toContain('attempt two');
    expect(text).not.toContain('attempt one');
    const {rows} = await env.db.pool.query('select 1 from ops.artifact_contents where artifact_id = $1', [old.id]);
    expect(rows).toEqual([]);
  });

  it('keeps the tail above the bound, says so in the first line and the metadata, and cuts a too long line at a character', async () => {
    const lease = await started();
    for (let i = 0; i < 40; i++) await repo.event(lease.runId, {level: 'info', message: `line ${i} ${'x'.repeat(60)}`, phase: 'build', lease});
    const saved = await repo.saveLog(lease, 'tail.log', {phase: 'build', maxBytes: 1024});
    const text = await content(saved.id);
    expect(saved.truncated).toBe(true);
    expect(saved.sizeBytes).toBe(Buffer.byteLength(text));
    expect(saved.sizeBytes).toBeLessThanOrEqual(1024);
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^\[log truncated to 1024 bytes: \d+ of 40 lines \(\d+ of \d+ bytes\) left out\]$/);
    expect(lines.at(-1)).toMatch(/ INFO \[build\] line 39 x+$/);
    expect(lines.slice(1).every((l) => / INFO \[build\] line \d+ x{60}$/.test(l))).toBe(true);
    const meta = (await repo.artifacts(lease.runId))[0]!.metadata;
    expect(meta).toMatchObject({truncated: true, max_bytes: 1024, lines: 40, omitted_lines: 40 - (lines.length - 1)});

    await repo.event(lease.runId, {level: 'info', message: `${'é'.repeat(2000)}end`, phase: 'build', lease});
    const long = await repo.saveLog(lease, 'tail.log', {phase: 'build', maxBytes: 1024});
    const cut = await content(long.id);
    expect(long.sizeBytes).toBeLessThanOrEqual(1024);
    expect(cut).toMatch(/^\[log truncated to 1024 bytes: 41 of 41 lines .*\]\né+end\n$/);
    expect(Buffer.from(cut, 'utf8').toString('utf8')).toBe(cut);
  });

  it('bounds the log to 8 MiB by default', async () => {
    const lease = await started();
    await env.db.pool.query(
      `insert into ops.run_events (run_id, project_id, level, phase, message, attempt)
       select $1, $2, 'info', 'build', 'chunk ' || i || ' ' || repeat('y', 1024 * 1024), 1 from generate_series(1, 9) i`,
      [lease.runId, env.projectId],
    );
    const saved = await repo.saveLog(lease, 'build.log', {phase: 'build'});
    expect(saved.truncated).toBe(true);
    expect(saved.sizeBytes).toBeLessThanOrEqual(8 * 1024 * 1024);
    expect(saved.sizeBytes).toBeGreaterThan(7 * 1024 * 1024);
    const text = await content(saved.id);
    expect(text).toMatch(/^\[log truncated to 8388608 bytes: 2 of 9 lines/);
    expect(text).toContain('chunk 9 ');
    expect(text).not.toContain('chunk 2 ');
  });

  it('refuses a bad name or bound (UsageError)', async () => {
    const lease = await started();
    await expect(repo.saveLog(lease, '../etc/passwd')).rejects.toBeInstanceOf(UsageError);
    await expect(repo.saveLog(lease, 'x.log', {maxBytes: 16 * 1024 * 1024})).rejects.toBeInstanceOf(UsageError);
    await expect(repo.saveLog(lease, 'x.log', {maxBytes: 10})).rejects.toBeInstanceOf(UsageError);
  });
});

describe('reading artifacts (RunService.artifacts / readArtifact) and RLS', () => {
  it('members read their project’s logs; members of another project see nothing; other artifacts say where they live', async () => {
    const lease = await started();
    await repo.event(lease.runId, {level: 'info', message: 'hello log', phase: 'build', lease});
    const saved = await repo.saveLog(lease, 'build.log', {phase: 'build'});
    await env.db.pool.query(
      `insert into ops.artifacts (run_id, project_id, kind, name, uri) values ($1, $2, 'upgrade-report', 'upgrade-report-7.json', 'ops:upgrade_reports/7#json')`,
      [lease.runId, env.projectId],
    );

    const {rows} = await env.db.pool.query<{id: string}>(`select (ops.create_project('other')).id as id`);
    await createMemberRole(env.db.pool, 'log_viewer');
    await createMemberRole(env.db.pool, 'log_outsider');
    await env.db.pool.query(`select ops.add_member($1, 'log_viewer', 'viewer'), ops.add_member($2, 'log_outsider', 'developer')`, [env.projectId, rows[0]!.id]);
    const pools: pg.Pool[] = [];
    const as = (role: string, projectId: string) => {
      const pool = new pg.Pool({connectionString: env.db.urlAs(role), max: 2}).on('error', () => undefined);
      pools.push(pool);
      return {pool, service: new RunService({pool, projectId, clock: systemClock, events: nullSink, logger: nullLogger, config: testConfig(), runTypes: new RunTypeRegistry([])})};
    };
    try {
      const viewer = as('log_viewer', env.projectId);
      const list = await viewer.service.artifacts(lease.runId);
      expect(list.map((a) => [a.name, a.stored, a.sizeBytes])).toEqual([['build.log', true, saved.sizeBytes], ['upgrade-report-7.json', false, null]]);
      const read = await viewer.service.readArtifact(lease.runId, 'build.log');
      expect(read.content).toMatch(/INFO \[build\] hello log\n$/);
      expect(sha256(read.content!)).toBe(saved.sha256);
      const out = join(dir, 'build.log');
      expect(await viewer.service.readArtifact(`#${lease.runId}`, 'build.log', out)).toMatchObject({content: null, writtenTo: out});
      expect(await readFile(out, 'utf8')).toBe(read.content);
      expect(await viewer.service.readArtifact(lease.runId, 'upgrade-report-7.json')).toMatchObject({
        content: null, location: 'ops:upgrade_reports/7#json', readWith: 'odoo-sh-next upgrade report show upg-7 --format json',
      });
      await expect(viewer.service.readArtifact(lease.runId, 'nope.log')).rejects.toBeInstanceOf(NotFoundError);
      await expect(viewer.service.artifacts('abc')).rejects.toBeInstanceOf(UsageError);
      // A viewer never writes a run's log (no lease of its own, and no worker rights).
      await expect(new RunRepository(viewer.pool, env.projectId).saveLog(lease, 'x.log')).rejects.toBeInstanceOf(NotFoundError);

      const outsider = as('log_outsider', env.projectId);
      await expect(outsider.service.artifacts(lease.runId)).rejects.toBeInstanceOf(NotFoundError);
      await expect(outsider.service.readArtifact(lease.runId, 'build.log')).rejects.toBeInstanceOf(NotFoundError);
      expect((await outsider.pool.query('select * from ops.artifacts')).rows).toEqual([]);
      expect((await outsider.pool.query('select * from ops.artifact_contents')).rows).toEqual([]);
      await expect(outsider.pool.query('insert into ops.artifact_contents values ($1, $2, $3)', [saved.id, env.projectId, 'x'])).rejects.toMatchObject({code: '42501'});
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });
});

describe('retention (ops.prune_run_logs, ops.prune_events, called by the runner)', () => {
  it('an admin prunes the logs and events older than the retention in the projects they administer; nothing else', async () => {
    const DAY = 86_400_000;
    const oldLease = await started();
    await repo.event(oldLease.runId, {level: 'info', message: 'an old build', phase: 'build', lease: oldLease});
    const oldLog = await repo.saveLog(oldLease, 'build.log');
    await env.db.pool.query(
      `insert into ops.artifacts (run_id, project_id, kind, name, uri, created_at) values ($1, $2, 'upgrade-report', 'upgrade-report-8.json', 'ops:upgrade_reports/8#json', now() - interval '400 days')`,
      [oldLease.runId, env.projectId],
    );
    const freshLease = await started();
    await repo.event(freshLease.runId, {level: 'info', message: 'a fresh build', lease: freshLease});
    const freshLog = await repo.saveLog(freshLease, 'build.log');
    // Another project's old log, which an admin of this project only must not touch.
    const {rows: [other]} = await env.db.pool.query<{id: string}>(`select (ops.create_project('retention-other')).id as id`);
    const {rows: [foreign]} = await env.db.pool.query<{id: string}>(
      `insert into ops.artifacts (project_id, kind, name, uri, created_at) values ($1, 'log', 'build.log', 'ops:artifacts/pending', now() - interval '400 days') returning id`, [other!.id]);
    await env.db.pool.query(`update ops.artifacts set created_at = now() - interval '200 days' where id = $1`, [oldLog.id]);
    await env.db.pool.query(`update ops.run_events set at = now() - interval '40 days' where run_id = $1`, [oldLease.runId]);

    await createMemberRole(env.db.pool, 'retention_dev');
    await createMemberRole(env.db.pool, 'retention_preview_admin');
    await createMemberRole(env.db.pool, 'retention_admin');
    await env.db.pool.query(
      `select ops.add_member($1, 'retention_dev', 'developer'), ops.add_member($1, 'retention_preview_admin', 'admin', 'preview'), ops.add_member($1, 'retention_admin', 'admin')`,
      [env.projectId],
    );
    const dev = new pg.Pool({connectionString: env.db.urlAs('retention_dev'), max: 1}).on('error', () => undefined);
    const previewAdmin = new pg.Pool({connectionString: env.db.urlAs('retention_preview_admin'), max: 1}).on('error', () => undefined);
    const admin = new pg.Pool({connectionString: env.db.urlAs('retention_admin'), max: 1}).on('error', () => undefined);
    const ids = async () => (await env.db.pool.query<{id: string}>('select id::text from ops.artifacts order by id')).rows.map((r) => r.id);
    try {
      const before = await ids();
      // A developer, and an admin of previews only, prune nothing (the retention is project-wide).
      for (const pool of [dev, previewAdmin]) {
        expect(await new RunRepository(pool, env.projectId).pruneLogs(180 * DAY)).toBe(0);
        expect(await new RunRepository(pool, env.projectId).pruneEvents(30 * DAY)).toBe(0);
      }
      expect(await ids()).toEqual(before);
      expect((await repo.events(oldLease.runId)).length).toBeGreaterThan(0);
      // Under an hour is refused (a typo must not empty the logs).
      await expect(new RunRepository(admin, env.projectId).pruneLogs(60_000)).rejects.toBeInstanceOf(UsageError);

      const adminRepo = new RunRepository(admin, env.projectId);
      expect(await adminRepo.pruneLogs(180 * DAY)).toBe(1);
      const after = await ids();
      expect(after).not.toContain(oldLog.id);
      expect(after).toEqual(expect.arrayContaining([freshLog.id, foreign!.id]));
      expect((await env.db.pool.query(`select 1 from ops.artifacts where kind = 'upgrade-report' and name = 'upgrade-report-8.json'`)).rowCount).toBe(1);
      expect((await env.db.pool.query('select 1 from ops.artifact_contents where artifact_id = $1', [oldLog.id])).rowCount).toBe(0);
      expect(await content(freshLog.id)).toContain('a fresh build');
      expect(await adminRepo.pruneLogs(180 * DAY)).toBe(0);

      const events = async (runId: string) => (await repo.events(runId)).length;
      expect(await events(oldLease.runId)).toBeGreaterThan(0);
      expect(await adminRepo.pruneEvents(30 * DAY)).toBeGreaterThan(0);
      expect(await events(oldLease.runId)).toBe(0);
      expect(await events(freshLease.runId)).toBeGreaterThan(0);
    } finally {
      await Promise.all([dev.end(), previewAdmin.end(), admin.end()]);
    }
  });
});
