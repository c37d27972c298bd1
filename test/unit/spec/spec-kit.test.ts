import {readFileSync, statSync} from 'node:fs';
import {fileURLToPath} from 'node:url';
import {describe, expect, it} from 'vitest';
import {parse} from 'yaml';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** The spec kit: each file must exist and hold real content. */
const SPEC_FILES = [
  'spec/odoo-sh-next/constitution.md',
  'spec/odoo-sh-next/prd.md',
  'spec/odoo-sh-next/plan.md',
  'spec/odoo-sh-next/tasks.md',
  'spec/odoo-sh-next/adr/0001-initial-architecture.md',
  'spec/odoo-sh-next/security/threat-model.md',
  'spec/odoo-sh-next/glossary.md',
  'spec/odoo-sh-next/openapi.yaml',
  'spec/odoo-sh-clone/constitution.md',
  'spec/odoo-sh-clone/prd.md',
  'spec/odoo-sh-clone/plan.md',
  'spec/odoo-sh-clone/tasks.md',
] as const;

const MIN_BYTES = 200;

const API_PATHS: readonly (readonly [string, string])[] = [
  ['/projects', 'post'],
  ['/envs', 'post'],
  ['/builds', 'post'],
  ['/deploys', 'post'],
  ['/promotions', 'post'],
  ['/snapshots', 'post'],
  ['/restores', 'post'],
  ['/logs/tail', 'get'],
];

function sizeOf(path: string): number {
  try {
    return statSync(`${root}${path}`).size;
  } catch {
    return -1;
  }
}

/** Every `$ref` string in a parsed document. */
function refsIn(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const item of node) refsIn(item, out);
  else if (node !== null && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') out.push(value);
      else refsIn(value, out);
    }
  }
  return out;
}

function resolvePointer(doc: unknown, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  return ref
    .slice(2)
    .split('/')
    .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce<unknown>((node, key) => (node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined), doc);
}

describe('spec kit', () => {
  it.each(SPEC_FILES)('%s exists and is not empty', (path) => {
    const size = sizeOf(path);
    expect(size, `${path} is missing`).toBeGreaterThanOrEqual(0);
    expect(size, `${path} has ${size} bytes, expected at least ${MIN_BYTES}`).toBeGreaterThanOrEqual(MIN_BYTES);
  });

  describe('openapi.yaml', () => {
    const doc = parse(readFileSync(`${root}spec/odoo-sh-next/openapi.yaml`, 'utf8')) as {
      openapi?: unknown;
      info?: {title?: unknown; version?: unknown; description?: unknown};
      paths?: Record<string, Record<string, {responses?: Record<string, unknown>}>>;
      components?: {schemas?: Record<string, unknown>; securitySchemes?: Record<string, {scheme?: unknown}>};
    };

    it('is OpenAPI 3.x with a title and a version', () => {
      expect(String(doc.openapi)).toMatch(/^3\./);
      expect(typeof doc.info?.title).toBe('string');
      expect(typeof doc.info?.version).toBe('string');
    });

    it('says the HTTP server is not built yet', () => {
      expect(String(doc.info?.description)).toMatch(/not built yet/i);
    });

    it.each(API_PATHS)('defines %s (%s)', (path, method) => {
      const operation = doc.paths?.[path]?.[method];
      expect(operation, `${method.toUpperCase()} ${path} is missing`).toBeDefined();
      expect(Object.keys(operation?.responses ?? {})).not.toHaveLength(0);
    });

    it('answers 202 with a queued run on every POST', () => {
      for (const [path, method] of API_PATHS.filter(([, m]) => m === 'post')) {
        expect(doc.paths?.[path]?.[method]?.responses?.['202'], `POST ${path}`).toBeDefined();
      }
    });

    it('defines Run, Environment and Error schemas and bearer JWT auth', () => {
      for (const name of ['Run', 'Environment', 'Error']) expect(doc.components?.schemas?.[name], name).toBeDefined();
      expect(doc.components?.securitySchemes?.['bearerAuth']?.scheme).toBe('bearer');
    });

    it('has no dangling $ref', () => {
      const dangling = refsIn(doc).filter((ref) => resolvePointer(doc, ref) === undefined);
      expect(dangling).toEqual([]);
    });
  });
});
