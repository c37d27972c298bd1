/**
 * Building blocks for the configuration schema: strict objects that remember their keys (for
 * did-you-mean), whole numbers, durations, secrets and non-empty strings, each with an error
 * message of the form "expected ..." (format-issues.ts appends ", found ..."). Pure.
 */
import {z} from 'zod';
import {Secret} from '../secret.js';
import {DURATION_HINT, DURATION_PATTERN, parseDuration, type Duration} from './duration.js';

/** The known keys of the object that raised an `unrecognized_keys` issue (read by format-issues.ts). */
export interface UnknownKeysIssueExtra {
  knownKeys?: readonly string[];
}

/**
 * A strict object: unknown keys are errors. The error map stashes the known keys on the issue so
 * the message can suggest the closest one ("did you mean ...?").
 */
export function strict<T extends z.ZodRawShape>(shape: T) {
  const knownKeys = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys') {
        (issue as UnknownKeysIssueExtra).knownKeys = knownKeys;
        return 'unknown key';
      }
      if (issue.code === 'invalid_type') return 'expected a mapping (key: value)';
      return undefined;
    },
  });
}

/** A whole number in [min, max] (max optional), with one message for every failure. */
export function wholeNumber(min: number, max?: number) {
  const message = max === undefined ? `expected a whole number >= ${min}` : `expected a whole number from ${min} to ${max}`;
  const base = z.number({error: message}).int({error: message}).min(min, {error: message});
  return max === undefined ? base : base.max(max, {error: message});
}

/** A non-empty string. */
export function text(what = 'a non-empty string') {
  return z.string({error: `expected ${what}`}).min(1, {error: `expected ${what}`});
}

/** A string matching `re`, described as `what` in errors. */
export function matching(re: RegExp, what: string) {
  return z.string({error: `expected ${what}`}).regex(re, {error: `expected ${what}`});
}

/** A duration (`30s`, `15m`, `72h`, `7d`, `2w`), parsed to {text, ms}. */
export function duration() {
  return z
    .string({error: `expected ${DURATION_HINT}`})
    .regex(new RegExp(DURATION_PATTERN), {error: `expected ${DURATION_HINT}`})
    .transform((value, ctx): Duration => {
      const ms = parseDuration(value);
      if (ms === undefined) {
        ctx.issues.push({code: 'custom', message: `expected ${DURATION_HINT} (this one is too large)`, input: value});
        return {text: value, ms: 0};
      }
      return {text: value, ms};
    });
}

/** Every zod schema that stands for a secret; json-schema.ts replaces them with the file format. */
export const secretSchemas = new WeakSet<object>();

/**
 * A secret field. In the file it is `${VAR}`, `{fromEnv: NAME}` or `{fromFile: PATH}`;
 * resolve-values.ts turns those into Secret objects before the schema sees them, so the schema
 * itself only checks for a Secret.
 */
export function secret(description: string) {
  const base = z.custom<Secret>((value) => value instanceof Secret, {
    error: 'expected a secret: ${VAR}, {fromEnv: NAME} or {fromFile: PATH}',
  });
  const described = base.describe(description);
  secretSchemas.add(base);
  secretSchemas.add(described);
  return described;
}

/** The JSON Schema of a secret as written in the file. */
export function secretJsonSchema(description?: string): Record<string, unknown> {
  return {
    ...(description === undefined ? {} : {description}),
    anyOf: [
      {
        type: 'string',
        pattern: '\\$\\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\\}',
        description: 'a ${VAR} reference to an environment variable (literal secrets are refused)',
      },
      {
        type: 'object',
        properties: {fromEnv: {type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$', description: 'name of an environment variable'}},
        required: ['fromEnv'],
        additionalProperties: false,
      },
      {
        type: 'object',
        properties: {
          fromFile: {type: 'string', minLength: 1, description: 'file holding the secret (relative to the config file; trailing newline trimmed)'},
        },
        required: ['fromFile'],
        additionalProperties: false,
      },
    ],
  };
}
