import {query, type Queryable} from '../pool.js';
import type {Lease} from './lease.js';

export interface AppendEventParams {
  readonly runId: string;
  readonly level: string;
  readonly message: string;
  readonly payload: Readonly<Record<string, unknown>>;
  readonly phase: string | null;
  /** A worker's lease fences the write; without it the caller needs the developer role. */
  readonly lease: Lease | null;
}

/** Appends a run event (NOTIFY ops_run_<id>); returns its id. */
export async function appendEvent(db: Queryable, p: AppendEventParams): Promise<string> {
  const {rows} = await query<{id: string}>(db, 'select ops.append_event($1, $2, $3, $4, $5, $6, $7) as id', [
    p.runId, p.level, p.message, p.payload, p.phase, p.lease?.workerId ?? null, p.lease?.attempt ?? null,
  ]);
  return rows[0]!.id;
}
