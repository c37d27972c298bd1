import {stringify} from 'yaml';
import {BaseCommand} from '../../cli/base-command.js';
import {redact} from '../../core/secret.js';

export type ConfigShowResult = Record<string, unknown>;

export default class ConfigShow extends BaseCommand<typeof ConfigShow> {
  static override summary = 'Print the resolved configuration (defaults applied, variables interpolated, secrets redacted).';
  static override examples = ['<%= config.bin %> config show', '<%= config.bin %> config show --json'];

  async run(): Promise<ConfigShowResult> {
    const config = redact(await (await this.services()).config()) as unknown as ConfigShowResult;
    this.out(stringify(config).trimEnd());
    return config;
  }
}
