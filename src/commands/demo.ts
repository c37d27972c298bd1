import {Flags} from '@oclif/core';
import {existsSync} from 'node:fs';
import {fileURLToPath} from 'node:url';
import {BaseCommand} from '../cli/base-command.js';
import {createServices} from '../cli/services.js';
import {runDemo, type DemoResult} from '../core/demo/demo-service.js';
import {UsageError} from '../core/errors.js';

export type DemoCommandResult = DemoResult;

const STANDIN = fileURLToPath(new URL('../../test/fixtures/odoo-standin/odoo-bin', import.meta.url));

export default class Demo extends BaseCommand<typeof Demo> {
  static override summary = 'Run the main job on a sample project: two previews up, checked, listed and torn down.';
  static override description = 'Uses the Odoo stand-in of the test fixtures unless --odoo-bin points at a real odoo-bin.';
  static override examples = ['<%= config.bin %> demo', '<%= config.bin %> demo --odoo-bin ~/src/odoo/odoo-bin --keep'];
  static override flags = {
    'odoo-bin': Flags.string({summary: 'odoo-bin to run (default: the Odoo stand-in from test/fixtures).'}),
    keep: Flags.boolean({summary: 'Keep the temporary project folder.', default: false}),
  };

  async run(): Promise<DemoCommandResult> {
    const odooBin = this.flags['odoo-bin'] ?? STANDIN;
    if (!existsSync(odooBin)) throw new UsageError(`no odoo-bin at ${odooBin}`, {actions: ['pass --odoo-bin PATH (a checkout of the repository has the stand-in)']});
    const {events} = await this.services();
    const result = await runDemo({
      odooBin, keep: this.flags.keep, events, signal: this.signal,
      servicesFor: (cwd) => createServices({
        cwd, logLevel: this.flags['log-level'], json: this.jsonEnabled(), signal: this.signal,
        stderr: (line) => process.stderr.write(`${line}\n`), warn: (m) => this.warn(m),
      }),
    });
    for (const p of result.previews) this.out(`${p.branch}: ${p.url} (health ${p.health}, login ${p.login})`);
    this.out(`Demo finished: ${result.previews.length} previews up, checked and torn down.`);
    return result;
  }
}
