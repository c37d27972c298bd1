import pg from 'pg';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {AuditService} from '../../../src/core/audit/audit-service.js';
import {GENESIS_HASH} from '../../../src/core/audit/audit-chain.js';
import {createMemberRole, createTestDatabase, type TestDatabase} from '../../helpers/db.js';

let db: TestDatabase;
let alice: pg.Pool;
let counter = 0;

beforeAll(async () => {
  db = await createTestDatabase('audit');
  await createMemberRole(db.pool, 'alice');
  alice = new pg.Pool({connectionString: db.urlAs('alice'), max: 4}).on('error', () => undefined);
  alice.on('error', () => undefined);
});
afterAll(async () => {
  await alice?.end();
  await db?.drop();
});

/** A project created by the superuser (admin) with alice as developer: rows seq 1 (project.create), 2 (member.add), then `extra` more. */
async function project(extra = 3): Promise<string> {
  const name = `p${++counter}`;
  const {rows} = await db.pool.query<{id: string}>('select (ops.create_project($1)).id as id', [name]);
  const id = rows[0]!.id;
  await db.pool.query(`select ops.add_member($1, 'alice', 'developer')`, [id]);
  for (let i = 0; i < extra; i++) {
    await db.pool.query(`select ops.record_audit($1, 'test.step', $2, 'main', null, $3)`, [id, `t${i}`, {i}]);
  }
  return id;
}

const service = (projectId: string, pool: pg.Pool = alice) => new AuditService({pool, projectId, pageSize: 2});

/** Runs statements as the superuser with user triggers off (session_replication_role = replica). */
async function tamper(...statements: string[]): Promise<void> {
  const c = await db.pool.connect();
  try {
    await c.query('begin');
    await c.query('set local session_replication_role = replica');
    for (const s of statements) await c.query(s);
    await c.query('commit');
  } catch (err) {
    await c.query('rollback');
    throw err;
  } finally {
    c.release();
  }
}

const idOf = async (projectId: string, seq: number) =>
  Number((await db.pool.query('select id from ops.audit_log where project_id = $1 and seq = $2', [projectId, seq])).rows[0].id);

/** SQL recomputing a row's hash the way the trigger does (what a careful superuser would run). */
const REHASH = `hash = encode(sha256(convert_to(prev_hash || '|' || ops.audit_canonical(project_id, seq, at, actor, action, target, env, run_id, payload), 'UTF8')), 'hex')`;

describe('the chain written by the database', () => {
  it('verifies in TypeScript, across pages, with awkward payloads', async () => {
    const p = await project(0);
    const payloads = [{s: 'café ✓ 😀 "quoted" \\ back\nline'}, {n: 1.5, big: 12345678901234567890, neg: -0.001, e: 1e-7},
      {nested: {b: [1, {c: null}], a: true}}, {}, {'': 'empty key', 'ü': 'ü'}];
    for (const payload of payloads) await db.pool.query(`select ops.record_audit($1, 'odd.payload', null, null, 42, $2)`, [p, payload]);
    await alice.query(`select ops.record_audit($1, 'by.alice', 'x', 'main')`, [p]);
    const result = await service(p).verify();
    const head = (await db.pool.query('select seq, hash from ops.audit_log where project_id = $1 order by seq desc limit 1', [p])).rows[0];
    expect(result).toEqual({ok: true, rows: 8, head: {seq: 8, hash: head.hash}});
  });

  it('stays one chain under concurrent writers', async () => {
    const p = await project(0);
    const pool = new pg.Pool({connectionString: db.urlAs('alice'), max: 8}).on('error', () => undefined);
    try {
      await Promise.all(Array.from({length: 40}, (_, i) => pool.query(`select ops.record_audit($1, 'concurrent.write', $2)`, [p, String(i)])));
    } finally {
      await pool.end();
    }
    expect(await service(p).verify()).toMatchObject({ok: true, rows: 42});
  });

  it('builds in its SELECT exactly the canonical text of ops.audit_canonical', async () => {
    const p = await project(2);
    await db.pool.query(`select ops.record_audit($1, 'odd.payload', 'ü', 'main', 7, $2)`, [p, {x: 'é', y: [1.10, 2]}]);
    const {rows} = await db.pool.query<{same: boolean}>(`
      select pg_catalog.jsonb_build_object('project_id', a.project_id, 'seq', a.seq,
        'at', pg_catalog.to_char(a.at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), 'actor', a.actor, 'action', a.action,
        'target', a.target, 'env', a.env, 'run_id', a.run_id, 'payload', a.payload)::text
        = ops.audit_canonical(a.project_id, a.seq, a.at, a.actor, a.action, a.target, a.env, a.run_id, a.payload) as same
      from ops.audit_log a where a.project_id = $1`, [p]);
    expect(rows.length).toBe(5);
    expect(rows.every((r) => r.same)).toBe(true);
  });

  it('starts from the genesis hash, numbers rows 1..n and forces at/actor', async () => {
    const p = await project(1);
    const {rows} = await db.pool.query('select seq, prev_hash, actor, action from ops.audit_log where project_id = $1 order by seq', [p]);
    expect(rows.map((r) => r.seq)).toEqual(['1', '2', '3']);
    expect(rows[0].prev_hash).toBe(GENESIS_HASH);
    expect(rows.map((r) => r.actor)).toEqual(['postgres', 'postgres', 'postgres']);
  });
});

describe('audit list', () => {
  it('lists newest first with filters', async () => {
    const p = await project(3);
    await db.pool.query(`select ops.record_audit($1, 'run.queue', '1', 'staging', 1)`, [p]);
    const all = await service(p).list();
    expect(all.map((e) => e.seq)).toEqual([6, 5, 4, 3, 2, 1]);
    expect(all[0]).toMatchObject({seq: 6, actor: 'postgres', action: 'run.queue', target: '1', env: 'staging', runId: 1, payload: {}});
    expect(all[0]!.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(all[0]!.hash).toMatch(/^[0-9a-f]{64}$/);
    expect((await service(p).list({limit: 2})).map((e) => e.seq)).toEqual([6, 5]);
    expect((await service(p).list({action: 'member.add'})).map((e) => e.seq)).toEqual([2]);
    expect((await service(p).list({action: 'test.*'})).map((e) => e.seq)).toEqual([5, 4, 3]);
    expect((await service(p).list({action: 'test'})).map((e) => e.seq)).toEqual([]);
    expect((await service(p).list({env: 'staging'})).map((e) => e.seq)).toEqual([6]);
    expect(await service(p).list({since: new Date(Date.now() + 3_600_000)})).toEqual([]);
    expect((await service(p).list({since: new Date(Date.now() - 3_600_000)})).length).toBe(6);
    await expect(service(p).list({limit: 0})).rejects.toMatchObject({code: 'USAGE'});
  });
});

describe('append-only', () => {
  it('grants ops_app SELECT and INSERT on ops.audit_log, nothing more', async () => {
    const {rows} = await db.pool.query(`select p as privilege from unnest(array['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) p
      where has_table_privilege('ops_app', 'ops.audit_log', p) order by 1`);
    expect(rows.map((r) => r.privilege)).toEqual(['INSERT', 'SELECT']);
  });

  it('refuses UPDATE, DELETE and TRUNCATE to a member (no grant)', async () => {
    const p = await project(0);
    for (const sql of [`update ops.audit_log set action = 'x' where project_id = '${p}'`,
      `delete from ops.audit_log where project_id = '${p}'`, 'truncate ops.audit_log']) {
      await expect(alice.query(sql), sql).rejects.toMatchObject({code: '42501'});
    }
  });

  it('refuses UPDATE, DELETE and TRUNCATE even to the superuser while the triggers are on', async () => {
    const p = await project(0);
    for (const sql of [`update ops.audit_log set action = 'x' where project_id = '${p}'`,
      `delete from ops.audit_log where project_id = '${p}'`, 'truncate ops.audit_log']) {
      await expect(db.pool.query(sql), sql).rejects.toMatchObject({code: 'OS403', message: expect.stringContaining('append-only')});
    }
    expect((await service(p).verify()).rows).toBe(2);
  });

  it('lets a member insert directly, but the trigger forces actor, at, seq and the links', async () => {
    const p = await project(0);
    const {rows} = await alice.query(`
      insert into ops.audit_log (project_id, seq, at, actor, action, prev_hash, hash)
      values ($1, 99, '2000-01-01', 'postgres', 'forged.entry', 'x', 'y') returning seq, at, actor, prev_hash, hash`, [p]);
    expect(rows[0]).toMatchObject({seq: '3', actor: 'alice'});
    expect(new Date(rows[0].at).getFullYear()).toBeGreaterThan(2020);
    expect(await service(p).verify()).toMatchObject({ok: true, rows: 3});
  });

  it('keeps a member out of another project\'s chain (RLS)', async () => {
    const {rows} = await db.pool.query<{id: string}>(`select (ops.create_project('not-alices')).id as id`);
    const other = rows[0]!.id;
    await expect(alice.query(`insert into ops.audit_log (project_id, seq, at, actor, action, prev_hash, hash)
      values ($1, 0, now(), '', 'forged.entry', '', '')`, [other])).rejects.toMatchObject({code: '42501'});
    await expect(alice.query(`select ops.record_audit($1, 'forged.entry')`, [other])).rejects.toMatchObject({code: 'OS403'});
    // And alice cannot even see it: her verify of that project reads nothing.
    expect(await service(other).verify()).toEqual({ok: true, rows: 0});
    expect((await service(other, db.pool).verify()).rows).toBe(1);
  });
});

describe('tampering by a superuser is detected', () => {
  it('(a) an edited field', async () => {
    const p = await project();
    await tamper(`update ops.audit_log set payload = '{"i": 99}' where project_id = '${p}' and seq = 3`);
    expect(await service(p).verify()).toMatchObject({ok: false, rows: 5, firstBroken: {seq: 3, id: await idOf(p, 3), reason: 'hash-mismatch'}});
  });

  it('(a) an edited field with its own hash recomputed', async () => {
    const p = await project();
    await tamper(`update ops.audit_log set actor = 'mallory' where project_id = '${p}' and seq = 3`,
      `update ops.audit_log set ${REHASH} where project_id = '${p}' and seq = 3`);
    expect((await service(p).verify()).firstBroken).toMatchObject({seq: 4, id: await idOf(p, 4), reason: 'prev-link'});
  });

  it('(a) an edited field, through `alter table ... disable trigger user`', async () => {
    const p = await project();
    const c = await db.pool.connect();
    try {
      await c.query('begin');
      await c.query('alter table ops.audit_log disable trigger user');
      await c.query(`update ops.audit_log set target = 'other' where project_id = $1 and seq = 4`, [p]);
      await c.query('alter table ops.audit_log enable trigger user');
      await c.query('commit');
    } finally {
      c.release();
    }
    expect((await service(p).verify()).firstBroken).toMatchObject({seq: 4, reason: 'hash-mismatch'});
  });

  it('(b) a deleted row', async () => {
    const p = await project();
    const id4 = await idOf(p, 4);
    await tamper(`delete from ops.audit_log where project_id = '${p}' and seq = 3`);
    const result = await service(p).verify();
    expect(result).toMatchObject({ok: false, rows: 4, firstBroken: {seq: 4, id: id4, reason: 'seq-gap'}});
    expect(result.firstBroken?.detail).toContain('expected seq 3, found 4');
  });

  it('(b) a deleted row with the later rows renumbered', async () => {
    const p = await project();
    await tamper(`delete from ops.audit_log where project_id = '${p}' and seq = 3`,
      `update ops.audit_log set seq = seq - 1 where project_id = '${p}' and seq > 3`);
    expect((await service(p).verify()).firstBroken).toMatchObject({seq: 3, reason: 'prev-link'});
  });

  it('(b) rows deleted from the end: only an anchor recorded earlier tells', async () => {
    const p = await project();
    const before = await service(p).verify();
    await tamper(`delete from ops.audit_log where project_id = '${p}' and seq >= 4`);
    expect(await service(p).verify()).toMatchObject({ok: true, rows: 3});
    expect(await service(p).verify({anchor: before.head})).toMatchObject({ok: false, firstBroken: {seq: 5, id: null, reason: 'anchor-mismatch'}});
  });

  it('(c) two rows swapped by their seq values', async () => {
    const p = await project();
    const id3 = await idOf(p, 3);
    await tamper(`update ops.audit_log set seq = -2 where project_id = '${p}' and seq = 2`,
      `update ops.audit_log set seq = 2 where project_id = '${p}' and seq = 3`,
      `update ops.audit_log set seq = 3 where project_id = '${p}' and seq = -2`);
    expect((await service(p).verify()).firstBroken).toMatchObject({seq: 2, id: id3, reason: 'prev-link'});
  });

  it('(c) the contents of two rows swapped, links kept', async () => {
    const p = await project();
    await tamper(`update ops.audit_log a set action = b.action, target = b.target, payload = b.payload
      from ops.audit_log b where a.project_id = '${p}' and b.project_id = '${p}'
        and ((a.seq = 3 and b.seq = 4) or (a.seq = 4 and b.seq = 3))`);
    expect((await service(p).verify()).firstBroken).toMatchObject({seq: 3, reason: 'hash-mismatch'});
  });

  it('(c) whole rows swapped, links and all (everything but id and seq)', async () => {
    const p = await project();
    await tamper(`update ops.audit_log a set at = b.at, actor = b.actor, action = b.action, target = b.target, env = b.env,
        run_id = b.run_id, payload = b.payload, prev_hash = b.prev_hash, hash = b.hash
      from ops.audit_log b where a.project_id = '${p}' and b.project_id = '${p}'
        and ((a.seq = 3 and b.seq = 4) or (a.seq = 4 and b.seq = 3))`);
    expect((await service(p).verify()).firstBroken).toMatchObject({seq: 3, reason: 'prev-link'});
  });

  it('(d) a backdated row appended with triggers off and a correct hash', async () => {
    const p = await project();
    await tamper(`insert into ops.audit_log (project_id, seq, at, actor, action, target, prev_hash, hash)
      select a.project_id, 6, a.at - interval '1 day', 'alice', 'backup.delete', 'everything', a.hash, ''
      from ops.audit_log a where a.project_id = '${p}' and a.seq = 5`,
    `update ops.audit_log set ${REHASH} where project_id = '${p}' and seq = 6`);
    const result = await service(p).verify();
    expect(result).toMatchObject({ok: false, rows: 6, firstBroken: {seq: 6, id: await idOf(p, 6), reason: 'time-order'}});
  });

  it('(d) a row inserted in the middle, later rows renumbered', async () => {
    const p = await project();
    await tamper(`update ops.audit_log set seq = seq + 1000 where project_id = '${p}' and seq >= 3`,
      `update ops.audit_log set seq = seq - 999 where project_id = '${p}' and seq > 1000`,
      `insert into ops.audit_log (project_id, seq, at, actor, action, prev_hash, hash)
       select a.project_id, 3, a.at, a.actor, 'member.add', a.hash, '' from ops.audit_log a where a.project_id = '${p}' and a.seq = 2`,
      `update ops.audit_log set ${REHASH} where project_id = '${p}' and seq = 3`);
    expect((await service(p).verify()).firstBroken).toMatchObject({seq: 4, reason: 'prev-link'});
  });

  it('even when ops.audit_canonical is replaced by one that ignores the payload', async () => {
    const p = await project();
    const {rows} = await db.pool.query(`select pg_get_functiondef('ops.audit_canonical(uuid, bigint, timestamptz, text, text, text, text, bigint, jsonb)'::regprocedure) as def`);
    const original: string = rows[0].def;
    try {
      await db.pool.query(original.replace(/'payload', p_payload/, `'payload', '{}'::jsonb`));
      await tamper(`update ops.audit_log set payload = '{"i": 1000}' where project_id = '${p}' and seq = 4`,
        `update ops.audit_log set ${REHASH} where project_id = '${p}'`);
      // The database's own function now vouches for every row...
      const {rows: check} = await db.pool.query(`select bool_and(${REHASH}) as ok from ops.audit_log where project_id = $1`, [p]);
      expect(check[0].ok).toBe(true);
      // ...but verify builds the canonical text itself.
      expect((await service(p).verify()).firstBroken).toMatchObject({seq: 1, reason: 'hash-mismatch'});
    } finally {
      await db.pool.query(original);
    }
  });
});
