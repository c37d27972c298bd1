/**
 * Docker test helpers: the locally built test images (scripts/docker-test-images.mjs, names in
 * docker-images.json so the script reads the same ones), an engine check that FAILS tests when the
 * engine is missing (skip only with OSN_SKIP_DOCKER_TESTS=1), and label-based leftover listing.
 */
import {execFile, spawn} from 'node:child_process';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {promisify} from 'node:util';
import {beforeAll, beforeEach, describe} from 'vitest';
import images from './docker-images.json' with {type: 'json'};
import {LABELS} from '../../src/providers/provider.js';

export {freePort} from '../../src/providers/local/free-port.js';

const run = promisify(execFile);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** `odoo-sh-next-test/postgres:15`: Debian postgresql-15, official postgres image interface. */
export const POSTGRES_IMAGE: string = images.postgres;
/** `odoo-sh-next-test/caddy:2`: Debian caddy, CMD `caddy run`. */
export const CADDY_IMAGE: string = images.caddy;
/** `odoo-sh-next-test/odoo:17.0`: the Odoo stand-in as `odoo` on PATH (official odoo image interface). */
export const ODOO_IMAGE: string = images.odoo;
export const TEST_IMAGES: readonly string[] = [POSTGRES_IMAGE, CADDY_IMAGE, ODOO_IMAGE];
/**
 * `odoo-sh-next-test/odoo-py:17.0`: ODOO_IMAGE + Debian's python3 and python3-pip (pip 23, PEP 668
 * enforced like odoo:18). Not built with the others: ensurePythonTestImage() builds or reuses it.
 */
export const ODOO_PY_IMAGE: string = images['odoo-py'];

/** Label put on containers that tests start directly (not through a provider). */
export const TEST_LABEL = 'odoo-sh-next.test';

export const SKIP_DOCKER = process.env.OSN_SKIP_DOCKER_TESTS === '1';
export const SKIP_REASON = 'OSN_SKIP_DOCKER_TESTS=1: Docker tests skipped';
const NOT_ANSWERING =
  'Docker engine not answering: start dockerd --bridge=none --iptables=false or run bash .ci/run ' +
  '(set OSN_SKIP_DOCKER_TESTS=1 to skip the Docker tests)';

/** Runs the docker CLI; rejects with its stderr on failure. */
export async function docker(args: readonly string[], timeoutMs = 60_000): Promise<string> {
  try {
    const {stdout} = await run('docker', [...args], {timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024});
    return stdout;
  } catch (error) {
    const e = error as {stderr?: string; message: string};
    throw new Error(`docker ${args.join(' ')}: ${(e.stderr ?? '').trim() || e.message}`);
  }
}

export async function dockerAvailable(): Promise<boolean> {
  try {
    await docker(['version', '--format', '{{.Server.Version}}'], 15_000);
    return true;
  } catch {
    return false;
  }
}

/** Throws a clear error when the engine does not answer (tests must fail, not skip). */
export async function requireDocker(): Promise<void> {
  if (!(await dockerAvailable())) throw new Error(NOT_ANSWERING);
}

let ensured: Promise<void> | undefined;

/**
 * Makes sure the engine answers and the three test images are up to date: runs
 * scripts/docker-test-images.mjs, which reuses an image whose inputs (stand-in files, Node...) did
 * not change (about 1 s) and builds the others (1.5-4 min on a fresh machine: give the calling hook
 * a timeout of 600 s). Once per test file; parallel files wait for each other (lock in the script).
 */
export function ensureTestImages(): Promise<void> {
  ensured ??= imagesScript([]);
  ensured.catch(() => (ensured = undefined));
  return ensured;
}

let ensuredPy: Promise<void> | undefined;

/** Like ensureTestImages() for ODOO_PY_IMAGE (the first build takes about a minute more). */
export function ensurePythonTestImage(): Promise<void> {
  ensuredPy ??= imagesScript(['odoo-py']);
  ensuredPy.catch(() => (ensuredPy = undefined));
  return ensuredPy;
}

/** Runs scripts/docker-test-images.mjs with `names` (none: the default images). */
function imagesScript(names: readonly string[]): Promise<void> {
  return (async () => {
    await requireDocker();
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, [join(ROOT, 'scripts', 'docker-test-images.mjs'), ...names], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let text = '';
      child.stdout.on('data', (d: Buffer) => (text += d.toString('utf8')));
      child.stderr.on('data', (d: Buffer) => (text += d.toString('utf8')));
      child.on('error', reject);
      child.on('exit', (code) =>
        code === 0 ? resolve(text) : reject(new Error(`scripts/docker-test-images.mjs exited with ${code}:\n${text}`)),
      );
    });
    if (/built|FAILED/.test(output)) process.stderr.write(output);
  })();
}

/** `describe` for suites that need the engine: skipped (visibly) only with OSN_SKIP_DOCKER_TESTS=1. */
export const describeDocker = describe.skipIf(SKIP_DOCKER);

/**
 * Call inside a describe: builds/reuses the test images once (beforeAll, up to 10 min), and when the
 * engine or a build fails, every test of the suite fails with that error (not skipped).
 */
export function useDockerTestImages(): void {
  let setupError: unknown;
  beforeAll(async () => {
    await ensureTestImages().catch((error: unknown) => (setupError = error));
  }, 600_000);
  beforeEach(() => {
    if (setupError) throw setupError;
  });
}

export interface Leftovers {
  readonly containers: string[];
  readonly volumes: string[];
  readonly networks: string[];
}

/** Containers (also stopped ones), volumes and networks labelled odoo-sh.project=<project>. */
export async function leftovers(project: string): Promise<Leftovers> {
  const filter = `label=${LABELS.project}=${project}`;
  const lines = (s: string): string[] => s.split('\n').map((l) => l.trim()).filter(Boolean);
  const [containers, volumes, networks] = await Promise.all([
    docker(['ps', '-a', '--filter', filter, '--format', '{{.Names}}']),
    docker(['volume', 'ls', '--filter', filter, '--format', '{{.Name}}']),
    docker(['network', 'ls', '--filter', filter, '--format', '{{.Name}}']),
  ]);
  return {containers: lines(containers), volumes: lines(volumes), networks: lines(networks)};
}

/** Force-removes the given containers (ignores the ones already gone). */
export async function removeContainers(ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await docker(['rm', '-f', '-v', ...ids]).catch(() => '');
}

/** Every tag of a project's release and cache repositories (odoo-sh-next[-cache]/<project>), sorted. */
export async function projectImageTags(project: string): Promise<string[]> {
  const out = await docker(['images', '--format', '{{.Repository}}:{{.Tag}}']);
  return out.split('\n').filter((t) => t.startsWith(`odoo-sh-next/${project}:`) || t.startsWith(`odoo-sh-next-cache/${project}:`)).sort();
}
