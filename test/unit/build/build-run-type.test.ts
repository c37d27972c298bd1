import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import type {ImageBuilder, ImageBuildRequest} from '../../../src/core/build/image-build.js';
import {ConflictError, ProviderError} from '../../../src/core/errors.js';
import {buildRunType, type BuildRunResult} from '../../../src/core/release/build-service.js';
import type {RunContext} from '../../../src/core/run/run-types.js';
import type {Run} from '../../../src/core/run/run-record.js';

const NOW = new Date('2026-11-21T14:49:07Z');
const SHA = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'build-run-type-'));
});
afterAll(async () => {
  await rm(root, {recursive: true, force: true});
});

function fakeBuilder(seen: ImageBuildRequest[], failure?: Error): ImageBuilder {
  return {
    async build(request) {
      seen.push(request);
      await request.event('info', 'Step 1/2 : FROM x');
      if (failure) throw failure;
      return {
        imageId: `sha256:${'9'.repeat(64)}`, references: request.references, warnings: ['w'], addonsPaths: [],
        layers: [
          {name: 'addons:a', key: 'k1', cached: true, seconds: 0, imageId: 'i1'},
          {name: 'config', key: 'k2', cached: false, seconds: 0.5, imageId: 'i2'},
        ],
      };
    },
  };
}

interface Over {
  /** The builder fails with this error. */
  readonly failure?: Error;
  /** saveLog fails with this error. */
  readonly saveFailure?: Error;
}

async function execute(payload: Record<string, unknown>, gitSha: string | null, over: Over = {}): Promise<{result: BuildRunResult; seen: ImageBuildRequest[]; events: string[]; trace: string[]}> {
  const seen: ImageBuildRequest[] = [];
  const events: string[] = [];
  const trace: string[] = [];
  const handler = handlerFor(seen, over);
  const ctx = {
    run: {id: '7', env: null, gitSha, payload} as unknown as Run,
    signal: new AbortController().signal,
    phase: async <T>(name: string, fn: () => Promise<T>) => {
      trace.push(`${name}:start`);
      try {
        return await fn();
      } finally {
        trace.push(`${name}:end`);
      }
    },
    event: async (_level: string, message: string) => { events.push(message); },
    saveLog: async (name: string, opts?: {phase?: string}) => {
      trace.push(`saveLog ${name} ${opts?.phase ?? '-'}`);
      if (over.saveFailure) throw over.saveFailure;
      return {id: '12', name, sizeBytes: 345, sha256: 'f'.repeat(64), truncated: false};
    },
  } as unknown as RunContext;
  return {result: (await handler.execute(ctx)) as unknown as BuildRunResult, seen, events, trace};
}

function handlerFor(seen: ImageBuildRequest[], over: Over) {
  return buildRunType({
    project: 'shop', projectRoot: root, odoo: {version: '17.0', image: 'odoo:17.0', addons: [{path: join(root, 'addons')}]},
    clock: {now: () => NOW, sleep: async () => undefined},
    builder: async () => fakeBuilder(seen, over.failure),
    releases: async () => { throw new Error('no release without --env'); },
    environments: async () => { throw new Error('no environment without --env'); },
  });
}

describe('the build run type', () => {
  it('tags <short_sha> and <date> (latest when asked), counts rebuilt layers, records no release without --env', async () => {
    const {result, seen, events} = await execute({commit: SHA, tagLatest: true}, SHA);
    expect(seen[0]!.references).toEqual(['odoo-sh-next/shop:a1b2c3d4e5f6', 'odoo-sh-next/shop:20261121-144907', 'odoo-sh-next/shop:latest']);
    expect(seen[0]).toMatchObject({project: 'shop', baseImage: 'odoo:17.0', odooVersion: '17.0', sourceDateEpoch: 0, repository: 'odoo-sh-next/shop'});
    expect(result).toEqual({
      image: 'odoo-sh-next/shop:a1b2c3d4e5f6', digest: `sha256:${'9'.repeat(64)}`, tags: seen[0]!.references,
      layers: [{name: 'addons:a', key: 'k1', cached: true, seconds: 0}, {name: 'config', key: 'k2', cached: false, seconds: 0.5}],
      rebuilt: 1, commit: SHA, release: null, env: null, warnings: ['w'],
      log: {artifact: '12', name: 'build.log', sizeBytes: 345, sha256: 'f'.repeat(64), truncated: false},
    });
    expect(events).toContain('Step 1/2 : FROM x');
  });

  it('without a commit (not a git checkout): the date tag only, and a warning saying so', async () => {
    const {result} = await execute({tagLatest: false}, null);
    expect(result.tags).toEqual(['odoo-sh-next/shop:20261121-144907']);
    expect(result.commit).toBeNull();
    expect(result.warnings[0]).toMatch(/no <short_sha> tag/);
  });

  it('keeps the build log after the build phase, and says where to read it', async () => {
    const {trace, events} = await execute({commit: SHA}, SHA);
    expect(trace).toEqual(['build:start', 'build:end', 'saveLog build.log build']);
    expect(events.at(-1)).toBe('build log kept (345 bytes): odoo-sh-next run artifacts 7 --name build.log');
  });

  it('keeps the build log when the build fails, and the build error is the one reported (even when saving fails too)', async () => {
    const failure = new ProviderError('docker build failed: step 3 returned 1');
    await expect(execute({commit: SHA}, SHA, {failure})).rejects.toBe(failure);
    const trace: string[] = [];
    const seen: ImageBuildRequest[] = [];
    const ctx = {
      run: {id: '7', env: null, gitSha: SHA, payload: {}} as unknown as Run,
      signal: new AbortController().signal,
      phase: async <T>(name: string, fn: () => Promise<T>) => { trace.push(name); return fn(); },
      event: async () => undefined,
      saveLog: async (name: string) => { trace.push(`saveLog ${name}`); throw new Error('state database down'); },
    } as unknown as RunContext;
    await expect(handlerFor(seen, {failure}).execute(ctx)).rejects.toBe(failure);
    expect(trace).toEqual(['build', 'saveLog build.log']);
  });

  it('a build that succeeded but whose log could not be kept still succeeds, with a warning; a lost lease is not hidden', async () => {
    const {result} = await execute({commit: SHA}, SHA, {saveFailure: new ProviderError('disk full')});
    expect(result.log).toBeNull();
    expect(result.warnings).toContainEqual(expect.stringMatching(/build log could not be kept as an artifact \(disk full\)/));
    const lost = new ConflictError('lease lost');
    await expect(execute({commit: SHA}, SHA, {saveFailure: lost})).rejects.toBe(lost);
  });
});
