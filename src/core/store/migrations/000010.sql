-- 000010: restores without data loss. A restore (of a backup, or `db import` of a file) loads a
-- NEW database and filestore, verifies them, then switches the environment to them in one audited
-- statement (ops.record_restore_switch); the previous database is kept until `backups restore
-- --confirm` or keep_previous_until, when it is dropped (ops.finish_restore).

-- Imports have no backup row: the source is described in `source` instead.
alter table ops.restores alter column backup_id drop not null;
alter table ops.restores add column source jsonb not null default '{}';
alter table ops.restores add column source_env text;
alter table ops.restores add column error text;
alter table ops.restores add column previous_dropped_at timestamptz;
alter table ops.restores drop constraint restores_status_check;
alter table ops.restores add constraint restores_status_check
  check (status in ('pending', 'verifying', 'switched', 'confirmed', 'expired', 'failed', 'rolled_back'));
alter table ops.restores add constraint restores_new_database_check
  check (new_database is null or new_database ~ '^[a-z0-9_]{1,63}$');
create index restores_env_index on ops.restores (project_id, target_env, status);
create index restores_keep_index on ops.restores (keep_previous_until) where status = 'switched';

-- The live environment row, locked; OS404 when there is none.
create function ops.lock_live_environment(p_project uuid, p_env text) returns ops.environments
language plpgsql security definer
set search_path = ''
as $$
declare v_env ops.environments;
begin
  select * into v_env from ops.environments e
  where e.project_id = p_project and e.name = p_env and e.status <> 'destroyed'
    and e.project_id = any (ops.actor_project_ids())
  for update;
  if v_env.id is null then
    raise exception 'environment "%" not found', p_env using errcode = 'OS404';
  end if;
  return v_env;
end
$$;

-- Who may restore into an environment: a backup is admin-only (Odoo.sh's rule); an import needs
-- the roles of the target environment's type (production: admin).
create function ops.require_restore_role(p_project uuid, p_env ops.environments, p_is_backup boolean) returns void
language plpgsql stable security definer
set search_path = ''
as $$
begin
  if p_is_backup then
    perform ops.require_role(p_project, array['admin'], 'restore backups');
  else
    perform ops.require_role(p_project, ops.env_roles(p_env.type), 'import data into ' || p_env.type || ' environments', p_env.type);
  end if;
end
$$;

-- Starts a restore: records it (pending) with the database it will load. Audited.
create function ops.start_restore(
  p_id uuid, p_project uuid, p_backup uuid, p_target_env text, p_run bigint,
  p_new_database text, p_source jsonb default '{}', p_source_env text default null
) returns ops.restores
language plpgsql security definer
set search_path = ''
as $$
declare
  v_env ops.environments;
  v_backup ops.backups;
  v_restore ops.restores;
begin
  v_env := ops.lock_live_environment(p_project, p_target_env);
  if p_backup is not null then
    select * into v_backup from ops.backups b where b.id = p_backup and b.project_id = p_project;
    if v_backup.id is null then
      raise exception 'backup % not found', p_backup using errcode = 'OS404';
    end if;
    if v_backup.status <> 'complete' then
      raise exception 'backup % is %, not complete: it cannot be restored', p_backup, v_backup.status using errcode = 'OS409';
    end if;
  end if;
  perform ops.require_restore_role(p_project, v_env, p_backup is not null);
  if p_new_database is not distinct from v_env.database_name then
    raise exception 'a restore never loads the database the environment uses (%)', p_new_database using errcode = 'OS400';
  end if;
  insert into ops.restores (id, project_id, backup_id, target_env, run_id, new_database, source, source_env, created_by)
  values (p_id, p_project, p_backup, p_target_env, p_run, p_new_database, coalesce(p_source, '{}'),
          coalesce(p_source_env, v_backup.environment), ops.current_actor())
  returning * into v_restore;
  perform ops.record_audit(p_project, 'restore.start', coalesce(p_backup::text, p_source ->> 'kind'), p_target_env, p_run,
    jsonb_build_object('restore_id', p_id, 'new_database', p_new_database, 'source', p_source, 'env_type', v_env.type));
  return v_restore;
exception when check_violation then
  raise exception 'invalid restore: %', sqlerrm using errcode = 'OS400';
end
$$;

-- pending → verifying, or pending/verifying → failed (with the error; audited).
create function ops.set_restore_status(p_restore uuid, p_status text, p_error text default null) returns ops.restores
language plpgsql security definer
set search_path = ''
as $$
declare v_restore ops.restores;
begin
  select * into v_restore from ops.restores r
  where r.id = p_restore and r.project_id = any (ops.actor_project_ids()) for update;
  if v_restore.id is null then
    raise exception 'restore % not found', p_restore using errcode = 'OS404';
  end if;
  if not (v_restore.status in ('pending', 'verifying') and p_status in ('verifying', 'failed')) then
    raise exception 'restore % is %: cannot become %', p_restore, v_restore.status, p_status using errcode = 'OS409';
  end if;
  perform ops.require_restore_role(v_restore.project_id, ops.lock_live_environment(v_restore.project_id, v_restore.target_env),
    v_restore.backup_id is not null);
  update ops.restores r set status = p_status, error = p_error,
    completed_at = case when p_status = 'failed' then now() end
  where r.id = p_restore returning * into v_restore;
  if p_status = 'failed' then
    perform ops.record_audit(v_restore.project_id, 'restore.fail', p_restore::text, v_restore.target_env, v_restore.run_id,
      jsonb_build_object('error', p_error, 'new_database', v_restore.new_database));
  end if;
  return v_restore;
end
$$;

-- THE switch: in one transaction, the environment serves the restored database (and URL) and the
-- restore records the previous database, kept until p_keep_until. Refused (OS409) when the
-- environment's database is no longer p_expected_database (something else switched it meanwhile).
create function ops.record_restore_switch(
  p_restore uuid, p_expected_database text, p_url text, p_keep_until timestamptz
) returns ops.restores
language plpgsql security definer
set search_path = ''
as $$
declare
  v_restore ops.restores;
  v_env ops.environments;
begin
  select * into v_restore from ops.restores r
  where r.id = p_restore and r.project_id = any (ops.actor_project_ids()) for update;
  if v_restore.id is null then
    raise exception 'restore % not found', p_restore using errcode = 'OS404';
  end if;
  if v_restore.status not in ('pending', 'verifying') then
    raise exception 'restore % is %: it cannot switch the environment', p_restore, v_restore.status using errcode = 'OS409';
  end if;
  v_env := ops.lock_live_environment(v_restore.project_id, v_restore.target_env);
  perform ops.require_restore_role(v_restore.project_id, v_env, v_restore.backup_id is not null);
  if coalesce(v_env.database_name, p_expected_database) is distinct from p_expected_database then
    raise exception 'environment "%" now uses database %, not %: not switched', v_env.name, v_env.database_name, p_expected_database
      using errcode = 'OS409';
  end if;
  update ops.environments e set database_name = v_restore.new_database, url = coalesce(p_url, e.url),
    status = 'active', updated_at = now()
  where e.id = v_env.id;
  update ops.restores r set status = 'switched', previous_database = p_expected_database,
    keep_previous_until = p_keep_until, completed_at = now()
  where r.id = p_restore returning * into v_restore;
  perform ops.record_audit(v_restore.project_id, 'restore.switch', p_restore::text, v_restore.target_env, v_restore.run_id,
    jsonb_build_object('from_database', p_expected_database, 'to_database', v_restore.new_database,
      'keep_previous_until', p_keep_until, 'backup_id', v_restore.backup_id, 'env_type', v_env.type));
  return v_restore;
end
$$;

-- After the previous database and filestore were dropped: switched → confirmed (`--confirm`) or
-- expired (keep_previous_until passed). Audited.
create function ops.finish_restore(p_restore uuid, p_status text) returns ops.restores
language plpgsql security definer
set search_path = ''
as $$
declare
  v_restore ops.restores;
  v_env ops.environments;
begin
  if p_status not in ('confirmed', 'expired') then
    raise exception 'invalid final restore status "%"', p_status using errcode = 'OS400';
  end if;
  select * into v_restore from ops.restores r
  where r.id = p_restore and r.project_id = any (ops.actor_project_ids()) for update;
  if v_restore.id is null then
    raise exception 'restore % not found', p_restore using errcode = 'OS404';
  end if;
  if v_restore.status <> 'switched' then
    raise exception 'restore % is %, not switched', p_restore, v_restore.status using errcode = 'OS409';
  end if;
  select * into v_env from ops.environments e
  where e.project_id = v_restore.project_id and e.name = v_restore.target_env and e.status <> 'destroyed';
  if v_env.id is not null then
    perform ops.require_restore_role(v_restore.project_id, v_env, v_restore.backup_id is not null);
  else
    perform ops.require_role(v_restore.project_id, array['admin'], 'finish restores of destroyed environments');
  end if;
  update ops.restores r set status = p_status, previous_dropped_at = now()
  where r.id = p_restore returning * into v_restore;
  perform ops.record_audit(v_restore.project_id, 'restore.' || case when p_status = 'confirmed' then 'confirm' else 'expire' end,
    p_restore::text, v_restore.target_env, v_restore.run_id,
    jsonb_build_object('dropped_database', v_restore.previous_database, 'kept_database', v_restore.new_database));
  return v_restore;
end
$$;

-- Switched restores whose previous database may now be dropped.
create function ops.expired_restores(p_project uuid, p_now timestamptz default now())
returns setof ops.restores
language sql stable security definer
set search_path = ''
as $$
  select * from ops.restores r
  where r.project_id = p_project and r.project_id = any (ops.actor_project_ids())
    and r.status = 'switched' and r.keep_previous_until <= p_now
  order by r.keep_previous_until
$$;

revoke all on function
  ops.lock_live_environment(uuid, text), ops.require_restore_role(uuid, ops.environments, boolean),
  ops.start_restore(uuid, uuid, uuid, text, bigint, text, jsonb, text),
  ops.set_restore_status(uuid, text, text), ops.record_restore_switch(uuid, text, text, timestamptz),
  ops.finish_restore(uuid, text), ops.expired_restores(uuid, timestamptz)
from public;
grant execute on function
  ops.start_restore(uuid, uuid, uuid, text, bigint, text, jsonb, text),
  ops.set_restore_status(uuid, text, text), ops.record_restore_switch(uuid, text, text, timestamptz),
  ops.finish_restore(uuid, text), ops.expired_restores(uuid, timestamptz)
to ops_app;
