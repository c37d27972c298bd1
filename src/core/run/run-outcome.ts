/**
 * The error a command reports for a run that ended badly, rebuilt from the run record (so a run
 * executed by another process reports the same class, hence exit code, as an inline one).
 * Pure: no IO.
 */
import {
  ConfigError, ConflictError, InternalError, InterruptedError, NotFoundError, PolicyDeniedError, ProviderError,
  TimeoutError, UsageError, type OdooShError,
} from '../errors.js';
import type {Run} from './run-record.js';

interface StoredError {
  readonly code?: unknown;
  readonly message?: unknown;
  readonly actions?: unknown;
  readonly data?: unknown;
}

/** Undefined for a run that succeeded or has not ended yet. */
export function errorForRun(run: Run): OdooShError | undefined {
  if (run.state === 'succeeded' || run.state === 'queued' || run.state === 'claimed' || run.state === 'running') return undefined;
  const stored = (run.result?.['error'] ?? {}) as StoredError;
  const message = `run ${run.id} (${run.type}) ${run.state.replace('_', ' ')}: ${
    typeof stored.message === 'string' ? stored.message : (run.lastError ?? 'no error recorded')
  }`;
  const stepsFromStore = Array.isArray(stored.actions) ? stored.actions.filter((a): a is string => typeof a === 'string') : [];
  const actions = [...stepsFromStore, `see its events: odoo-sh-next run logs ${run.id}`];
  const extra = stored.data && typeof stored.data === 'object' ? (stored.data as Record<string, unknown>) : {};
  const options = {actions, data: {...extra, run}};
  if (run.state === 'cancelled') return new InterruptedError(message, options);
  if (run.state === 'timed_out') return new TimeoutError(message, options);
  switch (stored.code) {
    case 'USAGE':
      return new UsageError(message, options);
    case 'CONFIG':
      return new ConfigError(message, options);
    case 'NOT_FOUND':
      return new NotFoundError(message, options);
    case 'CONFLICT':
      return new ConflictError(message, options);
    case 'TIMEOUT':
      return new TimeoutError(message, options);
    case 'INTERRUPTED':
      return new InterruptedError(message, options);
    case 'POLICY_DENIED': {
      const reasons = Array.isArray(extra['reasons']) ? (extra['reasons'] as string[]) : [message];
      return new PolicyDeniedError(message, reasons, options);
    }
    case 'UNEXPECTED':
    case 'INTERNAL':
      return new InternalError(message, options);
    default:
      // PROVIDER, or a run failed by the sweep (lease expired too often): a remote/provider failure.
      return new ProviderError(message, options);
  }
}
