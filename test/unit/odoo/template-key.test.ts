import {describe, expect, it} from 'vitest';
import {templateDatabaseName, templateKey, type TemplateKeyInput} from '../../../src/core/odoo/template-key.js';

const base: TemplateKeyInput = {
  odooVersion: '17.0',
  modules: ['sale', 'crm'],
  demo: false,
  fileHashes: {'sale/__manifest__.py': 'aa', 'crm/__manifest__.py': 'bb'},
};

describe('templateKey', () => {
  it('is 64 hex digits and stable', () => {
    const k = templateKey(base);
    expect(k).toMatch(/^[0-9a-f]{64}$/);
    expect(templateKey({...base})).toBe(k);
  });

  it('ignores the order of modules and files, and duplicate modules', () => {
    const k = templateKey(base);
    expect(templateKey({...base, modules: ['crm', 'sale', 'crm']})).toBe(k);
    expect(templateKey({...base, fileHashes: {'crm/__manifest__.py': 'bb', 'sale/__manifest__.py': 'aa'}})).toBe(k);
  });

  it.each<[string, Partial<TemplateKeyInput>]>([
    ['version', {odooVersion: '18.0'}],
    ['modules', {modules: ['sale']}],
    ['demo', {demo: true}],
    ['a file hash', {fileHashes: {...base.fileHashes, 'sale/__manifest__.py': 'ab'}}],
    ['a new file', {fileHashes: {...base.fileHashes, 'sale/data/x.xml': 'cc'}}],
    ['a renamed file', {fileHashes: {'sale/__manifest__.py': 'aa', 'crm/__openerp__.py': 'bb'}}],
  ])('changes with %s', (_what, change) => {
    expect(templateKey({...base, ...change})).not.toBe(templateKey(base));
  });

  it('names the template database tpl_<16 hex>', () => {
    const k = templateKey(base);
    expect(templateDatabaseName(k)).toBe(`tpl_${k.slice(0, 16)}`);
    expect(() => templateDatabaseName('nope')).toThrow(TypeError);
  });
});
