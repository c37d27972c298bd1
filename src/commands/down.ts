import {BaseCommand} from '../cli/base-command.js';

export type DownResult = {stopped: number};

export default class Down extends BaseCommand<typeof Down> {
  static override summary = "Stop every Odoo of the project and the project's PostgreSQL; data stays.";
  static override examples = ['<%= config.bin %> down'];

  async run(): Promise<DownResult> {
    const result = await (await (await this.services()).runtime()).down(this.signal);
    this.out(`Stopped ${result.stopped} Odoo instance(s) and the project infrastructure.`);
    return result;
  }
}
