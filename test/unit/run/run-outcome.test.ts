import {describe, expect, it} from 'vitest';
import {InternalError, InterruptedError, PolicyDeniedError, ProviderError, TimeoutError, UsageError} from '../../../src/core/errors.js';
import {errorForRun} from '../../../src/core/run/run-outcome.js';
import type {Run} from '../../../src/core/run/run-record.js';

const base: Run = {
  id: '7', projectId: 'p', env: null, type: 'doctor', state: 'failed', gitSha: null, ref: null, payload: {}, result: null, finishedBy: null,
  phase: null, priority: 0, runAt: '', attempts: 1, maxAttempts: 5, backoffMs: 1000, exclusive: false, lockedBy: null, leaseExpiresAt: null,
  cancelRequested: false, lastError: null, createdBy: 'me', createdAt: '', startedAt: null, finishedAt: null, updatedAt: '',
};

describe('errorForRun', () => {
  it('is undefined for a succeeded or unfinished run', () => {
    for (const state of ['succeeded', 'queued', 'claimed', 'running'] as const) expect(errorForRun({...base, state})).toBeUndefined();
  });

  it('rebuilds the error class from the stored code, keeping actions and data', () => {
    const run = {...base, result: {error: {code: 'PROVIDER', message: 'no docker', actions: ['start docker'], data: {checks: [1]}}}};
    const err = errorForRun(run)!;
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.message).toBe('run 7 (doctor) failed: no docker');
    expect(err.actions).toEqual(['start docker', 'see its events: odoo-sh-next run logs 7']);
    expect(err.data).toMatchObject({checks: [1], run: {id: '7'}});
  });

  it.each([
    ['USAGE', UsageError],
    ['POLICY_DENIED', PolicyDeniedError],
    ['UNEXPECTED', InternalError],
    ['TIMEOUT', TimeoutError],
  ] as const)('code %s → %s', (code, cls) => {
    expect(errorForRun({...base, result: {error: {code, message: 'x'}}})).toBeInstanceOf(cls);
  });

  it('cancelled → InterruptedError, timed_out → TimeoutError, swept failure → ProviderError with the last error', () => {
    expect(errorForRun({...base, state: 'cancelled'})).toBeInstanceOf(InterruptedError);
    expect(errorForRun({...base, state: 'timed_out'})).toBeInstanceOf(TimeoutError);
    const swept = errorForRun({...base, lastError: 'lease expired (worker w, attempt 5); max attempts reached'})!;
    expect(swept).toBeInstanceOf(ProviderError);
    expect(swept.message).toContain('max attempts reached');
  });
});
