import {query, type Queryable} from '../pool.js';

/** Deletes run events older than `olderThanMs` in the projects the actor administers. */
export async function pruneEvents(db: Queryable, olderThanMs: number): Promise<number> {
  const {rows} = await query<{count: string}>(db, 'select ops.prune_events(make_interval(secs => $1::double precision / 1000)) as count', [olderThanMs]);
  return Number(rows[0]?.count ?? 0);
}

/** Deletes run logs (artifacts of kind 'log') older than `olderThanMs` in the projects the actor administers. */
export async function pruneRunLogs(db: Queryable, olderThanMs: number): Promise<number> {
  const {rows} = await query<{count: string}>(db, 'select ops.prune_run_logs(make_interval(secs => $1::double precision / 1000)) as count', [olderThanMs]);
  return Number(rows[0]?.count ?? 0);
}
