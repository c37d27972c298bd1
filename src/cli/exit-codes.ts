import {
  ConfigError, ConflictError, InternalError, InterruptedError, NotFoundError, NotImplementedError,
  PolicyDeniedError, ProviderError, TimeoutError, UsageError,
} from '../core/errors.js';

/** The single mapping from errors to exit codes (see README "Exit codes"). 126/127 are never used. */
export const EXIT = {
  ok: 0,
  unexpected: 1,
  usage: 2,
  config: 3,
  notFound: 4,
  conflict: 5,
  provider: 6,
  timeout: 7,
  policy: 8,
  interrupted: 130,
} as const;

export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError) return EXIT.usage;
  if (err instanceof ConfigError) return EXIT.config;
  if (err instanceof NotFoundError) return EXIT.notFound;
  if (err instanceof ConflictError) return EXIT.conflict;
  if (err instanceof ProviderError) return EXIT.provider;
  if (err instanceof TimeoutError) return EXIT.timeout;
  if (err instanceof PolicyDeniedError) return EXIT.policy;
  if (err instanceof InterruptedError) return EXIT.interrupted;
  if (err instanceof NotImplementedError) return EXIT.unexpected;
  if (err instanceof InternalError) return EXIT.unexpected;
  // oclif's parse errors (bad flag values, unknown flags, missing args) are usage errors; some of them
  // (an invalid option value) carry no exit code of their own.
  if ((err as {parse?: unknown})?.parse !== undefined) return EXIT.usage;
  // Other oclif errors carry their exit code, pinned by `oclif.exitCodes` in package.json.
  const oclifExit = (err as {oclif?: {exit?: unknown}})?.oclif?.exit;
  if (typeof oclifExit === 'number') return oclifExit;
  return EXIT.unexpected;
}
