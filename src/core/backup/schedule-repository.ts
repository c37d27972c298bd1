/** The backup slots of ops.backup_slots (000008.sql) as typed calls, bound to one project. */
import type {Queryable} from '../store/pool.js';
import {query} from '../store/pool.js';

export class ScheduleRepository {
  constructor(
    private readonly db: Queryable,
    private readonly projectId: string,
  ) {}

  /** The latest fired slot of each environment that ever fired one. */
  async lastFired(): Promise<Map<string, Date>> {
    const {rows} = await query<{env: string; slot: Date}>(
      this.db,
      'select s.env, max(s.slot) as slot from ops.backup_slots s where s.project_id = $1 group by s.env',
      [this.projectId],
    );
    return new Map(rows.map((r) => [r.env, r.slot]));
  }

  /** Environments that exist and are up (a schedule for anything else waits). */
  async activeEnvironments(): Promise<Set<string>> {
    const {rows} = await query<{name: string}>(
      this.db,
      `select e.name from ops.environments e where e.project_id = $1 and e.status = 'active'`,
      [this.projectId],
    );
    return new Set(rows.map((r) => r.name));
  }

  /** True for the first caller only, whatever the number of concurrent callers. */
  async claim(env: string, slot: Date): Promise<boolean> {
    const {rows} = await query<{claimed: boolean}>(this.db, 'select ops.claim_backup_slot($1, $2, $3) as claimed', [this.projectId, env, slot]);
    return rows[0]?.claimed === true;
  }

  async attachRun(env: string, slot: Date, runId: string): Promise<void> {
    await query(this.db, 'select ops.attach_backup_slot_run($1, $2, $3, $4)', [this.projectId, env, slot, runId]);
  }

  /** Gives back a claimed slot whose run could not be queued. */
  async release(env: string, slot: Date): Promise<boolean> {
    const {rows} = await query<{released: boolean}>(this.db, 'select ops.release_backup_slot($1, $2, $3) as released', [this.projectId, env, slot]);
    return rows[0]?.released === true;
  }
}
