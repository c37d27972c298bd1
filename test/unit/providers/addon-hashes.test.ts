import {mkdtemp, mkdir, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {addonFileHashes, manifestDepends} from '../../../src/providers/local/addon-hashes.js';

describe('manifestDepends', () => {
  it('reads the depends list of a manifest', () => {
    expect(manifestDepends(`{'name': 'Sale', 'depends': ['base', "mail",\n 'product'], 'data': []}`)).toEqual(['base', 'mail', 'product']);
    expect(manifestDepends(`{"name": "X", "depends": ("web",)}`)).toEqual(['web']);
    expect(manifestDepends(`{'name': 'Base'}`)).toEqual([]);
  });
});

describe('addonFileHashes', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'addon-hashes-'));
    const mod = async (name: string, manifest: string, files: Record<string, string> = {}) => {
      await mkdir(join(dir, 'addons', name), {recursive: true});
      await writeFile(join(dir, 'addons', name, '__manifest__.py'), manifest);
      for (const [f, text] of Object.entries(files)) {
        await mkdir(join(dir, 'addons', name, f, '..'), {recursive: true});
        await writeFile(join(dir, 'addons', name, f), text);
      }
    };
    await mod('base', `{'name': 'Base'}`);
    await mod('shop', `{'depends': ['base', 'ghost']}`, {'data/views.xml': '<odoo/>', 'static/x.js': 'x', '__pycache__/m.pyc': 'c', 'models.py': 'x = 1'});
    await mod('unrelated', `{'depends': ['base']}`);
  });
  afterAll(() => rm(dir, {recursive: true, force: true}));

  it('hashes the dependency closure, skipping static and caches, marking unknown modules', async () => {
    const hashes = await addonFileHashes({addonsPaths: [join(dir, 'addons')], modules: ['shop']});
    expect(Object.keys(hashes).sort()).toEqual(['base/__manifest__.py', 'ghost', 'shop/__manifest__.py', 'shop/data/views.xml', 'shop/models.py']);
    expect(hashes['ghost']).toBe('unresolved');
    expect(hashes['shop/models.py']).toMatch(/^[0-9a-f]{64}$/);
  });
});
