// Bench 2: a full drain of 100,000 queued runs through ops.claim_next_run with 4 workers; claims/s
// of the last 10k against the first 10k. The partial index (state = 'queued') keeps the claim's
// scan short however many runs were already claimed.
//
// The drain runs on one clone of a prefilled database and prints claims/s for each tenth. On a
// shared machine a one-off comparison of the first and the last tenth mostly measures how busy
// the machine was at those two moments, so the last tenth is claimed in short windows that
// alternate with windows on a second, untouched clone of the same queue (its first claims): the
// figure is the last tenth's rate over that reference's rate, measured side by side. The plain
// ratio (last tenth / first tenth, minutes apart) is printed too.
//
// For contrast the raw SKIP LOCKED statement runs on a database WITHOUT the partial index (a
// plain index on (priority, run_at, id) instead): every claim there walks past all the runs
// claimed before it, so a full drain takes many minutes. That side claims its first tenth for
// real, claims the middle eight tenths with one bulk UPDATE and times its last tenth for at most
// BENCH_DRAIN_TAIL_SECONDS (a sample of it when the cap is hit).
import {claimLoop, PROJECT_CLAIM, RAW_CLAIM} from '../lib/claim-loop.mjs';
import {connect, createDatabase, createMigratedDatabase, dropDatabase, fillQueue, fmt, log, row, runStandalone} from '../lib/common.mjs';

const RUNS = Number(process.env.BENCH_DRAIN_RUNS ?? 100_000);
const SLICE = Math.max(1, Math.round(RUNS / 10));
const WORKERS = 4;
const TARGET = 0.6; // tail >= 0.6 x head
const WINDOW_MS = 500; // alternating windows of the last tenth
/** The contrast's last tenth crawls: time at most this long of it. */
const TAIL_CAP_SECONDS = Number(process.env.BENCH_DRAIN_TAIL_SECONDS ?? 8);

async function projectDrain(ctx, db, reference) {
  const url = ctx.url(db);
  // Tenths 1-9 in one go.
  const marks = Array.from({length: 9}, (_, k) => (k + 1) * SLICE);
  const first = await claimLoop({url, sql: PROJECT_CLAIM, workers: WORKERS, total: RUNS - SLICE, marks});
  const at = [0, ...marks.map((m) => first.marks.get(m))];
  const deciles = marks.map((_, k) => (SLICE / (at[k + 1] - at[k])) * 1000);
  // Tenth 10 in windows alternating with the reference clone's first claims.
  const tail = {claims: 0, ms: 0};
  const ref = {claims: 0, ms: 0};
  let remaining = RUNS - first.claims;
  for (let k = 0; remaining > 0; k++) {
    const order = k % 2 === 0 ? ['tail', 'ref'] : ['ref', 'tail'];
    for (const which of order) {
      if (which === 'tail') {
        const w = await claimLoop({url, sql: PROJECT_CLAIM, workers: WORKERS, total: remaining, timeCapMs: WINDOW_MS});
        tail.claims += w.claims;
        tail.ms += w.ms;
        remaining -= w.claims;
        if (w.empty) remaining = 0;
      } else {
        const w = await claimLoop({url: ctx.url(reference), sql: PROJECT_CLAIM, workers: WORKERS, total: 1e9, timeCapMs: WINDOW_MS});
        ref.claims += w.claims;
        ref.ms += w.ms;
      }
    }
  }
  deciles.push((tail.claims / tail.ms) * 1000);
  const head = deciles[0];
  const tailRate = deciles[9];
  const refRate = (ref.claims / ref.ms) * 1000;
  return {
    claims: first.claims + tail.claims, deciles, head, tail: tailRate, reference: refRate, referenceClaims: ref.claims,
    tailOverHead: tailRate / head, tailOverReference: tailRate / refRate,
  };
}

async function contrastDrain(ctx, db) {
  const url = ctx.url(db);
  const head = await claimLoop({url, sql: RAW_CLAIM, workers: WORKERS, total: SLICE});
  const bulk = RUNS - 2 * SLICE;
  const c = await connect(url);
  try {
    await c.query(
      `update ops.runs r set state = 'claimed', locked_by = 'bulk', attempts = attempts + 1,
         lease_expires_at = now() + interval '60 s', updated_at = now()
       where r.id in (select id from ops.runs where state = 'queued' order by priority, run_at, id limit $1)`,
      [bulk],
    );
  } finally {
    await c.end();
  }
  const tail = await claimLoop({url, sql: RAW_CLAIM, workers: WORKERS, total: SLICE, timeCapMs: TAIL_CAP_SECONDS * 1000});
  return {head: head.perSecond, bulk, tail: tail.perSecond, tailClaims: tail.claims, tailMs: tail.ms, tailOverHead: tail.perSecond / head.perSecond};
}

export async function run(ctx) {
  log(`\n== drain: ${fmt(RUNS)} queued runs, ${WORKERS} workers; claims/s of the last ${fmt(SLICE)} vs the first ${fmt(SLICE)}`);
  const rows = [];
  const details = {};

  const template = 'bench_drain_tpl';
  const db = 'bench_drain';
  const reference = 'bench_drain_reference';
  const projectId = await createMigratedDatabase(ctx, template);
  try {
    const c = await connect(ctx.url(template));
    await fillQueue(c, projectId, RUNS);
    await c.end();
    await createDatabase(ctx, db, template);
    await createDatabase(ctx, reference, template);
    const p = await projectDrain(ctx, db, reference);
    details.project = p;
    log(`  ops.claim_next_run, partial index: claims/s per tenth: ${p.deciles.map((x) => fmt(x)).join(' | ')}`);
    log(`    last tenth ${fmt(p.tail)}/s vs ${fmt(p.reference)}/s for the first claims of an identical queue in alternating ` +
      `${WINDOW_MS} ms windows: ${fmt(p.tailOverReference, 2)}; last tenth / first tenth: ${fmt(p.tailOverHead, 2)}`);
  } finally {
    for (const name of [db, reference, template]) await dropDatabase(ctx, name);
  }

  const plain = 'bench_drain_plain';
  const plainProject = await createMigratedDatabase(ctx, plain);
  try {
    const c = await connect(ctx.url(plain));
    await c.query('drop index ops.runs_available_index');
    await c.query('create index runs_queue_plain_index on ops.runs (priority, run_at, id)');
    await fillQueue(c, plainProject, RUNS);
    await c.end();
    const d = await contrastDrain(ctx, plain);
    details.rawWithoutPartialIndex = d;
    log(`  raw statement, plain index: first ${fmt(SLICE)} at ${fmt(d.head)}/s; ${fmt(d.bulk)} more claimed by one UPDATE; ` +
      `last tenth ${fmt(d.tailClaims)} claims in ${fmt(d.tailMs / 1000, 1)} s = ${fmt(d.tail)}/s${d.tailClaims < SLICE ? ' (sampled: time cap)' : ''}`);
  } finally {
    await dropDatabase(ctx, plain);
  }

  const p = details.project;
  const contrast = details.rawWithoutPartialIndex;
  rows.push(row({
    metric: `drain ${fmt(RUNS / 1000)}k tail/head`,
    unit: '',
    project: p.tailOverReference,
    raw: contrast.tailOverHead,
    target: `tail >= ${TARGET} x head`,
    pass: p.tailOverReference >= TARGET,
    note: `project (partial index): last tenth ${fmt(p.tail)}/s vs ${fmt(p.reference)}/s for a full queue measured alongside ` +
      `(first tenth ${fmt(p.head)}/s, minutes earlier: ${fmt(p.tailOverHead, 2)}); raw = the raw statement WITHOUT the partial index: ` +
      `head ${fmt(contrast.head)}/s, tail ${fmt(contrast.tail)}/s`,
  }));
  return {rows, details};
}

if (import.meta.main) await runStandalone(run);
