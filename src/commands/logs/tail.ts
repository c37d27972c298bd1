import {Flags} from '@oclif/core';
import {BaseCommand} from '../../cli/base-command.js';
import {envFlag} from '../../cli/flags.js';

export type LogsTailResult = {env: string; lines: string[]};

export default class LogsTail extends BaseCommand<typeof LogsTail> {
  static override summary = "Print an environment's Odoo log; --follow keeps streaming.";
  static override examples = ['<%= config.bin %> logs tail --env feature-login-1a2b3c4d --follow'];
  static override flags = {
    env: envFlag({required: true}),
    follow: Flags.boolean({char: 'f', summary: 'Keep streaming new lines (Ctrl-C to stop).'}),
    lines: Flags.integer({char: 'n', summary: 'Start with the last N lines.', default: 100, min: 0}),
  };

  async run(): Promise<LogsTailResult> {
    const runtime = await (await this.services()).runtime();
    const lines: string[] = [];
    try {
      for await (const line of await runtime.logs(this.flags.env, {follow: this.flags.follow, tail: this.flags.lines}, this.signal)) {
        if (this.jsonEnabled()) lines.push(line);
        else process.stdout.write(`${line}\n`);
      }
    } catch (err) {
      if (!this.signal.aborted) throw err; // Ctrl-C ends --follow normally
    }
    return {env: this.flags.env, lines};
  }
}
