/**
 * Runs a program with argv (never a shell) and optional streams, with execa. Used for the pg
 * tools, tar and exec. The caller's stdout stream is ended when the program's output ends.
 */
import {execa} from 'execa';
import {pipeline} from 'node:stream/promises';
import {InterruptedError, ProviderError} from '../../core/errors.js';
import type {ToolIo} from '../provider.js';

export interface RunProcessOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
  readonly io?: ToolIo;
  readonly signal: AbortSignal;
  /** Name used in error messages. */
  readonly label?: string;
}

export interface RunProcessResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

const MAX_CAPTURE = 64 * 1024;

/** process.env without libpq/Odoo variables that would silently change where tools connect. */
export function cleanEnv(extra: Readonly<Record<string, string>>): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^PG|^ODOO_RC$/.test(k)) env[k] = v;
  }
  return {...env, ...extra};
}

/** Runs bin with argv; resolves with the exit code (non-zero is not an error here). */
export async function runProcess(bin: string, argv: readonly string[], opts: RunProcessOptions): Promise<RunProcessResult> {
  if (opts.signal.aborted) throw new InterruptedError('interrupted', {cause: opts.signal.reason});
  const io = opts.io ?? {};
  const subprocess = execa(bin, argv, {
    env: opts.env,
    extendEnv: false,
    ...(opts.cwd ? {cwd: opts.cwd} : {}),
    stdin: io.stdin ? 'pipe' : 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    buffer: {stdout: !io.stdout, stderr: !io.stderr},
    maxBuffer: {stdout: 64 * 1024 * 1024, stderr: MAX_CAPTURE},
    cancelSignal: opts.signal,
    forceKillAfterDelay: 5000,
    reject: false,
  });
  const pipes: Promise<unknown>[] = [];
  if (io.stdin && subprocess.stdin) {
    // EPIPE when the program exits without reading everything: its exit status says what happened.
    pipes.push(pipeline(io.stdin, subprocess.stdin).catch(() => undefined));
  }
  if (io.stdout && subprocess.stdout) pipes.push(pipeline(subprocess.stdout, io.stdout));
  if (io.stderr && subprocess.stderr) pipes.push(pipeline(subprocess.stderr, io.stderr, {end: false}));
  let result: Awaited<typeof subprocess>;
  try {
    [result] = await Promise.all([subprocess, ...pipes]);
  } catch (err) {
    subprocess.kill(); // a caller's stream failed: do not leave the program running
    throw new ProviderError(`${opts.label ?? bin}: stream failed: ${(err as Error).message}`, {cause: err});
  }
  if (result.isCanceled) throw new InterruptedError(`${opts.label ?? bin} interrupted`, {cause: opts.signal.reason});
  if (result.failed && result.exitCode === undefined) {
    const spawnError = (result.cause as NodeJS.ErrnoException | undefined)?.code;
    throw new ProviderError(`cannot run ${opts.label ?? bin}: ${spawnError ?? result.shortMessage}`, {
      cause: result.cause,
      actions: spawnError === 'ENOENT' || spawnError === 'EACCES' ? [`check that ${bin} exists and is executable`] : [],
    });
  }
  const text = (v: unknown) => (typeof v === 'string' ? v : '');
  return {exitCode: result.exitCode ?? 1, stdout: text(result.stdout), stderr: text(result.stderr)};
}

/** Like runProcess, but a non-zero exit is a ProviderError carrying the program's stderr. */
export async function runChecked(bin: string, argv: readonly string[], opts: RunProcessOptions): Promise<RunProcessResult> {
  const result = await runProcess(bin, argv, opts);
  if (result.exitCode !== 0) {
    const detail = result.stderr.trim().split('\n').slice(-20).join('\n');
    throw new ProviderError(`${opts.label ?? bin} exited with status ${result.exitCode}${detail ? `: ${detail}` : ''}`, {
      data: {exitCode: result.exitCode},
    });
  }
  return result;
}
