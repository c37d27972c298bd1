// Optional analysis (not part of `npm run bench`): where ops.claim_next_run spends its time
// compared with the raw SKIP LOCKED statement, and what the proposed change to the membership
// functions would buy. Run it with `node bench/queue/claim-analysis.mjs` after `npm run build`.
//
// 1. The plan of the claim's inner SELECT (auto_explain, nested statements).
// 2. Server time per call, measured inside the server by a DO block that runs the statement N
//    times with a COMMIT after each: no network, no client. This session alone uses
//    synchronous_commit = off so that the figures are the statement's CPU cost, not the WAL flush;
//    it is an analysis, not the benchmark (claims.mjs keeps the durable defaults for both sides).
// 3. Claims/s with 4 and 16 workers for raw, as migrated, and with the PROPOSED functions below,
//    in alternating windows.
import {claimLoop, PROJECT_CLAIM, RAW_CLAIM} from '../lib/claim-loop.mjs';
import {connect, createDatabase, createMigratedDatabase, dropDatabase, fillQueue, fmt, log, runStandalone, row} from '../lib/common.mjs';

/**
 * The proposal: ops.current_actor() without its SET clause (fully qualified instead), so the
 * planner inlines it as a plain expression; ops.actor_project_ids() in PL/pgSQL, whose query plan
 * is cached for the session, instead of a SQL function with SET, which PostgreSQL (before 18)
 * parses and plans again on every call.
 */
export const PROPOSED_SQL = `
create or replace function ops.current_actor() returns text
language sql stable
as $$
  select case
    when coalesce(pg_catalog.current_setting('request.jwt.claims', true), '') operator(pg_catalog.<>) ''
         and pg_catalog.pg_has_role(session_user, 'ops_authenticator', 'member')
    then coalesce(pg_catalog.current_setting('request.jwt.claims', true)::pg_catalog.jsonb operator(pg_catalog.->>) 'sub', '')
    else session_user::pg_catalog.text
  end
$$;

create or replace function ops.actor_project_ids() returns uuid[]
language plpgsql stable security definer
set search_path = ''
as $$
begin
  return (select coalesce(array_agg(distinct m.project_id), '{}') from ops.project_members m
          where m.member = ops.current_actor());
end
$$;`;

const N = Number(process.env.BENCH_ANALYSIS_CALLS ?? 3000);
const ROUNDS = 3;
const RAW_STATIC = RAW_CLAIM.replace('$1', "'w'");

async function serverMicros(ctx, template, statement) {
  const db = 'bench_analysis_run';
  await createDatabase(ctx, db, template);
  const c = await connect(ctx.url(db));
  try {
    let micros;
    c.on('notice', (n) => (micros = Number(n.message)));
    await c.query('set synchronous_commit = off');
    await c.query(`do $do$
      declare t0 timestamptz := clock_timestamp(); v record;
      begin
        for i in 1..${N} loop ${statement} into v; commit; end loop;
        raise notice '%', extract(epoch from clock_timestamp() - t0) * 1e6 / ${N};
      end $do$`);
    return micros;
  } finally {
    await c.end();
    await dropDatabase(ctx, db);
  }
}

async function explainClaim(ctx, template) {
  const db = 'bench_analysis_explain';
  await createDatabase(ctx, db, template);
  const c = await connect(ctx.url(db));
  const lines = [];
  try {
    c.on('notice', (n) => lines.push(n.message));
    await c.query(`load 'auto_explain'`);
    await c.query(`set auto_explain.log_min_duration = 0; set auto_explain.log_analyze = on;
      set auto_explain.log_nested_statements = on; set auto_explain.log_level = notice; set client_min_messages = notice`);
    for (let i = 0; i < 6; i++) await c.query(PROJECT_CLAIM, ['w']); // past plpgsql's custom-plan phase
    lines.length = 0;
    await c.query(PROJECT_CLAIM, ['w']);
  } finally {
    await c.end();
    await dropDatabase(ctx, db);
  }
  return lines.find((l) => l.includes('for update skip locked')) ?? lines.join('\n');
}

export async function run(ctx) {
  log('\n== claim analysis: ops.claim_next_run vs raw, and the proposed membership functions');
  const migrated = 'bench_analysis_migrated';
  const proposed = 'bench_analysis_proposed';
  const projectId = await createMigratedDatabase(ctx, migrated);
  const c = await connect(ctx.url(migrated));
  await fillQueue(c, projectId, 40_000);
  await c.end();
  await createDatabase(ctx, proposed, migrated);
  const p = await connect(ctx.url(proposed));
  await p.query(PROPOSED_SQL);
  await p.end();
  const rows = [];
  const details = {};
  try {
    log('\n-- plan of the inner SELECT of ops.claim_next_run (as migrated):');
    log((await explainClaim(ctx, migrated)).split('\n').map((l) => `   ${l}`).join('\n'));

    const cases = [
      ['raw statement', migrated, RAW_STATIC],
      ['ops.claim_next_run, as migrated', migrated, `select id from ops.claim_next_run('w', 60)`],
      ['ops.actor_project_ids() alone, as migrated', migrated, 'select ops.actor_project_ids() as ids'],
      ['ops.current_actor() alone, as migrated', migrated, 'select ops.current_actor() as actor'],
      ['ops.claim_next_run, proposed functions', proposed, `select id from ops.claim_next_run('w', 60)`],
      ['ops.actor_project_ids() alone, proposed', proposed, 'select ops.actor_project_ids() as ids'],
    ];
    const micros = Object.fromEntries(cases.map(([name]) => [name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, template, statement] of cases) micros[name].push(await serverMicros(ctx, template, statement));
    }
    log(`\n-- server time per call (in-server loop of ${fmt(N)}, COMMIT each; best of ${ROUNDS}):`);
    details.serverMicros = {};
    for (const [name] of cases) {
      const best = Math.min(...micros[name]);
      details.serverMicros[name] = best;
      log(`   ${name.padEnd(44)} ${fmt(best, 1).padStart(7)} us   (rounds: ${micros[name].map((x) => fmt(x, 1)).join(', ')})`);
    }

    log('\n-- claims/s, alternating 0.5 s windows (durable defaults):');
    details.throughput = {};
    for (const workers of [4, 16]) {
      const sides = [['raw', migrated, RAW_CLAIM], ['as migrated', migrated, PROJECT_CLAIM], ['proposed', proposed, PROJECT_CLAIM]];
      const dbs = sides.map((_, k) => `bench_analysis_w${k}`);
      for (const [k, [, template]] of sides.entries()) await createDatabase(ctx, dbs[k], template);
      const totals = sides.map(() => ({claims: 0, ms: 0}));
      try {
        for (let round = 0; round < 6; round++) {
          for (let j = 0; j < sides.length; j++) {
            const k = (j + round) % sides.length;
            const r = await claimLoop({url: ctx.url(dbs[k]), sql: sides[k][2], workers, total: 1e9, timeCapMs: 500});
            totals[k].claims += r.claims;
            totals[k].ms += r.ms;
          }
        }
      } finally {
        for (const db of dbs) await dropDatabase(ctx, db);
      }
      const rate = totals.map((t) => (t.claims / t.ms) * 1000);
      details.throughput[workers] = Object.fromEntries(sides.map(([name], k) => [name, rate[k]]));
      log(`   ${String(workers).padStart(2)} workers: raw ${fmt(rate[0])}/s, as migrated ${fmt(rate[1])}/s (${fmt(rate[1] / rate[0], 2)}x), ` +
        `proposed ${fmt(rate[2])}/s (${fmt(rate[2] / rate[0], 2)}x)`);
      rows.push(row({metric: `claims/s ${workers}w, proposed`, unit: '/s', project: rate[2], raw: rate[0], target: 'ratio >= 0.8', pass: rate[2] / rate[0] >= 0.8}));
    }
  } finally {
    await dropDatabase(ctx, migrated);
    await dropDatabase(ctx, proposed);
  }
  log('\n-- proposed SQL (for a new migration):');
  log(PROPOSED_SQL.trim().split('\n').map((l) => `   ${l}`).join('\n'));
  return {rows, details};
}

if (import.meta.main) await runStandalone(run);
