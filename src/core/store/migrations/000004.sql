-- 000004: run engine additions: claim one given run (inline execution by the CLI), a leaner
-- claim_next_run (the actor's projects computed once per call), and start_run recording which
-- worker and attempt started the run as an event (so `run logs` shows every attempt).

-- Claims the next available run for a worker: one candidate over runs_available_index, SKIP
-- LOCKED. An exclusive run is only taken while no other exclusive run of its environment is
-- active; the per-environment advisory lock plus a re-check in a fresh snapshot closes the race
-- between two workers claiming two exclusive runs of one environment at the same moment.
--
-- enable_sort = off pins the plan to an ordered scan of runs_available_index: right after a bulk
-- insert (no statistics yet) the planner otherwise picks a bitmap scan over runs_project_index
-- and sorts every queued run on each claim (5 ms instead of 0.3 ms for 10,000 queued runs).
create or replace function ops.claim_next_run(p_worker text, p_lease_seconds integer default 60, p_types text[] default null)
returns setof ops.runs
language plpgsql security definer
set search_path = ''
set enable_sort = off
as $$
declare
  v_projects uuid[] := ops.actor_project_ids();
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

-- Claims one given run (the CLI executing a run it just queued, `run create` without --detach).
-- Raises OS404 when the run is not visible, OS409 when it is no longer queued (another worker
-- claimed it, or it was cancelled). Returns no row while an exclusive run of the same environment
-- is active (the caller may retry). run_at is ignored: the caller asks for this run explicitly.
create function ops.claim_run(p_run bigint, p_worker text, p_lease_seconds integer default 60)
returns setof ops.runs
language plpgsql security definer
set search_path = ''
as $$
declare v_run ops.runs;
begin
  select * into v_run from ops.runs r where r.id = p_run for update;
  if v_run.id is null or not (v_run.project_id = any (ops.actor_project_ids())) then
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

-- claimed -> running, fenced; records "attempt N started on worker W" and wakes log followers.
create or replace function ops.start_run(p_run bigint, p_worker text, p_attempt integer, p_lease_seconds integer default 60)
returns ops.runs
language plpgsql security definer
set search_path = ''
as $$
declare
  v_run ops.runs;
  v_event bigint;
begin
  v_run := ops.require_lease(p_run, p_worker, p_attempt);
  if v_run.state = 'running' then
    return v_run;
  end if;
  update ops.runs r set state = 'running', started_at = coalesce(r.started_at, now()), updated_at = now(),
    lease_expires_at = now() + make_interval(secs => p_lease_seconds)
  where r.id = p_run returning * into v_run;
  insert into ops.run_events (run_id, project_id, level, message, payload, attempt)
  values (p_run, v_run.project_id, 'info', format('attempt %s of %s started on worker %s', p_attempt, v_run.max_attempts, p_worker),
          jsonb_build_object('worker', p_worker, 'attempt', p_attempt), p_attempt)
  returning id into v_event;
  perform pg_notify('ops_run_' || p_run, v_event::text);
  return v_run;
end
$$;

revoke all on function ops.claim_run(bigint, text, integer) from public;
grant execute on function ops.claim_run(bigint, text, integer) to ops_app;
