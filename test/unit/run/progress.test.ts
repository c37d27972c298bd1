import {Writable} from 'node:stream';
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

  it('renders phases with listr2 in a terminal (loaded when first needed): title, output, ✔ and ✖', async () => {
    const written: string[] = [];
    const stream = Object.assign(new Writable({write: (chunk: Buffer, _e, cb) => {
      written.push(chunk.toString());
      cb();
    }}), {isTTY: true, columns: 100, rows: 40}) as unknown as NodeJS.WriteStream;
    const lines: string[] = [];
    const sink = createProgressSink({json: false, tty: true, write: (l) => lines.push(l), stream});
    sink.emit({kind: 'phase-start', phase: 'database', level: 'info', message: 'database', runId: '3'});
    sink.emit({kind: 'message', phase: 'database', level: 'info', message: 'dumped 12 tables'});
    sink.emit({kind: 'phase-end', phase: 'database', level: 'info', message: 'database', runId: '3'});
    sink.emit({kind: 'phase-start', phase: 'filestore', level: 'info', message: 'filestore', runId: '3'});
    sink.emit({kind: 'phase-fail', phase: 'filestore', level: 'error', message: 'disk full', runId: '3'});
    // Rendering is asynchronous (the library is imported on the first phase): wait for the marks.
    const text = () => written.join('').replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');
    for (let i = 0; i < 100 && !(text().includes('✔') && text().includes('✖')); i++) await new Promise((r) => setTimeout(r, 20));
    expect(text()).toContain('database');
    expect(text()).toContain('dumped 12 tables');
    expect(text()).toMatch(/✔ database/);
    expect(text()).toMatch(/✖ filestore/);
    expect(text()).toContain('error: disk full');
    expect(lines).toEqual([]);
  });

  it('formats phase ends with a check mark', () => {
    expect(plainLine({kind: 'phase-end', phase: 'p', level: 'info', message: 'p'})).toBe('✔ p');
  });
});
