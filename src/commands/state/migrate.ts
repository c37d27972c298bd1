import {BaseCommand} from '../../cli/base-command.js';

export type StateMigrateResult = {applied: number[]; current: number; latest: number; location: string};

export default class StateMigrate extends BaseCommand<typeof StateMigrate> {
  static override summary = 'Apply pending migrations of the ops state schema.';
  static override examples = ['<%= config.bin %> state migrate'];

  async run(): Promise<StateMigrateResult> {
    const state = await (await this.services()).state();
    const result = await state.migrate();
    const {location} = await state.status();
    this.out(result.applied.length
      ? `Applied migrations ${result.applied.join(', ')}; ${location} is at ${result.current}`
      : `Nothing to apply; ${location} is at ${result.current}`);
    return {applied: [...result.applied], current: result.current, latest: result.latest, location};
  }
}
