-- 000005: the migration ledger joins the RLS rule (every ops table: RLS enabled, forced, a policy).
-- ops.migrations is created by the migrator (src/core/store/migrate.ts) before any migration runs,
-- so 000001-000004 never covered it. It holds no project data: every member may read it (the CLI
-- checks the schema version as the member); only the migrator (superuser or BYPASSRLS) writes it.
alter table ops.migrations enable row level security;
alter table ops.migrations force row level security;
create policy migrations_read on ops.migrations for select using (true);
revoke all on ops.migrations from public;
grant select on ops.migrations to ops_app;
