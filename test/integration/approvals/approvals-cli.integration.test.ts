/**
 * `approvals request|list|approve|reject` through the built CLI. The CLI connects as the cluster superuser
 * 'postgres', the project's admin: requesting then approving as that same actor is a self-approval (exit 8).
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import type {ApprovalsListResult} from '../../../src/commands/approvals/list.js';
import type {ApprovalsRequestResult} from '../../../src/commands/approvals/request.js';
import type {ApprovalsRejectResult} from '../../../src/commands/approvals/reject.js';
import {assertContract, runCli, STANDIN, tempProject} from '../../helpers/cli.js';

let project: {dir: string; remove(): Promise<void>};
const cli = <R>(...args: string[]) => runCli<R>([...args, '--json'], {cwd: project.dir});

beforeAll(async () => {
  project = await tempProject('odoo-sh-next-approvals-');
  const init = await cli('init', '--project', 'shop', '--odoo-bin', STANDIN);
  expect(init.exitCode, init.stderr).toBe(0);
}, 180_000);

afterAll(async () => {
  await runCli(['down'], {cwd: project.dir});
  await project.remove();
});

describe('approvals CLI', () => {
  it('requests, lists, refuses self-approval (exit 8), rejects, and refuses deciding twice (exit 5)', async () => {
    const req = await cli<ApprovalsRequestResult>('approvals', 'request', '--for', 'promote', '--env', 'production',
      '--release', 'rel-1', '--reason', 'ship it', '--quorum', '2', '--ttl', '2h');
    expect(req.exitCode, req.stderr).toBe(0);
    assertContract('approvals request', req.json.result);
    const a = req.json.result!;
    expect(a).toMatchObject({action: 'promote', env: 'production', release: 'rel-1', reason: 'ship it', quorum: 2, status: 'pending', votes: []});
    expect(Date.parse(a.expiresAt!) - Date.parse(a.createdAt)).toBeCloseTo(2 * 3_600_000, -4);

    const list = await cli<ApprovalsListResult>('approvals', 'list', '--env', 'production', '--status', 'pending');
    expect(list.exitCode, list.stderr).toBe(0);
    assertContract('approvals list', list.json.result);
    expect(list.json.result?.map((x) => x.id)).toEqual([a.id]);

    const self = await cli('approvals', 'approve', a.id.slice(0, 8));
    expect(self.exitCode, self.stderr).toBe(8);
    expect(JSON.stringify(self.json.error?.data?.['reasons'])).toContain('self-approval refused');

    const rejected = await cli<ApprovalsRejectResult>('approvals', 'reject', a.id, '--comment', 'withdrawn');
    expect(rejected.exitCode, rejected.stderr).toBe(0);
    assertContract('approvals reject', rejected.json.result);
    expect(rejected.json.result).toMatchObject({status: 'rejected', decidedBy: 'postgres', votes: [{voter: 'postgres', vote: 'reject', comment: 'withdrawn'}]});

    expect((await cli('approvals', 'reject', a.id)).exitCode).toBe(5);
  });

  it('maps malformed ids to exit 2 and unknown ones to exit 4; warns when deploy names no release', async () => {
    expect((await cli('approvals', 'approve', 'nope')).exitCode).toBe(2);
    expect((await cli('approvals', 'approve', '00000000-0000-4000-8000-000000000000')).exitCode).toBe(4);
    expect((await cli('approvals', 'request', '--for', 'drop', '--env', 'production')).exitCode).toBe(2);
    expect((await cli('approvals', 'list', '--status', 'done')).exitCode).toBe(2);
    const noRelease = await cli<ApprovalsRequestResult>('approvals', 'request', '--for', 'deploy', '--env', 'production');
    expect(noRelease.exitCode, noRelease.stderr).toBe(0);
    expect(noRelease.json.warnings.join()).toContain('names no release');
    const human = await runCli(['approvals', 'list'], {cwd: project.dir});
    expect(human.stdout).toMatch(/ID\s+ACTION\s+ENV\s+RELEASE\s+STATUS\s+VOTES/);
  });
});
