import {tmpdir} from 'node:os';
import {describe, expect, it} from 'vitest';
import {assertContract, runCli} from '../helpers/cli.js';
import type {DemoCommandResult} from '../../src/commands/demo.js';

describe('the main job (npm run demo)', () => {
  it('brings two previews up on the local provider, checks them, lists them and tears them down', async () => {
    const res = await runCli<DemoCommandResult>(['demo', '--json'], {cwd: tmpdir(), timeout: 300_000});
    expect(res.exitCode, res.stderr).toBe(0);
    assertContract('demo', res.json.result);
    const result = res.json.result!;
    expect(result.previews.map((p) => p.branch)).toEqual(['feature/hello', 'feature/world']);
    for (const p of result.previews) expect([p.health, p.login]).toEqual([200, 200]);
    expect(result.listed).toHaveLength(2);
    expect(result.steps.map((s) => s.step)).toEqual(expect.arrayContaining(['init', 'preview up', 'check', 'preview list', 'preview down', 'down']));
    // each step was visible as it happened: progress lines on stderr (JSON events under --json)
    expect(res.stderr).toContain('"phase":"health"');
  });
});
