/**
 * The JSON Schema (draft 2020-12) of the configuration FILE: what a user writes (defaults are
 * optional, secrets are `${VAR}` strings or {fromEnv}/{fromFile} objects). Generated from the zod
 * schema; committed as spec/contracts/config.schema.json by scripts/write-config-schema.ts.
 * Pure.
 */
import {z} from 'zod';
import {configSchema} from './schema.js';
import {secretJsonSchema, secretSchemas} from './schema-helpers.js';

export function configJsonSchema(): object {
  const generated = z.toJSONSchema(configSchema, {
    target: 'draft-2020-12',
    io: 'input',
    unrepresentable: (ctx) => {
      if (secretSchemas.has(ctx.zodSchema)) return secretJsonSchema();
      return 'throw';
    },
    override: (ctx) => {
      // z.int() bounds itself to the safe-integer range; that is noise in a config schema
      const json = ctx.jsonSchema as {minimum?: number; maximum?: number};
      if (json.maximum === Number.MAX_SAFE_INTEGER) delete json.maximum;
      if (json.minimum === Number.MIN_SAFE_INTEGER) delete json.minimum;
    },
  }) as Record<string, unknown>;
  const {$schema, ...rest} = generated;
  return {
    $schema,
    title: 'odoo-sh-next configuration',
    ...rest,
    description:
      'odoo-sh-next project configuration (odoo-sh-next.config.yaml). Every string value may use ${VAR} and ' +
      '${VAR:-default} (environment variables); write $${ for a literal ${.',
  };
}
