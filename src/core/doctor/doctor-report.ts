/**
 * Doctor check results and their summary. Pure: no IO.
 */
import type {EventLevel} from '../events.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface CheckResult {
  /** Stable name: state-db, postgres-binaries, docker, provider. */
  readonly name: string;
  readonly status: CheckStatus;
  readonly detail: string;
  /** Suggested next steps when the check warned or failed. */
  readonly actions: readonly string[];
}

export interface DoctorSummary {
  readonly status: CheckStatus;
  readonly ok: number;
  readonly warn: number;
  readonly fail: number;
  readonly failed: readonly string[];
}

export function check(name: string, status: CheckStatus, detail: string, actions: readonly string[] = []): CheckResult {
  return {name, status, detail, actions};
}

export function eventLevelFor(status: CheckStatus): EventLevel {
  return status === 'ok' ? 'info' : status === 'warn' ? 'warn' : 'error';
}

/** The overall status is the worst check's. */
export function summarizeChecks(checks: readonly CheckResult[]): DoctorSummary {
  const count = (s: CheckStatus) => checks.filter((c) => c.status === s).length;
  const fail = count('fail');
  const warn = count('warn');
  return {
    status: fail > 0 ? 'fail' : warn > 0 ? 'warn' : 'ok',
    ok: count('ok'),
    warn,
    fail,
    failed: checks.filter((c) => c.status === 'fail').map((c) => c.name),
  };
}

/** The minimum server version of the state store (PostgreSQL 13, as server_version_num). */
export const MIN_STATE_SERVER_VERSION_NUM = 130000;

/** Compares a found PostgreSQL version with the configured one (major version only). */
export function pgVersionMatches(found: string, wanted: string | undefined): boolean {
  if (!wanted) return true;
  return found.split('.')[0] === String(wanted).split('.')[0];
}
