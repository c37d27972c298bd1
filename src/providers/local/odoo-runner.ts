/**
 * Writes an Odoo config file for the local provider and runs one-off Odoo commands with it.
 */
import {randomBytes} from 'node:crypto';
import {mkdir, readdir, rm, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import type {Clock} from '../../core/clock.js';
import {ConfigError, InterruptedError, ProviderError} from '../../core/errors.js';
import {cronThreadsFor, renderOdooConfig} from '../../core/odoo/odoo-config.js';
import {Secret} from '../../core/secret.js';
import type {EnvironmentType, OdooCode} from '../provider.js';
import {freePort} from './free-port.js';
import {ODOO_ROLE, type LocalPostgres, type PgEndpoint} from './local-postgres.js';
import {runAttached, tailLines} from './odoo-process.js';
import {cleanEnv} from './run-process.js';

export interface OdooContext {
  readonly database: string;
  readonly code: OdooCode;
  readonly envType: EnvironmentType;
  readonly dataDir: string;
  readonly xdgDataHome: string;
  readonly maxCronThreads?: number | undefined;
}

/** Job folders kept per env (their logs); older ones are deleted. */
const KEEP_JOBS = 10;

export function odooBin(code: OdooCode): string {
  if (!code.bin) {
    throw new ConfigError('the local provider needs odoo.bin (the odoo-bin executable)', {
      actions: ['set odoo.bin in odoo-sh-next.config.yaml, e.g. bin: ../odoo/odoo-bin'],
    });
  }
  return code.bin;
}

export class OdooRunner {
  constructor(private readonly pg: LocalPostgres, private readonly clock: Clock) {}

  /** Renders and writes <dir>/odoo.conf (0600); returns its path. */
  async writeConfig(dir: string, endpoint: PgEndpoint, ctx: OdooContext, port: number): Promise<string> {
    const text = renderOdooConfig({
      db: {host: '127.0.0.1', port: endpoint.port, user: ODOO_ROLE, password: await this.pg.rolePassword(), name: ctx.database},
      http: {interface: '127.0.0.1', port},
      dataDir: ctx.dataDir,
      addonsPaths: ctx.code.addonsPaths,
      adminPassword: new Secret(randomBytes(18).toString('base64url')),
      maxCronThreads: ctx.maxCronThreads ?? cronThreadsFor(ctx.envType),
      workers: 0,
      proxyMode: false,
    });
    const file = join(dir, 'odoo.conf');
    await writeFile(file, text, {mode: 0o600});
    return file;
  }

  /** The environment of an Odoo process: no inherited PG* / ODOO_RC, its own XDG_DATA_HOME. */
  processEnv(ctx: {readonly xdgDataHome: string}, extra: Readonly<Record<string, string>> = {}): Record<string, string | undefined> {
    return cleanEnv({XDG_DATA_HOME: ctx.xdgDataHome, ...extra});
  }

  /**
   * Runs `odoo-bin [command] -c <config> ...args` to completion in a new folder under jobsDir
   * (its log is kept, its config removed). Throws ProviderError with the log tail on a non-zero exit.
   */
  async job(
    jobsDir: string,
    endpoint: PgEndpoint,
    ctx: OdooContext,
    run: {readonly command?: string | undefined; readonly args: readonly string[]; readonly signal: AbortSignal},
  ): Promise<{exitCode: number; logTail: string[]}> {
    if (run.signal.aborted) throw new InterruptedError('interrupted', {cause: run.signal.reason});
    const bin = odooBin(ctx.code);
    const stamp = this.clock.now().toISOString().replace(/[-:.]/g, '');
    const dir = join(jobsDir, `${stamp}-${randomBytes(3).toString('hex')}`);
    await mkdir(dir, {recursive: true, mode: 0o700});
    await mkdir(ctx.dataDir, {recursive: true});
    await mkdir(ctx.xdgDataHome, {recursive: true});
    const logFile = join(dir, 'odoo.log');
    const config = await this.writeConfig(dir, endpoint, ctx, await freePort());
    let exitCode: number;
    try {
      exitCode = await runAttached({
        bin,
        argv: [...(run.command ? [run.command] : []), '-c', config, ...run.args],
        cwd: dir,
        env: this.processEnv(ctx),
        logFile,
        signal: run.signal,
        clock: this.clock,
      });
    } finally {
      await rm(config, {force: true});
      await this.#pruneJobs(jobsDir);
    }
    const logTail = await tailLines(logFile, 30);
    if (run.signal.aborted) throw new InterruptedError('interrupted while Odoo was running', {cause: run.signal.reason});
    if (exitCode !== 0) {
      throw new ProviderError(`odoo-bin ${[run.command, ...run.args].filter(Boolean).join(' ')} exited with status ${exitCode}`, {
        data: {exitCode, logTail, logFile},
        actions: [`see ${logFile}`],
      });
    }
    return {exitCode, logTail};
  }

  async #pruneJobs(jobsDir: string): Promise<void> {
    const names = (await readdir(jobsDir).catch(() => [] as string[])).sort();
    for (const name of names.slice(0, Math.max(0, names.length - KEEP_JOBS))) {
      await rm(join(jobsDir, name), {recursive: true, force: true});
    }
  }
}
