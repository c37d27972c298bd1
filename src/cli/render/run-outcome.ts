import {errorForRun} from '../../core/run/run-outcome.js';
import type {Run} from '../../core/run/run-record.js';

/**
 * A command that executed a run fails the way its run failed: the run's recorded error becomes
 * the command's error (same class, hence same exit code, as if it had been thrown here).
 */
export function exitForRun(run: Run): void {
  const err = errorForRun(run);
  if (err) throw err;
}
