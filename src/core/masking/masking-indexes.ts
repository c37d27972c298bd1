/**
 * Rewriting every value of an indexed column updates each of its indexes row by row; on a large
 * table it is much faster to drop those indexes, run the UPDATE and build them again (inside the
 * same transaction, so a failure leaves them as they were). Only plain indexes are dropped: unique
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

/** Drops the plain indexes depending on `columns` of a table larger than `above` rows; returns them for rebuildIndexes. */
export async function dropIndexesOn(client: SqlClient, table: string, columns: readonly string[], above: number): Promise<DroppedIndex[]> {
  if (columns.length === 0) return [];
  const {rows} = await client.query<{name: string; definition: string}>(
    `SELECT ic.relname AS name, pg_get_indexdef(i.indexrelid) AS definition
       FROM pg_index i
       JOIN pg_class ic ON ic.oid = i.indexrelid
       JOIN pg_class t ON t.oid = i.indrelid
      WHERE i.indrelid = $1::regclass AND t.reltuples >= $3
        AND NOT i.indisunique AND NOT i.indisprimary AND NOT i.indisexclusion
        AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
        AND EXISTS (
          SELECT 1 FROM pg_depend d JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
           WHERE d.classid = 'pg_class'::regclass AND d.objid = i.indexrelid
             AND d.refclassid = 'pg_class'::regclass AND d.refobjid = i.indrelid AND a.attname = ANY($2::text[]))
      ORDER BY ic.relname`,
    [qualified(table), columns, above],
  );
  for (const r of rows) await client.query(`DROP INDEX public.${quoteIdent(r.name)}`);
  return rows;
}

export async function rebuildIndexes(client: SqlClient, dropped: readonly DroppedIndex[]): Promise<void> {
  for (const d of dropped) await client.query(d.definition);
}
