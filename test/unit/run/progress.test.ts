import {describe, expect, it} from 'vitest';
import {createProgressSink, plainLine} from '../../../src/cli/render/progress.js';

describe('progress sink', () => {
  it('writes one JSON line per event under --json, debug included', () => {
    const lines: string[] = [];
    const sink = createProgressSink({json: true, tty: true, write: (l) => lines.push(l)});
    sink.emit({kind: 'phase-start', phase: 'checks', level: 'info', message: 'checks', runId: '3'});
    sink.emit({kind: 'message', level: 'debug', message: 'x'});
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      {type: 'event', kind: 'phase-start', phase: 'checks', level: 'info', message: 'checks', runId: '3'},
      {type: 'event', kind: 'message', level: 'debug', message: 'x'},
    ]);
  });

  it('writes plain lines when stderr is not a terminal, without debug events', () => {
    const lines: string[] = [];
    const sink = createProgressSink({json: false, tty: false, write: (l) => lines.push(l)});
    sink.emit({kind: 'phase-start', phase: 'checks', level: 'info', message: 'checks', runId: '3'});
    sink.emit({kind: 'message', phase: 'checks', level: 'warn', message: 'slow'});
    sink.emit({kind: 'message', level: 'debug', message: 'hidden'});
    sink.emit({kind: 'phase-fail', phase: 'checks', level: 'error', message: 'boom', runId: '3'});
    expect(lines).toEqual(['… run 3 checks', '- [checks] warn: slow', '✖ run 3 checks: boom']);
  });

  it('formats phase ends with a check mark', () => {
    expect(plainLine({kind: 'phase-end', phase: 'p', level: 'info', message: 'p'})).toBe('✔ p');
  });
});
