/**
 * Upgrade reports in the state store (000016): recorded with two artifacts and audited; approval admin-only, never by
 * the requester, only for a ready report, once; and the facts of the policy rule `upgrade report approved when the
 * Odoo major version changes` (PolicyRepository.upgradeFacts).
 */
import pg from 'pg';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {ConflictError, PolicyDeniedError} from '../../../src/core/errors.js';
import {PolicyRepository} from '../../../src/core/policy/policy-repository.js';
import {groupLogByModule} from '../../../src/core/upgrade/odoo-log.js';
import {buildUpgradeReport, renderUpgradeReportMarkdown, type UpgradeReport} from '../../../src/core/upgrade/report.js';
import {UpgradeRepository} from '../../../src/core/upgrade/upgrade-repository.js';
import {createMemberRole, createTestDatabase, type TestDatabase} from '../../helpers/db.js';

let db: TestDatabase;
let project: string;
const pools: pg.Pool[] = [];
const as = (role: string) => {
  const pool = new pg.Pool({connectionString: db.urlAs(role), max: 1});
  pool.on('error', () => undefined); // its connections are terminated when the test database is dropped
  pools.push(pool);
  return new UpgradeRepository(pool, project);
};

function report(ready: boolean): UpgradeReport {
  return buildUpgradeReport({
    env: 'production', runId: '1', database: 'x', fromVersion: '17.0', toVersion: '18.0', target: {bin: '/odoo18/odoo-bin'},
    startedAt: '2026-11-21T16:00:00.000Z', durationMs: 1000, exitCode: ready ? 0 : 1,
    before: [{name: 'base', state: 'installed', latestVersion: '17.0.1.3'}], after: [{name: 'base', state: 'installed', latestVersion: '18.0.1.3'}],
    log: groupLogByModule([]), logTruncated: false, sizeBefore: 1, sizeAfter: 2, removedApis: [], smoke: {ran: true, ok: true, checks: []},
  });
}

async function previewRun(): Promise<string> {
  const {rows} = await db.pool.query(`select (ops.queue_run($1, 'production', null, null, 'upgrade-preview', '{}', '{}')).id as id`, [project]);
  return String(rows[0].id);
}

async function record(repo: UpgradeRepository, ready: boolean) {
  const r = report(ready);
  return repo.record({runId: await previewRun(), env: 'production', report: r, markdown: renderUpgradeReportMarkdown(r)});
}

beforeAll(async () => {
  db = await createTestDatabase('upgrade');
  project = (await db.pool.query(`select (ops.create_project('upg')).id as id`)).rows[0].id;
  for (const role of ['upg_alice', 'upg_dev']) await createMemberRole(db.pool, role);
  await db.pool.query(`select ops.add_member($1, 'upg_alice', 'admin')`, [project]);
  await db.pool.query(`select ops.add_member($1, 'upg_dev', 'developer')`, [project]);
  await db.pool.query(`select ops.upsert_environment($1, 'production', 'production', null)`, [project]);
});
afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
  await db?.drop();
});

describe('upgrade reports', () => {
  it('records a report with its JSON and Markdown artifacts, audited; developers may not', async () => {
    const repo = new UpgradeRepository(db.pool, project);
    const stored = await record(repo, true);
    expect(stored).toMatchObject({id: expect.stringMatching(/^upg-\d+$/), env: 'production', fromVersion: '17.0', toVersion: '18.0',
      verdict: 'ready', requestedBy: 'postgres', approvedBy: null});
    expect(await repo.find({run: stored.runId!})).toMatchObject({id: stored.id});
    const artifacts = (await db.pool.query('select kind, name, metadata from ops.artifacts where run_id = $1 order by name', [stored.runId])).rows;
    expect(artifacts.map((a) => a.name)).toEqual([`upgrade-report-${stored.id.slice(4)}.json`, `upgrade-report-${stored.id.slice(4)}.md`]);
    expect(artifacts.every((a) => a.kind === 'upgrade-report')).toBe(true);
    const audit = (await db.pool.query(`select target, payload from ops.audit_log where project_id = $1 and action = 'upgrade.report'`, [project])).rows;
    expect(audit).toContainEqual({target: stored.id.slice(4), payload: {from_version: '17.0', to_version: '18.0', verdict: 'ready'}});
    await expect(record(as('upg_dev'), true)).rejects.toThrow(PolicyDeniedError);
  });

  it('approval: admin only, not the requester, only ready reports, once; audited', async () => {
    const repo = new UpgradeRepository(db.pool, project);
    const ready = await record(repo, true);
    const blocked = await record(repo, false);
    const id = (s: string) => s.slice(4);
    await expect(repo.approve(id(ready.id))).rejects.toThrow(/may not approve it/);
    await expect(as('upg_dev').approve(id(ready.id))).rejects.toThrow(PolicyDeniedError);
    await expect(as('upg_alice').approve(id(blocked.id))).rejects.toThrow(ConflictError);
    const approved = await as('upg_alice').approve(id(ready.id));
    expect(approved).toMatchObject({approvedBy: 'upg_alice', approvedAt: expect.any(String)});
    await expect(as('upg_alice').approve(id(ready.id))).rejects.toThrow(ConflictError);
    const audit = (await db.pool.query(`select actor, target from ops.audit_log where project_id = $1 and action = 'upgrade.approve'`, [project])).rows;
    expect(audit).toEqual([{actor: 'upg_alice', target: id(ready.id)}]);
  });

  it('gives the upgrade-report rule its facts: major change from the serving release, an approved ready report for the target series', async () => {
    const policy = new PolicyRepository(db.pool, project);
    const rel = (id: string, env: string, version: string) => db.pool.query(
      `select ops.record_release($1, $2, $3, null, null, 'h', $4, '{}', null, null, null)`, [project, id, env, version]);
    // No serving release yet (first deploy): no change.
    expect(await policy.upgradeFacts('production', null, null, '18.0')).toEqual({odooMajorChange: false, upgradeReportApproved: null});
    await rel('r-aaaaaaaaaaaa', 'production', '17.0');
    await db.pool.query(`update ops.environments set current_release = 'r-aaaaaaaaaaaa' where project_id = $1 and name = 'production'`, [project]);
    await rel('r-bbbbbbbbbbbb', 'production', '18.0');
    expect(await policy.upgradeFacts('production', 'r-aaaaaaaaaaaa', null)).toEqual({odooMajorChange: false, upgradeReportApproved: null});
    // A recorded 18.0 release, or a version given / configured: a major change; the 18.0 report above was approved.
    expect(await policy.upgradeFacts('production', 'r-bbbbbbbbbbbb', null)).toEqual({odooMajorChange: true, upgradeReportApproved: true});
    expect(await policy.upgradeFacts('production', 'r-cccccccccccc', null, '18.0')).toEqual({odooMajorChange: true, upgradeReportApproved: true});
    expect(await policy.upgradeFacts('production', null, '19.0')).toEqual({odooMajorChange: true, upgradeReportApproved: false});
    // Unknown target: fails closed.
    expect(await policy.upgradeFacts('production', 'r-cccccccccccc', null)).toEqual({odooMajorChange: null, upgradeReportApproved: null});
  });
});
