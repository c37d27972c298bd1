/**
 * The run state machine as plain data, mirrored by the SQL table ops.run_transitions (a test
 * checks that both agree), plus the pure decisions of the run engine: how a finished attempt
 * ends, and the retry backoff the SQL sweep applies. Pure: no IO.
 */

export const RUN_STATES = ['queued', 'claimed', 'running', 'succeeded', 'failed', 'cancelled', 'timed_out'] as const;
export type RunState = (typeof RUN_STATES)[number];

export const FINAL_STATES = ['succeeded', 'failed', 'cancelled', 'timed_out'] as const;
export type FinalState = (typeof FINAL_STATES)[number];

/**
 * Allowed transitions. queued → claimed (a worker took it) or cancelled; claimed → running
 * (the worker started it), back to queued (lease expired, retry), or an end state; running →
 * an end state or back to queued (lease expired, retry). End states have no way out.
 */
export const RUN_TRANSITIONS: Readonly<Record<RunState, readonly RunState[]>> = Object.freeze({
  queued: ['claimed', 'cancelled'],
  claimed: ['running', 'queued', 'failed', 'cancelled', 'timed_out'],
  running: ['succeeded', 'failed', 'cancelled', 'timed_out', 'queued'],
  succeeded: [],
  failed: [],
  cancelled: [],
  timed_out: [],
});

export function isRunState(value: string): value is RunState {
  return (RUN_STATES as readonly string[]).includes(value);
}

export function canTransition(from: RunState, to: RunState): boolean {
  return RUN_TRANSITIONS[from].includes(to);
}

export function isTerminal(state: RunState): state is FinalState {
  return RUN_TRANSITIONS[state].length === 0;
}

/** Longest wait between two attempts (the SQL sweep uses the same cap). */
export const MAX_BACKOFF_MS = 3_600_000;

/**
 * Delay before the next attempt after attempt number `attempts` lost its lease:
 * backoffMs · 2^(attempts−1), at most an hour. Mirrors ops.sweep_expired_runs().
 */
export function backoffDelayMs(backoffMs: number, attempts: number): number {
  return Math.min(MAX_BACKOFF_MS, backoffMs * 2 ** Math.max(attempts - 1, 0));
}

/** Why the engine aborted a handler's AbortSignal. */
export type StopReason =
  | 'cancel-requested' // `run cancel`, seen by the heartbeat
  | 'interrupted' // the process running the run inline was interrupted (SIGINT)
  | 'timeout' // the run type's time limit passed
  | 'lease-lost' // a heartbeat was refused: another attempt owns the run now
  | 'shutdown'; // the worker is stopping; the run is left to lease expiry and retried

export type FinishDecision =
  | {readonly action: 'finish'; readonly status: FinalState}
  | {readonly action: 'abandon'};

/**
 * How an attempt ends once its handler returned (ok) or threw, given why (if at all) the engine
 * aborted it. A handler that completed wins over a late stop request.
 */
export function decideFinish(outcome: {readonly ok: boolean}, stop: StopReason | undefined): FinishDecision {
  if (outcome.ok) return {action: 'finish', status: 'succeeded'};
  switch (stop) {
    case 'cancel-requested':
    case 'interrupted':
      return {action: 'finish', status: 'cancelled'};
    case 'timeout':
      return {action: 'finish', status: 'timed_out'};
    case 'shutdown':
      return {action: 'abandon'};
    default:
      return {action: 'finish', status: 'failed'};
  }
}
