import {Flags} from '@oclif/core';
import {parseDuration} from '../core/config/duration.js';

/** Shared flag constructors. */
export const envFlag = Flags.custom<string>({char: 'e', summary: 'Environment name.', helpValue: 'ENV'});
export const branchFlag = Flags.custom<string>({char: 'b', summary: 'Git branch (default: the checked-out branch).', helpValue: 'BRANCH'});
export const prFlag = Flags.custom<number>({
  summary: 'Pull request number.',
  helpValue: 'N',
  parse: async (input) => {
    if (!/^[1-9]\d{0,9}$/.test(input)) throw new Error(`invalid pull request number "${input}": expected a positive whole number`);
    return Number(input);
  },
});
export const durationFlag = Flags.custom<number>({
  helpValue: 'DURATION',
  parse: async (input) => {
    const ms = parseDuration(input);
    if (ms === undefined) throw new Error(`invalid duration "${input}": expected a duration like 30m, 72h or 7d`);
    return ms;
  },
});
export const detachFlag = Flags.boolean({summary: 'Queue the run for a runner instead of executing it here.'});
