import {readFile} from 'node:fs/promises';
import {fileURLToPath} from 'node:url';
import {afterEach, describe, expect, it} from 'vitest';
import {configJsonSchema} from '../../../src/core/config/json-schema.js';
import {loadConfig} from '../../../src/core/config/load-config.js';
import {starterConfig} from '../../../src/core/config/starter-config.js';
import {UsageError} from '../../../src/core/errors.js';
import {tempProject, type TempProject} from './temp-project.js';

let project: TempProject | undefined;
afterEach(async () => {
  await project?.cleanup();
  project = undefined;
});

describe('starterConfig', () => {
  it.each(['local', 'docker-local', 'ssh-host', 'k8s'] as const)('the %s starter loads cleanly', async (provider) => {
    const yaml = starterConfig({project: 'my-shop', provider});
    expect(yaml).toMatch(/^# /);
    project = await tempProject({'odoo-sh-next.config.yaml': yaml});
    const config = await loadConfig({cwd: project.dir, env: {}});
    expect(config.project).toBe('my-shop');
    expect(config.provider.name).toBe(provider);
    expect(config.odoo.version).toBe('17.0');
    expect(config.branches.map((rule) => rule.pattern)).toEqual(['main', 'release/*', 'feature/*', '**']);
    if (provider === 'local') {
      expect(yaml).toContain('# bin: ./odoo/odoo-bin');
      expect(config.odoo.bin).toBeUndefined();
    } else {
      expect(yaml).toContain('image: "odoo:17.0"');
    }
  });

  it('writes the given odoo-bin and version', async () => {
    const yaml = starterConfig({project: 'shop', provider: 'local', odooBin: '../odoo 18/odoo-bin', odooVersion: '18'});
    project = await tempProject({'odoo-sh-next.config.yaml': yaml});
    const config = await loadConfig({cwd: project.dir, env: {}});
    expect(config.odoo.version).toBe('18.0');
    expect(config.odoo.bin?.endsWith('/odoo 18/odoo-bin')).toBe(true);
  });

  it('comments every section', () => {
    const yaml = starterConfig({project: 'shop', provider: 'docker-local'});
    for (const section of ['odoo', 'provider', 'postgres', 'router', 'state', 'branches', 'backups', 'masking', 'policies']) {
      const at = yaml.indexOf(`\n${section}:`);
      expect(at, section).toBeGreaterThan(0);
      expect(yaml.slice(0, at).trimEnd().split('\n').at(-1), section).toMatch(/^#/);
    }
  });

  it('refuses a bad project name or version', () => {
    expect(() => starterConfig({project: 'My Shop', provider: 'local'})).toThrow(UsageError);
    expect(() => starterConfig({project: 'shop', provider: 'local', odooVersion: '15.0'})).toThrow(UsageError);
  });
});

interface SchemaNode {
  $schema?: string;
  type?: string;
  const?: unknown;
  description?: string;
  required?: string[];
  additionalProperties?: unknown;
  properties: Record<string, SchemaNode>;
  oneOf: SchemaNode[];
  anyOf: SchemaNode[];
}

describe('configJsonSchema', () => {
  it('is a JSON Schema of the file format', () => {
    const parsed = JSON.parse(JSON.stringify(configJsonSchema())) as SchemaNode;
    expect(parsed.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(parsed.properties.project).toMatchObject({type: 'string', description: expect.any(String)});
    expect(parsed.required).toEqual(['project']);
    expect(parsed.additionalProperties).toBe(false);
    // input side: defaults are optional, durations are strings, secrets accept ${VAR} / {fromEnv} / {fromFile}
    expect(parsed.properties.state!.properties.eventRetention).toMatchObject({type: 'string', default: '30d'});
    const s3 = parsed.properties.backups!.properties.storage!.oneOf.find((o) => o.properties.type!.const === 's3');
    const key = s3!.properties.secretAccessKey!;
    expect(key.description).toBeTruthy();
    expect(key.anyOf.map((o) => o.type)).toEqual(['string', 'object', 'object']);
    expect(JSON.stringify(key)).toContain('fromFile');
  });

  it('matches the committed spec/contracts/config.schema.json (run node --import tsx scripts/write-config-schema.ts)', async () => {
    const file = fileURLToPath(new URL('../../../spec/contracts/config.schema.json', import.meta.url));
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual(configJsonSchema());
  });
});
