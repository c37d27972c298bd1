import type {EventSink, ProgressEvent} from '../../core/events.js';

export interface ProgressOptions {
  readonly json: boolean;
  readonly tty: boolean;
  readonly write: (line: string) => void;
}

/**
 * Renders core progress events on stderr: JSON lines under --json (stdout keeps only the result
 * envelope), plain timestamped lines otherwise.
 */
export function createProgressSink(opts: ProgressOptions): EventSink {
  return {
    emit(event: ProgressEvent) {
      if (opts.json) {
        opts.write(JSON.stringify({type: 'event', ...event}));
        return;
      }
      if (event.level === 'debug') return;
      const prefix = event.phase ? `[${event.phase}] ` : '';
      const mark = event.kind === 'phase-start' ? '…' : event.kind === 'phase-end' ? '✔' : event.kind === 'phase-fail' ? '✖' : '-';
      opts.write(`${mark} ${prefix}${event.message}`);
    },
  };
}
