import {describe, expect, it} from 'vitest';
import {ConflictError, UsageError} from '../../../src/core/errors.js';
import type {Run} from '../../../src/core/run/run-record.js';
import {discardPayloadFor} from '../../../src/core/upgrade/upgrade-discard.js';
import {upgradeScratchEnv, upgradeWorkDirName} from '../../../src/core/upgrade/upgrade-run-type.js';

const run = (over: Partial<Run>): Run => ({
  id: '42', projectId: 'p', env: 'production', type: 'upgrade-preview', state: 'succeeded', gitSha: null, ref: null,
  payload: {source: 'production', toVersion: '18.0', keep: true}, result: null, finishedBy: null, phase: null, priority: 0,
  runAt: '2026-11-21T00:00:00Z', attempts: 1, maxAttempts: 1, backoffMs: 1000, exclusive: false, lockedBy: null,
  leaseExpiresAt: null, cancelRequested: false, lastError: null, createdBy: 'ops', createdAt: '2026-11-21T00:00:00Z',
  startedAt: null, finishedAt: null, updatedAt: '2026-11-21T00:00:00Z', ...over,
});

describe('upgrade discard: which runs can be discarded', () => {
  it('an ended preview that ran with --keep, whatever its outcome: one database per attempt', () => {
    expect(discardPayloadFor(run({}))).toEqual({previewRun: '42', attempts: 1});
    expect(discardPayloadFor(run({state: 'failed', attempts: 2}))).toEqual({previewRun: '42', attempts: 2});
    expect(discardPayloadFor(run({state: 'cancelled', attempts: 0}))).toEqual({previewRun: '42', attempts: 1});
    expect(upgradeScratchEnv('42')).toBe('upgrade-42');
    expect(upgradeWorkDirName('42', 2)).toBe('upgrade-42-2');
  });

  it('refuses another type of run, a preview without --keep, and one that has not ended', () => {
    expect(() => discardPayloadFor(run({type: 'deploy'}))).toThrow(UsageError);
    expect(() => discardPayloadFor(run({type: 'deploy'}))).toThrow('run 42 is a deploy run, not an upgrade preview');
    expect(() => discardPayloadFor(run({payload: {source: 'production', toVersion: '18.0', keep: false}}))).toThrow(ConflictError);
    for (const state of ['queued', 'claimed', 'running'] as const) {
      expect(() => discardPayloadFor(run({state}))).toThrow(`upgrade preview 42 is ${state}`);
    }
  });
});
