import type pg from 'pg';
import {migrate, migrationStatus, type MigrateResult, type MigrationStatus} from '../store/migrate.js';
import {query} from '../store/pool.js';
import type {StateLocation} from './state-location.js';

export interface StateStatus extends MigrationStatus {
  readonly location: string;
  readonly serverVersion: string;
  readonly actor: string;
  readonly upToDate: boolean;
}

/** Migrates and describes the ops state store. */
export class StateService {
  constructor(private readonly deps: {readonly pool: pg.Pool; readonly location: StateLocation; readonly describe: string}) {}

  migrate(): Promise<MigrateResult> {
    return migrate(this.deps.pool);
  }

  async status(): Promise<StateStatus> {
    const m = await migrationStatus(this.deps.pool);
    const {rows} = await query<{version: string; actor: string}>(
      this.deps.pool,
      `select current_setting('server_version') as version,
              case when to_regprocedure('ops.current_actor()') is not null then ops.current_actor() else session_user::text end as actor`,
    );
    return {
      ...m,
      location: this.deps.describe,
      serverVersion: rows[0]?.version ?? 'unknown',
      actor: rows[0]?.actor ?? 'unknown',
      upToDate: m.pending.length === 0 && m.unknown.length === 0,
    };
  }
}
