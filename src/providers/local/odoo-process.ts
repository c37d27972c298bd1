/**
 * Odoo as a detached child process: spawned in its own process group with stdout/stderr going to
 * a log file, so it outlives the CLI invocation that started it; found again later from its pid
 * and the config path in its command line (pids get reused).
 */
import {spawn} from 'node:child_process';
import {closeSync, openSync} from 'node:fs';
import {open, readFile, stat} from 'node:fs/promises';
import {constants} from 'node:os';
import type {Clock} from '../../core/clock.js';
import {ProviderError} from '../../core/errors.js';

const osSignals: Readonly<Record<string, number>> = constants.signals;

export interface SpawnOdooOptions {
  readonly bin: string;
  readonly argv: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly logFile: string;
}

/** Starts bin detached (own process group, stdin closed, output appended to logFile); resolves with its pid. */
export async function spawnDetached(opts: SpawnOdooOptions): Promise<number> {
  const fd = openSync(opts.logFile, 'a', 0o600);
  try {
    const child = spawn(opts.bin, [...opts.argv], {
      cwd: opts.cwd,
      env: opts.env as NodeJS.ProcessEnv,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('spawn', () => resolve(child.pid ?? 0));
      child.once('error', reject);
    }).catch((err: NodeJS.ErrnoException) => {
      throw new ProviderError(`cannot start Odoo (${opts.bin}): ${err.code ?? err.message}`, {
        cause: err,
        actions: ['check odoo.bin in odoo-sh-next.config.yaml: it must be an executable file'],
      });
    });
    child.unref();
    return pid;
  } finally {
    closeSync(fd);
  }
}

/**
 * True when pid runs (not a zombie) and, where /proc exists, its command line holds `marker`
 * as one argument (the instance's config path: a reused pid does not match).
 */
export async function processAlive(pid: number, marker: string): Promise<boolean> {
  if (!Number.isInteger(pid) || pid <= 1) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // While a process execs (odoo-bin's `#!/usr/bin/env python3` execs twice), its cmdline can read
  // empty or as the previous program for a moment: look again before calling it someone else.
  for (let attempt = 0; ; attempt++) {
    let cmdline: string;
    try {
      cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      return process.platform !== 'linux';
    }
    if (cmdline.split('\0').includes(marker)) break;
    if (attempt >= 4) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
  const statText = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const state = statText.slice(statText.lastIndexOf(')') + 2, statText.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** SIGTERM to the process group, up to graceMs for it to end, then SIGKILL. Returns false when it was not running. */
export async function stopProcess(pid: number, marker: string, opts: {readonly clock: Clock; readonly graceMs?: number}): Promise<boolean> {
  if (!(await processAlive(pid, marker))) return false;
  signalGroup(pid, 'SIGTERM');
  const deadline = opts.clock.now().getTime() + (opts.graceMs ?? 5000);
  while (opts.clock.now().getTime() < deadline) {
    await opts.clock.sleep(100);
    if (!(await processAlive(pid, marker))) return true;
  }
  signalGroup(pid, 'SIGKILL');
  for (let i = 0; i < 50 && (await processAlive(pid, marker)); i++) await opts.clock.sleep(100);
  return true;
}

/** The last n lines of a text file (reads only the end of big files). */
export async function tailLines(file: string, n: number): Promise<string[]> {
  if (n <= 0) return [];
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch {
    return [];
  }
  const fh = await open(file, 'r');
  try {
    let text = '';
    let pos = size;
    const chunk = 64 * 1024;
    while (pos > 0) {
      const len = Math.min(chunk, pos);
      pos -= len;
      const buf = Buffer.alloc(len);
      await fh.read(buf, 0, len, pos);
      text = buf.toString('utf8') + text;
      if (text.split('\n').length > n + 1) break;
    }
    const lines = text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    return lines.slice(-n);
  } finally {
    await fh.close();
  }
}

/**
 * Yields the lines of a log file: the last `tail` lines (all when undefined), then, with follow,
 * new lines as they are appended until `stillRunning` says no (after a final read) or the signal fires.
 */
export async function* readLogLines(
  file: string,
  opts: {readonly tail?: number; readonly follow?: boolean; readonly clock: Clock; readonly signal: AbortSignal; readonly stillRunning: () => Promise<boolean>},
): AsyncGenerator<string> {
  let offset = 0;
  try {
    offset = (await stat(file)).size;
  } catch {
    offset = 0;
  }
  const initial = opts.tail === undefined ? await tailLines(file, Number.MAX_SAFE_INTEGER) : await tailLines(file, opts.tail);
  for (const line of initial) yield line;
  if (!opts.follow) return;
  let partial = '';
  while (!opts.signal.aborted) {
    const running = await opts.stillRunning();
    const size = await stat(file).then((s) => s.size, () => offset);
    if (size > offset) {
      const fh = await open(file, 'r');
      try {
        const buf = Buffer.alloc(size - offset);
        await fh.read(buf, 0, buf.length, offset);
        offset = size;
        const lines = (partial + buf.toString('utf8')).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) yield line;
      } finally {
        await fh.close();
      }
    }
    if (!running) break;
    try {
      await opts.clock.sleep(250, opts.signal);
    } catch {
      break;
    }
  }
  if (partial) yield partial;
}

/**
 * Runs bin to completion with its output appended to logFile (its own process group, so an
 * abort can end everything it started). Resolves with the exit code.
 */
export async function runAttached(opts: SpawnOdooOptions & {readonly signal: AbortSignal; readonly clock: Clock}): Promise<number> {
  const fd = openSync(opts.logFile, 'a', 0o600);
  let child: ReturnType<typeof spawn>;
  try {
    child = spawn(opts.bin, [...opts.argv], {cwd: opts.cwd, env: opts.env as NodeJS.ProcessEnv, detached: true, stdio: ['ignore', fd, fd]});
  } finally {
    closeSync(fd);
  }
  const onAbort = () => {
    if (child.pid) signalGroup(child.pid, 'SIGTERM');
    const t = setTimeout(() => child.pid && signalGroup(child.pid, 'SIGKILL'), 5000);
    t.unref();
  };
  opts.signal.addEventListener('abort', onAbort, {once: true});
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', (err: NodeJS.ErrnoException) =>
        reject(new ProviderError(`cannot run Odoo (${opts.bin}): ${err.code ?? err.message}`, {
          cause: err,
          actions: ['check odoo.bin in odoo-sh-next.config.yaml: it must be an executable file'],
        })),
      );
      child.once('exit', (code, sig) => resolve(code ?? (sig ? 128 + (osSignals[sig] ?? 0) : 1)));
    });
  } finally {
    opts.signal.removeEventListener('abort', onAbort);
  }
}
