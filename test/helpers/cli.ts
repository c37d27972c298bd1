import {Ajv} from 'ajv';
import {execa} from 'execa';
import {readFileSync} from 'node:fs';
import {chmod, mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises';
import {dirname, join} from 'node:path';
import {tmpdir} from 'node:os';
import {fileURLToPath} from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = join(ROOT, 'bin', 'run.js');
export const STANDIN = join(ROOT, 'test', 'fixtures', 'odoo-standin', 'odoo-bin');

export interface CliResult<R = unknown> {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  /** The parsed --json envelope (when --json was passed). */
  readonly json: {status: number; result?: R; error?: {code: string; message: string; exitCode: number; actions: string[]; data?: Record<string, unknown>}; warnings: string[]};
}

/** Runs the built CLI (`node bin/run.js`) with the project's Node; never throws on a non-zero exit. */
export async function runCli<R = unknown>(args: readonly string[], opts: {cwd: string; env?: Record<string, string>; timeout?: number}): Promise<CliResult<R>> {
  const res = await execa(process.execPath, [BIN, ...args], {
    cwd: opts.cwd,
    reject: false,
    stdin: 'ignore',
    timeout: opts.timeout ?? 120_000,
    env: {PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env['PATH'] ?? ''}`, NO_COLOR: '1', ...opts.env},
  });
  let json: CliResult<R>['json'] = {status: -1, warnings: []};
  if (args.includes('--json')) {
    try {
      json = JSON.parse(res.stdout);
    } catch {
      throw new Error(`stdout is not one JSON envelope (exit ${res.exitCode}):\n${res.stdout}\n--- stderr ---\n${res.stderr}`);
    }
  }
  return {exitCode: res.exitCode ?? -1, stdout: res.stdout, stderr: res.stderr, json};
}

const ajv = new Ajv({allErrors: true, strict: false});

/** Asserts a --json result matches the command's checked-in contract (spec/contracts/schemas/<id>.json). */
export function assertContract(commandId: string, result: unknown): void {
  const file = join(ROOT, 'spec', 'contracts', 'schemas', `${commandId.replaceAll(' ', '-')}.json`);
  const validate = ajv.compile(JSON.parse(readFileSync(file, 'utf8')));
  if (!validate(result)) {
    throw new Error(`${commandId} --json result breaks its contract: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(result, null, 2).slice(0, 2000)}`);
  }
}

/** A temp project folder other accounts can traverse (PostgreSQL runs unprivileged when we are root). */
export async function tempProject(prefix = 'odoo-sh-next-e2e-'): Promise<{dir: string; remove(): Promise<void>}> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await chmod(dir, 0o755);
  return {dir, remove: () => rm(dir, {recursive: true, force: true})};
}

/** Writes `text` to `path` under a project folder, creating the folders on the way. */
export async function writeProjectFile(dir: string, path: string, text: string): Promise<void> {
  await mkdir(join(dir, path, '..'), {recursive: true});
  await writeFile(join(dir, path), text);
}
