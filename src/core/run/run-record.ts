/**
 * Runs and run events as the rest of the code sees them: camelCase, ids as decimal strings
 * (PostgreSQL bigint), times as ISO strings (so they survive JSON and redaction unchanged).
 * Pure: row mapping and id parsing only.
 */
import {UsageError} from '../errors.js';
import type {EventLevel} from '../events.js';
import type {RunEventRow, RunRow} from '../store/queries/run-rows.js';
import {isRunState, type RunState} from './run-state.js';

export interface Run {
  readonly id: string;
  readonly projectId: string;
  readonly env: string | null;
  readonly type: string;
  readonly state: RunState;
  readonly gitSha: string | null;
  readonly ref: string | null;
  readonly payload: Readonly<Record<string, unknown>>;
  /** What the handler returned (succeeded), or {error: {code, message, actions, data}} (failed). */
  readonly result: Readonly<Record<string, unknown>> | null;
  /** The worker whose finish_run ended the run. */
  readonly finishedBy: string | null;
  readonly phase: string | null;
  readonly priority: number;
  readonly runAt: string;
  /** Attempts claimed so far; the current attempt number while claimed or running. */
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly backoffMs: number;
  readonly exclusive: boolean;
  readonly lockedBy: string | null;
  readonly leaseExpiresAt: string | null;
  readonly cancelRequested: boolean;
  readonly lastError: string | null;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly updatedAt: string;
}

export interface RunEvent {
  readonly id: string;
  readonly runId: string;
  readonly at: string;
  readonly level: EventLevel;
  readonly phase: string | null;
  readonly message: string;
  readonly payload: Readonly<Record<string, unknown>>;
  readonly attempt: number | null;
}

const iso = (d: Date) => d.toISOString();
const isoOrNull = (d: Date | null) => (d ? d.toISOString() : null);

export function runFromRow(row: RunRow): Run {
  if (!isRunState(row.state)) throw new Error(`unknown run state "${row.state}" in run ${row.id}`);
  let result = row.result;
  let finishedBy: string | null = null;
  if (result && typeof result['_finished_by'] === 'string') {
    const {_finished_by: by, ...rest} = result;
    finishedBy = by as string;
    result = rest;
  }
  return {
    id: String(row.id),
    projectId: row.project_id,
    env: row.env,
    type: row.type,
    state: row.state,
    gitSha: row.git_sha,
    ref: row.ref,
    payload: row.payload ?? {},
    result,
    finishedBy,
    phase: row.phase,
    priority: row.priority,
    runAt: iso(row.run_at),
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    backoffMs: row.backoff_ms,
    exclusive: row.exclusive,
    lockedBy: row.locked_by,
    leaseExpiresAt: isoOrNull(row.lease_expires_at),
    cancelRequested: row.cancel_requested,
    lastError: row.last_error,
    createdBy: row.created_by,
    createdAt: iso(row.created_at),
    startedAt: isoOrNull(row.started_at),
    finishedAt: isoOrNull(row.finished_at),
    updatedAt: iso(row.updated_at),
  };
}

export function runEventFromRow(row: RunEventRow): RunEvent {
  return {
    id: String(row.id),
    runId: String(row.run_id),
    at: iso(row.at),
    level: row.level as EventLevel,
    phase: row.phase,
    message: row.message,
    payload: row.payload ?? {},
    attempt: row.attempt,
  };
}

const RUN_ID_RE = /^[1-9][0-9]{0,17}$/;

/** Validates a run id typed by a user (a positive whole number) and returns it normalized. */
export function parseRunId(text: string): string {
  const trimmed = String(text).trim().replace(/^#/, '');
  if (!RUN_ID_RE.test(trimmed)) {
    throw new UsageError(`invalid run id "${text}": expected a positive whole number (e.g. 42)`, {
      actions: ['list runs with `odoo-sh-next run list`'],
      data: {runId: text},
    });
  }
  return trimmed;
}

/** Parses a run payload given as JSON text (`--payload '{"k": 1}'`): it must be an object. */
export function parsePayloadJson(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`invalid --payload: not JSON (${(err as Error).message})`, {data: {payload: text}});
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsageError('invalid --payload: expected a JSON object, e.g. {"key": "value"}', {data: {payload: text}});
  }
  return value as Record<string, unknown>;
}

/** The columns of a run in listings. */
export function runSummary(run: Run): Record<string, string | number | null> {
  return {
    id: run.id,
    type: run.type,
    env: run.env,
    state: run.state,
    phase: run.phase,
    attempts: `${run.attempts}/${run.maxAttempts}`,
    created: run.createdAt,
    finished: run.finishedAt,
  };
}

/** One line of `run logs`. */
export function formatRunEvent(e: RunEvent): string {
  return `${e.at} ${e.level.padEnd(5)} ${e.phase ? `[${e.phase}] ` : ''}${e.message}`;
}
