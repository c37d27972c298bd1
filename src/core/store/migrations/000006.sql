-- 000006: environment lifecycle functions (create/update, state changes, destroy, TTL expiry).
-- Who may touch which environment type (Odoo.sh's matrix): preview/dev: developer; staging: tester;
-- production: admin (admin implies every role).

create function ops.env_roles(p_type text) returns text[]
language sql immutable
set search_path = ''
as $$
  select case p_type
    when 'production' then array['admin']
    when 'staging' then array['tester']
    else array['developer', 'tester']
  end
$$;

-- Creates the environment, or updates the live one of that name (branch, TTL, settings merged).
create function ops.upsert_environment(
  p_project uuid, p_name text, p_type text, p_branch text,
  p_ttl_expires_at timestamptz default null, p_settings jsonb default '{}'
) returns ops.environments
language plpgsql security definer
set search_path = ''
as $$
declare
  v_env ops.environments;
  v_created boolean := false;
begin
  perform ops.require_role(p_project, ops.env_roles(p_type), 'change ' || p_type || ' environments', p_type);
  select * into v_env from ops.environments e
  where e.project_id = p_project and e.name = p_name and e.status <> 'destroyed' for update;
  if v_env.id is null then
    insert into ops.environments (project_id, name, type, branch, ttl_expires_at, settings)
    values (p_project, p_name, p_type, p_branch, p_ttl_expires_at, coalesce(p_settings, '{}'))
    returning * into v_env;
    v_created := true;
  else
    if v_env.type <> p_type then
      raise exception 'environment "%" is a % environment, not %', p_name, v_env.type, p_type using errcode = 'OS409';
    end if;
    update ops.environments e set branch = coalesce(p_branch, e.branch),
      ttl_expires_at = coalesce(p_ttl_expires_at, e.ttl_expires_at),
      settings = e.settings || coalesce(p_settings, '{}'), updated_at = now()
    where e.id = v_env.id returning * into v_env;
  end if;
  perform ops.record_audit(p_project, case when v_created then 'env.create' else 'env.update' end, p_name, p_name, null,
    jsonb_build_object('type', p_type, 'branch', p_branch, 'ttl_expires_at', p_ttl_expires_at));
  return v_env;
exception when check_violation then
  raise exception 'invalid environment: %', sqlerrm using errcode = 'OS400';
end
$$;

-- Records what the provider did: status, URL, release, database. Audited.
create function ops.set_environment_state(
  p_project uuid, p_name text, p_status text, p_url text default null,
  p_release text default null, p_database text default null, p_run bigint default null
) returns ops.environments
language plpgsql security definer
set search_path = ''
as $$
declare v_env ops.environments;
begin
  select * into v_env from ops.environments e
  where e.project_id = p_project and e.name = p_name and e.status <> 'destroyed' for update;
  if v_env.id is null then
    raise exception 'environment "%" not found', p_name using errcode = 'OS404';
  end if;
  perform ops.require_role(p_project, ops.env_roles(v_env.type), 'change ' || v_env.type || ' environments', v_env.type);
  update ops.environments e set status = p_status, url = coalesce(p_url, e.url),
    current_release = coalesce(p_release, e.current_release), database_name = coalesce(p_database, e.database_name),
    updated_at = now(), destroyed_at = case when p_status = 'destroyed' then now() end
  where e.id = v_env.id returning * into v_env;
  perform ops.record_audit(p_project, 'env.' || p_status, p_name, p_name, p_run,
    jsonb_build_object('url', p_url, 'release', p_release, 'database', p_database));
  return v_env;
exception when check_violation then
  raise exception 'invalid environment status "%"', p_status using errcode = 'OS400';
end
$$;

-- Live environments whose TTL has passed (what `preview reap` destroys).
create function ops.expired_environments(p_project uuid, p_now timestamptz default now())
returns setof ops.environments
language sql stable security definer
set search_path = ''
as $$
  select * from ops.environments e
  where e.project_id = p_project and e.project_id = any (ops.actor_project_ids())
    and e.status in ('active', 'failed') and e.ttl_expires_at is not null and e.ttl_expires_at <= p_now
  order by e.ttl_expires_at
$$;

revoke all on function
  ops.env_roles(text), ops.upsert_environment(uuid, text, text, text, timestamptz, jsonb),
  ops.set_environment_state(uuid, text, text, text, text, text, bigint),
  ops.expired_environments(uuid, timestamptz)
from public;
grant execute on function
  ops.env_roles(text), ops.upsert_environment(uuid, text, text, text, timestamptz, jsonb),
  ops.set_environment_state(uuid, text, text, text, text, text, bigint),
  ops.expired_environments(uuid, timestamptz)
to ops_app;

-- A member row scoped to an environment type grants nothing outside that type: with no type
-- asked for (project-wide actions), only unscoped rows count.
create or replace function ops.has_role(p_project uuid, p_roles text[], p_env_type text default null) returns boolean
language sql stable security definer
set search_path = ''
as $$
  select exists (
    select 1 from ops.project_members m
    where m.project_id = p_project
      and m.member = ops.current_actor()
      and (m.role = 'admin' or m.role = any (p_roles))
      and (m.env_type is null or m.env_type = p_env_type)
  )
$$;

-- transition_run is the state machine's compare-and-set for internal use by the other functions;
-- members move runs only through queue/claim/start/finish/cancel, which check roles, fence and audit.
revoke execute on function ops.transition_run(bigint, text, text) from ops_app;

-- Creating/updating an environment must not overlap with destroying it (or with a second update).
create or replace function ops.is_exclusive_type(p_type text) returns boolean
language sql immutable
set search_path = ''
as $$ select p_type in ('deploy', 'promote', 'restore', 'clone', 'rollback', 'destroy', 'preview-up') $$;
