/**
 * The state file of a local release instance (<instance dir>/state.json): its labels, pid, port
 * and files, so that a later CLI invocation finds it (list, health, stop) by label.
 */
import {randomBytes} from 'node:crypto';
import {existsSync} from 'node:fs';
import {readFile, readdir, rename, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import type {Clock} from '../../core/clock.js';
import {LABELS} from '../provider.js';
import type {LocalLayout} from './layout.js';

export interface InstanceState {
  readonly version: 1;
  readonly labels: Readonly<Record<string, string>>;
  readonly env: string;
  readonly launchId: string;
  readonly release: string;
  readonly database: string;
  readonly pid: number;
  readonly port: number;
  readonly url: string;
  readonly bin: string;
  readonly configFile: string;
  readonly logFile: string;
  readonly xdgDataHome: string;
  readonly startedAt: string;
  readonly stoppedAt?: string;
}

export const STATE_FILE = 'state.json';

export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`, {mode: 0o600});
  await rename(tmp, file);
}

export async function readInstanceState(dir: string): Promise<InstanceState | undefined> {
  try {
    const parsed = JSON.parse(await readFile(join(dir, STATE_FILE), 'utf8')) as InstanceState;
    return parsed.version === 1 ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Waits (up to waitMs) for the state file of an instance another invocation is starting: the
 * instance folder exists from the moment a launch id is claimed, the state file a moment later.
 */
export async function awaitInstanceState(dir: string, clock: Clock, waitMs = 15_000): Promise<InstanceState | undefined> {
  const deadline = clock.now().getTime() + waitMs;
  while (true) {
    const state = await readInstanceState(dir);
    if (state || !existsSync(dir) || clock.now().getTime() >= deadline) return state;
    await clock.sleep(100);
  }
}

/** Every instance state of the project (optionally of one env), found by its labels. */
export async function listInstanceStates(layout: LocalLayout, project: string, env?: string): Promise<InstanceState[]> {
  const envs = env === undefined ? await readdir(layout.envsDir).catch(() => [] as string[]) : [env];
  const out: InstanceState[] = [];
  for (const e of envs) {
    let instancesDir: string;
    try {
      instancesDir = layout.instancesDir(e);
    } catch {
      continue; // not an environment folder
    }
    const ids = await readdir(instancesDir).catch(() => [] as string[]);
    for (const id of ids) {
      const state = await readInstanceState(join(instancesDir, id));
      if (state && state.labels[LABELS.managed] === 'true' && state.labels[LABELS.project] === project) out.push(state);
    }
  }
  return out.sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.launchId.localeCompare(b.launchId));
}

/** The instance folder holding a launch id, in any env (launch ids are unique per project). */
export async function findLaunch(layout: LocalLayout, launchId: string): Promise<{readonly env: string; readonly dir: string} | undefined> {
  const envs = await readdir(layout.envsDir).catch(() => [] as string[]);
  for (const env of envs) {
    let dir: string;
    try {
      dir = layout.instanceDir(env, launchId);
    } catch {
      continue;
    }
    if (existsSync(dir)) return {env, dir};
  }
  return undefined;
}
