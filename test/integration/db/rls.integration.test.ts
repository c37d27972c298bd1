import pg from 'pg';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {createMemberRole, createTestDatabase, type TestDatabase} from '../../helpers/db.js';

// Row-level security and RBAC of the ops schema, from the database's point of view: members
// connect with their own LOGIN role (granted ops_app); a trusted `authenticator` (granted
// ops_authenticator) names the actor through request.jwt.claims. Projects A and B are set up by
// the superuser: alice is a developer of A, bob a developer of B, victor a viewer of A, carol a
// developer of A whose role was (wrongly) granted direct DML on ops.runs, mallory a member of none.

let db: TestDatabase;
const pools = new Map<string, pg.Pool>();
let A: string;
let B: string;
/** Ids of rows seeded per project. */
const seed: Record<'a' | 'b', {run: number; backup: string}> = {a: {run: 0, backup: ''}, b: {run: 0, backup: ''}};

function as(role: string): pg.Pool {
  let p = pools.get(role);
  if (!p) {
    p = new pg.Pool({connectionString: db.urlAs(role), max: 2});
    p.on('error', () => undefined);
    pools.set(role, p);
  }
  return p;
}

/** Runs fn in one transaction of `role`, with request.jwt.claims set transaction-locally when given. */
async function inTx<T>(role: string, claims: object | undefined, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const c = await as(role).connect();
  try {
    await c.query('begin');
    if (claims) await c.query(`select set_config('request.jwt.claims', $1, true)`, [JSON.stringify(claims)]);
    const result = await fn(c);
    await c.query('commit');
    return result;
  } catch (err) {
    await c.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
}

const su = (sql: string, params: unknown[] = []) => db.pool.query(sql, params);

async function seedProject(id: string, key: 'a' | 'b'): Promise<void> {
  await su(`insert into ops.environments (project_id, name, type, branch, status) values ($1, 'main', 'production', 'main', 'active')`, [id]);
  const run = await su(`select (ops.queue_run($1, 'main', $2, 'refs/heads/main', 'deploy')).id as id`, [id, 'a'.repeat(40)]);
  seed[key].run = Number(run.rows[0].id);
  await su(`select ops.append_event($1, 'info', 'hello from ' || $2)`, [seed[key].run, key]);
  await su(`insert into ops.artifacts (run_id, project_id, kind, name, uri) values ($1, $2, 'log', 'run.log', 'file:///x')`, [seed[key].run, id]);
  const backup = await su(`select (ops.create_backup($1, 'main')).id as id`, [id]);
  seed[key].backup = backup.rows[0].id;
  await su(`update ops.backups set status = 'complete' where id = $1`, [seed[key].backup]);
  await su(`insert into ops.restores (project_id, backup_id, target_env, created_by) values ($1, $2, 'main', 'postgres')`, [id, seed[key].backup]);
  await su(`insert into ops.approvals (project_id, action, environment, requested_by) values ($1, 'deploy', 'main', 'postgres')`, [id]);
  await su(`insert into ops.policies (project_id, env_type, rules, updated_by) values ($1, 'production', '[]', 'postgres')`, [id]);
}

/** Tables of ops holding project rows (a project_id column), from the catalog: new tables are covered too. */
let projectTables: string[] = [];
const SEEDED = ['project_members', 'environments', 'runs', 'run_events', 'artifacts', 'backups', 'restores', 'approvals', 'policies', 'audit_log'];

beforeAll(async () => {
  db = await createTestDatabase('rls');
  A = (await su(`select (ops.create_project('a')).id as id`)).rows[0].id;
  B = (await su(`select (ops.create_project('b')).id as id`)).rows[0].id;
  for (const role of ['alice', 'bob', 'victor', 'carol', 'mallory']) await createMemberRole(db.pool, role);
  await su(`select ops.add_member($1, 'alice', 'developer')`, [A]);
  await su(`select ops.add_member($1, 'bob', 'developer')`, [B]);
  await su(`select ops.add_member($1, 'victor', 'viewer')`, [A]);
  await su(`select ops.add_member($1, 'carol', 'developer')`, [A]);
  await su(`grant insert, update, delete on ops.runs to carol`);
  await su(`do $$ begin
    if not exists (select 1 from pg_roles where rolname = 'authenticator') then
      create role authenticator login in role ops_app, ops_authenticator;
    end if; end $$`);
  await seedProject(A, 'a');
  await seedProject(B, 'b');
  const {rows} = await su(`select c.relname as t from pg_class c join pg_namespace n on n.oid = c.relnamespace
    join pg_attribute a on a.attrelid = c.oid and a.attname = 'project_id' and not a.attisdropped
    where n.nspname = 'ops' and c.relkind in ('r', 'p') order by 1`);
  projectTables = rows.map((r) => r.t);
});

afterAll(async () => {
  await Promise.all([...pools.values()].map((p) => p.end()));
  await db?.drop();
});

/** The project ids `q` can see in every project table (and in ops.projects). */
async function visibleProjects(q: pg.PoolClient | pg.Pool): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const t of ['projects', ...projectTables]) {
    const col = t === 'projects' ? 'id' : 'project_id';
    const {rows} = await q.query(`select distinct ${col}::text as p from ops.${t} order by 1`);
    out[t] = rows.map((r) => (r.p === A ? 'A' : r.p === B ? 'B' : r.p));
  }
  return out;
}

const only = (label: string) => Object.fromEntries(['projects', ...projectTables].map((t) => [t, SEEDED.includes(t) || t === 'projects' ? [label] : expect.any(Array)]));

describe('a member connecting as her own role', () => {
  it('covers every project table of the schema', () => {
    expect(projectTables).toEqual(expect.arrayContaining(SEEDED));
  });

  it('sees her project\'s rows in every table and none of another project\'s', async () => {
    const seen = await visibleProjects(as('alice'));
    expect(seen).toEqual(only('A'));
    for (const t of projectTables) expect(seen[t], t).not.toContain('B');
    expect(await visibleProjects(as('bob'))).toEqual(only('B'));
  });

  it('sees nothing at all when a member of no project', async () => {
    const seen = await visibleProjects(as('mallory'));
    for (const rows of Object.values(seen)) expect(rows).toEqual([]);
    // Global reference tables stay readable.
    expect((await as('mallory').query('select count(*)::int as n from ops.roles')).rows[0].n).toBe(4);
  });

  it('cannot write another project\'s rows through the SQL API', async () => {
    const alice = as('alice');
    await expect(alice.query(`select ops.queue_run($1, 'main', null, 'refs/heads/main', 'deploy')`, [B])).rejects.toMatchObject({code: 'OS403'});
    await expect(alice.query(`select ops.append_event($1, 'info', 'injected')`, [seed.b.run])).rejects.toMatchObject({code: 'OS404'});
    await expect(alice.query(`select ops.cancel_run($1)`, [seed.b.run])).rejects.toMatchObject({code: 'OS404'});
    // transition_run is internal: members move runs only through the audited, role-checked functions.
    await expect(alice.query(`select ops.transition_run($1, 'queued', 'cancelled')`, [seed.b.run])).rejects.toMatchObject({code: '42501'});
    await expect(alice.query(`select ops.heartbeat($1, 'w', 1)`, [seed.b.run])).rejects.toMatchObject({code: 'OS404'});
    await expect(alice.query(`select ops.finish_run($1, 'w', 1, 'succeeded')`, [seed.b.run])).rejects.toMatchObject({code: 'OS404'});
    await expect(alice.query(`select ops.record_audit($1, 'forged.entry')`, [B])).rejects.toMatchObject({code: 'OS403'});
    await expect(alice.query(`select ops.add_member($1, 'alice', 'admin')`, [B])).rejects.toMatchObject({code: 'OS403'});
    await expect(alice.query(`select ops.create_backup($1, 'main')`, [B])).rejects.toMatchObject({code: 'OS403'});
    await expect(alice.query(`select ops.restore_backup($1, 'main')`, [seed.b.backup])).rejects.toMatchObject({code: 'OS404'});
    await expect(alice.query(`select ops.project_id_by_name('b')`)).rejects.toMatchObject({code: 'OS404'});
    const run = await su('select state, cancel_requested from ops.runs where id = $1', [seed.b.run]);
    expect(run.rows[0]).toEqual({state: 'queued', cancel_requested: false});
    const events = await su('select count(*)::int as n from ops.run_events where run_id = $1', [seed.b.run]);
    expect(events.rows[0].n).toBe(1);
  });

  it('cannot write another project\'s rows directly (no grants; audit_log INSERT is fenced by RLS)', async () => {
    const alice = as('alice');
    await expect(alice.query(`insert into ops.runs (project_id, type, created_by) values ($1, 'deploy', 'alice')`, [B])).rejects.toMatchObject({code: '42501'});
    await expect(alice.query(`update ops.runs set state = 'cancelled' where project_id = $1`, [B])).rejects.toMatchObject({code: '42501'});
    await expect(alice.query(`delete from ops.runs where project_id = $1`, [B])).rejects.toMatchObject({code: '42501'});
    await expect(alice.query(`update ops.projects set name = 'stolen' where id = $1`, [B])).rejects.toMatchObject({code: '42501'});
    await expect(alice.query(`insert into ops.project_members (project_id, member, role, created_by) values ($1, 'alice', 'admin', 'alice')`, [B]))
      .rejects.toMatchObject({code: '42501'});
    await expect(alice.query(`insert into ops.audit_log (project_id, seq, at, actor, action, prev_hash, hash)
      values ($1, 0, now(), '', 'forged.entry', '', '')`, [B])).rejects.toMatchObject({code: '42501', message: expect.stringContaining('row-level security')});
  });

  it('is still confined by the policies when her role was wrongly granted DML', async () => {
    const carol = as('carol');
    expect((await carol.query(`update ops.runs set priority = 9 where project_id = $1`, [B])).rowCount).toBe(0);
    expect((await carol.query(`delete from ops.runs where project_id = $1`, [B])).rowCount).toBe(0);
    await expect(carol.query(`insert into ops.runs (project_id, type, created_by) values ($1, 'deploy', 'carol')`, [B]))
      .rejects.toMatchObject({code: '42501', message: expect.stringContaining('row-level security')});
    await expect(carol.query(`update ops.runs set project_id = $1 where id = $2`, [B, seed.a.run]))
      .rejects.toMatchObject({code: '42501', message: expect.stringContaining('row-level security')});
    const b = await su('select count(*)::int as n, max(priority) as p from ops.runs where project_id = $1', [B]);
    expect(b.rows[0]).toEqual({n: 1, p: 0});
  });

  it('claims only her own project\'s runs', async () => {
    await su(`select ops.queue_run($1, null, null, 'refs/heads/x', 'build')`, [A]);
    await su(`select ops.queue_run($1, null, null, 'refs/heads/x', 'build')`, [B]);
    const claimed: string[] = [];
    for (;;) {
      const {rows} = await as('alice').query(`select project_id from ops.claim_next_run('w-alice', 60, array['build'])`);
      if (!rows[0]) break;
      claimed.push(rows[0].project_id);
    }
    expect(claimed).toEqual([A]);
    const b = await su(`select state from ops.runs where project_id = $1 and type = 'build'`, [B]);
    expect(b.rows).toEqual([{state: 'queued'}]);
  });
});

describe('a viewer', () => {
  it('reads her project but may not queue, cancel or write events (RBAC in the functions)', async () => {
    const victor = as('victor');
    expect((await visibleProjects(victor)).runs).toEqual(['A']);
    await expect(victor.query(`select ops.queue_run($1, 'main', null, 'refs/heads/main', 'deploy')`, [A])).rejects.toMatchObject({code: 'OS403'});
    await expect(victor.query(`select ops.cancel_run($1)`, [seed.a.run])).rejects.toMatchObject({code: 'OS403'});
    await expect(victor.query(`select ops.append_event($1, 'info', 'x')`, [seed.a.run])).rejects.toMatchObject({code: 'OS403'});
    await expect(victor.query(`select ops.create_backup($1, 'main')`, [A])).rejects.toMatchObject({code: 'OS403'});
    await expect(victor.query(`select ops.add_member($1, 'victor', 'admin')`, [A])).rejects.toMatchObject({code: 'OS403'});
  });
});

describe('the actor named by request.jwt.claims', () => {
  it('is believed from a role granted ops_authenticator: sub alice acts as alice', async () => {
    await inTx('authenticator', {sub: 'alice'}, async (c) => {
      expect((await c.query('select ops.current_actor() as a')).rows[0].a).toBe('alice');
      expect(await visibleProjects(c)).toEqual(only('A'));
      const run = await c.query(`select (r).id, (r).created_by from ops.queue_run($1, null, null, 'refs/heads/jwt', 'build') r`, [A]);
      expect(run.rows[0].created_by).toBe('alice');
      const audit = await c.query(`select actor from ops.audit_log where project_id = $1 and action = 'run.queue' and run_id = $2`, [A, run.rows[0].id]);
      expect(audit.rows).toEqual([{actor: 'alice'}]);
    });
    await expect(inTx('authenticator', {sub: 'alice'}, (c) => c.query(`select ops.queue_run($1, null, null, 'refs/heads/jwt', 'build')`, [B])))
      .rejects.toMatchObject({code: 'OS403'});
    await expect(inTx('authenticator', {sub: 'alice'}, (c) => c.query(`select ops.cancel_run($1)`, [seed.b.run])))
      .rejects.toMatchObject({code: 'OS404'});
  });

  it('sub bob acts as bob: B only', async () => {
    await inTx('authenticator', {sub: 'bob', role: 'ops_app'}, async (c) => {
      expect(await visibleProjects(c)).toEqual(only('B'));
      await c.query(`select ops.queue_run($1, null, null, 'refs/heads/jwt', 'build')`, [B]);
      await expect(c.query(`select ops.queue_run($1, null, null, 'refs/heads/jwt', 'build')`, [A])).rejects.toMatchObject({code: 'OS403'});
    });
  });

  it('without claims, or without a sub, the authenticator is nobody', async () => {
    for (const claims of [undefined, {}, {sub: ''}, {role: 'alice'}]) {
      await inTx('authenticator', claims, async (c) => {
        const seen = await visibleProjects(c);
        for (const rows of Object.values(seen)) expect(rows, JSON.stringify(claims)).toEqual([]);
      });
    }
  });

  it('lasts only for the transaction when set transaction-locally', async () => {
    const c = await as('authenticator').connect();
    try {
      await c.query('begin');
      await c.query(`select set_config('request.jwt.claims', '{"sub":"alice"}', true)`);
      expect((await c.query('select count(*)::int as n from ops.projects')).rows[0].n).toBe(1);
      await c.query('commit');
      expect((await c.query('select count(*)::int as n from ops.projects')).rows[0].n).toBe(0);
    } finally {
      c.release();
    }
  });

  it('is ignored from a role not granted ops_authenticator: alice cannot impersonate bob', async () => {
    await inTx('alice', {sub: 'bob'}, async (c) => {
      expect((await c.query('select ops.current_actor() as a')).rows[0].a).toBe('alice');
      expect(await visibleProjects(c)).toEqual(only('A'));
    });
    await expect(inTx('alice', {sub: 'bob'}, (c) => c.query(`select ops.queue_run($1, null, null, 'refs/heads/x', 'build')`, [B])))
      .rejects.toMatchObject({code: 'OS403'});
    // Session-level claims are ignored too, and what she does is recorded as hers.
    const c = await as('alice').connect();
    try {
      await c.query(`select set_config('request.jwt.claims', '{"sub":"bob"}', false)`);
      const run = await c.query(`select (ops.queue_run($1, null, null, 'refs/heads/x', 'build')).created_by as by`, [A]);
      expect(run.rows[0].by).toBe('alice');
      await c.query(`select set_config('request.jwt.claims', '', false)`);
    } finally {
      c.release();
    }
  });
});
