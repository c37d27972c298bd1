import {Command, Errors, Flags, type Interfaces} from '@oclif/core';
import {createInterface} from 'node:readline/promises';
import {errorToJson, formatError, type ErrorJson} from './render/error-format.js';
import {exitCodeFor} from './exit-codes.js';
import {createServices, type Services} from './services.js';
import {InterruptedError} from '../core/errors.js';
import {redact} from '../core/secret.js';

export type CommandFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>;
export type CommandArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>;

export interface SuccessEnvelope<R> {
  readonly status: 0;
  readonly result: R;
  readonly warnings: readonly string[];
}
export interface ErrorEnvelope {
  readonly status: number;
  readonly error: ErrorJson;
  readonly warnings: readonly string[];
}

/**
 * The one base command: typed flags, --json envelopes, errors → exit codes, the composition root.
 * A command's run() parses (done here), gets services, calls one core service, renders and
 * returns its typed result; under --json that result is the `result` of the envelope on stdout.
 */
export abstract class BaseCommand<T extends typeof Command> extends Command {
  static override enableJsonFlag = true;

  static override baseFlags = {
    'log-level': Flags.option({
      options: ['debug', 'info', 'warn', 'error'] as const,
      default: 'warn' as const,
      helpGroup: 'GLOBAL',
      summary: 'Least severe log level printed on stderr.',
    })(),
    config: Flags.string({helpGroup: 'GLOBAL', summary: 'Path to the configuration file (default: odoo-sh-next.config.yaml in the current folder).'}),
    cwd: Flags.directory({helpGroup: 'GLOBAL', summary: 'Project folder (default: the current folder).', exists: true}),
  };

  protected flags!: CommandFlags<T>;
  protected args!: CommandArgs<T>;
  protected readonly warnings: string[] = [];
  #services: Services | undefined;
  #abort = new AbortController();
  #onSigint = () => this.#abort.abort(new InterruptedError('interrupted by SIGINT'));

  public override async init(): Promise<void> {
    await super.init();
    const {args, flags} = await this.parse({
      flags: this.ctor.flags,
      baseFlags: (super.ctor as typeof BaseCommand).baseFlags,
      enableJsonFlag: this.ctor.enableJsonFlag,
      args: this.ctor.args,
      strict: this.ctor.strict,
    });
    this.flags = flags as CommandFlags<T>;
    this.args = args as CommandArgs<T>;
    process.once('SIGINT', this.#onSigint);
  }

  /** Fires when the user interrupts (SIGINT); passed to every long operation. */
  protected get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** The composition root, created on first use and closed when the command ends. */
  protected async services(): Promise<Services> {
    this.#services ??= createServices({
      cwd: this.flags.cwd ?? process.cwd(),
      configFile: this.flags.config,
      logLevel: this.flags['log-level'],
      json: this.jsonEnabled(),
      stderr: (line) => process.stderr.write(`${line}\n`),
      warn: (message) => this.warn(message),
      signal: this.signal,
    });
    return this.#services;
  }

  /** A warning: stderr for people, collected into `warnings` for --json. */
  public override warn(input: string | Error): string | Error {
    const message = typeof input === 'string' ? input : input.message;
    this.warnings.push(message);
    if (!this.jsonEnabled()) process.stderr.write(`Warning: ${message}\n`);
    return input;
  }

  /** A person can answer questions: stdin is a terminal and the output is not --json. */
  protected get interactive(): boolean {
    return Boolean(process.stdin.isTTY) && !this.jsonEnabled();
  }

  /** Asks a yes/no question on stderr (default no). Only call it when `interactive`. */
  protected async askYesNo(question: string): Promise<boolean> {
    const rl = createInterface({input: process.stdin, output: process.stderr});
    try {
      return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
    } finally {
      rl.close();
    }
  }

  /** Human output on stdout; suppressed under --json (the envelope is the output). */
  protected out(text = ''): void {
    if (!this.jsonEnabled()) process.stdout.write(`${text}\n`);
  }

  /** A simple aligned table on stdout (no-op under --json). */
  protected table<R extends object>(rows: readonly R[], columns: readonly (keyof R & string)[]): void {
    if (this.jsonEnabled()) return;
    if (rows.length === 0) return this.out('(none)');
    const cell = (v: unknown) => (v === null || v === undefined ? '' : v instanceof Date ? v.toISOString() : String(v));
    const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
    const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
    this.out(line(columns.map((c) => c.toUpperCase())));
    for (const r of rows) this.out(line(columns.map((c) => cell(r[c]))));
  }

  protected override toSuccessJson(result: unknown): SuccessEnvelope<unknown> {
    return {status: 0, result: redact(result), warnings: this.warnings};
  }

  protected override toErrorJson(err: unknown): ErrorEnvelope {
    const error = errorToJson(err);
    return {status: error.exitCode, error, warnings: this.warnings};
  }

  protected override async catch(err: Error & {exitCode?: number}): Promise<unknown> {
    if (err instanceof Errors.ExitError) throw err;
    const code = exitCodeFor(err);
    if (this.jsonEnabled()) this.logJson(this.toErrorJson(err));
    else process.stderr.write(`${formatError(err)}\n`);
    // ExitError makes oclif exit with our code without printing anything more.
    throw new Errors.ExitError(code);
  }

  protected override async finally(err: Error | undefined): Promise<unknown> {
    process.removeListener('SIGINT', this.#onSigint);
    await this.#services?.close().catch(() => undefined);
    return super.finally(err);
  }
}
