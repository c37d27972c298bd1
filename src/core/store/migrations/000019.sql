-- 000019: run logs kept as artifacts. Run events are pruned after the retention period
-- (ops.prune_events), so a run that wants its log kept (the build: Docker's output of every layer)
-- records it as an artifact of kind 'log' whose content lives in ops.artifact_contents. The log is
-- composed here, from the events of the run's current attempt, so a worker cannot record a log
-- that differs from what it reported, and the write is fenced by the run's lease like every other
-- worker write.

-- The stored content of an artifact (only artifacts whose uri is ops:artifacts/<id> have one).
create table ops.artifact_contents (
  artifact_id bigint primary key references ops.artifacts (id) on delete cascade,
  project_id uuid not null references ops.projects (id) on delete cascade,
  content text not null
);
alter table ops.artifact_contents enable row level security;
alter table ops.artifact_contents force row level security;
create policy artifact_contents_member on ops.artifact_contents for select
  using (project_id = any ((select ops.actor_project_ids())::uuid[]));
revoke all on ops.artifact_contents from public;
grant select on ops.artifact_contents to ops_app;

-- One log of a name per run: a retry replaces the earlier attempt's log.
create unique index artifacts_run_log_index on ops.artifacts (run_id, name) where kind = 'log';

-- Records the log of the caller's attempt of a run (optionally of one phase) as the artifact
-- p_name: one line per event, `<ISO time> <LEVEL> [phase] message`, ordered by id. Above p_max_bytes
-- (at most, and by default, 8 MiB) the tail is kept, after a first line saying what was left out,
-- and metadata.truncated is true. Fenced by (run, worker, attempt): OS409 once another attempt owns
-- the run. Replaces an earlier log of that name of the run (an earlier attempt's, or this one's).
create function ops.record_run_log(
  p_run bigint, p_worker text, p_attempt integer, p_name text,
  p_phase text default null, p_max_bytes integer default 8388608
) returns ops.artifacts
language plpgsql security definer
set search_path = ''
as $$
declare
  c_limit constant integer := 8388608;
  c_marker constant integer := 160;
  v_run ops.runs;
  v_total_lines bigint;
  v_total_bytes bigint;
  v_kept_lines bigint;
  v_kept_bytes bigint;
  v_last text;
  v_content text;
  v_tail bytea;
  v_truncated boolean;
  v_art ops.artifacts;
begin
  if p_name is null or p_name !~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$' then
    raise exception 'invalid log name "%": letters, digits, dot, dash and underscore, at most 128', p_name using errcode = 'OS400';
  end if;
  if p_max_bytes is null or p_max_bytes < 1024 or p_max_bytes > c_limit then
    raise exception 'invalid log size bound %: expected 1024 to % bytes', p_max_bytes, c_limit using errcode = 'OS400';
  end if;
  v_run := ops.require_lease(p_run, p_worker, p_attempt);

  with lines as (
    select e.id,
      pg_catalog.to_char(e.at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || ' ' || pg_catalog.upper(e.level) || ' '
        || coalesce('[' || e.phase || '] ', '') || e.message || E'\n' as line
    from ops.run_events e
    where e.run_id = p_run and e.attempt = p_attempt and (p_phase is null or e.phase = p_phase)
  ), sized as (
    select l.id, l.line, pg_catalog.octet_length(l.line)::bigint as n,
      pg_catalog.sum(pg_catalog.octet_length(l.line)) over (order by l.id desc) as from_end,
      pg_catalog.sum(pg_catalog.octet_length(l.line)) over () as total
    from lines l
  ), kept as (
    select s.*, s.from_end <= case when s.total <= p_max_bytes then p_max_bytes else p_max_bytes - c_marker end as keep
    from sized s
  )
  select pg_catalog.count(*), coalesce(pg_catalog.sum(k.n), 0),
    pg_catalog.count(*) filter (where k.keep), coalesce(pg_catalog.sum(k.n) filter (where k.keep), 0),
    coalesce(pg_catalog.string_agg(k.line, '' order by k.id) filter (where k.keep), '')
  into v_total_lines, v_total_bytes, v_kept_lines, v_kept_bytes, v_content
  from kept k;

  v_truncated := v_total_bytes > p_max_bytes;
  if v_truncated and v_kept_lines = 0 then
    -- Not even the last line fits: keep the end of it, cut at a character boundary.
    select e.message || E'\n' into v_last from ops.run_events e
    where e.run_id = p_run and e.attempt = p_attempt and (p_phase is null or e.phase = p_phase)
    order by e.id desc limit 1;
    v_tail := pg_catalog.convert_to(v_last, 'UTF8');
    v_tail := pg_catalog.substr(v_tail, pg_catalog.length(v_tail) - (p_max_bytes - c_marker) + 1);
    while pg_catalog.length(v_tail) > 0 and pg_catalog.get_byte(v_tail, 0) between 128 and 191 loop
      v_tail := pg_catalog.substr(v_tail, 2);
    end loop;
    v_content := pg_catalog.convert_from(v_tail, 'UTF8');
    v_kept_bytes := pg_catalog.octet_length(v_content);
  end if;
  if v_truncated then
    v_content := pg_catalog.format(E'[log truncated to %s bytes: %s of %s lines (%s of %s bytes) left out]\n',
      p_max_bytes, v_total_lines - v_kept_lines, v_total_lines, v_total_bytes - v_kept_bytes, v_total_bytes) || v_content;
  end if;

  delete from ops.artifacts a where a.run_id = p_run and a.kind = 'log' and a.name = p_name;
  insert into ops.artifacts (run_id, project_id, kind, name, uri, sha256, size_bytes, metadata)
  values (p_run, v_run.project_id, 'log', p_name, 'ops:artifacts/pending',
    pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(v_content, 'UTF8')), 'hex'), pg_catalog.octet_length(v_content),
    pg_catalog.jsonb_build_object('format', 'text', 'attempt', p_attempt, 'phase', p_phase, 'lines', v_total_lines,
      'truncated', v_truncated, 'max_bytes', p_max_bytes, 'total_bytes', v_total_bytes,
      'omitted_lines', v_total_lines - v_kept_lines, 'omitted_bytes', v_total_bytes - v_kept_bytes))
  returning * into v_art;
  update ops.artifacts a set uri = 'ops:artifacts/' || a.id where a.id = v_art.id returning * into v_art;
  insert into ops.artifact_contents (artifact_id, project_id, content) values (v_art.id, v_run.project_id, v_content);
  return v_art;
end
$$;

revoke all on function ops.record_run_log(bigint, text, integer, text, text, integer) from public;
grant execute on function ops.record_run_log(bigint, text, integer, text, text, integer) to ops_app;
