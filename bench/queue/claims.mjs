// Bench 1: claims per second through ops.claim_next_run(worker, lease) with 1, 4 and 16 workers,
// beside the raw single-statement SKIP LOCKED claim over the same partial index, same server,
// same run. For each worker count each side gets its own identical clone of one prefilled
// database, so both see the same data; the sides then alternate in short windows, each side
// draining its own clone further (the partial index keeps the rate flat as a queue drains: see
// drain.mjs). Each side's figure is its median window; the ratio is the median of the ratios of
// back-to-back windows, which cancels most of the load from other processes on the machine (the
// pooled totals are printed and kept in the details too).
import {claimLoop, PROJECT_CLAIM, RAW_CLAIM} from '../lib/claim-loop.mjs';
import {
  connect, createDatabase, createMigratedDatabase, dropDatabase, fillQueue, fmt, log, median, row, runStandalone,
} from '../lib/common.mjs';

const WORKERS = [1, 4, 16];
const MAX_CLAIMS = Number(process.env.BENCH_CLAIMS ?? 20_000); // per window
const SECONDS = Number(process.env.BENCH_CLAIM_SECONDS ?? 0.5); // per window
const ROUNDS = Number(process.env.BENCH_CLAIM_ROUNDS ?? 8); // windows per side and configuration
const PREFILL = Number(process.env.BENCH_CLAIM_PREFILL ?? 50_000);
const RATIO_TARGET = 0.8;
const ABSOLUTE_TARGET = 4_000; // claims/s with 4 workers on 2 cores

const TEMPLATE = 'bench_claims_tpl';
const SIDES = {project: {db: 'bench_claims_project', sql: PROJECT_CLAIM}, raw: {db: 'bench_claims_raw', sql: RAW_CLAIM}};

export async function run(ctx) {
  log(`\n== claims/s: ops.claim_next_run vs raw SKIP LOCKED (${fmt(PREFILL)} queued runs; ${ROUNDS} alternating windows per side of up to ${fmt(MAX_CLAIMS)} claims or ${SECONDS} s)`);
  const projectId = await createMigratedDatabase(ctx, TEMPLATE);
  const setup = await connect(ctx.url(TEMPLATE));
  try {
    await fillQueue(setup, projectId, PREFILL);
  } finally {
    await setup.end();
  }
  const rows = [];
  const details = [];
  try {
    for (const [i, workers] of WORKERS.entries()) {
      const result = {project: {claims: 0, ms: 0, windows: []}, raw: {claims: 0, ms: 0, windows: []}};
      let empty = false;
      for (const {db} of Object.values(SIDES)) await createDatabase(ctx, db, TEMPLATE);
      try {
        for (let round = 0; round < ROUNDS; round++) {
          // Alternate which side goes first so neither always gets the warmer server.
          const order = (i + round) % 2 === 0 ? ['project', 'raw'] : ['raw', 'project'];
          for (const which of order) {
            const {db, sql} = SIDES[which];
            const w = await claimLoop({url: ctx.url(db), sql, workers, total: MAX_CLAIMS, timeCapMs: SECONDS * 1000});
            result[which].claims += w.claims;
            result[which].ms += w.ms;
            result[which].windows.push(Math.round(w.perSecond));
            empty ||= w.empty;
          }
        }
      } finally {
        for (const {db} of Object.values(SIDES)) await dropDatabase(ctx, db);
      }
      for (const s of Object.values(result)) {
        s.perSecond = (s.claims / s.ms) * 1000;
        s.medianWindow = median(s.windows);
      }
      const {project, raw} = result;
      const pooledRatio = project.perSecond / raw.perSecond;
      // The figure: the median of the ratios of back-to-back windows (robust to load swings on a
      // shared machine), beside each side's median window.
      const ratio = median(project.windows.map((p, k) => p / raw.windows[k]));
      log(`  ${String(workers).padStart(2)} worker(s): median window project ${fmt(project.medianWindow)} claims/s, raw ${fmt(raw.medianWindow)} claims/s, ` +
        `median paired ratio ${fmt(ratio, 2)} (pooled: ${fmt(project.perSecond)} vs ${fmt(raw.perSecond)} claims/s, ${fmt(pooledRatio, 2)})`);
      log(`      windows/s project ${project.windows.map((x) => fmt(x)).join(' ')}; raw ${raw.windows.map((x) => fmt(x)).join(' ')}`);
      if (empty) log('    warning: the queue ran empty in a window; raise BENCH_CLAIM_PREFILL');
      details.push({workers, project, raw, ratio, pooledRatio});
      const absoluteOk = workers !== 4 || project.medianWindow >= ABSOLUTE_TARGET;
      const target = workers === 4 ? `ratio >= ${RATIO_TARGET}, >= ${fmt(ABSOLUTE_TARGET)}/s` : `ratio >= ${RATIO_TARGET}`;
      rows.push(row({
        metric: `claims/s, ${workers} worker${workers > 1 ? 's' : ''}`,
        unit: '/s',
        project: project.medianWindow,
        raw: raw.medianWindow,
        ratio,
        target,
        pass: ratio >= RATIO_TARGET && absoluteOk,
        ...(!absoluteOk
          ? {note: `${fmt(project.medianWindow)} claims/s is below the ${fmt(ABSOLUTE_TARGET)}/s target (the raw statement made ${fmt(raw.medianWindow)}/s in the same run)`}
          : {}),
      }));
    }
  } finally {
    await dropDatabase(ctx, TEMPLATE);
  }
  return {rows, details};
}

if (import.meta.main) await runStandalone(run);
