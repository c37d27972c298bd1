-- 000017: `backups prune` is a run (type backup-prune), like every other data operation: its events say
-- what was kept and deleted and why. Pruning an environment is exclusive with that environment's other
-- exclusive runs (a backup being written, a restore), so a prune queued after a scheduled backup runs
-- once that backup has ended; a prune of every environment (no env) is not exclusive. Like backups,
-- prune runs are admin-only.

create or replace function ops.is_exclusive_type(p_type text) returns boolean
language sql immutable
set search_path = ''
as $$ select p_type in ('deploy', 'promote', 'restore', 'clone', 'rollback', 'destroy', 'preview-up', 'backup', 'db-mask', 'backup-prune') $$;

-- Same as 000012, with backup-prune runs admin-only like backup runs.
create or replace function ops.require_run_role(p_project uuid, p_env text, p_type text, p_action text, p_declared text default null)
returns void
language plpgsql stable security definer
set search_path = ''
as $$
declare v_env_type text;
begin
  if not (p_project = any (ops.actor_project_ids())) then
    raise exception 'actor "%" may not %: not a member of project %', ops.current_actor(), p_action, p_project
      using errcode = 'OS403';
  end if;
  v_env_type := ops.run_env_type(p_project, p_env, p_declared);
  if p_type in ('backup', 'backup-prune') then
    perform ops.require_role(p_project, array['admin'], p_action || ' (backups)');
  elsif v_env_type is null then
    perform ops.require_role(p_project, array['developer', 'tester'], p_action);
  else
    perform ops.require_role(p_project, ops.env_roles(v_env_type), p_action || ' on ' || v_env_type || ' environments', v_env_type);
  end if;
end
$$;
