import {BaseCommand} from '../../cli/base-command.js';
import {configJsonSchema} from '../../core/config/json-schema.js';

export type ConfigSchemaResult = Record<string, unknown>;

export default class ConfigSchema extends BaseCommand<typeof ConfigSchema> {
  static override summary = 'Print the JSON Schema of odoo-sh-next.config.yaml (for editor completion).';
  static override examples = ['<%= config.bin %> config schema > odoo-sh-next.schema.json'];

  async run(): Promise<ConfigSchemaResult> {
    const schema = configJsonSchema() as ConfigSchemaResult;
    this.out(JSON.stringify(schema, null, 2));
    return schema;
  }
}
