/**
 * Durations in the configuration file: a positive whole number followed by a unit, e.g. `30s`,
 * `15m`, `72h`, `7d`, `2w`. Pure: no IO.
 */

/** A parsed duration: the text as written (for display) and its length in milliseconds. */
export interface Duration {
  readonly text: string;
  readonly ms: number;
}

const UNIT_MS = {
  s: 1000,
  m: 60 * 1000,
  h: 60 * 60 * 1000,
  d: 24 * 60 * 60 * 1000,
  w: 7 * 24 * 60 * 60 * 1000,
} as const;

/** The pattern a duration must match (also used in the JSON Schema). */
export const DURATION_PATTERN = '^[1-9][0-9]*[smhdw]$';
const DURATION_RE = new RegExp(DURATION_PATTERN);

/** Human description of the accepted syntax, used in error messages. */
export const DURATION_HINT = 'a duration like 30s, 15m, 72h, 7d or 2w';

/**
 * Parses `30s`, `15m`, `72h`, `7d`, `2w` into milliseconds. Returns undefined for anything else
 * (zero, negative, fractional, missing or unknown unit, surrounding spaces, or a value too large
 * to be represented exactly).
 */
export function parseDuration(text: string): number | undefined {
  if (typeof text !== 'string' || !DURATION_RE.test(text)) return undefined;
  const unit = text.at(-1) as keyof typeof UNIT_MS;
  const amount = Number(text.slice(0, -1));
  const ms = amount * UNIT_MS[unit];
  return Number.isSafeInteger(ms) ? ms : undefined;
}
