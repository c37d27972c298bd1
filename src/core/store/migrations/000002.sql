-- 000002: membership checks, row-level security on every table, the append-only audit chain.

-- The projects the actor is a member of (any role). Policies call it once per query:
-- `project_id = any ((select ops.actor_project_ids())::uuid[])`.
create function ops.actor_project_ids() returns uuid[]
language sql stable security definer
set search_path = ''
as $$
  select coalesce(array_agg(distinct m.project_id), '{}')
  from ops.project_members m
  where m.member = ops.current_actor()
$$;

-- True when the actor holds one of p_roles on the project, for the environment type when given
-- (a member row without env_type applies to every type). admin implies every role.
create function ops.has_role(p_project uuid, p_roles text[], p_env_type text default null) returns boolean
language sql stable security definer
set search_path = ''
as $$
  select exists (
    select 1 from ops.project_members m
    where m.project_id = p_project
      and m.member = ops.current_actor()
      and (m.role = 'admin' or m.role = any (p_roles))
      and (m.env_type is null or p_env_type is null or m.env_type = p_env_type)
  )
$$;

-- Raises OS403 unless the actor holds one of p_roles.
create function ops.require_role(p_project uuid, p_roles text[], p_action text, p_env_type text default null) returns void
language plpgsql stable security definer
set search_path = ''
as $$
begin
  if not ops.has_role(p_project, p_roles, p_env_type) then
    raise exception 'actor "%" may not %: needs role % on project %', ops.current_actor(), p_action,
      array_to_string(p_roles, ' or '), p_project
      using errcode = 'OS403';
  end if;
end
$$;

create function ops.project_id_by_name(p_name text) returns uuid
language plpgsql stable security definer
set search_path = ''
as $$
declare v_id uuid;
begin
  select p.id into v_id from ops.projects p
  where p.name = p_name and p.id = any (ops.actor_project_ids());
  if v_id is null then
    raise exception 'project "%" not found (or you are not a member)', p_name using errcode = 'OS404';
  end if;
  return v_id;
end
$$;

-- RLS: every table enabled and forced. Members read their projects' rows; writes go through
-- SECURITY DEFINER functions, and the write policies keep even a granted INSERT/UPDATE inside
-- the actor's projects. The schema owner (who runs migrations) must be a superuser or have
-- BYPASSRLS, so the SECURITY DEFINER functions see every row and enforce RBAC themselves.
alter table ops.roles enable row level security;
alter table ops.roles force row level security;
create policy roles_read on ops.roles for select using (true);

alter table ops.projects enable row level security;
alter table ops.projects force row level security;
create policy projects_member on ops.projects for all
  using (id = any ((select ops.actor_project_ids())::uuid[]))
  with check (id = any ((select ops.actor_project_ids())::uuid[]));

do $$
declare t text;
begin
  foreach t in array array['project_members', 'environments', 'runs', 'run_events', 'artifacts', 'backups',
                           'restores', 'approvals', 'policies', 'audit_log']
  loop
    execute format('alter table ops.%I enable row level security', t);
    execute format('alter table ops.%I force row level security', t);
    execute format($p$create policy %I on ops.%I for all
      using (project_id = any ((select ops.actor_project_ids())::uuid[]))
      with check (project_id = any ((select ops.actor_project_ids())::uuid[]))$p$, t || '_member', t);
  end loop;
end
$$;

-- Audit chain. Rows are serialized per project (advisory lock), numbered, and hashed:
-- hash = sha256(prev_hash || '|' || canonical), canonical = jsonb text of the row's fields.
create function ops.audit_canonical(
  p_project uuid, p_seq bigint, p_at timestamptz, p_actor text, p_action text, p_target text,
  p_env text, p_run bigint, p_payload jsonb
) returns text
language sql immutable
set search_path = ''
as $$
  select jsonb_build_object(
    'project_id', p_project, 'seq', p_seq,
    'at', to_char(p_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    'actor', p_actor, 'action', p_action, 'target', p_target, 'env', p_env, 'run_id', p_run,
    'payload', p_payload)::text
$$;

create function ops._500_audit_chain() returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
  v_prev record;
begin
  perform pg_advisory_xact_lock(hashtextextended('ops.audit:' || new.project_id::text, 0));
  select a.seq, a.hash into v_prev from ops.audit_log a
  where a.project_id = new.project_id order by a.seq desc limit 1;
  new.seq := coalesce(v_prev.seq, 0) + 1;
  new.prev_hash := coalesce(v_prev.hash, repeat('0', 64));
  new.at := clock_timestamp();
  new.actor := ops.current_actor();
  new.payload := coalesce(new.payload, '{}');
  new.hash := encode(sha256(convert_to(new.prev_hash || '|' || ops.audit_canonical(
    new.project_id, new.seq, new.at, new.actor, new.action, new.target, new.env, new.run_id, new.payload), 'UTF8')), 'hex');
  return new;
end
$$;
create trigger _500_audit_chain before insert on ops.audit_log
  for each row execute function ops._500_audit_chain();

create function ops._100_audit_append_only() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  raise exception 'ops.audit_log is append-only: % refused', tg_op using errcode = 'OS403';
end
$$;
create trigger _100_audit_no_update before update or delete on ops.audit_log
  for each row execute function ops._100_audit_append_only();
create trigger _100_audit_no_truncate before truncate on ops.audit_log
  for each statement execute function ops._100_audit_append_only();

-- Writes one audit row in the caller's transaction; used by every state-changing function and by
-- the CLI for changes made outside SQL (e.g. a process started), in the transaction recording them.
create function ops.record_audit(
  p_project uuid, p_action text, p_target text default null, p_env text default null,
  p_run bigint default null, p_payload jsonb default '{}'
) returns bigint
language plpgsql security definer
set search_path = ''
as $$
declare v_id bigint;
begin
  if not (p_project = any (ops.actor_project_ids())) then
    raise exception 'actor "%" is not a member of project %', ops.current_actor(), p_project using errcode = 'OS403';
  end if;
  if p_action !~ '^[a-z][a-z0-9_.-]{0,63}$' then
    raise exception 'invalid audit action "%"', p_action using errcode = 'OS400';
  end if;
  insert into ops.audit_log (project_id, seq, at, actor, action, target, env, run_id, payload, prev_hash, hash)
  values (p_project, 0, now(), '', p_action, p_target, p_env, p_run, coalesce(p_payload, '{}'), '', '')
  returning id into v_id;
  return v_id;
end
$$;

create function ops.create_project(p_name text) returns ops.projects
language plpgsql security definer
set search_path = ''
as $$
declare v_project ops.projects;
begin
  if p_name !~ '^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$' then
    raise exception 'invalid project name "%": use lowercase letters, digits and dashes (at most 40)', p_name using errcode = 'OS400';
  end if;
  insert into ops.projects (name, created_by) values (p_name, ops.current_actor()) returning * into v_project;
  insert into ops.project_members (project_id, member, role, created_by)
  values (v_project.id, ops.current_actor(), 'admin', ops.current_actor());
  perform ops.record_audit(v_project.id, 'project.create', p_name, null, null, jsonb_build_object('name', p_name));
  return v_project;
exception when unique_violation then
  raise exception 'project "%" already exists', p_name using errcode = 'OS409';
end
$$;

create function ops.add_member(p_project uuid, p_member text, p_role text, p_env_type text default null)
returns ops.project_members
language plpgsql security definer
set search_path = ''
as $$
declare v_row ops.project_members;
begin
  perform ops.require_role(p_project, array['admin'], 'add members');
  if not exists (select 1 from ops.roles r where r.name = p_role) then
    raise exception 'unknown role "%": use admin, tester, developer or viewer', p_role using errcode = 'OS400';
  end if;
  insert into ops.project_members (project_id, member, role, env_type, created_by)
  values (p_project, p_member, p_role, p_env_type, ops.current_actor())
  on conflict (project_id, member, coalesce(env_type, '*')) do update set role = excluded.role
  returning * into v_row;
  perform ops.record_audit(p_project, 'member.add', p_member, null, null,
    jsonb_build_object('role', p_role, 'env_type', p_env_type));
  return v_row;
end
$$;

create function ops.remove_member(p_project uuid, p_member text, p_env_type text default null) returns boolean
language plpgsql security definer
set search_path = ''
as $$
declare v_count int;
begin
  perform ops.require_role(p_project, array['admin'], 'remove members');
  delete from ops.project_members m
  where m.project_id = p_project and m.member = p_member
    and coalesce(m.env_type, '*') = coalesce(p_env_type, '*');
  get diagnostics v_count = row_count;
  if v_count > 0 then
    perform ops.record_audit(p_project, 'member.remove', p_member, null, null, jsonb_build_object('env_type', p_env_type));
  end if;
  return v_count > 0;
end
$$;
