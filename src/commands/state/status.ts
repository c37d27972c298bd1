import {BaseCommand} from '../../cli/base-command.js';

export type StateStatusResult = {
  location: string; serverVersion: string; actor: string; current: number; latest: number;
  pending: number[]; unknown: number[]; upToDate: boolean;
};

export default class StateStatus extends BaseCommand<typeof StateStatus> {
  static override summary = 'Show where the state store is, its migration level and who you are there.';
  static override examples = ['<%= config.bin %> state status --json'];

  async run(): Promise<StateStatusResult> {
    const s = await (await (await this.services()).state()).status();
    this.out(`Location:  ${s.location}`);
    this.out(`Server:    PostgreSQL ${s.serverVersion}`);
    this.out(`Actor:     ${s.actor}`);
    this.out(`Migration: ${s.current} of ${s.latest}${s.upToDate ? ' (up to date)' : s.unknown.length ? ` (migrated by a newer release: ${s.unknown.join(', ')})` : ` (pending: ${s.pending.join(', ')})`}`);
    return {...s, pending: [...s.pending], unknown: [...s.unknown]};
  }
}
