/**
 * The error taxonomy. Every failure the core reports is one of these classes; the CLI maps
 * them to exit codes in one place (src/cli/exit-codes.ts). Core code never sets exit codes.
 */
export interface ErrorOptions {
  readonly actions?: readonly string[];
  readonly cause?: unknown;
  readonly data?: Readonly<Record<string, unknown>>;
}

export abstract class OdooShError extends Error {
  abstract readonly code: string;
  readonly actions: readonly string[];
  readonly data: Readonly<Record<string, unknown>> | undefined;

  constructor(message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause});
    this.name = new.target.name;
    this.actions = options.actions ?? [];
    this.data = options.data;
  }
}

/** Bad flags, arguments or names given on the command line. */
export class UsageError extends OdooShError {
  readonly code = 'USAGE';
}

/** The configuration file (or an environment variable it names) is invalid. */
export class ConfigError extends OdooShError {
  readonly code = 'CONFIG';
}

/** An environment, run, backup or other object does not exist. */
export class NotFoundError extends OdooShError {
  readonly code = 'NOT_FOUND';
}

/** A lock is held, the state changed under us, or a conflicting run is active. */
export class ConflictError extends OdooShError {
  readonly code = 'CONFLICT';
}

/** A provider or remote system failed (PostgreSQL, Docker, SSH, Kubernetes, S3). */
export class ProviderError extends OdooShError {
  readonly code = 'PROVIDER';
  readonly retryable: boolean;
  constructor(message: string, options: ErrorOptions & {retryable?: boolean} = {}) {
    super(message, options);
    this.retryable = options.retryable ?? false;
  }
}

/** A wait ran out of time. */
export class TimeoutError extends OdooShError {
  readonly code = 'TIMEOUT';
}

/** A policy refused the action; data.reasons lists every failed rule. */
export class PolicyDeniedError extends OdooShError {
  readonly code = 'POLICY_DENIED';
  constructor(message: string, readonly reasons: readonly string[], options: ErrorOptions = {}) {
    super(message, {...options, data: {...options.data, reasons}});
  }
}

/** The user interrupted the command (SIGINT) or an AbortSignal fired. */
export class InterruptedError extends OdooShError {
  readonly code = 'INTERRUPTED';
}

/** A feature that exists in the command surface but is not built yet. */
export class NotImplementedError extends OdooShError {
  readonly code = 'NOT_IMPLEMENTED';
}

/** A bug: an invariant did not hold. Printed with a report-a-bug block. */
export class InternalError extends OdooShError {
  readonly code = 'INTERNAL';
}

export function isOdooShError(err: unknown): err is OdooShError {
  return err instanceof OdooShError;
}

/** Throws InterruptedError when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new InterruptedError('interrupted', {cause: signal.reason});
}
