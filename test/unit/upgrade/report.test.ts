import {describe, expect, it} from 'vitest';
import {groupLogByModule, parseOdooLog} from '../../../src/core/upgrade/odoo-log.js';
import {buildUpgradeReport, renderUpgradeReportMarkdown, type UpgradeObservation} from '../../../src/core/upgrade/report.js';

const LOG = [
  '2026-11-21 16:00:00,005 7 INFO db odoo.modules.migration: module upg_alpha: Running migration [18.0.1.1>] post-copy',
  '2026-11-21 16:00:00,007 7 INFO db odoo.modules.migration: module upg_beta: Running migration [>18.0.1.1] pre-fail',
  '2026-11-21 16:00:00,008 7 CRITICAL db odoo.service.server: Failed to initialize database `db`.',
  'Exception: beta cannot migrate',
  '2026-11-21 16:00:00,009 7 WARNING db odoo.addons.web.models: something old',
].join('\n');

function observation(over: Partial<UpgradeObservation> = {}): UpgradeObservation {
  return {
    env: 'production', runId: '12', database: 'p_upgrade_12__b12', fromVersion: '17.0', toVersion: '18.0',
    target: {bin: '/opt/odoo18/odoo-bin'}, startedAt: '2026-11-21T16:00:00.000Z', durationMs: 7300, exitCode: 255,
    before: [
      {name: 'base', state: 'installed', latestVersion: '17.0.1.3'},
      {name: 'upg_alpha', state: 'installed', latestVersion: '17.0.1.0'},
      {name: 'upg_beta', state: 'installed', latestVersion: '17.0.1.0'},
      {name: 'web', state: 'installed', latestVersion: '17.0.1.0'},
      {name: 'gone', state: 'installed', latestVersion: '17.0.1.0'},
      {name: 'sale', state: 'uninstalled', latestVersion: null},
    ],
    after: [
      {name: 'base', state: 'installed', latestVersion: '18.0.1.3'},
      {name: 'upg_alpha', state: 'installed', latestVersion: '18.0.1.1'},
      {name: 'upg_beta', state: 'to upgrade', latestVersion: '17.0.1.0'},
      {name: 'web', state: 'to upgrade', latestVersion: '17.0.1.0'},
      {name: 'sale', state: 'uninstalled', latestVersion: null},
    ],
    log: groupLogByModule(parseOdooLog(LOG)), logTruncated: false, sizeBefore: 20 * 1048576, sizeAfter: 21 * 1048576,
    removedApis: [{file: 'upg_alpha/views/x.xml', line: 4, rule: 'tree-view', version: '18.0', message: '`<tree>` views were renamed', replacement: '`<list>`', code: '<tree>'}],
    smoke: {ran: true, ok: false, checks: [{check: 'health', ok: true, detail: 'ok'}, {check: 'modules', ok: false, detail: 'modules left pending: upg_beta (to upgrade)'}]},
    ...over,
  };
}

describe('upgrade report', () => {
  it('lists updated, failed (errors or still pending) and missing modules, and blocks with every reason', () => {
    const r = buildUpgradeReport(observation());
    expect(r.modules.updated).toEqual([{name: 'base', from: '17.0.1.3', to: '18.0.1.3'}, {name: 'upg_alpha', from: '17.0.1.0', to: '18.0.1.1'}]);
    expect(r.modules.failed.map((f) => [f.name, f.reason])).toEqual([['upg_beta', '1 error(s) logged'], ['web', "left in state 'to upgrade'"]]);
    expect(r.modules.failed[0]!.errors[0]!.message).toContain('Exception: beta cannot migrate');
    expect(r.modules.missing).toEqual(['gone']);
    expect(r.databaseSize).toEqual({before: 20971520, after: 22020096});
    expect(r.verdict.status).toBe('blocked');
    expect(r.verdict.reasons).toEqual([
      'odoo-bin -u all exited with status 255',
      "2 module(s) failed: upg_beta (1 error(s) logged), web (left in state 'to upgrade')",
      '1 installed module(s) missing on 18.0: gone',
      'smoke check failed: modules: modules left pending: upg_beta (to upgrade)',
    ]);
    expect(r.verdict.warnings).toEqual(['1 use(s) of APIs removed or renamed by 18.0 in the custom addons', '1 warning(s) in the log']);
  });

  it('counts an installed module Odoo could not load (not on the target\'s path) as missing, not failed', () => {
    const log = groupLogByModule(parseOdooLog(
      "2026-11-21 16:00:01,000 7 ERROR db odoo.modules.loading: Some modules are not loaded, some dependencies or manifest may be missing: ['old_mod']"));
    const r = buildUpgradeReport(observation({
      exitCode: 0, log, smoke: {ran: true, ok: true, checks: []},
      before: [{name: 'base', state: 'installed', latestVersion: '17.0.1.3'}, {name: 'old_mod', state: 'installed', latestVersion: '17.0.1.0'}],
      after: [{name: 'base', state: 'installed', latestVersion: '18.0.1.3'}, {name: 'old_mod', state: 'to upgrade', latestVersion: '17.0.1.0'}],
    }));
    expect(r.modules).toMatchObject({missing: ['old_mod'], failed: []});
    expect(r.verdict.reasons).toEqual(['1 installed module(s) missing on 18.0: old_mod']);
  });

  it('is ready when the update, the modules, the log and the smoke check are clean (API findings only warn)', () => {
    const clean = observation({
      exitCode: 0, log: groupLogByModule([]),
      before: [{name: 'base', state: 'installed', latestVersion: '17.0.1.3'}],
      after: [{name: 'base', state: 'installed', latestVersion: '18.0.1.3'}],
      smoke: {ran: true, ok: true, checks: [{check: 'health', ok: true, detail: '/web/health answered 200'}]},
    });
    const r = buildUpgradeReport(clean);
    expect(r.verdict).toEqual({status: 'ready', reasons: [], warnings: ['1 use(s) of APIs removed or renamed by 18.0 in the custom addons']});
    expect(buildUpgradeReport({...clean, smoke: {ran: false, ok: false, checks: [], error: 'not running'}}).verdict.reasons)
      .toEqual(['the upgraded database did not start: not running']);
  });

  it('renders Markdown with the verdict, modules, grouped log, file:line findings and the smoke check', () => {
    const md = renderUpgradeReportMarkdown(buildUpgradeReport(observation()), {id: 'upg-3', approvedBy: null});
    expect(md).toContain('# Upgrade preview: production 17.0 → 18.0 (report upg-3)');
    expect(md).toContain('**Verdict: BLOCKED**');
    expect(md).toContain('| upg_alpha | 17.0.1.0 | 18.0.1.1 |');
    expect(md).toContain('- **upg_beta** (to upgrade, 17.0.1.0): 1 error(s) logged');
    expect(md).toContain('### upg_beta: 1 error(s), 0 warning(s)');
    expect(md).toContain('| upg_alpha/views/x.xml:4 | 18.0 |');
    expect(md).toContain('- FAIL modules: modules left pending: upg_beta (to upgrade)');
    expect(md).toContain('database size: 20.0 MB → 21.0 MB');
  });
});
