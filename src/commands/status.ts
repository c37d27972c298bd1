import {BaseCommand} from '../cli/base-command.js';
import type {RuntimeStatus} from '../core/environments/runtime-service.js';

export type StatusResult = RuntimeStatus;

export default class Status extends BaseCommand<typeof Status> {
  static override summary = 'Show the project runtime: environments and their Odoo instances.';
  static override examples = ['<%= config.bin %> status --json'];

  async run(): Promise<StatusResult> {
    const status = await (await (await this.services()).runtime()).status(this.signal);
    this.out(`Provider:   ${status.provider}`);
    this.out(`PostgreSQL: ${status.infrastructure.postgres.host}:${status.infrastructure.postgres.port} (running)`);
    if (status.infrastructure.router) this.out(`Router:     ${status.infrastructure.router.url}`);
    this.table(status.environments.map((e) => ({
      name: e.name, type: e.type, status: e.status, url: e.url,
      odoo: e.instances.map((i) => `${i.state}${i.routed ? '*' : ''}`).join(',') || '-',
    })), ['name', 'type', 'status', 'url', 'odoo']);
    return status;
  }
}
