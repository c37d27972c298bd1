import {describe, expect, it} from 'vitest';
import {
  backoffDelayMs, canTransition, decideFinish, FINAL_STATES, isRunState, isTerminal, MAX_BACKOFF_MS, RUN_STATES, RUN_TRANSITIONS,
  type RunState, type StopReason,
} from '../../../src/core/run/run-state.js';

const reachable = (from: RunState): Set<RunState> => {
  const seen = new Set<RunState>([from]);
  const todo: RunState[] = [from];
  while (todo.length) {
    for (const next of RUN_TRANSITIONS[todo.pop()!]) {
      if (!seen.has(next)) {
        seen.add(next);
        todo.push(next);
      }
    }
  }
  return seen;
};

describe('run transition table', () => {
  it('has a row for every state and only known states in it', () => {
    expect(Object.keys(RUN_TRANSITIONS).sort()).toEqual([...RUN_STATES].sort());
    for (const targets of Object.values(RUN_TRANSITIONS)) for (const t of targets) expect(isRunState(t)).toBe(true);
  });

  it('has no self-loops and no duplicate targets', () => {
    for (const s of RUN_STATES) {
      expect(RUN_TRANSITIONS[s]).not.toContain(s);
      expect(new Set(RUN_TRANSITIONS[s]).size).toBe(RUN_TRANSITIONS[s].length);
    }
  });

  it('terminal states are exactly the final states, with no way out', () => {
    expect(RUN_STATES.filter(isTerminal).sort()).toEqual([...FINAL_STATES].sort());
    for (const f of FINAL_STATES) for (const s of RUN_STATES) expect(canTransition(f, s)).toBe(false);
  });

  it('every state is reachable from queued, and every state can reach an end state', () => {
    expect([...reachable('queued')].sort()).toEqual([...RUN_STATES].sort());
    for (const s of RUN_STATES) expect([...reachable(s)].some((r) => isTerminal(r))).toBe(true);
  });

  it('only a worker-held run (claimed/running) can go back to queued, and queued cannot end as succeeded/failed directly', () => {
    expect(RUN_STATES.filter((s) => canTransition(s, 'queued')).sort()).toEqual(['claimed', 'running']);
    expect(canTransition('queued', 'succeeded')).toBe(false);
    expect(canTransition('queued', 'failed')).toBe(false);
    expect(canTransition('claimed', 'succeeded')).toBe(false); // a claimed run must start first
    expect(RUN_STATES.filter((s) => canTransition(s, 'succeeded'))).toEqual(['running']);
  });

  it('canTransition agrees with the table on every pair', () => {
    for (const a of RUN_STATES) for (const b of RUN_STATES) expect(canTransition(a, b)).toBe(RUN_TRANSITIONS[a].includes(b));
  });

  it('cancellation is possible from every non-terminal state', () => {
    for (const s of RUN_STATES.filter((x) => !isTerminal(x))) expect(canTransition(s, 'cancelled')).toBe(true);
  });
});

describe('backoffDelayMs', () => {
  it('doubles per attempt from backoff_ms, capped at an hour', () => {
    expect([1, 2, 3, 4, 5].map((a) => backoffDelayMs(1000, a))).toEqual([1000, 2000, 4000, 8000, 16000]);
    expect(backoffDelayMs(1000, 0)).toBe(1000);
    expect(backoffDelayMs(1000, 40)).toBe(MAX_BACKOFF_MS);
    expect(backoffDelayMs(0, 5)).toBe(0);
  });

  it('is monotonic in the attempt number', () => {
    for (const base of [1, 10, 250, 1000, 60_000]) {
      for (let a = 1; a < 60; a++) expect(backoffDelayMs(base, a + 1)).toBeGreaterThanOrEqual(backoffDelayMs(base, a));
    }
  });
});

describe('decideFinish', () => {
  const stops: (StopReason | undefined)[] = [undefined, 'cancel-requested', 'interrupted', 'timeout', 'lease-lost', 'shutdown'];

  it('a handler that completed succeeds whatever stop came late', () => {
    for (const stop of stops) expect(decideFinish({ok: true}, stop)).toEqual({action: 'finish', status: 'succeeded'});
  });

  it.each([
    [undefined, {action: 'finish', status: 'failed'}],
    ['cancel-requested', {action: 'finish', status: 'cancelled'}],
    ['interrupted', {action: 'finish', status: 'cancelled'}],
    ['timeout', {action: 'finish', status: 'timed_out'}],
    ['lease-lost', {action: 'finish', status: 'failed'}],
    ['shutdown', {action: 'abandon'}],
  ] as const)('a handler that threw after stop %s → %j', (stop, expected) => {
    expect(decideFinish({ok: false}, stop)).toEqual(expected);
  });

  it('every finish status is a legal transition from running', () => {
    for (const stop of stops) {
      for (const ok of [true, false]) {
        const d = decideFinish({ok}, stop);
        if (d.action === 'finish') expect(canTransition('running', d.status)).toBe(true);
      }
    }
  });
});
