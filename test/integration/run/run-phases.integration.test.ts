import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {RunRepository} from '../../../src/core/run/run-repository.js';
import type {RunContext, RunTypeHandler} from '../../../src/core/run/run-types.js';
import {runTestEnv, type RunTestEnv} from './helpers.js';

// The phase an event is tagged with is the phase of the code that wrote it (AsyncLocalStorage), not
// the phase entered last: two phases running at once (a backup's database and filestore) each tag
// their own events, a nested phase gives way to its parent, and code outside any phase has none.
// And ctx.saveLog() keeps the attempt's events as a log artifact.

let env: RunTestEnv;
let repo: RunRepository;
beforeAll(async () => {
  env = await runTestEnv('phases');
  repo = new RunRepository(env.db.pool, env.projectId);
});
afterAll(async () => env?.db.drop());

/** Two workers taking turns: each step waits for the other's previous step, so their events interleave. */
function turns() {
  let turn = 0;
  const waiting: (() => void)[] = [];
  return {
    async step(me: number, fn: () => Promise<void>): Promise<void> {
      while (turn % 2 !== me) await new Promise<void>((r) => waiting.push(r));
      await fn();
      turn++;
      for (const w of waiting.splice(0)) w();
    },
  };
}

const concurrent: RunTypeHandler = {
  type: 'concurrent',
  async execute(ctx: RunContext) {
    const t = turns();
    const work = (phase: string, me: number) => ctx.phase(phase, async () => {
      for (let i = 0; i < 4; i++) await t.step(me, () => ctx.event('info', `${phase} ${i}`));
    });
    await ctx.event('info', 'before');
    await Promise.all([work('database', 0), work('filestore', 1)]);
    await ctx.phase('outer', async () => {
      await ctx.event('info', 'outer 1');
      await ctx.phase('inner', async () => {
        await new Promise((r) => setTimeout(r, 5));
        await ctx.event('info', 'inner 1');
      });
      await ctx.event('info', 'outer 2');
      // Callbacks scheduled inside a phase keep it.
      await new Promise<void>((resolve, reject) => setTimeout(() => ctx.event('info', 'outer timer').then(resolve, reject), 1));
    });
    await ctx.event('info', 'after');
    const log = await ctx.saveLog('run.log');
    const db = await ctx.saveLog('database.log', {phase: 'database'});
    return {log, db};
  },
};

describe('phases of a run', () => {
  it('tags each event with the phase of the code that wrote it, also while two phases run at once', async () => {
    const run = await env.service({handlers: [concurrent]}).create({type: 'concurrent'});
    expect(run.state).toBe('succeeded');
    const events = (await repo.events(run.id)).filter((e) => !/ (started|done)$|^run |^attempt /.test(e.message));
    const messages = events.map((e) => e.message);
    // They did interleave...
    expect(messages.slice(1, 9)).toEqual(['database 0', 'filestore 0', 'database 1', 'filestore 1', 'database 2', 'filestore 2', 'database 3', 'filestore 3']);
    // ...and each carries its own phase.
    expect(events.map((e) => [e.message, e.phase])).toEqual([
      ['before', null],
      ['database 0', 'database'], ['filestore 0', 'filestore'], ['database 1', 'database'], ['filestore 1', 'filestore'],
      ['database 2', 'database'], ['filestore 2', 'filestore'], ['database 3', 'database'], ['filestore 3', 'filestore'],
      ['outer 1', 'outer'], ['inner 1', 'inner'], ['outer 2', 'outer'], ['outer timer', 'outer'],
      ['after', null],
    ]);
    // The progress sink got the same phases.
    const sunk = env.events.events.filter((e) => e.runId === run.id && e.kind === 'message' && /^(database|filestore) \d$/.test(e.message));
    expect(sunk.every((e) => e.phase === e.message.split(' ')[0])).toBe(true);

    const result = run.result as {log: {id: string; sizeBytes: number}; db: {id: string; name: string; truncated: boolean}};
    const artifacts = await repo.artifacts(run.id);
    expect(artifacts.map((a) => a.name)).toEqual(['run.log', 'database.log']);
    const content = async (id: string) => (await env.db.pool.query<{content: string}>('select content from ops.artifact_contents where artifact_id = $1', [id])).rows[0]!.content;
    const dbLog = (await content(result.db.id)).trimEnd().split('\n');
    expect(dbLog.map((l) => l.replace(/^\S+ /, ''))).toEqual([
      'INFO [database] database started', 'INFO [database] database 0', 'INFO [database] database 1', 'INFO [database] database 2',
      'INFO [database] database 3', 'INFO [database] database done',
    ]);
    const full = await content(result.log.id);
    expect(full).toContain('INFO [filestore] filestore 3\n');
    expect(full).toContain('INFO after\n');
    expect(Buffer.byteLength(full)).toBe(result.log.sizeBytes);
  });
});
