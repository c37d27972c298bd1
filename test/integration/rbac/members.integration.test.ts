import pg from 'pg';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {createMemberRole, createTestDatabase, type TestDatabase} from '../../helpers/db.js';
import {MembersService} from '../../../src/core/members/members-service.js';
import {scramSha256Verifier} from '../../../src/core/members/scram.js';
import {Secret} from '../../../src/core/secret.js';
import {ConflictError, NotFoundError, PolicyDeniedError, UsageError} from '../../../src/core/errors.js';

// `members add|remove|list` against the real SQL API (000012.sql): LOGIN roles with the least
// privileges, jwt-only members, the last admin, and who may manage members.

let db: TestDatabase;
let projectId: string;
let admin: MembersService;
const pools: pg.Pool[] = [];

function poolAs(role: string): pg.Pool {
  const p = new pg.Pool({connectionString: db.urlAs(role), max: 2});
  p.on('error', () => undefined);
  pools.push(p);
  return p;
}

const su = (sql: string, params: unknown[] = []) => db.pool.query(sql, params);

beforeAll(async () => {
  db = await createTestDatabase('members');
  projectId = (await su(`select (ops.create_project('team')).id as id`)).rows[0].id;
  admin = new MembersService({pool: db.pool, projectId});
});

afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
  await db?.drop();
});

describe('members add', () => {
  it('creates a LOGIN role granted ops_app and nothing else; the member then reads the project', async () => {
    const result = await admin.add({user: 'mem_alice', role: 'developer'});
    expect(result).toMatchObject({
      member: {member: 'mem_alice', role: 'developer', envType: null, createdBy: 'postgres'},
      postgresRole: {name: 'mem_alice', created: true, granted: true},
    });
    const {rows} = await su(`select rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolinherit,
      array(select b.rolname::text from pg_auth_members m join pg_roles b on b.oid = m.roleid where m.member = r.oid) as member_of
      from pg_roles r where rolname = 'mem_alice'`);
    expect(rows[0]).toEqual({rolcanlogin: true, rolsuper: false, rolcreatedb: false, rolcreaterole: false, rolreplication: false,
      rolbypassrls: false, rolinherit: true, member_of: ['ops_app']});
    const alice = poolAs('mem_alice');
    expect((await alice.query('select name from ops.projects')).rows).toEqual([{name: 'team'}]);
    const audit = await su(`select action, target, payload from ops.audit_log where project_id = $1 and target = 'mem_alice' order by seq`, [projectId]);
    expect(audit.rows.map((r) => r.action)).toEqual(['member.role', 'member.add']);
  });

  it('changes the role of an existing member without touching its role again', async () => {
    const result = await admin.add({user: 'mem_alice', role: 'tester'});
    expect(result).toMatchObject({member: {role: 'tester'}, postgresRole: {created: false, granted: false}});
  });

  it('grants ops_app to an existing unprivileged role, and refuses privileged ones', async () => {
    await su('create role mem_existing login');
    expect((await admin.add({user: 'mem_existing', role: 'viewer'})).postgresRole).toEqual({name: 'mem_existing', created: false, granted: true});
    await su('create role mem_creator login createrole');
    await expect(admin.add({user: 'mem_creator', role: 'viewer'})).rejects.toBeInstanceOf(PolicyDeniedError);
    await expect(admin.add({user: 'mem_existing', role: 'viewer', password: new Secret('x')})).rejects.toBeInstanceOf(ConflictError);
    await expect(db.pool.query(`select ops.ensure_member_role($1, 'postgres')`, [projectId])).rejects.toMatchObject({code: 'OS400'});
    expect((await su(`select count(*)::int as n from ops.project_members where member = 'mem_creator'`)).rows[0].n).toBe(0);
  });

  it('stores a password as a SCRAM verifier computed by the client (the same one Postgres computes)', async () => {
    await admin.add({user: 'mem_pw', role: 'viewer', password: new Secret('s3cret-ü')});
    const stored = (await su(`select rolpassword from pg_authid where rolname = 'mem_pw'`)).rows[0].rolpassword as string;
    expect(stored).toMatch(/^SCRAM-SHA-256\$4096:/);
    await su(`set password_encryption = 'scram-sha-256'`);
    await su(`alter role mem_pw password 'pencil'`);
    const byPostgres = (await su(`select rolpassword from pg_authid where rolname = 'mem_pw'`)).rows[0].rolpassword as string;
    const [, iterations, salt] = /^SCRAM-SHA-256\$(\d+):([^$]+)\$/.exec(byPostgres)!;
    expect(scramSha256Verifier('pencil', {salt: Buffer.from(salt!, 'base64'), iterations: Number(iterations)})).toBe(byPostgres);
  });

  it('adds a jwt sub without any Postgres role', async () => {
    const result = await admin.add({user: 'carol@example.com', role: 'developer', envType: 'preview', jwt: true});
    expect(result).toMatchObject({member: {member: 'carol@example.com', envType: 'preview'}, postgresRole: null});
    await expect(admin.add({user: 'carol@example.com', role: 'developer'})).rejects.toBeInstanceOf(UsageError);
    await expect(admin.add({user: 'x', role: 'developer', jwt: true, password: new Secret('x')})).rejects.toBeInstanceOf(UsageError);
  });

  it('refuses bad roles, scopes and names', async () => {
    await expect(admin.add({user: 'mem_x', role: 'owner'})).rejects.toBeInstanceOf(UsageError);
    await expect(admin.add({user: 'mem_x', role: 'viewer', envType: 'qa'})).rejects.toBeInstanceOf(UsageError);
    for (const user of ['postgres', 'pg_monitor', 'ops_app', 'Alice', '1abc', 'a-b', 'x'.repeat(64)]) {
      await expect(admin.add({user, role: 'viewer'}), user).rejects.toBeInstanceOf(UsageError);
    }
    await expect(su(`select ops.add_member($1, 'mem_x', 'viewer', 'qa')`, [projectId])).rejects.toMatchObject({code: 'OS400'});
  });

  it('is for admins only, including the role creation', async () => {
    await createMemberRole(db.pool, 'mem_dev');
    await su(`select ops.add_member($1, 'mem_dev', 'developer')`, [projectId]);
    const dev = new MembersService({pool: poolAs('mem_dev'), projectId});
    await expect(dev.add({user: 'mem_new', role: 'admin'})).rejects.toBeInstanceOf(PolicyDeniedError);
    await expect(dev.add({user: 'jwt-new', role: 'admin', jwt: true})).rejects.toBeInstanceOf(PolicyDeniedError);
    await expect(dev.remove({user: 'mem_alice'})).rejects.toBeInstanceOf(PolicyDeniedError);
    expect((await su(`select count(*)::int as n from pg_roles where rolname = 'mem_new'`)).rows[0].n).toBe(0);
    expect((await dev.list()).map((m) => m.member)).toContain('mem_alice');
  });
});

describe('members remove and list', () => {
  it('lists every member with its scope', async () => {
    const members = await admin.list();
    expect(members).toContainEqual(expect.objectContaining({member: 'postgres', role: 'admin', envType: null}));
    expect(members).toContainEqual(expect.objectContaining({member: 'carol@example.com', role: 'developer', envType: 'preview'}));
  });

  it('removes one scope at a time, audited; an unknown member is not found', async () => {
    await admin.add({user: 'carol@example.com', role: 'tester', envType: 'staging', jwt: true});
    expect(await admin.remove({user: 'carol@example.com', envType: 'preview'})).toEqual({member: 'carol@example.com', envType: 'preview'});
    expect((await admin.list()).filter((m) => m.member === 'carol@example.com').map((m) => m.envType)).toEqual(['staging']);
    await expect(admin.remove({user: 'carol@example.com', envType: 'preview'})).rejects.toBeInstanceOf(NotFoundError);
    const audit = await su(`select payload from ops.audit_log where project_id = $1 and action = 'member.remove'`, [projectId]);
    expect(audit.rows).toEqual([{payload: {role: 'developer', env_type: 'preview'}}]);
  });

  it('never removes or demotes the last admin', async () => {
    await expect(admin.remove({user: 'postgres'})).rejects.toBeInstanceOf(ConflictError);
    await expect(admin.add({user: 'postgres', role: 'viewer', jwt: true})).rejects.toBeInstanceOf(ConflictError);
    await admin.add({user: 'mem_alice', role: 'admin'});
    const alice = new MembersService({pool: poolAs('mem_alice'), projectId});
    await alice.remove({user: 'postgres'});
    await expect(alice.remove({user: 'mem_alice'})).rejects.toBeInstanceOf(ConflictError);
    expect((await alice.list()).filter((m) => m.role === 'admin').map((m) => m.member)).toEqual(['mem_alice']);
  });
});
