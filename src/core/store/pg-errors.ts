import {ConflictError, NotFoundError, OdooShError, PolicyDeniedError, ProviderError, UsageError} from '../errors.js';

/** SQLSTATEs raised by the ops schema's functions (see 000001.sql). */
export const SQLSTATE = {
  badInput: 'OS400',
  refused: 'OS403',
  notFound: 'OS404',
  conflict: 'OS409',
} as const;

const CONNECTION_CODES = ['ECONNREFUSED', 'ENOTFOUND', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOENT'] as const;
/** Postgres classes meaning "cannot reach or use the server": connection exceptions, startup, shutdown. */
const UNAVAILABLE_SQLSTATES = ['08000', '08001', '08003', '08004', '08006', '57P01', '57P02', '57P03', '53300', '28P01', '28000', '3D000'] as const;

interface PgLikeError {
  code?: string;
  message?: string;
}

/** Maps a node-postgres error to the error taxonomy; returns other errors unchanged. */
export function mapPgError(err: unknown): unknown {
  if (err instanceof OdooShError) return err;
  const e = err as PgLikeError;
  const code = e?.code;
  const message = e?.message ?? String(err);
  switch (code) {
    case SQLSTATE.badInput:
      return new UsageError(message, {cause: err});
    case SQLSTATE.refused:
    case '42501':
      return new PolicyDeniedError(`refused: ${message}`, [message], {cause: err});
    case SQLSTATE.notFound:
      return new NotFoundError(message, {cause: err});
    case '23505':
      // Two REPEATABLE READ/SERIALIZABLE transactions appending to one project's audit chain: retry.
      if ((err as {constraint?: string}).constraint === 'audit_log_project_seq_key') {
        return new ConflictError(`concurrent audit write: ${message}`, {cause: err, actions: ['retry the command']});
      }
      return err;
    case SQLSTATE.conflict:
    case '40001':
    case '40P01':
    case '55P03':
      return new ConflictError(message, {cause: err});
    default:
      break;
  }
  if (code && ((CONNECTION_CODES as readonly string[]).includes(code) || (UNAVAILABLE_SQLSTATES as readonly string[]).includes(code))) {
    return new ProviderError(`state database unavailable: ${message}`, {
      cause: err,
      retryable: true,
      actions: ['check state.url in odoo-sh-next.config.yaml', 'run `odoo-sh-next doctor`'],
    });
  }
  return err;
}
