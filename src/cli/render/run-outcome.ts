import {ConflictError, InterruptedError, ProviderError, TimeoutError} from '../../core/errors.js';
import type {Run} from '../../core/run/run-record.js';

/**
 * A command that executed a run inline fails the way its run failed: the run's recorded error
 * (code, message, actions) becomes the command's error, so exit codes match the cause.
 */
export function exitForRun(run: Run): void {
  if (run.state === 'succeeded' || run.state === 'queued' || run.state === 'claimed' || run.state === 'running') return;
  const err = (run.result as {error?: {code?: string; message?: string; actions?: string[]; data?: Record<string, unknown>}} | null)?.error;
  const message = `run ${run.id} (${run.type}) ${run.state}: ${err?.message ?? run.lastError ?? 'no error recorded'}`;
  const opts = {actions: [...(err?.actions ?? []), `odoo-sh-next run logs ${run.id}`], data: {run: run.id, ...(err?.data ?? {})}};
  if (run.state === 'cancelled') throw new InterruptedError(message, opts);
  if (run.state === 'timed_out' || err?.code === 'TIMEOUT') throw new TimeoutError(message, opts);
  if (err?.code === 'CONFLICT') throw new ConflictError(message, opts);
  throw new ProviderError(message, opts);
}
