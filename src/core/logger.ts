import type {EventLevel} from './events.js';

/** A scoped logger: core code logs through this, never through the console. */
export interface Logger {
  log(level: EventLevel, message: string, fields?: Readonly<Record<string, unknown>>): void;
  child(scope: Readonly<Record<string, unknown>>): Logger;
}

const ORDER: Record<EventLevel, number> = {debug: 10, info: 20, warn: 30, error: 40};

export function createLogger(
  write: (line: string) => void,
  minLevel: EventLevel = 'warn',
  scope: Readonly<Record<string, unknown>> = {},
): Logger {
  return {
    log(level, message, fields) {
      if (ORDER[level] < ORDER[minLevel]) return;
      const tags = Object.entries({...scope, ...fields})
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      write(`${level}: ${message}${tags ? ` (${tags})` : ''}`);
    },
    child(extra) {
      return createLogger(write, minLevel, {...scope, ...extra});
    },
  };
}

export const nullLogger: Logger = {log: () => undefined, child: () => nullLogger};
