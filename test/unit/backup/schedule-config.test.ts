import {mkdtemp, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import {loadConfig} from '../../../src/core/config/load-config.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, {recursive: true, force: true})));
});

async function load(yaml: string) {
  const dir = await mkdtemp(join(tmpdir(), 'osn-schedules-'));
  dirs.push(dir);
  await writeFile(join(dir, 'odoo-sh-next.config.yaml'), `project: p\n${yaml}`);
  return loadConfig({cwd: dir, env: {}});
}

describe('config: backups.schedules, timeZone and manual', () => {
  it('schedules production daily at 03:00 UTC by default', async () => {
    const {backups} = await load('');
    expect(backups.schedules).toEqual({production: '0 3 * * *'});
    expect(backups.timeZone).toBe('UTC');
    expect(backups.manual).toEqual({keep: 5, maxAge: {text: '30d', ms: 30 * 86_400_000}});
  });

  it('keeps the older `schedule` key as the production schedule', async () => {
    expect((await load('backups: {schedule: "15 1 * * *"}\n')).backups.schedules).toEqual({production: '15 1 * * *'});
  });

  it('takes schedules per environment, false turning one off', async () => {
    const {backups} = await load(`backups:
  timeZone: Europe/Brussels
  schedules: {staging: "0 4 * * 0", production: "0 2 * * *", qa: false}
  manual: {keep: 2, maxAge: 2w}
`);
    expect(backups.schedules).toEqual({production: '0 2 * * *', staging: '0 4 * * 0'});
    expect(backups.timeZone).toBe('Europe/Brussels');
    expect(backups.manual).toEqual({keep: 2, maxAge: {text: '2w', ms: 14 * 86_400_000}});
    expect((await load('backups: {schedules: {production: false}}\n')).backups.schedules).toEqual({});
  });

  it.each([
    ['backups: {schedules: {production: "0 25 * * *"}}\n', 'backups.schedules.production: expected a 5-field cron expression, found "0 25 * * *" (hour field "25": 25 is outside 0-23)'],
    ['backups: {schedules: {production: "0 0 31 2 *"}}\n', 'backups.schedules.production: expected a 5-field cron expression, found "0 0 31 2 *" (it never fires (no date matches))'],
    ['backups: {schedules: {Prod_1: "0 3 * * *"}}\n', 'backups.schedules'],
    ['backups: {schedules: {production: true}}\n', 'backups.schedules.production'],
    ['backups: {timeZone: Mars/Base}\n', 'backups.timeZone: unknown time zone "Mars/Base"'],
    ['backups: {manual: {keep: -1}}\n', 'backups.manual.keep: expected a whole number >= 0'],
    ['backups: {manual: {maxAge: forever}}\n', 'backups.manual.maxAge: expected a duration like'],
  ])('refuses %j', async (yaml, message) => {
    await expect(load(yaml)).rejects.toThrow(message);
  });
});
