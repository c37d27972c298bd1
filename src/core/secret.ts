import {inspect} from 'node:util';

const REDACTED = '[REDACTED]';

/** A value that never prints: toString, toJSON and util.inspect give [REDACTED]; reveal() gives the value. */
export class Secret {
  readonly #value: string;
  /** Where the value came from (e.g. "env:PGPASSWORD" or "file:/run/secrets/pg"), safe to print. */
  readonly source: string;

  constructor(value: string, source = 'inline') {
    this.#value = value;
    this.source = source;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}

export function isSecret(value: unknown): value is Secret {
  return value instanceof Secret;
}

/** Replaces every Secret in a plain data tree with [REDACTED] (for printing). */
export function redact<T>(value: T): T {
  if (value instanceof Secret) return REDACTED as unknown as T;
  if (Array.isArray(value)) return value.map((v) => redact(v)) as unknown as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = redact(v);
    return out as T;
  }
  return value;
}
