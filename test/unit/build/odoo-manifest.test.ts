import {describe, expect, it} from 'vitest';
import {parseManifest, parsePythonLiteral} from '../../../src/core/build/odoo-manifest.js';
import {configErrorMessage} from './fixtures.js';

const MANIFEST = String.raw`# -*- coding: utf-8 -*-
# Part of a test.
{
    'name': "Sale ext",   # the name
    'version': '17.0.1.0.0',
    "summary": """Multi
line""" ' and more',
    'depends': ['sale', "crm",],
    'external_dependencies': {'python': ['requests==2.31', 'phonenumbers'], 'bin': ('wkhtmltopdf',)},
    'data': [
        'views/a.xml',
    ],
    'installable': True,
    'auto_install': False,
    'sequence': -10,
    'license': u'LGPL-3',
    'pattern': r'\d+\'',
    'escapes': 'tab\there\x41\u00e9\101',
    'nothing': None,
    'ratio': 1.5e2,
    'tuple1': ('one'),
    'empty': (),
}
`;

describe('parseManifest', () => {
  it('reads the fields the build needs', () => {
    expect(parseManifest(MANIFEST, 'sale_ext/__manifest__.py')).toEqual({
      name: 'Sale ext',
      version: '17.0.1.0.0',
      depends: ['sale', 'crm'],
      externalPythonDeps: ['requests==2.31', 'phonenumbers'],
      externalBinDeps: ['wkhtmltopdf'],
      installable: true,
    });
  });

  it('evaluates every literal like ast.literal_eval', () => {
    const value = parsePythonLiteral(MANIFEST, 'm') as Record<string, unknown>;
    expect(value).toMatchObject({
      summary: 'Multi\nline and more',
      sequence: -10,
      license: 'LGPL-3',
      pattern: String.raw`\d+\'`,
      escapes: 'tab\thereAéA',
      nothing: null,
      ratio: 150,
      tuple1: 'one',
      empty: [],
      data: ['views/a.xml'],
    });
  });

  it('defaults missing fields', () => {
    expect(parseManifest("{'name': 'x'}", 'm')).toEqual({name: 'x', version: undefined, depends: [], externalPythonDeps: [], externalBinDeps: [], installable: true});
    expect(parseManifest("{'installable': False, 'external_dependencies': {}}", 'm').installable).toBe(false);
  });

  it.each<[string, string]>([
    ["{'name': _('x')}", 'm: line 1: "_" is not a literal (the manifest must be one Python literal)'],
    ["{'name': f'x'}", 'm: line 1: "f" is not a literal (the manifest must be one Python literal)'],
    ["{'name': 'x'\n 'a': 1}", 'm: line 2: expected "," or "}" (the manifest must be one Python literal)'],
    ["{'name': 'x}", 'm: line 1: unterminated string (the manifest must be one Python literal)'],
    ["{'name': 'x'} extra", 'm: line 1: unexpected text after the literal (the manifest must be one Python literal)'],
    ['{1: 2}', 'm: line 1: manifest keys must be strings (the manifest must be one Python literal)'],
    ['', 'm: line 1: unexpected end of file (the manifest must be one Python literal)'],
    ["['a']", 'm: the manifest is not a dict'],
    ["{'depends': 'sale'}", 'm: "depends" must be a list of strings'],
    ["{'external_dependencies': {'python': [1]}}", 'm: "external_dependencies.python" must be a list of strings'],
    ["{'version': 17}", 'm: "version" must be a string'],
  ])('refuses %j', (text, message) => {
    expect(configErrorMessage(() => parseManifest(text, 'm'))).toBe(message);
  });
});
