-- 000012: members and the role x action matrix, enforced in SQL (Odoo.sh's matrix):
--   admin: everything; tester: staging and previews (and dev); developer: previews and dev;
--   viewer: read-only; backups and restores of backups: admin only; members: admin only.
-- A member row scoped to an environment type grants nothing outside that type (000006 has_role).
-- Runs are now checked against the type of the environment they target (queue and cancel), and
-- member management gains: Postgres LOGIN roles for members (ops.ensure_member_role), the last
-- admin cannot be removed or demoted, inputs validated with OS400.

-- The environment type a run acts on: the live environment's type when it exists, else the type
-- the caller declares (p_declared, e.g. options.env_type for an environment created later), else
-- null (a project-wide run, or a run without environment). A declared type contradicting the
-- live environment is refused.
create function ops.run_env_type(p_project uuid, p_env text, p_declared text default null) returns text
language plpgsql stable security definer
set search_path = ''
as $$
declare v_type text;
begin
  if p_declared is not null and p_declared not in ('production', 'staging', 'preview', 'dev') then
    raise exception 'invalid env_type "%": use production, staging, preview or dev', p_declared using errcode = 'OS400';
  end if;
  if p_env is not null then
    select e.type into v_type from ops.environments e
    where e.project_id = p_project and e.name = p_env and e.status <> 'destroyed';
  end if;
  if v_type is not null and p_declared is not null and v_type <> p_declared then
    raise exception 'environment "%" is a % environment, not %', p_env, v_type, p_declared using errcode = 'OS409';
  end if;
  return coalesce(v_type, p_declared);
end
$$;

-- Who may queue or cancel a run of type p_type on environment p_env: the roles of the
-- environment's type (ops.env_roles), scoped rows of that type included; without a known type,
-- a project-wide developer or tester. Backup runs are admin-only. Non-members get OS403 before
-- anything about the project's environments is looked at.
create function ops.require_run_role(p_project uuid, p_env text, p_type text, p_action text, p_declared text default null)
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
  if p_type = 'backup' then
    perform ops.require_role(p_project, array['admin'], p_action || ' (backups)');
  elsif v_env_type is null then
    perform ops.require_role(p_project, array['developer', 'tester'], p_action);
  else
    perform ops.require_role(p_project, ops.env_roles(v_env_type), p_action || ' on ' || v_env_type || ' environments', v_env_type);
  end if;
end
$$;

-- Same signature as 000003; the role now depends on the target environment's type
-- (p_options ->> 'env_type' names it for an environment that does not exist yet).
create or replace function ops.queue_run(
  p_project uuid, p_env text, p_git_sha text, p_ref text, p_type text,
  p_payload jsonb default '{}', p_options jsonb default '{}'
) returns ops.runs
language plpgsql security definer
set search_path = ''
as $$
declare v_run ops.runs;
begin
  perform ops.require_run_role(p_project, p_env, p_type, 'queue runs', nullif(p_options ->> 'env_type', ''));
  insert into ops.runs (project_id, env, type, git_sha, ref, payload, priority, run_at, max_attempts, backoff_ms, exclusive, created_by)
  values (p_project, p_env, p_type, p_git_sha, p_ref, coalesce(p_payload, '{}'),
          coalesce((p_options ->> 'priority')::smallint, 0),
          now() + make_interval(secs => coalesce((p_options ->> 'delay_seconds')::double precision, 0)),
          coalesce((p_options ->> 'max_attempts')::smallint, 5),
          coalesce((p_options ->> 'backoff_ms')::integer, 1000),
          p_env is not null and ops.is_exclusive_type(p_type),
          ops.current_actor())
  returning * into v_run;
  perform ops.record_audit(p_project, 'run.queue', v_run.id::text, p_env, v_run.id,
    jsonb_build_object('type', p_type, 'ref', p_ref, 'git_sha', p_git_sha));
  perform pg_notify('ops_runs_queued', v_run.id::text);
  return v_run;
exception when check_violation then
  raise exception 'invalid run: %', sqlerrm using errcode = 'OS400';
end
$$;

-- Same as 000003, with the role of the run's environment type (a developer cannot cancel a
-- production deploy; a member scoped to previews can cancel preview runs).
create or replace function ops.cancel_run(p_run bigint) returns ops.runs
language plpgsql security definer
set search_path = ''
as $$
declare v_run ops.runs;
begin
  select * into v_run from ops.runs r where r.id = p_run for update;
  if v_run.id is null or not (v_run.project_id = any (ops.actor_project_ids())) then
    raise exception 'run % not found', p_run using errcode = 'OS404';
  end if;
  perform ops.require_run_role(v_run.project_id, v_run.env, v_run.type, 'cancel runs');
  if v_run.state = 'queued' then
    update ops.runs r set state = 'cancelled', finished_at = now(), updated_at = now(), cancel_requested = true
    where r.id = p_run returning * into v_run;
    perform pg_notify('ops_run_' || p_run, 'end');
  elsif v_run.state in ('claimed', 'running') then
    update ops.runs r set cancel_requested = true, updated_at = now() where r.id = p_run returning * into v_run;
    perform pg_notify('ops_run_' || p_run, 'cancel');
  else
    raise exception 'run % already ended (%)', p_run, v_run.state using errcode = 'OS409';
  end if;
  perform ops.record_audit(v_run.project_id, 'run.cancel', p_run::text, v_run.env, p_run, '{}');
  return v_run;
end
$$;

-- Serializes membership changes of one project (the last-admin check must not race).
create function ops.lock_members(p_project uuid) returns void
language sql volatile
set search_path = ''
as $$ select pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('ops.members:' || p_project::text, 0)) $$;

-- Number of project-wide admins other than the given row.
create function ops.other_admins(p_project uuid, p_except bigint) returns integer
language sql stable security definer
set search_path = ''
as $$
  select count(*)::integer from ops.project_members m
  where m.project_id = p_project and m.role = 'admin' and m.env_type is null and m.id <> p_except
$$;

create or replace function ops.add_member(p_project uuid, p_member text, p_role text, p_env_type text default null)
returns ops.project_members
language plpgsql security definer
set search_path = ''
as $$
declare
  v_row ops.project_members;
  v_old ops.project_members;
begin
  perform ops.require_role(p_project, array['admin'], 'add members');
  if not exists (select 1 from ops.roles r where r.name = p_role) then
    raise exception 'unknown role "%": use admin, tester, developer or viewer', p_role using errcode = 'OS400';
  end if;
  if p_env_type is not null and p_env_type not in ('production', 'staging', 'preview', 'dev') then
    raise exception 'invalid env_type "%": use production, staging, preview or dev', p_env_type using errcode = 'OS400';
  end if;
  if p_member is null or p_member !~ '^[^[:space:][:cntrl:]]{1,200}$' then
    raise exception 'invalid member "%": 1 to 200 characters, no spaces', p_member using errcode = 'OS400';
  end if;
  perform ops.lock_members(p_project);
  select * into v_old from ops.project_members m
  where m.project_id = p_project and m.member = p_member and coalesce(m.env_type, '*') = coalesce(p_env_type, '*');
  if v_old.id is not null and v_old.role = 'admin' and v_old.env_type is null and p_role <> 'admin'
     and ops.other_admins(p_project, v_old.id) = 0 then
    raise exception '"%" is the last admin of project %: add another admin first', p_member, p_project using errcode = 'OS409';
  end if;
  insert into ops.project_members (project_id, member, role, env_type, created_by)
  values (p_project, p_member, p_role, p_env_type, ops.current_actor())
  on conflict (project_id, member, coalesce(env_type, '*')) do update set role = excluded.role
  returning * into v_row;
  perform ops.record_audit(p_project, 'member.add', p_member, null, null,
    jsonb_build_object('role', p_role, 'env_type', p_env_type, 'previous_role', v_old.role));
  return v_row;
end
$$;

create or replace function ops.remove_member(p_project uuid, p_member text, p_env_type text default null) returns boolean
language plpgsql security definer
set search_path = ''
as $$
declare v_old ops.project_members;
begin
  perform ops.require_role(p_project, array['admin'], 'remove members');
  perform ops.lock_members(p_project);
  select * into v_old from ops.project_members m
  where m.project_id = p_project and m.member = p_member and coalesce(m.env_type, '*') = coalesce(p_env_type, '*');
  if v_old.id is null then
    return false;
  end if;
  if v_old.role = 'admin' and v_old.env_type is null and ops.other_admins(p_project, v_old.id) = 0 then
    raise exception '"%" is the last admin of project %: add another admin first', p_member, p_project using errcode = 'OS409';
  end if;
  delete from ops.project_members m where m.id = v_old.id;
  perform ops.record_audit(p_project, 'member.remove', p_member, null, null,
    jsonb_build_object('role', v_old.role, 'env_type', p_env_type));
  return true;
end
$$;

-- Creates the LOGIN role of a member (if missing) with the least privileges the CLI needs: it
-- inherits ops_app (read through RLS, write through these functions), and nothing else (no
-- superuser, createdb, createrole, replication, bypassrls). The password, if any, arrives as a
-- SCRAM-SHA-256 verifier computed by the client, so the clear text never reaches the server (or
-- its logs); without one, authentication is whatever the DBA configured (peer, cert...).
-- An existing role is only granted ops_app; a privileged one (superuser, createrole, bypassrls,
-- replication) is never touched. Only a project admin may call it. Runs as the schema owner,
-- which needs CREATEROLE (or superuser). Returns {role, created, granted}.
create function ops.ensure_member_role(p_project uuid, p_name text, p_scram_verifier text default null) returns jsonb
language plpgsql security definer
set search_path = ''
as $$
declare
  v_role record;
  v_owner record;
  v_created boolean := false;
  v_granted boolean := false;
begin
  perform ops.require_role(p_project, array['admin'], 'create member roles');
  if p_name is null or p_name !~ '^[a-z_][a-z0-9_]{0,62}$' or p_name ~ '^pg_' or p_name ~ '^ops_'
     or p_name in ('postgres', 'public', 'none', 'current_user', 'session_user', 'current_role') then
    raise exception 'invalid role name "%": lowercase letters, digits and _ (at most 63, not starting with a digit), not postgres, pg_*, ops_* or public', p_name
      using errcode = 'OS400';
  end if;
  if p_scram_verifier is not null and p_scram_verifier !~ '^SCRAM-SHA-256\$[0-9]+:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$' then
    raise exception 'the password must be given as a SCRAM-SHA-256 verifier' using errcode = 'OS400';
  end if;
  select r.rolsuper, r.rolcreaterole from pg_catalog.pg_roles r where r.rolname = current_user into v_owner;
  select r.rolname, r.rolsuper, r.rolcreaterole, r.rolbypassrls, r.rolreplication
  into v_role from pg_catalog.pg_roles r where r.rolname = p_name;
  if v_role.rolname is not null then
    if v_role.rolsuper or v_role.rolcreaterole or v_role.rolbypassrls or v_role.rolreplication then
      raise exception 'role "%" is privileged (superuser, createrole, bypassrls or replication): it is not managed here', p_name
        using errcode = 'OS403', hint = 'add it by name with --jwt, or ask the DBA';
    end if;
    if p_scram_verifier is not null then
      raise exception 'role "%" already exists: its password is managed by the DBA, not by members add', p_name
        using errcode = 'OS409';
    end if;
  end if;
  if not (v_owner.rolsuper or v_owner.rolcreaterole) then
    raise exception 'the ops schema owner "%" cannot create or grant roles (needs CREATEROLE)', current_user
      using errcode = 'OS403',
        hint = format('as a superuser: alter role %I createrole; or create role %I login in role ops_app', current_user, p_name);
  end if;
  if v_role.rolname is null then
    execute format('create role %I login nosuperuser nocreatedb nocreaterole noreplication nobypassrls inherit in role ops_app', p_name);
    if p_scram_verifier is not null then
      execute format('alter role %I password %L', p_name, p_scram_verifier);
    end if;
    v_created := true;
    v_granted := true;
  elsif not pg_catalog.pg_has_role(p_name, 'ops_app', 'member') then
    execute format('grant ops_app to %I', p_name);
    v_granted := true;
  end if;
  if v_created or v_granted then
    perform ops.record_audit(p_project, 'member.role', p_name, null, null,
      jsonb_build_object('created', v_created, 'granted', v_granted, 'password', p_scram_verifier is not null));
  end if;
  return jsonb_build_object('role', p_name, 'created', v_created, 'granted', v_granted);
exception when insufficient_privilege then
  raise exception 'the ops schema owner "%" may not create or grant role "%": %', current_user, p_name, sqlerrm
    using errcode = 'OS403', hint = 'grant the owner CREATEROLE (and ADMIN OPTION on ops_app), or create the role as the DBA';
end
$$;

revoke all on function
  ops.run_env_type(uuid, text, text), ops.require_run_role(uuid, text, text, text, text),
  ops.lock_members(uuid), ops.other_admins(uuid, bigint), ops.ensure_member_role(uuid, text, text)
from public;
grant execute on function ops.ensure_member_role(uuid, text, text) to ops_app;
