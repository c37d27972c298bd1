// The claim loop shared by the claim and drain benches: N workers, each on its own connection,
// each claim its own autocommit statement, until `total` claims, an empty queue or the time cap.
import {performance} from 'node:perf_hooks';
import {connect} from './common.mjs';

/** The project's claim: the SECURITY DEFINER function a worker calls. */
export const PROJECT_CLAIM = 'select id from ops.claim_next_run($1, 60)';

/** The raw single-statement SKIP LOCKED claim a hand-written queue would use. */
export const RAW_CLAIM = `with c as (
  select id from ops.runs where state = 'queued' and run_at <= now()
  order by priority, run_at, id limit 1 for update skip locked)
update ops.runs r set state = 'claimed', locked_by = $1, attempts = attempts + 1,
  lease_expires_at = now() + interval '60 s', updated_at = now()
from c where r.id = c.id returning r.id`;

/**
 * Runs the claim loop. `marks` (ascending claim counts) get the elapsed ms at which the claim
 * with that number completed, e.g. [10000, 90000, 100000] for the drain's head and tail.
 */
export async function claimLoop({url, sql, workers, total, timeCapMs = Infinity, marks = []}) {
  const clients = await Promise.all(Array.from({length: workers}, () => connect(url)));
  const at = new Map();
  let issued = 0;
  let done = 0;
  let empty = false;
  let nextMark = 0;
  const start = performance.now();
  const deadline = start + timeCapMs;
  const worker = async (client, i) => {
    const name = `bench-worker-${i}`;
    while (!empty && issued < total && performance.now() < deadline) {
      issued++;
      const {rows} = await client.query(sql, [name]);
      if (!rows.length) {
        empty = true;
        issued--;
        break;
      }
      done++;
      while (nextMark < marks.length && done >= marks[nextMark]) {
        at.set(marks[nextMark], performance.now() - start);
        nextMark++;
      }
    }
  };
  try {
    await Promise.all(clients.map(worker));
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  }
  const ms = performance.now() - start;
  return {claims: done, ms, perSecond: (done / ms) * 1000, marks: at, empty};
}
