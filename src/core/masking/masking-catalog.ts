/** Reads the catalog (columns, types, nullability, single-column unique indexes) of public tables. */
import type {SqlClient} from '../neutralize/env-database.js';
import type {Catalog, CatalogColumn, ColumnKind} from './masking-plan.js';

const TEXT_TYPES = new Set(['text', 'varchar', 'bpchar', 'citext', 'name']);
const JSON_TYPES = new Set(['json', 'jsonb']);

export function columnKind(typname: string): ColumnKind {
  if (TEXT_TYPES.has(typname)) return 'text';
  if (JSON_TYPES.has(typname)) return 'json';
  return 'other';
}

interface Row {
  table: string;
  column: string;
  type: string;
  typname: string;
  max_length: number | null;
  nullable: boolean;
  unique: boolean;
}

/** The columns of the given tables of schema public (ordinary and partitioned tables). */
export async function readCatalog(client: SqlClient, tables: readonly string[]): Promise<Catalog> {
  const {rows} = await client.query<Row>(
    `SELECT c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type, ty.typname,
            CASE WHEN ty.typname IN ('varchar', 'bpchar') AND a.atttypmod > 4 THEN a.atttypmod - 4 END AS max_length,
            NOT a.attnotnull AS nullable,
            EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisunique AND i.indnatts = 1
                      AND i.indkey[0] = a.attnum) AS unique
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
       JOIN pg_type ty ON ty.oid = a.atttypid
      WHERE c.relkind IN ('r', 'p') AND c.relname = ANY($1::text[])
      ORDER BY c.relname, a.attnum`,
    [tables],
  );
  const columns: CatalogColumn[] = rows.map((r) => ({
    table: r.table,
    column: r.column,
    type: r.type,
    kind: columnKind(r.typname),
    maxLength: r.max_length,
    nullable: r.nullable,
    unique: r.unique,
  }));
  return {columns};
}
