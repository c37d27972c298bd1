-- 000020: retention of run logs. The logs runs keep as artifacts (000019: kind 'log', e.g. a
-- build's Docker output) outlive the events' retention on purpose, but not forever: the runner
-- deletes those older than state.logRetention, as it prunes events (admin only, like
-- ops.prune_events). Their stored content goes with them (ops.artifact_contents cascades).
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
    and a.project_id in (select m.project_id from ops.project_members m
                         where m.member = ops.current_actor() and m.role = 'admin');
  get diagnostics v_count = row_count;
  return v_count;
end
$$;

revoke all on function ops.prune_run_logs(interval) from public;
grant execute on function ops.prune_run_logs(interval) to ops_app;
