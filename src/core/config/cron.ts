/**
 * Validation of 5-field cron expressions (minute hour day-of-month month day-of-week). Each field
 * is a comma-separated list of items; an item is `*`, a number, or a range `a-b`, optionally
 * followed by a step `/n` (`*\/15`, `1-5/2`, `10/5`). Only numbers are accepted (no JAN/MON names,
 * no @daily macros). Day of week accepts 0-7 (0 and 7 are Sunday). Pure.
 */

interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
}

const FIELDS: readonly FieldSpec[] = [
  {name: 'minute', min: 0, max: 59},
  {name: 'hour', min: 0, max: 23},
  {name: 'day of month', min: 1, max: 31},
  {name: 'month', min: 1, max: 12},
  {name: 'day of week', min: 0, max: 7},
];

const ITEM_RE = /^(\*|\d+|\d+-\d+)(?:\/(\d+))?$/;

/** Describes what is wrong with a cron expression, or returns undefined when it is valid. */
export function cronError(expression: string): string | undefined {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== FIELDS.length || parts[0] === '') {
    return `a cron expression has 5 fields (minute hour day-of-month month day-of-week), found ${parts[0] === '' ? 0 : parts.length}`;
  }
  for (const [index, field] of FIELDS.entries()) {
    const problem = fieldError(parts[index]!, field);
    if (problem !== undefined) return `${field.name} field "${parts[index]}": ${problem}`;
  }
  return undefined;
}

function fieldError(text: string, field: FieldSpec): string | undefined {
  for (const item of text.split(',')) {
    const match = ITEM_RE.exec(item);
    if (!match) return `"${item}" is not *, a number, a range a-b or a step x/n`;
    const [, base, step] = match;
    if (step !== undefined && Number(step) < 1) return `step "/${step}" must be at least 1`;
    if (base === '*') continue;
    const [from, to] = base!.split('-').map(Number) as [number, number | undefined];
    for (const value of to === undefined ? [from] : [from, to]) {
      if (value < field.min || value > field.max) return `${value} is outside ${field.min}-${field.max}`;
    }
    if (to !== undefined && to < from) return `range ${from}-${to} goes backwards`;
  }
  return undefined;
}
