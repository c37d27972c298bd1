/**
 * Confirmation of destructive operations on production (restore, import, dropping the previous
 * databases): proceed with --yes, ask on a terminal (type the environment's name), refuse
 * otherwise (UsageError naming --yes: scripts must say so). Streams are injected by the command.
 */
import {createInterface} from 'node:readline/promises';
import type {Readable, Writable} from 'node:stream';
import {UsageError} from '../errors.js';
import {confirmationDecision, confirmationRefused} from './restore-plan.js';

export interface ConfirmInput {
  readonly destructive: boolean;
  readonly yes: boolean;
  /** What is about to happen, e.g. `restoring backup 3f2a… into production environment "main"`. */
  readonly what: string;
  /** The answer expected (the environment's name). */
  readonly expected: string;
  readonly input: Readable & {readonly isTTY?: boolean};
  readonly output: Writable & {readonly isTTY?: boolean};
}

export async function confirmDestructive(c: ConfirmInput): Promise<void> {
  const decision = confirmationDecision({destructive: c.destructive, yes: c.yes, interactive: Boolean(c.input.isTTY && c.output.isTTY)});
  if (decision === 'proceed') return;
  if (decision === 'refuse') throw confirmationRefused(c.what);
  const rl = createInterface({input: c.input, output: c.output});
  try {
    const answer = await rl.question(`${c.what}: this replaces production data. Type "${c.expected}" to go on: `);
    if (answer.trim() !== c.expected) throw new UsageError('not confirmed: nothing was changed', {actions: ['re-run and type the environment name, or pass --yes']});
  } finally {
    rl.close();
  }
}
