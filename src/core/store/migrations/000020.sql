-- 000020: retention of run logs. The logs runs keep as artifacts (000019: kind 'log', e.g. a
-- build's Docker output) outlive the events' retention on purpose, but not forever: the runner
-- deletes those older than state.logRetention, as it prunes events. Both prunes are for admins of
-- the whole project (ops.has_role with no environment type): a member row scoped to one
-- environment type, even an admin one, prunes nothing (000003's prune_events only looked at the
-- role, so an admin of previews pruned production's events too). A log's stored content goes
-- with it (ops.artifact_contents cascades).
create or replace function ops.prune_events(p_older_than interval) returns bigint
language plpgsql security definer
set search_path = ''
as $$
declare v_count bigint;
begin
  delete from ops.run_events e
  where e.at < now() - p_older_than
    and e.project_id = any (ops.actor_project_ids())
    and ops.has_role(e.project_id, array['admin']);
  get diagnostics v_count = row_count;
  return v_count;
end
$$;

create function ops.prune_run_logs(p_older_than interval) returns bigint
language plpgsql security definer
set search_path = ''
as $$
declare v_count bigint;
begin
  if p_older_than is null or p_older_than < interval '1 hour' then
    raise exception 'invalid log retention %: at least one hour', p_older_than using errcode = 'OS400';
  end if;
  delete from ops.artifacts a
  where a.kind = 'log'
    and a.created_at < now() - p_older_than
    and a.project_id = any (ops.actor_project_ids())
    and ops.has_role(a.project_id, array['admin']);
  get diagnostics v_count = row_count;
  return v_count;
end
$$;

revoke all on function ops.prune_run_logs(interval) from public;
grant execute on function ops.prune_run_logs(interval) to ops_app;
