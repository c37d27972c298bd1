import {writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import type {MembersAddResult} from '../../../src/commands/members/add.js';
import type {MembersListResult} from '../../../src/commands/members/list.js';
import type {MembersRemoveResult} from '../../../src/commands/members/remove.js';
import {createTestDatabase, type TestDatabase, stateUrlFor as stateUrl} from '../../helpers/db.js';
import {assertContract, runCli, tempProject} from '../../helpers/cli.js';

// `members add|list|remove` through the built CLI (`npm run build` first), state in a test database.

let db: TestDatabase;
let project: {dir: string; remove(): Promise<void>};


const cli = <R>(...args: string[]) => runCli<R>([...args, '--json'], {cwd: project.dir, env: {CLI_TEST_PW: 'correct horse'}});

beforeAll(async () => {
  db = await createTestDatabase('memcli');
  project = await tempProject('odoo-sh-next-members-');
  await writeFile(join(project.dir, 'odoo-sh-next.config.yaml'),
    [`project: members-cli`, `provider: {name: local}`, `state: {url: ${JSON.stringify(stateUrl(db.name))}}`, ''].join('\n'));
});

afterAll(async () => {
  await project?.remove();
  await db?.drop();
});

describe('members commands', () => {
  it('adds a Postgres member, a jwt member, lists and removes them', async () => {
    const added = await cli<MembersAddResult>('members', 'add', 'cli_dev', '--role', 'developer', '--password-from-env', 'CLI_TEST_PW');
    expect(added.exitCode, added.stderr).toBe(0);
    assertContract('members add', added.json.result);
    expect(added.json.result).toMatchObject({member: {member: 'cli_dev', role: 'developer', envType: null}, postgresRole: {created: true}});

    const jwt = await cli<MembersAddResult>('members', 'add', 'qa@example.com', '--role', 'tester', '--env-type', 'staging', '--jwt');
    expect(jwt.exitCode, jwt.stderr).toBe(0);
    expect(jwt.json.result).toMatchObject({member: {member: 'qa@example.com', envType: 'staging'}, postgresRole: null});

    const list = await cli<MembersListResult>('members', 'list');
    assertContract('members list', list.json.result);
    expect(list.json.result?.members.map((m) => [m.member, m.role, m.envType])).toEqual([
      ['cli_dev', 'developer', null], ['postgres', 'admin', null], ['qa@example.com', 'tester', 'staging'],
    ]);

    const removed = await cli<MembersRemoveResult>('members', 'remove', 'qa@example.com', '--env-type', 'staging');
    expect(removed.exitCode, removed.stderr).toBe(0);
    assertContract('members remove', removed.json.result);
    expect(removed.json.result).toEqual({member: 'qa@example.com', envType: 'staging'});

    const human = await runCli(['members', 'list'], {cwd: project.dir});
    expect(human.exitCode, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^MEMBER\s+ROLE\s+ENVTYPE/);
    expect(human.stdout).toMatch(/cli_dev\s+developer\s+all/);
  });

  it('exits 2 on bad input, 4 for an unknown member, 5 for the last admin', async () => {
    expect((await cli('members', 'add', 'Bad-Name', '--role', 'viewer')).exitCode).toBe(2);
    expect((await cli('members', 'add', 'x_y', '--role', 'viewer', '--password-from-env', 'NO_SUCH_VAR_X')).exitCode).toBe(2);
    expect((await cli('members', 'remove', 'nobody')).exitCode).toBe(4);
    const last = await cli('members', 'remove', 'postgres');
    expect(last.exitCode).toBe(5);
    expect(last.json.error?.message).toMatch(/last admin/);
  });
});
