import {describe, expect, it} from 'vitest';
import {ConflictError} from '../../../src/core/errors.js';
import {ImageService, type ImageInventoryPort} from '../../../src/core/release/image-service.js';
import type {EngineImage} from '../../../src/core/release/image-retention.js';

const REL = 'odoo-sh-next/acme';
const CACHE = 'odoo-sh-next-cache/acme';
const img = (id: string, parentId: string | null, tags: string[], minute: number): EngineImage =>
  ({id: `sha256:${id}`, parentId: parentId && `sha256:${parentId}`, tags, created: `2026-11-21T10:0${minute}:00.000000000Z`, size: 1});

function fakeInventory(): ImageInventoryPort & {removed: string[]} {
  const images = [
    img('c1', null, [`${CACHE}:c1`, `${REL}:111111111111`], 1),
    img('c2', null, [`${CACHE}:c2`, `${REL}:222222222222`], 2),
  ];
  const removed: string[] = [];
  return {
    removed,
    list: async () => ({images, parents: {}}),
    removeTag: async (tag) => {
      removed.push(tag);
      return {tag, removed: true};
    },
  };
}

function service(building: {id: string; type: string}[]) {
  const inventory = fakeInventory();
  const audits: Record<string, unknown>[] = [];
  const svc = new ImageService({
    project: 'acme', inventory: async () => inventory, pins: async () => [],
    audit: async (p) => void audits.push(p), activeBuilds: async () => building,
  });
  return {svc, inventory, audits};
}

describe('images prune', () => {
  it('refuses while a run builds images, naming it, and removes nothing nor audits', async () => {
    const {svc, inventory, audits} = service([{id: '42', type: 'build'}]);
    const err = await svc.prune({keep: 1, dryRun: false}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as Error).message).toMatch(/run 42, build/);
    expect(inventory.removed).toEqual([]);
    expect(audits).toEqual([]);
  });

  it('a dry run still plans while a build runs', async () => {
    const {svc, inventory} = service([{id: '42', type: 'build'}]);
    const out = await svc.prune({keep: 1, dryRun: true});
    expect(out.removed.map((r) => r.outcome)).toEqual(['would remove']);
    expect(inventory.removed).toEqual([]);
  });

  it('removes the older release image and audits once when nothing builds', async () => {
    const {svc, inventory, audits} = service([]);
    const out = await svc.prune({keep: 1, dryRun: false});
    expect(out.removed.map((r) => r.id)).toEqual(['sha256:c1']);
    expect(inventory.removed.sort()).toEqual([`${CACHE}:c1`, `${REL}:111111111111`]);
    expect(audits).toHaveLength(1);
  });
});
