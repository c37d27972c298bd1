import pg from 'pg';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {createMemberRole, createTestDatabase, type TestDatabase} from '../../helpers/db.js';
import {
  actorMembership, expectedAllowed, MATRIX_ACTIONS, MATRIX_ACTORS, type MatrixAction, type MatrixActor,
} from '../../../src/core/members/rbac-matrix.js';

// Every actor × every action × own/other project, executed against the real SQL API twice: as the
// actor's own LOGIN role, and as the trusted `authenticator` naming the actor in request.jwt.claims.
// Each cell runs in a transaction that is rolled back, so cells never see each other's effects.
// The outcome is compared with the pure expected table (src/core/members/rbac-matrix.ts).

let db: TestDatabase;
const clients: pg.Client[] = [];
interface Seed {id: string; previewRun: number; productionRun: number; backup: string}
const projects: Record<'own' | 'other', Seed> = {own: {id: '', previewRun: 0, productionRun: 0, backup: ''}, other: {id: '', previewRun: 0, productionRun: 0, backup: ''}};

const roleName = (actor: MatrixActor) => `m_${actor.replace(/[@-]/g, '_')}`;
const sub = (actor: MatrixActor) => `jwt:${actor}`;
const su = (sql: string, params: unknown[] = []) => db.pool.query(sql, params);

async function seed(name: string): Promise<Seed> {
  const id = (await su(`select (ops.create_project($1)).id as id`, [name])).rows[0].id as string;
  await su(`select ops.upsert_environment($1, 'pr-1', 'preview', 'feature/x')`, [id]);
  await su(`select ops.upsert_environment($1, 'staging', 'staging', 'release/x')`, [id]);
  await su(`select ops.upsert_environment($1, 'main', 'production', 'main')`, [id]);
  const run = async (env: string) => Number((await su(`select (ops.queue_run($1, $2, null, 'refs/heads/x', 'build')).id as id`, [id, env])).rows[0].id);
  const previewRun = await run('pr-1');
  const productionRun = await run('main');
  const backup = (await su(`select (ops.create_backup($1, 'main')).id as id`, [id])).rows[0].id as string;
  await su(`select ops.complete_backup($1, 'filesystem', 'file:///backups/x', '{}', 1)`, [backup]);
  return {id, previewRun, productionRun, backup};
}

beforeAll(async () => {
  db = await createTestDatabase('rbac');
  projects.own = await seed('own');
  projects.other = await seed('other');
  await su(`do $$ begin
    if not exists (select 1 from pg_roles where rolname = 'authenticator') then
      create role authenticator login in role ops_app, ops_authenticator;
    end if; end $$`);
  for (const actor of MATRIX_ACTORS) {
    await createMemberRole(db.pool, roleName(actor));
    const m = actorMembership(actor);
    if (!m) continue;
    for (const member of [roleName(actor), sub(actor)]) {
      await su(`select ops.add_member($1, $2, $3, $4)`, [projects.own.id, member, m.role, m.envType]);
    }
  }
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  await db?.drop();
});

async function connect(role: string): Promise<pg.Client> {
  const c = new pg.Client({connectionString: db.urlAs(role)});
  c.on('error', () => undefined);
  await c.connect();
  clients.push(c);
  return c;
}

const ENV_OF = {preview: 'pr-1', staging: 'staging', production: 'main'} as const;

/** Performs the action; true when it was allowed (and did something), false when refused. */
async function perform(c: pg.Client, action: MatrixAction, p: Seed): Promise<boolean> {
  const [kind, arg] = action.split(/\.(.*)/) as [string, string];
  switch (kind) {
    case 'read': {
      const {rows} = await c.query(`select
        (select count(*) from ops.runs where project_id = $1) > 0
        and (select count(*) from ops.environments where project_id = $1) > 0
        and (select count(*) from ops.audit_log where project_id = $1) > 0 as ok`, [p.id]);
      return rows[0].ok as boolean;
    }
    case 'queue':
      await c.query(`select ops.queue_run($1, $2, null, 'refs/heads/x', 'build')`, [p.id, ENV_OF[arg as keyof typeof ENV_OF]]);
      return true;
    case 'env':
      await c.query(`select ops.upsert_environment($1, $2, $3, null)`, [p.id, ENV_OF[arg as keyof typeof ENV_OF], arg]);
      return true;
    case 'backup':
      if (arg === 'create') await c.query(`select ops.create_backup($1, 'main')`, [p.id]);
      else await c.query(`select ops.start_restore(gen_random_uuid(), $1, $2, 'main', null, 'restored_matrix')`, [p.id, p.backup]);
      return true;
    case 'member':
      await c.query(`select ops.add_member($1, 'newcomer', 'viewer')`, [p.id]);
      return true;
    case 'run':
      if (arg === 'claim') {
        const {rows} = await c.query(`select project_id from ops.claim_next_run('matrix-worker', 60)`);
        return rows.some((r) => r.project_id === p.id);
      }
      await c.query(`select ops.cancel_run($1)`, [arg === 'cancel.preview' ? p.previewRun : p.productionRun]);
      return true;
    default:
      throw new Error(`unknown action ${action}`);
  }
}

const REFUSED = new Set(['OS403', 'OS404', '42501']);

interface Deviation {mode: string; actor: MatrixActor; action: MatrixAction; project: string; expected: boolean; got: boolean | string}

async function runMatrix(mode: 'db-role' | 'jwt'): Promise<{cells: number; deviations: Deviation[]}> {
  const deviations: Deviation[] = [];
  let cells = 0;
  const jwtClient = mode === 'jwt' ? await connect('authenticator') : undefined;
  for (const actor of MATRIX_ACTORS) {
    const c = jwtClient ?? await connect(roleName(actor));
    for (const action of MATRIX_ACTIONS) {
      for (const project of ['own', 'other'] as const) {
        cells++;
        const expected = expectedAllowed(actor, action, project);
        let got: boolean | string;
        await c.query('begin');
        try {
          if (jwtClient) await c.query(`select set_config('request.jwt.claims', $1, true)`, [JSON.stringify({sub: sub(actor)})]);
          got = await perform(c, action, projects[project]);
        } catch (err) {
          const e = err as {code?: string; message?: string};
          got = e.code && REFUSED.has(e.code) ? false : `error ${e.code ?? '?'}: ${e.message}`;
        } finally {
          await c.query('rollback');
        }
        if (got !== expected) deviations.push({mode, actor, action, project, expected, got});
      }
    }
  }
  return {cells, deviations};
}

describe('the role × action matrix, enforced by the database', () => {
  for (const mode of ['db-role', 'jwt'] as const) {
    it(`has 0 deviations from the expected table (${mode === 'jwt' ? 'jwt claims through authenticator' : 'direct LOGIN roles'})`, async () => {
      const {cells, deviations} = await runMatrix(mode);
      if (deviations.length > 0) console.log(`${mode}: ${deviations.length} deviation(s)\n${deviations.map((d) => JSON.stringify(d)).join('\n')}`);
      expect(cells).toBe(MATRIX_ACTORS.length * MATRIX_ACTIONS.length * 2);
      expect(deviations).toEqual([]);
    });
  }

  it('left nothing behind (every cell was rolled back)', async () => {
    const {rows} = await su(`select count(*)::int as n from ops.project_members where member = 'newcomer'`);
    expect(rows[0].n).toBe(0);
    const runs = await su(`select count(*)::int as n from ops.runs where state <> 'queued'`);
    expect(runs.rows[0].n).toBe(0);
  });

  it('ignores claims set by a member that is not an authenticator', async () => {
    const viewer = await connect(roleName('viewer'));
    await viewer.query('begin');
    try {
      await viewer.query(`select set_config('request.jwt.claims', $1, true)`, [JSON.stringify({sub: roleName('admin')})]);
      expect((await viewer.query('select ops.current_actor() as a')).rows[0].a).toBe(roleName('viewer'));
      await expect(viewer.query(`select ops.add_member($1, 'newcomer', 'admin')`, [projects.own.id])).rejects.toMatchObject({code: 'OS403'});
    } finally {
      await viewer.query('rollback');
    }
  });
});
