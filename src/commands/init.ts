import {Flags} from '@oclif/core';
import {BaseCommand} from '../cli/base-command.js';
import {writeStarterConfig} from '../core/project/project-init.js';
import {PROVIDER_NAMES} from '../core/config/schema-sections.js';

export type InitResult = {
  configFile: string;
  project: string;
  provider: string;
  projectId?: string;
  state: {prepared: boolean; location?: string; migration?: number; reason?: string};
};

export default class Init extends BaseCommand<typeof Init> {
  static override summary = 'Write a commented starter configuration and prepare the state store.';
  static override examples = [
    '<%= config.bin %> init',
    '<%= config.bin %> init --project shop --odoo-bin ./odoo/odoo-bin',
    '<%= config.bin %> init --provider docker-local --force',
  ];
  static override flags = {
    provider: Flags.option({options: PROVIDER_NAMES, default: 'local' as const, summary: 'Runtime provider.'})(),
    project: Flags.string({summary: 'Project name (default: derived from the folder name).'}),
    'odoo-bin': Flags.string({summary: 'Path to odoo-bin (local provider).'}),
    'odoo-version': Flags.string({summary: 'Odoo version: 16.0, 17.0 or 18.0.'}),
    force: Flags.boolean({summary: 'Replace an existing configuration file.'}),
  };

  async run(): Promise<InitResult> {
    const services = await this.services();
    const written = await writeStarterConfig({
      cwd: services.cwd, project: this.flags.project, provider: this.flags.provider,
      odooBin: this.flags['odoo-bin'], odooVersion: this.flags['odoo-version'], force: this.flags.force,
    });
    this.out(`Wrote ${written.configFile}`);
    const config = await services.config();
    if (!config.state.url && config.provider.name !== 'local') {
      const reason = `provider ${config.provider.name} needs state.url; set it, then run \`odoo-sh-next state migrate\``;
      this.warn(reason);
      return {...written, provider: config.provider.name, state: {prepared: false, reason}};
    }
    const state = await services.state();
    const migrated = await state.migrate();
    const projectId = await services.projectId();
    const status = await state.status();
    this.out(`State store ready: ${status.location}, migration ${migrated.current}; project "${written.project}" (${projectId})`);
    return {...written, provider: config.provider.name, projectId, state: {prepared: true, location: status.location, migration: migrated.current}};
  }
}
