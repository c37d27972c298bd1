/**
 * Approvals enforced by the database (000014.sql), driven through ApprovalsService as real member roles:
 * self-approval, quorum, reject wins, expiry, release/env/action binding, roles per environment type,
 * and a member with a direct connection who tries to write the tables.
 */
import pg from 'pg';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {systemClock} from '../../../src/core/clock.js';
import {ConflictError, NotFoundError, PolicyDeniedError, UsageError} from '../../../src/core/errors.js';
import {ApprovalsService} from '../../../src/core/approvals/approvals-service.js';
import {createMemberRole, createTestDatabase, type TestDatabase} from '../../helpers/db.js';

let db: TestDatabase;
let projectId: string;
const pools: pg.Pool[] = [];
const as: Record<string, ApprovalsService> = {};
const MEMBERS = {apv_admin2: 'admin', apv_admin3: 'admin', apv_dev: 'developer', apv_dev2: 'developer', apv_tester: 'tester', apv_viewer: 'viewer'} as const;

function service(pool: pg.Pool, selfApprovalAllowed?: () => Promise<boolean>): ApprovalsService {
  return new ApprovalsService({pool, projectId, clock: systemClock, ...(selfApprovalAllowed ? {selfApprovalAllowed} : {})});
}

beforeAll(async () => {
  db = await createTestDatabase('apv');
  // The superuser creating the project is its admin (actor 'postgres').
  projectId = (await db.pool.query<{id: string}>(`select (ops.create_project('apv')).id as id`)).rows[0]!.id;
  for (const [member, role] of Object.entries(MEMBERS)) {
    await createMemberRole(db.pool, member);
    await db.pool.query('select ops.add_member($1, $2, $3)', [projectId, member, role]);
    const pool = new pg.Pool({connectionString: db.urlAs(member), max: 2});
    pool.on('error', () => undefined);
    pools.push(pool);
    as[member] = service(pool);
  }
  as['postgres'] = service(db.pool);
  await db.pool.query(`select ops.upsert_environment($1, 'production', 'production', 'main')`, [projectId]);
  await db.pool.query(`select ops.upsert_environment($1, 'staging', 'staging', 'release/x')`, [projectId]);
});

afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
  await db?.drop();
});

const prod = (release = 'rel-a', quorum = 1) => ({action: 'promote' as const, env: 'production', release, quorum});

describe('self-approval', () => {
  it('is refused for the requester (exit 8 with the reason), allowed for another admin', async () => {
    const a = await as['postgres']!.request(prod());
    const err = await as['postgres']!.approve(a.id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PolicyDeniedError);
    expect((err as PolicyDeniedError).reasons.join()).toContain('self-approval refused');
    const done = await as['apv_admin2']!.approve(a.id.slice(0, 8), {comment: 'looks good'});
    expect(done).toMatchObject({status: 'approved', decidedBy: 'apv_admin2', requestedBy: 'postgres'});
    expect(done.votes).toEqual([expect.objectContaining({voter: 'apv_admin2', role: 'admin', vote: 'approve', comment: 'looks good'})]);
  });

  it('is allowed when the stored policy says so (allow_self), and a requester may always reject their own request', async () => {
    await db.pool.query(`select ops.set_policy($1, 'production', '["approvals >= 1 from role admin"]'::jsonb)`, [projectId]);
    try {
      const a = await as['postgres']!.request(prod('rel-self'));
      const lenient = service(db.pool, async () => true);
      expect((await lenient.approve(a.id)).status).toBe('approved');
      const b = await as['postgres']!.request(prod('rel-self-2'));
      expect((await as['postgres']!.reject(b.id)).status).toBe('rejected');
    } finally {
      await db.pool.query(`select ops.set_policy($1, 'production', null)`, [projectId]);
    }
  });

  it('is refused by the database when the caller claims allow_self but no stored policy allows it', async () => {
    const a = await as['postgres']!.request(prod('rel-self-claim'));
    await expect(db.pool.query(`select ops.decide_approval($1, 'approve', true)`, [a.id])).rejects.toMatchObject({code: 'OS403'});
    await db.pool.query(`select ops.set_policy($1, 'production', '["no self-approval"]'::jsonb)`, [projectId]);
    try {
      const err = await db.pool.query(`select ops.decide_approval($1, 'approve', true)`, [a.id]).catch((e: unknown) => e);
      expect(err).toMatchObject({code: 'OS403'});
      expect((err as Error).message).toContain('no stored production policy allows self-approval');
    } finally {
      await db.pool.query(`select ops.set_policy($1, 'production', null)`, [projectId]);
    }
  });

  it('is refused through a direct SQL call without allow_self, as the same actor named by jwt claims', async () => {
    await db.pool.query(`do $$ begin
      if not exists (select 1 from pg_roles where rolname = 'apv_auth') then create role apv_auth login in role ops_app, ops_authenticator; end if; end $$`);
    await db.pool.query('select ops.add_member($1, $2, $3)', [projectId, 'alice@example.com', 'admin']);
    const c = new pg.Client({connectionString: db.urlAs('apv_auth')});
    await c.connect();
    try {
      await c.query(`select set_config('request.jwt.claims', '{"sub":"alice@example.com"}', false)`);
      const {rows} = await c.query<{id: string; requested_by: string}>(`select * from ops.request_approval($1, 'deploy', 'production', 'rel-jwt')`, [projectId]);
      expect(rows[0]!.requested_by).toBe('alice@example.com');
      await expect(c.query(`select ops.decide_approval($1, 'approve')`, [rows[0]!.id])).rejects.toMatchObject({code: 'OS403'});
    } finally {
      await c.end();
    }
  });
});

describe('quorum and reject', () => {
  it('needs two distinct approvers for quorum 2; a second vote by one voter is a conflict', async () => {
    const a = await as['postgres']!.request(prod('rel-q', 2));
    const first = await as['apv_admin2']!.approve(a.id);
    expect(first.status).toBe('pending');
    await expect(as['apv_admin2']!.approve(a.id)).rejects.toBeInstanceOf(ConflictError);
    const second = await as['apv_admin3']!.approve(a.id);
    expect(second).toMatchObject({status: 'approved', decidedBy: 'apv_admin3'});
    expect(second.votes.map((v) => v.voter)).toEqual(['apv_admin2', 'apv_admin3']);
    const facts = await as['apv_dev']!.validApprovers({action: 'promote', env: 'production', release: 'rel-q'});
    expect(facts.map((f) => [f.approver, f.role, f.requestedBy])).toEqual([['apv_admin2', 'admin', 'postgres'], ['apv_admin3', 'admin', 'postgres']]);
    await expect(as['apv_admin2']!.reject(a.id)).rejects.toBeInstanceOf(ConflictError);
  });

  it('counts concurrent votes once each: quorum 2 by two admins at the same moment is approved once', async () => {
    const a = await as['postgres']!.request(prod('rel-race', 2));
    const [x, y] = await Promise.all([as['apv_admin2']!.approve(a.id), as['apv_admin3']!.approve(a.id)]);
    expect([x.status, y.status].sort()).toEqual(['approved', 'pending']);
    const {rows} = await db.pool.query<{n: number}>(
      `select count(*)::int as n from ops.audit_log where target = $1 and payload ->> 'status' = 'approved'`, [a.id]);
    expect(rows[0]!.n).toBe(1);
  });

  it('decides the request as rejected on one reject, even after an approve', async () => {
    const a = await as['postgres']!.request(prod('rel-r', 2));
    await as['apv_admin2']!.approve(a.id);
    const rejected = await as['apv_admin3']!.reject(a.id, {comment: 'not today'});
    expect(rejected.status).toBe('rejected');
    await expect(as['postgres']!.reject(a.id)).rejects.toBeInstanceOf(ConflictError);
    expect(await as['postgres']!.valid({action: 'promote', env: 'production', release: 'rel-r'})).toEqual([]);
  });
});

describe('expiry', () => {
  it('cannot decide an expired request (conflict) and lists it as expired', async () => {
    const a = await as['postgres']!.request({...prod('rel-exp'), ttlMs: 60_000});
    await db.pool.query(`update ops.approvals set expires_at = now() - interval '1 second' where id = $1`, [a.id]);
    await expect(as['apv_admin2']!.approve(a.id)).rejects.toThrow(/expired|already expired/);
    await expect(as['apv_admin2']!.approve(a.id)).rejects.toBeInstanceOf(ConflictError);
    const listed = await as['apv_viewer']!.list({status: 'expired'});
    expect(listed.map((x) => x.id)).toContain(a.id);
  });

  it('drops an approved request from valid_approvals once it expires', async () => {
    const a = await as['postgres']!.request(prod('rel-exp2'));
    await as['apv_admin2']!.approve(a.id);
    expect(await as['postgres']!.valid({action: 'promote', env: 'production', release: 'rel-exp2'})).toHaveLength(1);
    await db.pool.query(`update ops.approvals set expires_at = now() - interval '1 second' where id = $1`, [a.id]);
    expect(await as['postgres']!.valid({action: 'promote', env: 'production', release: 'rel-exp2'})).toEqual([]);
  });
});

describe('binding to action, environment and release', () => {
  it('admits exactly the approved release, environment and action', async () => {
    const a = await as['postgres']!.request(prod('rel-bind'));
    await as['apv_admin2']!.approve(a.id);
    const valid = (action: 'promote' | 'deploy', env: string, release: string | null) => as['apv_dev']!.valid({action, env, release});
    expect((await valid('promote', 'production', 'rel-bind')).map((x) => x.id)).toEqual([a.id]);
    expect(await valid('promote', 'production', 'rel-other')).toEqual([]);
    expect(await valid('promote', 'production', null)).toEqual([]);
    expect(await valid('promote', 'staging', 'rel-bind')).toEqual([]);
    expect(await valid('deploy', 'production', 'rel-bind')).toEqual([]);
  });
});

describe('roles', () => {
  it('lets neither a developer nor a tester approve production; a tester approves staging', async () => {
    const a = await as['apv_dev']!.request(prod('rel-dev'));
    await expect(as['apv_dev2']!.approve(a.id)).rejects.toThrow(/needs role admin/);
    await expect(as['apv_tester']!.approve(a.id)).rejects.toBeInstanceOf(PolicyDeniedError);
    await expect(as['apv_dev2']!.reject(a.id)).rejects.toBeInstanceOf(PolicyDeniedError);
    const s = await as['apv_dev']!.request({action: 'deploy', env: 'staging', release: 'rel-s'});
    await expect(as['apv_dev2']!.approve(s.id)).rejects.toBeInstanceOf(PolicyDeniedError);
    expect((await as['apv_tester']!.approve(s.id)).votes[0]).toMatchObject({voter: 'apv_tester', role: 'tester'});
  });

  it('lets a viewer list but neither request nor decide', async () => {
    await expect(as['apv_viewer']!.request(prod('rel-v'))).rejects.toBeInstanceOf(PolicyDeniedError);
    const a = await as['postgres']!.request(prod('rel-v'));
    await expect(as['apv_viewer']!.approve(a.id)).rejects.toThrow(/viewers are read-only/);
    expect((await as['apv_viewer']!.list({env: 'production'})).length).toBeGreaterThan(0);
  });

  it('gives an environment not created yet the production rules', async () => {
    const a = await as['apv_dev']!.request({action: 'deploy', env: 'not-yet', release: 'r1'});
    await expect(as['apv_tester']!.approve(a.id)).rejects.toBeInstanceOf(PolicyDeniedError);
    expect((await as['apv_admin2']!.approve(a.id)).status).toBe('approved');
  });

  it('refuses writes to the tables from a member with a direct connection', async () => {
    const a = await as['apv_dev']!.request(prod('rel-direct'));
    const dev = pools[Object.keys(MEMBERS).indexOf('apv_dev')]!;
    await expect(dev.query(`update ops.approvals set status = 'approved' where id = $1`, [a.id])).rejects.toMatchObject({code: '42501'});
    await expect(dev.query(`insert into ops.approval_votes (approval_id, project_id, voter, role, vote) values ($1, $2, 'apv_dev', 'admin', 'approve')`,
      [a.id, projectId])).rejects.toMatchObject({code: '42501'});
    await expect(dev.query(`select ops.approval_env_type($1, 'production')`, [projectId])).rejects.toMatchObject({code: '42501'});
  });
});

describe('ids and audit', () => {
  it('maps malformed ids to usage errors and unknown ones to not found', async () => {
    await expect(as['postgres']!.approve('xyz')).rejects.toBeInstanceOf(UsageError);
    await expect(as['postgres']!.approve('abc12')).rejects.toBeInstanceOf(UsageError);
    await expect(as['postgres']!.approve('00000000-0000-4000-8000-000000000000')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('keeps other projects\' approvals out of reach', async () => {
    const {rows} = await db.pool.query<{id: string}>(`select (ops.create_project('apv-other')).id as id`);
    const other = await service(db.pool).request(prod('rel-o'));
    const otherProject = new ApprovalsService({pool: db.pool, projectId: rows[0]!.id, clock: systemClock});
    await expect(otherProject.approve(other.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(as['apv_dev']!.valid({action: 'promote', env: 'production', release: 'rel-o'})).resolves.toEqual([]);
    const devInOther = new ApprovalsService({pool: pools[0]!, projectId: rows[0]!.id, clock: systemClock});
    await expect(devInOther.list()).rejects.toBeInstanceOf(NotFoundError);
  });

  it('audits requests and votes in the chain', async () => {
    const {rows} = await db.pool.query<{action: string}>(
      `select action from ops.audit_log where project_id = $1 and action like 'approval.%' order by seq`, [projectId]);
    const actions = new Set(rows.map((r) => r.action));
    for (const a of ['approval.request', 'approval.approve', 'approval.reject', 'approval.expire', 'approval.denied']) expect(actions).toContain(a);
    const denied = await db.pool.query<{actor: string; payload: {vote: string; reason: string}}>(
      `select actor, payload from ops.audit_log where project_id = $1 and action = 'approval.denied' order by seq limit 1`, [projectId]);
    expect(denied.rows[0]).toMatchObject({actor: 'postgres', payload: {vote: 'approve', reason: expect.stringContaining('self-approval refused')}});
  });
});
