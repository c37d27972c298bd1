import {describe, expect, it} from 'vitest';
import {matchesGlob, rulesBetween, scanRemovedApis} from '../../../src/core/upgrade/api-scan.js';
import {REMOVED_APIS, type RemovedApi} from '../../../src/core/upgrade/removed-apis.js';

const files = [
  {path: 'my_mod/models/partner.py', text: 'class P(models.Model):\n    def name_get(self):\n        return []\n    total = fields.Float(group_operator="sum")\n'},
  {path: 'my_mod/views/partner.xml', text: '<odoo>\n  <record id="v" model="ir.ui.view">\n    <field name="arch" type="xml">\n      <tree>\n        <field name="x" attrs="{\'invisible\': 1}"/>\n      </tree>\n'},
  {path: 'my_mod/static/src/x.js', text: 'name_get()'},
];

describe('removed-API scan', () => {
  it('matches file globs by extension', () => {
    expect(matchesGlob('a/b.PY', '*.py')).toBe(true);
    expect(matchesGlob('a/b.xml', '*.py')).toBe(false);
  });

  it('applies the rules of the versions after the current one up to the target', () => {
    expect(new Set(rulesBetween('17.0', '18.0').map((r) => r.version))).toEqual(new Set(['18.0']));
    expect(new Set(rulesBetween('16.0', '18.0').map((r) => r.version))).toEqual(new Set(['17.0', '18.0']));
    expect(rulesBetween('18.0', '18.0')).toEqual([]);
    expect(REMOVED_APIS.every((r) => /^\d+\.0$/.test(r.version) && r.message && r.replacement)).toBe(true);
  });

  it('reports file:line of every use, with the replacement', () => {
    const found = scanRemovedApis(files, '16.0', '18.0');
    expect(found.map((f) => `${f.file}:${f.line} ${f.rule}`)).toEqual([
      'my_mod/models/partner.py:2 name-get-deprecated',
      'my_mod/models/partner.py:2 name-get-removed',
      'my_mod/models/partner.py:4 group-operator',
      'my_mod/views/partner.xml:4 tree-view',
      'my_mod/views/partner.xml:5 xml-attrs',
    ]);
    expect(found[0]).toMatchObject({version: '17.0', replacement: expect.stringContaining('_compute_display_name'), code: 'def name_get(self):'});
    // From 17.0 to 18.0 only the 18.0 removals count.
    expect(scanRemovedApis(files, '17.0', '18.0').map((f) => f.rule)).toEqual(['name-get-removed', 'group-operator', 'tree-view']);
  });

  it('takes extra rules (the table is extensible)', () => {
    const extra: RemovedApi = {version: '18.0', id: 'custom', pattern: /\breturn \[\]/, files: '*.py', message: 'm', replacement: 'r'};
    expect(scanRemovedApis(files, '17.0', '18.0', [extra]).map((f) => `${f.file}:${f.line}`)).toEqual(['my_mod/models/partner.py:3']);
  });
});
