/**
 * Masking rewrites most rows of a table, and a rewritten row whose indexed columns change (or that
 * no longer fits its page, as on a freshly restored clone) gets a new entry in EVERY index of the
 * table, inserted one by one in random order. On a large table it is much faster to drop the
 * table's plain indexes, run the UPDATE and build them again from sorted input (inside the same
 * transaction, so a failure leaves them as they were). Only plain indexes are dropped: unique
 * indexes and indexes behind constraints stay and keep enforcing uniqueness during the UPDATE.
 */
import type {SqlClient} from '../neutralize/env-database.js';
import {qualified, quoteIdent} from './masking-sql.js';

/** Tables with fewer (estimated) rows keep their indexes: the rebuild would cost more than it saves. */
export const DEFAULT_REBUILD_INDEXES_ABOVE = 50_000;

export interface DroppedIndex {
  readonly name: string;
  /** pg_get_indexdef(): the CREATE INDEX statement that rebuilds it. */
  readonly definition: string;
}

/** Drops the plain indexes of a table larger than `above` rows; returns them for rebuildIndexes. */
export async function dropPlainIndexes(client: SqlClient, table: string, above: number): Promise<DroppedIndex[]> {
  const {rows} = await client.query<{name: string; definition: string}>(
    `SELECT ic.relname AS name, pg_get_indexdef(i.indexrelid) AS definition
       FROM pg_index i
       JOIN pg_class ic ON ic.oid = i.indexrelid
       JOIN pg_class t ON t.oid = i.indrelid
      WHERE i.indrelid = $1::regclass
        AND (t.reltuples >= $2 OR (t.reltuples < 0 AND pg_relation_size(t.oid) >= $2::bigint * 100)) -- never analyzed: ~100 bytes a row
        AND NOT i.indisunique AND NOT i.indisprimary AND NOT i.indisexclusion
        AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
      ORDER BY ic.relname`,
    [qualified(table), above],
  );
  if (rows.length > 0) await client.query(`DROP INDEX ${rows.map((r) => `public.${quoteIdent(r.name)}`).join(', ')}`);
  return rows;
}

export async function rebuildIndexes(client: SqlClient, dropped: readonly DroppedIndex[]): Promise<void> {
  for (const d of dropped) await client.query(d.definition);
}
