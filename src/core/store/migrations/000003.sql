-- 000003: the run queue as SQL functions: the state machine (mirrors src/core/run/run-state.ts),
-- queue, claim with leases, fenced heartbeat/events/finish, sweep of expired leases, cancel, prune.

create table ops.run_transitions (
  from_state text not null,
  to_state text not null,
  constraint run_transitions_pkey primary key (from_state, to_state)
);
insert into ops.run_transitions (from_state, to_state) values
  ('queued', 'claimed'), ('queued', 'cancelled'),
  ('claimed', 'running'), ('claimed', 'queued'), ('claimed', 'failed'), ('claimed', 'cancelled'), ('claimed', 'timed_out'),
  ('running', 'succeeded'), ('running', 'failed'), ('running', 'cancelled'), ('running', 'timed_out'), ('running', 'queued');
alter table ops.run_transitions enable row level security;
alter table ops.run_transitions force row level security;
create policy run_transitions_read on ops.run_transitions for select using (true);

-- Run types whose runs of one environment must never overlap.
create function ops.is_exclusive_type(p_type text) returns boolean
language sql immutable
set search_path = ''
as $$ select p_type in ('deploy', 'promote', 'restore', 'clone', 'rollback', 'destroy') $$;

-- Compare-and-set on the run state: updates only when the run is in p_from and the transition is
-- allowed. Returns the run, or raises OS409 (state changed under us) / OS400 (not a transition).
create function ops.transition_run(p_run bigint, p_from text, p_to text) returns ops.runs
language plpgsql security definer
set search_path = ''
as $$
declare v_run ops.runs;
begin
  if not exists (select 1 from ops.run_transitions t where t.from_state = p_from and t.to_state = p_to) then
    raise exception 'run state % -> % is not a transition', p_from, p_to using errcode = 'OS400';
  end if;
  update ops.runs r set state = p_to, updated_at = now(),
    locked_by = case when p_to in ('claimed', 'running') then r.locked_by end,
    lease_expires_at = case when p_to in ('claimed', 'running') then r.lease_expires_at end,
    finished_at = case when p_to in ('succeeded', 'failed', 'cancelled', 'timed_out') then now() end
  where r.id = p_run and r.state = p_from
    and r.project_id = any (ops.actor_project_ids())
  returning * into v_run;
  if v_run.id is null then
    raise exception 'run % is not in state %', p_run, p_from using errcode = 'OS409';
  end if;
  return v_run;
end
$$;

create function ops.queue_run(
  p_project uuid, p_env text, p_git_sha text, p_ref text, p_type text,
  p_payload jsonb default '{}', p_options jsonb default '{}'
) returns ops.runs
language plpgsql security definer
set search_path = ''
as $$
declare v_run ops.runs;
begin
  perform ops.require_role(p_project, array['developer', 'tester'], 'queue runs');
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

-- Claims the next available run for a worker: one statement over the partial index, SKIP LOCKED.
-- An exclusive run is only taken while no other exclusive run of its environment is active; the
-- per-environment advisory lock plus a re-check in a fresh snapshot closes the race between two
-- workers claiming two exclusive runs of one environment at the same moment.
create function ops.claim_next_run(p_worker text, p_lease_seconds integer default 60, p_types text[] default null)
returns setof ops.runs
language plpgsql security definer
set search_path = ''
as $$
declare
  v_id bigint;
  v_exclusive boolean;
  v_project uuid;
  v_env text;
begin
  select r.id, r.exclusive, r.project_id, r.env into v_id, v_exclusive, v_project, v_env
  from ops.runs r
  where r.state = 'queued' and r.run_at <= now()
    and r.project_id = any (ops.actor_project_ids())
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

-- Raises OS409 unless (run, worker, attempt) holds the run's live lease.
create function ops.require_lease(p_run bigint, p_worker text, p_attempt integer) returns ops.runs
language plpgsql security definer
set search_path = ''
as $$
declare v_run ops.runs;
begin
  select * into v_run from ops.runs r where r.id = p_run for update;
  if v_run.id is null or not (v_run.project_id = any (ops.actor_project_ids())) then
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

-- claimed -> running, fenced.
create function ops.start_run(p_run bigint, p_worker text, p_attempt integer, p_lease_seconds integer default 60)
returns ops.runs
language plpgsql security definer
set search_path = ''
as $$
declare v_run ops.runs;
begin
  v_run := ops.require_lease(p_run, p_worker, p_attempt);
  if v_run.state = 'running' then
    return v_run;
  end if;
  update ops.runs r set state = 'running', started_at = coalesce(r.started_at, now()), updated_at = now(),
    lease_expires_at = now() + make_interval(secs => p_lease_seconds)
  where r.id = p_run returning * into v_run;
  return v_run;
end
$$;

-- Extends the lease; returns whether cancellation was requested. Raises OS409 when the lease was lost.
create function ops.heartbeat(p_run bigint, p_worker text, p_attempt integer, p_lease_seconds integer default 60)
returns boolean
language plpgsql security definer
set search_path = ''
as $$
declare v_run ops.runs;
begin
  v_run := ops.require_lease(p_run, p_worker, p_attempt);
  update ops.runs r set lease_expires_at = now() + make_interval(secs => p_lease_seconds), updated_at = now()
  where r.id = p_run;
  return v_run.cancel_requested;
end
$$;

-- Appends an event and wakes `run logs --follow` readers (NOTIFY ops_run_<id>). A worker passes its
-- (worker, attempt) and is fenced; without them the caller must be allowed to queue runs.
create function ops.append_event(
  p_run bigint, p_level text, p_message text, p_payload jsonb default '{}',
  p_phase text default null, p_worker text default null, p_attempt integer default null
) returns bigint
language plpgsql security definer
set search_path = ''
as $$
declare
  v_run ops.runs;
  v_id bigint;
begin
  if p_worker is not null then
    v_run := ops.require_lease(p_run, p_worker, p_attempt);
  else
    select * into v_run from ops.runs r where r.id = p_run;
    if v_run.id is null or not (v_run.project_id = any (ops.actor_project_ids())) then
      raise exception 'run % not found', p_run using errcode = 'OS404';
    end if;
    perform ops.require_role(v_run.project_id, array['developer', 'tester'], 'write run events');
  end if;
  insert into ops.run_events (run_id, project_id, level, phase, message, payload, attempt)
  values (p_run, v_run.project_id, p_level, p_phase, p_message, coalesce(p_payload, '{}'), v_run.attempts)
  returning id into v_id;
  if p_phase is not null and p_phase is distinct from v_run.phase then
    update ops.runs r set phase = p_phase where r.id = p_run;
  end if;
  perform pg_notify('ops_run_' || p_run, v_id::text);
  return v_id;
exception when check_violation then
  raise exception 'invalid event level "%": use debug, info, warn or error', p_level using errcode = 'OS400';
end
$$;

-- Finishes a run, fenced by (worker, attempt). Idempotent: finishing again with the same status
-- by the same worker and attempt returns the run unchanged.
create function ops.finish_run(
  p_run bigint, p_worker text, p_attempt integer, p_status text,
  p_error text default null, p_result jsonb default null
) returns ops.runs
language plpgsql security definer
set search_path = ''
as $$
declare v_run ops.runs;
begin
  if p_status not in ('succeeded', 'failed', 'cancelled', 'timed_out') then
    raise exception 'invalid final status "%"', p_status using errcode = 'OS400';
  end if;
  select * into v_run from ops.runs r where r.id = p_run for update;
  if v_run.id is not null and v_run.state = p_status and v_run.attempts = p_attempt
     and v_run.result ->> '_finished_by' = p_worker then
    return v_run;
  end if;
  v_run := ops.require_lease(p_run, p_worker, p_attempt);
  if not exists (select 1 from ops.run_transitions t where t.from_state = v_run.state and t.to_state = p_status) then
    raise exception 'run % cannot go from % to %', p_run, v_run.state, p_status using errcode = 'OS409';
  end if;
  update ops.runs r set state = p_status, finished_at = now(), updated_at = now(),
    locked_by = null, lease_expires_at = null,
    last_error = coalesce(p_error, r.last_error),
    result = coalesce(p_result, '{}') || jsonb_build_object('_finished_by', p_worker)
  where r.id = p_run returning * into v_run;
  insert into ops.run_events (run_id, project_id, level, message, payload, attempt)
  values (p_run, v_run.project_id, case when p_status = 'succeeded' then 'info' else 'error' end,
          'run ' || p_status || coalesce(': ' || p_error, ''), jsonb_build_object('state', p_status), p_attempt);
  perform pg_notify('ops_run_' || p_run, 'end');
  return v_run;
end
$$;

-- Requeues runs whose lease lapsed (exponential backoff: backoff_ms * 2^(attempts-1), at most an
-- hour), or fails them with the last error kept once max_attempts is reached. Returns the count.
create function ops.sweep_expired_runs() returns integer
language plpgsql security definer
set search_path = ''
as $$
declare
  v_run record;
  v_count integer := 0;
  v_error text;
begin
  for v_run in
    select r.id, r.project_id, r.attempts, r.max_attempts, r.backoff_ms, r.locked_by, r.last_error
    from ops.runs r
    where r.state in ('claimed', 'running') and r.lease_expires_at < now()
      and r.project_id = any (ops.actor_project_ids())
    for update skip locked
  loop
    v_error := format('lease expired (worker %s, attempt %s)', v_run.locked_by, v_run.attempts);
    if v_run.attempts < v_run.max_attempts then
      update ops.runs r set state = 'queued', locked_by = null, lease_expires_at = null, updated_at = now(),
        last_error = coalesce(r.last_error || '; ', '') || v_error,
        run_at = now() + make_interval(secs => least(3600.0, v_run.backoff_ms / 1000.0 * power(2, greatest(v_run.attempts - 1, 0))))
      where r.id = v_run.id;
    else
      update ops.runs r set state = 'failed', locked_by = null, lease_expires_at = null, updated_at = now(),
        finished_at = now(), last_error = coalesce(r.last_error || '; ', '') || v_error || '; max attempts reached'
      where r.id = v_run.id;
      perform pg_notify('ops_run_' || v_run.id, 'end');
    end if;
    insert into ops.run_events (run_id, project_id, level, message, attempt)
    values (v_run.id, v_run.project_id, 'warn', v_error, v_run.attempts);
    v_count := v_count + 1;
  end loop;
  return v_count;
end
$$;

-- Cancels a queued run at once; asks a claimed/running run to stop (its worker sees it on the
-- next heartbeat and finishes it as cancelled).
create function ops.cancel_run(p_run bigint) returns ops.runs
language plpgsql security definer
set search_path = ''
as $$
declare v_run ops.runs;
begin
  select * into v_run from ops.runs r where r.id = p_run for update;
  if v_run.id is null or not (v_run.project_id = any (ops.actor_project_ids())) then
    raise exception 'run % not found', p_run using errcode = 'OS404';
  end if;
  perform ops.require_role(v_run.project_id, array['developer', 'tester'], 'cancel runs');
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

-- Deletes run events older than the given age in the actor's projects (admin only); returns the count.
create function ops.prune_events(p_older_than interval) returns bigint
language plpgsql security definer
set search_path = ''
as $$
declare v_count bigint;
begin
  delete from ops.run_events e
  where e.at < now() - p_older_than
    and e.project_id in (select m.project_id from ops.project_members m
                         where m.member = ops.current_actor() and m.role = 'admin');
  get diagnostics v_count = row_count;
  return v_count;
end
$$;

-- Backups and restores: the rows are recorded here; the data work is done by the CLI's data-ops
-- services, which complete these rows.
create function ops.create_backup(p_project uuid, p_env text, p_kind text default 'manual', p_run bigint default null)
returns ops.backups
language plpgsql security definer
set search_path = ''
as $$
declare v_backup ops.backups;
begin
  perform ops.require_role(p_project, array['admin'], 'create backups');
  insert into ops.backups (project_id, environment, kind, run_id, created_by)
  values (p_project, p_env, p_kind, p_run, ops.current_actor())
  returning * into v_backup;
  perform ops.record_audit(p_project, 'backup.create', v_backup.id::text, p_env, p_run, jsonb_build_object('kind', p_kind));
  return v_backup;
exception when check_violation then
  raise exception 'invalid backup kind "%": use daily, manual, pre-deploy or safety', p_kind using errcode = 'OS400';
end
$$;

create function ops.restore_backup(p_backup uuid, p_target_env text, p_run bigint default null)
returns ops.restores
language plpgsql security definer
set search_path = ''
as $$
declare
  v_backup ops.backups;
  v_restore ops.restores;
begin
  select * into v_backup from ops.backups b where b.id = p_backup;
  if v_backup.id is null or not (v_backup.project_id = any (ops.actor_project_ids())) then
    raise exception 'backup % not found', p_backup using errcode = 'OS404';
  end if;
  perform ops.require_role(v_backup.project_id, array['admin'], 'restore backups');
  if v_backup.status <> 'complete' then
    raise exception 'backup % is %, not complete: it cannot be restored', p_backup, v_backup.status using errcode = 'OS409';
  end if;
  insert into ops.restores (project_id, backup_id, target_env, run_id, created_by)
  values (v_backup.project_id, p_backup, p_target_env, p_run, ops.current_actor())
  returning * into v_restore;
  perform ops.record_audit(v_backup.project_id, 'backup.restore', p_backup::text, p_target_env, p_run,
    jsonb_build_object('restore_id', v_restore.id));
  return v_restore;
end
$$;

-- Privileges: members (granted ops_app) read through RLS and write only through functions, except
-- the audit log, where INSERT is allowed (and UPDATE/DELETE/TRUNCATE are refused by grants and triggers).
revoke all on all tables in schema ops from public;
revoke all on all functions in schema ops from public;
grant select on all tables in schema ops to ops_app;
grant insert on ops.audit_log to ops_app;
grant execute on function
  ops.current_actor(), ops.actor_project_ids(), ops.has_role(uuid, text[], text), ops.project_id_by_name(text),
  ops.record_audit(uuid, text, text, text, bigint, jsonb), ops.create_project(text),
  ops.add_member(uuid, text, text, text), ops.remove_member(uuid, text, text),
  ops.transition_run(bigint, text, text), ops.queue_run(uuid, text, text, text, text, jsonb, jsonb),
  ops.claim_next_run(text, integer, text[]), ops.start_run(bigint, text, integer, integer),
  ops.heartbeat(bigint, text, integer, integer), ops.append_event(bigint, text, text, jsonb, text, text, integer),
  ops.finish_run(bigint, text, integer, text, text, jsonb), ops.sweep_expired_runs(), ops.cancel_run(bigint),
  ops.prune_events(interval), ops.create_backup(uuid, text, text, bigint), ops.restore_backup(uuid, text, bigint),
  ops.audit_canonical(uuid, bigint, timestamptz, text, text, text, text, bigint, jsonb), ops.is_exclusive_type(text)
to ops_app;
