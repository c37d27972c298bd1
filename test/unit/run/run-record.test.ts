import {describe, expect, it} from 'vitest';
import {UsageError} from '../../../src/core/errors.js';
import {formatRunEvent, parsePayloadJson, parseRunId, runFromRow} from '../../../src/core/run/run-record.js';
import type {RunRow} from '../../../src/core/store/queries/run-rows.js';

const at = new Date('2025-01-02T03:04:05.000Z');
const row: RunRow = {
  id: '42', project_id: 'p', env: 'main', type: 'doctor', state: 'succeeded', git_sha: null, ref: null, payload: {},
  result: {checks: [], _finished_by: 'w1'}, phase: 'provider', priority: 0, run_at: at, attempts: 1, max_attempts: 5,
  backoff_ms: 1000, exclusive: false, locked_by: null, lease_expires_at: null, cancel_requested: false, last_error: null,
  created_by: 'postgres', created_at: at, started_at: at, finished_at: at, updated_at: at,
};

describe('parseRunId', () => {
  it.each(['1', '42', ' 7 ', '#12', '999999999999999999'])('accepts %j', (id) => {
    expect(parseRunId(id)).toMatch(/^[1-9][0-9]*$/);
  });
  it.each(['abc', '', '0', '-1', '1.5', '01', '1e3', '12a', '9999999999999999999', "1; drop table ops.runs"])('refuses %j with UsageError', (id) => {
    expect(() => parseRunId(id)).toThrow(UsageError);
  });
});

describe('parsePayloadJson', () => {
  it('accepts a JSON object', () => expect(parsePayloadJson('{"a": 1}')).toEqual({a: 1}));
  it.each(['[1]', '1', 'null', '"x"', '{', ''])('refuses %j', (text) => expect(() => parsePayloadJson(text)).toThrow(UsageError));
});

describe('runFromRow', () => {
  it('maps a row, ISO times, and lifts _finished_by out of the result', () => {
    const run = runFromRow(row);
    expect(run).toMatchObject({id: '42', state: 'succeeded', result: {checks: []}, finishedBy: 'w1', createdAt: '2025-01-02T03:04:05.000Z', leaseExpiresAt: null});
    expect(JSON.parse(JSON.stringify(run))).toEqual(run);
  });
  it('refuses an unknown state', () => expect(() => runFromRow({...row, state: 'weird'})).toThrow(/unknown run state/));
});

describe('formatRunEvent', () => {
  it('prints time, level, phase and message', () => {
    expect(formatRunEvent({id: '1', runId: '42', at: '2025-01-02T03:04:05.000Z', level: 'info', phase: 'checks', message: 'ok', payload: {}, attempt: 1}))
      .toBe('2025-01-02T03:04:05.000Z info  [checks] ok');
  });
});
