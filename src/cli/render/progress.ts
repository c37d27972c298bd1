import {Writable} from 'node:stream';
import type {ListrTaskWrapper} from 'listr2';
import type {EventSink, ProgressEvent} from '../../core/events.js';

export interface ProgressOptions {
  readonly json: boolean;
  /** stderr is a terminal: render phases with listr2 (spinners, ✔/✖). */
  readonly tty: boolean;
  /** Writes one line to stderr (plain and JSON modes). */
  readonly write: (line: string) => void;
  /** The terminal stream listr2 renders to (default process.stderr). stdout stays for the result. */
  readonly stream?: NodeJS.WriteStream;
}

const MARKS: Record<ProgressEvent['kind'], string> = {'phase-start': '…', 'phase-end': '✔', 'phase-fail': '✖', message: '-'};

/** One plain line for an event (non-terminal stderr). */
const levelPrefix = (event: ProgressEvent) => (event.level === 'warn' || event.level === 'error' ? `${event.level}: ` : '');

export function plainLine(event: ProgressEvent): string {
  const level = levelPrefix(event);
  if (event.kind === 'message') return `- ${event.phase ? `[${event.phase}] ` : ''}${level}${event.message}`;
  const run = event.runId ? `run ${event.runId} ` : '';
  const title = event.phase ?? event.message;
  const detail = event.phase && event.message !== event.phase ? `: ${event.message}` : '';
  return `${MARKS[event.kind]} ${run}${title}${detail}`;
}

/**
 * Renders core progress events on stderr (stdout keeps only the result): JSON lines under --json,
 * listr2 in a terminal, plain lines otherwise. Debug events are only shown as JSON.
 */
export function createProgressSink(opts: ProgressOptions): EventSink {
  if (opts.json) return {emit: (event) => opts.write(JSON.stringify({type: 'event', ...event}))};
  const stream = opts.stream ?? process.stderr;
  // A terminal that reports no width (e.g. a pty without a size) cannot host a live renderer.
  if (!opts.tty || stream.columns === 0) {
    return {
      emit(event) {
        if (event.level !== 'debug') opts.write(plainLine(event));
      },
    };
  }
  return new ListrProgress(stream, opts.write);
}

interface ActivePhase {
  readonly key: string;
  readonly title: string;
  readonly done: Promise<void>;
  settle(failure?: string): void;
  output(line: string): void;
}

/**
 * One listr2 list per phase, rendered one after another: a spinner while the phase runs, ✔ or ✖
 * when it ends, messages shown under it. Events outside a phase (or of a second phase running
 * at the same time) are plain lines / output lines.
 */
class ListrProgress implements EventSink {
  #chain: Promise<void> = Promise.resolve();
  #active: ActivePhase | undefined;
  // Loaded only when a terminal shows progress (--json and plain lines never need it; ~10 MB).
  readonly #listr = import('listr2');

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly write: (line: string) => void,
  ) {
    this.#listr.catch(() => undefined); // reported when a phase is rendered
  }

  emit(event: ProgressEvent): void {
    if (event.level === 'debug') return;
    const key = `${event.runId ?? ''}:${event.phase ?? ''}`;
    const active = this.#active;
    if (event.kind === 'phase-start' && !active) {
      this.#active = this.#startPhase(key, event.phase ?? event.message);
      return;
    }
    if ((event.kind === 'phase-end' || event.kind === 'phase-fail') && active?.key === key) {
      this.#active = undefined;
      active.settle(event.kind === 'phase-fail' ? event.message : undefined);
      return;
    }
    if (active) active.output(event.kind === 'message' && event.phase === active.title ? `${levelPrefix(event)}${event.message}` : plainLine(event));
    else this.#chain = this.#chain.then(() => this.write(plainLine(event)));
  }

  #startPhase(key: string, title: string): ActivePhase {
    let settle!: (failure?: string) => void;
    const done = new Promise<void>((resolve, reject) => {
      settle = (failure) => (failure === undefined ? resolve() : reject(new Error(failure)));
    });
    done.catch(() => undefined);
    let task: ListrTaskWrapper<unknown, never, never> | undefined;
    const pending: string[] = [];
    let last = '';
    const output = (line: string) => {
      last = line;
      if (task) task.output = line;
      else pending.push(line);
    };
    const phase: ActivePhase = {
      key,
      title,
      done,
      settle(failure) {
        // Show why the phase failed under it, unless its last line already said so.
        if (failure !== undefined && !last.endsWith(failure)) output(`error: ${failure}`);
        settle(failure);
      },
      output,
    };
    // Dumps whatever else was written to the stream while the list rendered, after it.
    const sink = new Writable({write: (_chunk, _enc, cb) => cb()}) as unknown as NodeJS.WriteStream;
    const render = async () => {
      const lib = await this.#listr.catch((err: unknown) => {
        this.write(`(progress display unavailable: ${(err as Error).message})`);
        return undefined;
      });
      if (!lib) return;
      const {Listr, ListrLogger, ProcessOutput} = lib;
      const logger = new ListrLogger({processOutput: new ProcessOutput(this.stream, sink)});
      // The failure is shown as the phase's last output line; the ✖ line keeps only the title.
      const rendererOptions = {logger, showErrorMessage: false};
      const list = new Listr(
        [
          {
            title,
            task: async (_ctx: unknown, t: ListrTaskWrapper<unknown, never, never>) => {
              task = t;
              for (const line of pending.splice(0)) t.output = line;
              await done;
            },
            rendererOptions: {persistentOutput: true, outputBar: 3},
          },
        ],
        {
          renderer: 'default',
          fallbackRenderer: 'default',
          rendererOptions,
          fallbackRendererOptions: rendererOptions,
          registerSignalListeners: false,
          exitOnError: true,
        },
      );
      await list.run();
    };
    this.#chain = this.#chain.then(() => render().then(() => undefined, () => undefined));
    return phase;
  }
}
