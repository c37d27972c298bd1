import {describe, expect, it} from 'vitest';
import {UsageError} from '../../../src/core/errors.js';
import {IN_PROGRESS, planImageRetention, type EngineImage, type ImagePin, type RetentionPlan} from '../../../src/core/release/image-retention.js';
import {fixedCreated} from '../../../src/providers/docker/image-inventory.js';

const P = 'acme';
const REL = `odoo-sh-next/${P}`;
const CACHE = `odoo-sh-next-cache/${P}`;

function img(id: string, parentId: string | null, tags: string[], minute: number, size = 100): EngineImage {
  return {id: `sha256:${id}`, parentId: parentId === null ? null : `sha256:${parentId}`, tags, created: `2026-11-21T10:${String(minute).padStart(2, '0')}:00.000000000Z`, size};
}

/**
 * Three builds on base image `base` (outside the project): the addons-a layer `a` is shared (same
 * key), each build has its own addons-b layer `bN` and config layer `cN`; the config layer's image
 * is the release image (cache tag + release tags). Each layer build leaves an untagged intermediate
 * (`iN`), known only from the parents map.
 */
function threeBuilds(): {images: EngineImage[]; parents: Record<string, string>} {
  const images = [
    img('a', 'ia', [`${CACHE}:aaaa`], 1),
    img('b1', 'ib1', [`${CACHE}:b1b1`], 2), img('c1', 'ic1', [`${CACHE}:c1c1`, `${REL}:111111111111`, `${REL}:20261121-100300`], 3),
    img('b2', 'ib2', [`${CACHE}:b2b2`], 4), img('c2', 'ic2', [`${CACHE}:c2c2`, `${REL}:222222222222`, `${REL}:20261121-100500`], 5),
    img('b3', 'ib3', [`${CACHE}:b3b3`], 6), img('c3', 'ic3', [`${CACHE}:c3c3`, `${REL}:333333333333`, `${REL}:20261121-100700`, `${REL}:latest`], 7),
  ];
  const parents: Record<string, string> = {
    'sha256:ia': 'sha256:base', 'sha256:ib1': 'sha256:a', 'sha256:ic1': 'sha256:b1', 'sha256:ib2': 'sha256:a',
    'sha256:ic2': 'sha256:b2', 'sha256:ib3': 'sha256:a', 'sha256:ic3': 'sha256:b3', 'sha256:base': 'sha256:base-parent',
  };
  return {images, parents};
}

const ids = (list: RetentionPlan['kept']) => list.map((i) => i.id.replace('sha256:', ''));
const why = (plan: RetentionPlan) => Object.fromEntries(plan.kept.map((i) => [i.id.replace('sha256:', ''), i.reasons]));

describe('image retention plan', () => {
  it('keeps the newest N release images with their whole parent chain, removes the rest children first', () => {
    const plan = planImageRetention({project: P, ...threeBuilds(), pins: [], keep: 1});
    expect(ids(plan.kept)).toEqual(['c3', 'b3', 'a']);
    expect(why(plan)).toEqual({c3: ['newest 1'], b3: ['layer of a kept image'], a: ['layer of a kept image']});
    expect(ids(plan.removed)).toEqual(['c2', 'c1', 'b2', 'b1']);
    expect(plan.removed.map((i) => i.kind)).toEqual(['release', 'release', 'cache', 'cache']);
    expect(plan.removed[0]!.tags).toEqual([`${CACHE}:c2c2`, `${REL}:20261121-100500`, `${REL}:222222222222`]);
    expect(plan.removed.every((i) => !i.keep && i.reasons.length === 0)).toBe(true);
  });

  it('an image in use and a rollback target stay with their layers, whatever N', () => {
    const pins: ImagePin[] = [
      {image: 'sha256:c1', env: 'production', kind: 'in-use', release: 'r-1'},
      {image: 'sha256:c2', env: 'production', kind: 'rollback', release: 'r-2'},
    ];
    const plan = planImageRetention({project: P, ...threeBuilds(), pins, keep: 0});
    expect(why(plan)).toEqual({
      c2: ['rollback target of production'], b2: ['layer of a kept image'],
      c1: ['in use by production'], b1: ['layer of a kept image'], a: ['layer of a kept image'],
    });
    expect(ids(plan.removed)).toEqual(['c3', 'b3']);
    expect(plan.missingPins).toEqual([]);
  });

  it('N newest is by creation time; an image that is also in use gets both reasons', () => {
    const plan = planImageRetention({project: P, ...threeBuilds(), pins: [{image: 'c3', env: 'staging', kind: 'in-use'}], keep: 2});
    expect(why(plan)['c3']).toEqual(['in use by staging', 'newest 2']);
    expect(why(plan)['c2']).toEqual(['newest 2']);
    expect(ids(plan.removed)).toEqual(['c1', 'b1']);
  });

  it('an image is planned once, with every project tag (release and cache tags of one image)', () => {
    const plan = planImageRetention({project: P, ...threeBuilds(), pins: [], keep: 5});
    expect(plan.removed).toEqual([]);
    const c3 = plan.kept.find((i) => i.id === 'sha256:c3')!;
    expect(c3.kind).toBe('release');
    expect(c3.tags).toEqual([`${CACHE}:c3c3`, `${REL}:20261121-100700`, `${REL}:333333333333`, `${REL}:latest`]);
    expect(plan.kept).toHaveLength(7);
  });

  it('a pin can name the image by a tag; a pin whose image is gone is reported', () => {
    const pins: ImagePin[] = [
      {image: `${REL}:111111111111`, env: 'production', kind: 'in-use'},
      {image: 'sha256:gone', env: 'staging', kind: 'in-use', release: 'r-9'},
    ];
    const plan = planImageRetention({project: P, ...threeBuilds(), pins, keep: 0});
    expect(why(plan)['c1']).toEqual(['in use by production']);
    expect(plan.missingPins).toEqual([pins[1]]);
  });

  it('never plans anything outside the project repositories, nor removes other tags', () => {
    const {images, parents} = threeBuilds();
    images.push(
      img('base', 'base-parent', ['odoo-sh-next-test/odoo:17.0'], 0),
      img('other', null, ['odoo-sh-next/acme-2:444444444444', 'odoo-sh-next-cache/acme-2:dddd', 'odoo-sh-next/acmex:1'], 0),
      img('x', null, ['odoo-sh-next/other:acme', 'acme:latest'], 0),
    );
    images[2] = {...images[2]!, tags: [...images[2]!.tags, 'registry.example.com/team/odoo:prod']};
    const plan = planImageRetention({project: P, images, parents, pins: [], keep: 1});
    const all = [...plan.kept, ...plan.removed];
    expect(all.map((i) => i.id).sort()).toEqual(['a', 'b1', 'b2', 'b3', 'c1', 'c2', 'c3'].map((i) => `sha256:${i}`));
    const c1 = plan.removed.find((i) => i.id === 'sha256:c1')!;
    expect(c1.otherTags).toEqual(['registry.example.com/team/odoo:prod']);
    expect(c1.tags.every((t) => t.startsWith(`${REL}:`) || t.startsWith(`${CACHE}:`))).toBe(true);
    for (const i of all) for (const t of i.tags) expect(t.startsWith(`${REL}:`) || t.startsWith(`${CACHE}:`)).toBe(true);
  });

  it('walks parents given on the images themselves and survives a cycle', () => {
    const images = [img('x1', 'x0', [`${CACHE}:x1`], 1), img('x0', 'x1', [`${CACHE}:x0`], 0), img('r', 'x1', [`${REL}:r`], 2)];
    const plan = planImageRetention({project: P, images, pins: [], keep: 1});
    expect(why(plan)).toEqual({r: ['newest 1'], x1: ['layer of a kept image'], x0: ['layer of a kept image']});
  });

  it('keeps cache layers newer than every release image (a build may be running on them), prunes older orphans', () => {
    const {images, parents} = threeBuilds();
    images.push(img('orphan-old', 'ia', [`${CACHE}:old0`], 2), img('orphan-new', 'ia', [`${CACHE}:new0`], 8));
    const plan = planImageRetention({project: P, images, parents, pins: [], keep: 1});
    expect(why(plan)['orphan-new']).toEqual([IN_PROGRESS]);
    expect(ids(plan.removed)).toContain('orphan-old');
    expect(ids(plan.kept)).toEqual(['orphan-new', 'c3', 'b3', 'a']);
  });

  it('refuses a negative or fractional keep', () => {
    expect(() => planImageRetention({project: P, images: [], pins: [], keep: -1})).toThrow(UsageError);
    expect(() => planImageRetention({project: P, images: [], pins: [], keep: 1.5})).toThrow(/invalid keep 1.5/);
  });

  it('creation times from the engine sort as strings once their fractions are padded', () => {
    expect(fixedCreated('2026-11-21T19:03:20.5Z')).toBe('2026-11-21T19:03:20.500000000Z');
    expect(fixedCreated('2026-11-21T19:03:20Z')).toBe('2026-11-21T19:03:20.000000000Z');
    expect(fixedCreated('2026-11-21T19:03:20.996605796Z') > fixedCreated('2026-11-21T19:03:20.99Z')).toBe(true);
  });
});
