import {createHash} from 'node:crypto';
import {ConfigError} from '../../../src/core/errors.js';
import type {BuildGraphInput} from '../../../src/core/build/build-graph-plan.js';
import type {SourceFile} from '../../../src/core/build/layer-key.js';

export const sha = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');
export const file = (path: string, content: string, mode = 0o644): SourceFile => ({path, sha256: sha(content), mode});

export const GIT_COMMIT = 'abc1234def5678abc1234def5678abc1234def56';
export const BASE_DIGEST = `sha256:${'1'.repeat(64)}`;

/** Three sources (two folders and one git repository), three addons, requirements in two of them. */
export function graphInput(): BuildGraphInput {
  return {
    baseImage: {name: 'odoo:17.0', digest: BASE_DIGEST},
    odooVersion: '17.0',
    sources: [
      {
        kind: 'path',
        path: './addons',
        files: [
          file('sale_ext/__manifest__.py', "{'name': 'Sale ext'}"),
          file('sale_ext/models/sale.py', 'x = 1'),
          file('sale_ext/requirements.txt', 'requests==2.31\n'),
        ],
      },
      {
        kind: 'git',
        url: 'https://github.com/x/y',
        commit: GIT_COMMIT,
        subdir: 'z',
        files: [file('crm_ext/__manifest__.py', "{'name': 'CRM ext'}"), file('crm_ext/bin/tool', '#!/bin/sh', 0o100755)],
      },
      {kind: 'path', path: './more', files: [file('stock_ext/__manifest__.py', "{'name': 'Stock ext'}")]},
    ],
    addons: [
      {name: 'sale_ext', source: 0, manifestVersion: '17.0.1.0.0', depends: ['sale'], externalPythonDeps: [], requirementsTxt: 'requests==2.31\n'},
      {name: 'crm_ext', source: 1, manifestVersion: '1.0', depends: ['crm'], externalPythonDeps: ['phonenumbers==8.13.0']},
      {name: 'stock_ext', source: 2, depends: ['stock'], externalPythonDeps: []},
    ],
    odooConfigText: '[options]\naddons_path = /opt/odoo-sh/addons\n',
  };
}

/** The message of the ConfigError `fn` throws (fails on any other outcome). */
export function configErrorMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error('no error thrown');
}
