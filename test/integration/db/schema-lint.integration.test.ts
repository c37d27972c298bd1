import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {createTestDatabase, type TestDatabase} from '../../helpers/db.js';

// Lints of the migrated ops schema (house style rule 15, after supabase's lints.sql): RLS enabled,
// forced and with a policy on every table; SECURITY DEFINER functions with a pinned search_path;
// policies that evaluate the actor once per query; nothing granted to PUBLIC.

/** Calls of per-session functions in a deparsed policy expression that are not `( SELECT f(...)`. */
function unwrappedCalls(expr: string): string[] {
  const calls = /(ops\.\w+|current_setting|current_user|session_user|auth\.\w+)\s*\(/g;
  return [...expr.matchAll(calls)]
    .filter((m) => !/\(\s*SELECT\s*$/i.test(expr.slice(0, m.index)))
    .map((m) => m[1]!);
}

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('lint');
});
afterAll(async () => {
  await db?.drop();
});

describe('ops schema lint', () => {
  it('has row-level security enabled and forced, with at least one policy, on every table', async () => {
    const {rows} = await db.pool.query<{table: string; rls: boolean; forced: boolean; policies: number}>(`
      select c.relname as table, c.relrowsecurity as rls, c.relforcerowsecurity as forced,
        (select count(*)::int from pg_policy p where p.polrelid = c.oid) as policies
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'ops' and c.relkind in ('r', 'p')
      order by 1`);
    expect(rows.length).toBeGreaterThan(10);
    const bad = rows.filter((r) => !r.rls || !r.forced || r.policies < 1);
    expect(bad, 'tables without RLS enabled + forced + a policy').toEqual([]);
  });

  it('pins search_path on every SECURITY DEFINER function', async () => {
    const {rows} = await db.pool.query<{fn: string; config: string[] | null}>(`
      select p.oid::regprocedure::text as fn, p.proconfig as config
      from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = 'ops' and p.prosecdef
      order by 1`);
    expect(rows.length).toBeGreaterThan(10);
    const bad = rows.filter((r) => !(r.config ?? []).some((c) => c.startsWith('search_path=')));
    expect(bad.map((r) => r.fn), 'SECURITY DEFINER functions without a pinned search_path').toEqual([]);
  });

  it('lets no SECURITY DEFINER function be executed by PUBLIC', async () => {
    const {rows} = await db.pool.query<{fn: string}>(`
      select p.oid::regprocedure::text as fn
      from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = 'ops' and p.prosecdef
        and exists (select 1 from aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                    where a.grantee = 0 and a.privilege_type = 'EXECUTE')
      order by 1`);
    expect(rows.map((r) => r.fn), 'SECURITY DEFINER functions executable by PUBLIC').toEqual([]);
  });

  it('grants nothing on ops tables to PUBLIC', async () => {
    const {rows} = await db.pool.query<{table: string; privilege: string}>(`
      select c.relname as table, a.privilege_type as privilege
      from pg_class c join pg_namespace n on n.oid = c.relnamespace,
        aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
      where n.nspname = 'ops' and c.relkind in ('r', 'p', 'v') and a.grantee = 0
      order by 1, 2`);
    expect(rows).toEqual([]);
  });

  it('evaluates the actor once per query in policies: functions and settings wrapped in (select ...)', async () => {
    const {rows} = await db.pool.query<{policy: string; expr: string}>(`
      select p.tablename || '.' || p.policyname as policy, coalesce(p.qual, '') || ' ' || coalesce(p.with_check, '') as expr
      from pg_policies p where p.schemaname = 'ops' order by 1`);
    expect(rows.length).toBeGreaterThan(10);
    expect(rows.some((r) => r.expr.includes('actor_project_ids'))).toBe(true);
    const bad = rows.filter((r) => unwrappedCalls(r.expr).length > 0).map((r) => `${r.policy}: ${r.expr}`);
    expect(bad, 'policies calling a function per row').toEqual([]);
  });

  it('(the policy lint itself) tells a wrapped call from a per-row one', () => {
    expect(unwrappedCalls('(project_id = ANY (( SELECT ops.actor_project_ids() AS actor_project_ids))::uuid[])')).toEqual([]);
    expect(unwrappedCalls('(project_id = ANY (ops.actor_project_ids()))')).toEqual(['ops.actor_project_ids']);
    expect(unwrappedCalls("(id = (current_setting('odoo_sh.project_id'::text, true))::uuid)")).toEqual(['current_setting']);
  });
});
