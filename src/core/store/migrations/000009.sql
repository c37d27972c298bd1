-- 000009: `db mask` runs (type db-mask) rewrite an environment's database in place: like a restore
-- or a clone of that environment, they must never overlap another exclusive run of it.
create or replace function ops.is_exclusive_type(p_type text) returns boolean
language sql immutable
set search_path = ''
as $$ select p_type in ('deploy', 'promote', 'restore', 'clone', 'rollback', 'destroy', 'preview-up', 'backup', 'db-mask') $$;
