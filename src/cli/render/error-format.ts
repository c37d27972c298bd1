import {isOdooShError, InternalError} from '../../core/errors.js';
import {exitCodeFor} from '../exit-codes.js';

export interface ErrorJson {
  readonly name: string;
  readonly code: string;
  readonly message: string;
  readonly exitCode: number;
  readonly actions: readonly string[];
  readonly data?: Readonly<Record<string, unknown>>;
}

export function errorToJson(err: unknown): ErrorJson {
  const exitCode = exitCodeFor(err);
  if (isOdooShError(err)) {
    return {name: err.name, code: err.code, message: err.message, exitCode, actions: err.actions, ...(err.data ? {data: err.data} : {})};
  }
  const e = err as Error;
  const isUsage = exitCode === 2;
  return {name: isUsage ? 'UsageError' : (e?.name ?? 'Error'), code: isUsage ? 'USAGE' : 'UNEXPECTED', message: e?.message ?? String(err), exitCode, actions: []};
}

const BUG_BLOCK = [
  '',
  'This is a bug in odoo-sh-next. Please report it with the command you ran and the output above',
  '(run again with --log-level debug for more detail).',
];

/** The human rendering of an error, for stderr. */
export function formatError(err: unknown): string {
  const j = errorToJson(err);
  const lines = [`Error (${j.code}): ${j.message}`];
  if (j.actions.length) lines.push('Try:', ...j.actions.map((a) => `  - ${a}`));
  if (err instanceof InternalError || (!isOdooShError(err) && j.exitCode === 1)) {
    lines.push(...BUG_BLOCK);
    if ((err as Error)?.stack) lines.push('', String((err as Error).stack));
  }
  return lines.join('\n');
}
