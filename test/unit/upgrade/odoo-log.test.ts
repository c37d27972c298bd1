import {describe, expect, it} from 'vitest';
import {groupLogByModule, moduleOf, parseOdooLog} from '../../../src/core/upgrade/odoo-log.js';

const LOG = [
  '2026-11-21 16:00:00,001 4242 INFO upg odoo.modules.loading: loading 1 modules...',
  '2026-11-21 16:00:00,002 4242 DEBUG upg odoo.modules.loading: Loading module base (1/4)',
  '2026-11-21 16:00:00,003 4242 WARNING upg odoo.addons.base.models.ir_model: Two fields (x, y) of res.partner have the same label',
  '2026-11-21 16:00:00,004 4242 DEBUG upg odoo.modules.loading: Loading module upg_alpha (2/4)',
  '2026-11-21 16:00:00,005 4242 INFO upg odoo.modules.migration: module upg_alpha: Running migration [18.0.1.1>] post-copy',
  '2026-11-21 16:00:00,006 4242 ERROR upg odoo.addons.upg_alpha.models.thing: field thing.x is deprecated',
  '2026-11-21 16:00:00,007 4242 INFO upg odoo.modules.migration: module upg_beta: Running migration [>18.0.1.1] pre-fail',
  '2026-11-21 16:00:00,008 4242 CRITICAL upg odoo.service.server: Failed to initialize database `upg`.',
  'Traceback (most recent call last):',
  '  File "odoo/service/server.py", line 1300, in preload_registries',
  'Exception: upg_beta cannot migrate its data',
  '2026-11-21 16:00:00,009 4242 ERROR upg odoo.modules.loading: Some modules are not loaded, some dependencies or manifest may be missing: [\'gone_a\', \'gone_b\']',
  '2026-11-21 16:00:00,010 4242 WARNING ? odoo.service.server: Initiating shutdown',
  '',
].join('\n');

describe('odoo log', () => {
  it('parses records in Odoo format with their continuation lines', () => {
    const records = parseOdooLog(LOG);
    expect(records).toHaveLength(10);
    expect(records[0]).toEqual({line: 1, at: '2026-11-21 16:00:00,001', pid: 4242, level: 'INFO', db: 'upg', logger: 'odoo.modules.loading', message: 'loading 1 modules...'});
    expect(records[7]!.message).toBe('Failed to initialize database `upg`.\nTraceback (most recent call last):\n  File "odoo/service/server.py", line 1300, in preload_registries\nException: upg_beta cannot migrate its data');
    expect(records[8]!.line).toBe(12);
  });

  it('names the module of a record from its logger or a `module X:` message', () => {
    expect(moduleOf({logger: 'odoo.addons.sale.models.sale_order', message: 'x'})).toBe('sale');
    expect(moduleOf({logger: 'odoo.addons.sale', message: 'x'})).toBe('sale');
    expect(moduleOf({logger: 'odoo.modules.migration', message: 'module sale: Running migration [>18.0.1.1] pre-x'})).toBe('sale');
    expect(moduleOf({logger: 'odoo.service.server', message: 'module sale: not about it'})).toBeUndefined();
  });

  it('groups errors and warnings by module; an error while a module loads is that module\'s', () => {
    const g = groupLogByModule(parseOdooLog(LOG));
    expect(g.loaded).toEqual(['base', 'upg_alpha']);
    expect(g.notLoaded).toEqual(['gone_a', 'gone_b']);
    expect(g.modules['base']).toEqual({errors: [], warnings: [expect.objectContaining({line: 3, level: 'WARNING'})]});
    expect(g.modules['upg_alpha']!.errors.map((e) => e.line)).toEqual([6]);
    expect(g.modules['upg_beta']!.errors).toEqual([expect.objectContaining({line: 8, level: 'CRITICAL', logger: 'odoo.service.server'})]);
    expect(g.modules['upg_beta']!.errors[0]!.message).toContain('Exception: upg_beta cannot migrate its data');
    // The `Some modules are not loaded` error becomes notLoaded (missing modules), not a general error.
    expect(g.general.errors).toEqual([]);
    expect(g.general.warnings.map((e) => e.line)).toEqual([13]);
  });
});
