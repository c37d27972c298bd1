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

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Replaces every Secret in a data tree with [REDACTED] (for printing). Recurses into arrays and
 * plain objects only; other objects (Date, Buffer, URL...) are kept as they are.
 */
export function redact<T>(value: T): T {
  if (value instanceof Secret) return REDACTED as unknown as T;
  if (Array.isArray(value)) return value.map((v) => redact(v)) as unknown as T;
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = redact(v);
    return out as T;
  }
  return value;
}
