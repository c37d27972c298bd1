/**
 * Run types: what a worker does with a claimed run. A registry maps type names to handlers; the
 * RunService gets one built by defaultRunTypes() (or any other), so later features register their
 * types (preview-up, backup, deploy...) without a module-level singleton.
 */
import type pg from 'pg';
import type {Clock} from '../clock.js';
import {InternalError, UsageError} from '../errors.js';
import type {EventLevel} from '../events.js';
import type {Logger} from '../logger.js';
import {doctorRunType} from '../doctor/doctor-run-type.js';
import type {DoctorConfig} from '../doctor/doctor-checks.js';
import type {SavedLog} from './run-artifacts.js';
import type {Run} from './run-record.js';

/** What a handler gets for one attempt of one run. */
export interface RunContext {
  /** The run as claimed; run.attempts is this attempt's number. */
  readonly run: Run;
  readonly attempt: number;
  readonly workerId: string;
  /**
   * Aborted when the run is cancelled (`run cancel`, or Ctrl-C on an inline run), its time limit
   * passes, its lease is lost, or the worker shuts down. signal.reason is an Error saying which.
   */
  readonly signal: AbortSignal;
  readonly clock: Clock;
  readonly logger: Logger;
  /**
   * Runs fn as a named phase: "started", "done" (with its duration) or "failed" events are
   * recorded, and events written by fn's async work carry the phase name (phases running at once
   * each tag their own events; after a nested phase, its parent's name again).
   */
  phase<T>(name: string, fn: () => Promise<T>): Promise<T>;
  /** Records an event of the run (fenced by the lease: ConflictError once another attempt owns it). */
  event(level: EventLevel, message: string, payload?: Readonly<Record<string, unknown>>): Promise<void>;
  /**
   * Keeps this attempt's events (only those of one phase, when given) as the run's log artifact
   * `name` (`run artifacts <run> --name <name>`), which outlives the events' retention. Composed by
   * the state database; only the last 8 MiB are kept; replaces an earlier attempt's log of that
   * name. Fenced by the lease like event().
   */
  saveLog(name: string, opts?: {readonly phase?: string | undefined}): Promise<SavedLog>;
}

export interface RunTypeHandler {
  readonly type: string;
  /** One line for `run create --help`-style listings. */
  readonly summary?: string;
  /** Time limit of one attempt; the run ends as timed_out when it passes. */
  readonly timeoutMs?: number;
  /** The returned object becomes the run's result. Throw an error of the taxonomy to fail the run. */
  execute(ctx: RunContext): Promise<Record<string, unknown> | void>;
}

const TYPE_RE = /^[a-z][a-z0-9_-]{0,39}$/;

/** The run types a RunService knows. Registration stays open: later features add their types. */
export class RunTypeRegistry {
  readonly #handlers = new Map<string, RunTypeHandler>();

  constructor(handlers: Iterable<RunTypeHandler> = []) {
    for (const h of handlers) this.register(h);
  }

  register(handler: RunTypeHandler): this {
    if (!TYPE_RE.test(handler.type)) throw new InternalError(`invalid run type name "${handler.type}"`);
    if (this.#handlers.has(handler.type)) throw new InternalError(`run type "${handler.type}" is registered twice`);
    this.#handlers.set(handler.type, handler);
    return this;
  }

  get(type: string): RunTypeHandler | undefined {
    return this.#handlers.get(type);
  }

  /** The handler of a type, or UsageError listing the known types. */
  require(type: string): RunTypeHandler {
    const handler = this.#handlers.get(type);
    if (!handler) {
      throw new UsageError(`unknown run type "${type}"; known types: ${this.types.join(', ') || '(none)'}`, {
        actions: this.types.map((t) => `odoo-sh-next run create --type ${t}`),
        data: {type, known: this.types},
      });
    }
    return handler;
  }

  get types(): string[] {
    return [...this.#handlers.keys()].sort();
  }
}

/** What the built-in run types need. */
export interface RunTypeDeps {
  readonly pool: pg.Pool;
  readonly config: DoctorConfig;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** The run types of this release: `doctor` (later features add theirs with register()). */
export function defaultRunTypes(deps: RunTypeDeps): RunTypeRegistry {
  return new RunTypeRegistry([doctorRunType({pool: deps.pool, config: deps.config})]);
}
