import {describe, expect, it} from 'vitest';
import {addonsDirFor} from '../../../src/core/build/addon-sources.js';
import {planBuildGraph} from '../../../src/core/build/build-graph-plan.js';
import {
  cacheRepository, imageRepository, layerCacheTag, renderImageOdooConfig, renderLayerDockerfile,
} from '../../../src/core/build/dockerfile-plan.js';
import {graphInput} from './fixtures.js';

const FROM = `sha256:${'2'.repeat(64)}`;

describe('one build per layer', () => {
  const graph = planBuildGraph(graphInput());
  const byKind = (kind: string) => graph.layers.find((l) => l.kind === kind)!;

  it('an addons layer: FROM the previous image, ADD its tar, labels with the full key', () => {
    const layer = byKind('addons');
    expect(renderLayerDockerfile(layer, {from: FROM, baseUser: 'odoo', project: 'shop', last: false})).toBe([
      `FROM ${FROM}`,
      `LABEL odoo-sh.layer-key="${layer.key}" odoo-sh.managed="true" odoo-sh.project="shop"`,
      'ADD layer.tar /',
      '',
    ].join('\n'));
  });

  it('the python-deps layer runs pip as root and gives the image back to the base user', () => {
    const text = renderLayerDockerfile(byKind('python-deps'), {from: FROM, baseUser: 'odoo', project: 'shop', last: false});
    expect(text.split('\n').slice(2, 6)).toEqual([
      'ADD layer.tar /',
      'USER root',
      'RUN ["env","PIP_BREAK_SYSTEM_PACKAGES=1","PIP_DISABLE_PIP_VERSION_CHECK=1","PIP_NO_CACHE_DIR=1","PIP_NO_INPUT=1","PIP_ROOT_USER_ACTION=ignore","SOURCE_DATE_EPOCH=0","python3","-m","pip","install","--no-cache-dir","--requirement","/opt/odoo-sh/requirements.txt"]',
      'USER odoo',
    ]);
    expect(renderLayerDockerfile(byKind('python-deps'), {from: FROM, baseUser: '', project: 'shop', last: false})).toMatch(/\nUSER root\n$/);
  });

  it('the last layer sets ODOO_RC and the build key label', () => {
    const layer = graph.layers.at(-1)!;
    const text = renderLayerDockerfile(layer, {from: FROM, baseUser: 'odoo', project: 'shop', last: true});
    expect(text).toContain('ENV ODOO_RC=/etc/odoo/odoo.conf\n');
    expect(text).toContain(`odoo-sh.build-key="${layer.key}"`);
    const paths = graphInput().sources.map(addonsDirFor);
    expect(renderLayerDockerfile(layer, {from: FROM, baseUser: 'odoo', project: 'shop', last: true, addonsPath: paths}))
      .toContain(` odoo-sh.addons-path="${paths.join(',')}"\nADD`);
  });

  it('the base layer is never built', () => {
    expect(() => renderLayerDockerfile(graph.layers[0]!, {from: FROM, baseUser: '', project: 'shop', last: false})).toThrow(/not built/);
  });

  it('cache and release repositories, cache tags', () => {
    expect(cacheRepository('shop')).toBe('odoo-sh-next-cache/shop');
    expect(imageRepository('shop')).toBe('odoo-sh-next/shop');
    expect(layerCacheTag('shop', {key: 'ab'.repeat(32)})).toBe(`odoo-sh-next-cache/shop:${'ab'.repeat(12)}`);
  });

  it('the image Odoo config lists the sources in config order, without secrets', () => {
    const paths = graphInput().sources.map(addonsDirFor);
    expect(renderImageOdooConfig(paths).split('\n').slice(1)).toEqual(['[options]', `addons_path = ${paths.join(',')}`, 'data_dir = /var/lib/odoo', '']);
    expect(renderImageOdooConfig([])).not.toContain('addons_path');
  });
});
