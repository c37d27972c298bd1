-- 000011: membership checks made cheap (the claim's hot path), and executing runs needs a role that may run them. Viewers read; they never claim, heartbeat,
-- log into or finish a run. (Before this, any member could claim a queued run of its project.)
-- The claim and lease functions are redefined unchanged except for the project filter.

-- The actor without a SET clause and with schema-qualified operators, so the planner inlines it
-- (a SQL function with SET is re-planned on every call: ~18 µs per claim, see bench/queue/claim-analysis.mjs).
create or replace function ops.current_actor() returns text
language sql stable
as $$
  select case
    when coalesce(pg_catalog.current_setting('request.jwt.claims', true), '') operator(pg_catalog.<>) ''
         and pg_catalog.pg_has_role(session_user, 'ops_authenticator', 'member')
    then coalesce(pg_catalog.current_setting('request.jwt.claims', true)::pg_catalog.jsonb operator(pg_catalog.->>) 'sub', '')
    else session_user::pg_catalog.text
  end
$$;

-- PL/pgSQL keeps the query's plan for the session; the SQL version was re-planned on every call (~70 µs).
create or replace function ops.actor_project_ids() returns uuid[]
language plpgsql stable security definer
set search_path = ''
as $$
begin
  return (select coalesce(array_agg(distinct m.project_id), '{}') from ops.project_members m
          where m.member = ops.current_actor());
end
$$;

-- Projects where the actor may execute runs: any project-wide role but viewer.
create function ops.actor_worker_project_ids() returns uuid[]
language plpgsql stable security definer
set search_path = ''
as $$
begin
  return (select coalesce(array_agg(distinct m.project_id), '{}') from ops.project_members m
          where m.member = ops.current_actor() and m.role <> 'viewer' and m.env_type is null);
end
$$;
revoke all on function ops.actor_worker_project_ids() from public;
grant execute on function ops.actor_worker_project_ids() to ops_app;

create or replace function ops.claim_next_run(p_worker text, p_lease_seconds integer default 60, p_types text[] default null)
returns setof ops.runs
language plpgsql security definer
set search_path = ''
set enable_sort = off
as $$
declare
  v_projects uuid[] := ops.actor_worker_project_ids();
  v_id bigint;
  v_exclusive boolean;
  v_project uuid;
  v_env text;
begin
  select r.id, r.exclusive, r.project_id, r.env into v_id, v_exclusive, v_project, v_env
  from ops.runs r
  where r.state = 'queued' and r.run_at <= now()
    and r.project_id = any (v_projects)
    and (p_types is null or r.type = any (p_types))
    and (not r.exclusive or not exists (
      select 1 from ops.runs o
      where o.project_id = r.project_id and o.env = r.env and o.exclusive and o.state in ('claimed', 'running')))
  order by r.priority, r.run_at, r.id
  limit 1
  for update skip locked;
  if v_id is null then
    return;
  end if;
  if v_exclusive then
    if not pg_try_advisory_xact_lock(hashtextextended('ops.env:' || v_project::text || ':' || v_env, 0)) then
      return;
    end if;
    if exists (select 1 from ops.runs o where o.project_id = v_project and o.env = v_env and o.exclusive
               and o.state in ('claimed', 'running')) then
      return;
    end if;
  end if;
  return query
    update ops.runs r set state = 'claimed', locked_by = p_worker, attempts = r.attempts + 1,
      lease_expires_at = now() + make_interval(secs => p_lease_seconds), updated_at = now()
    where r.id = v_id
    returning r.*;
end
$$;

create or replace function ops.claim_run(p_run bigint, p_worker text, p_lease_seconds integer default 60)
returns setof ops.runs
language plpgsql security definer
set search_path = ''
as $$
declare v_run ops.runs;
begin
  select * into v_run from ops.runs r where r.id = p_run for update;
  if v_run.id is null or not (v_run.project_id = any (ops.actor_worker_project_ids())) then
    raise exception 'run % not found', p_run using errcode = 'OS404';
  end if;
  if v_run.state <> 'queued' then
    raise exception 'run % is % (attempt %, worker %), not queued', p_run, v_run.state, v_run.attempts,
      coalesce(v_run.locked_by, '-') using errcode = 'OS409';
  end if;
  if v_run.exclusive then
    if not pg_try_advisory_xact_lock(hashtextextended('ops.env:' || v_run.project_id::text || ':' || v_run.env, 0)) then
      return;
    end if;
    if exists (select 1 from ops.runs o where o.project_id = v_run.project_id and o.env = v_run.env and o.exclusive
               and o.state in ('claimed', 'running') and o.id <> p_run) then
      return;
    end if;
  end if;
  return query
    update ops.runs r set state = 'claimed', locked_by = p_worker, attempts = r.attempts + 1,
      lease_expires_at = now() + make_interval(secs => p_lease_seconds), updated_at = now()
    where r.id = p_run
    returning r.*;
end
$$;

create or replace function ops.require_lease(p_run bigint, p_worker text, p_attempt integer) returns ops.runs
language plpgsql security definer
set search_path = ''
as $$
declare v_run ops.runs;
begin
  select * into v_run from ops.runs r where r.id = p_run for update;
  if v_run.id is null or not (v_run.project_id = any (ops.actor_worker_project_ids())) then
    raise exception 'run % not found', p_run using errcode = 'OS404';
  end if;
  if v_run.state not in ('claimed', 'running') or v_run.locked_by is distinct from p_worker
     or v_run.attempts <> p_attempt then
    raise exception 'lease lost: run % attempt % is not held by worker % (state %, attempt %, worker %)',
      p_run, p_attempt, p_worker, v_run.state, v_run.attempts, coalesce(v_run.locked_by, '-')
      using errcode = 'OS409';
  end if;
  return v_run;
end
$$;
