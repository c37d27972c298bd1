--
-- PostgreSQL database dump
--

--
-- Name: ops; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA ops;

--
-- Name: _100_audit_append_only(); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops._100_audit_append_only() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  raise exception 'ops.audit_log is append-only: % refused', tg_op using errcode = 'OS403';
end
$$;

--
-- Name: _500_audit_chain(); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops._500_audit_chain() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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

--
-- Name: actor_project_ids(); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.actor_project_ids() RETURNS uuid[]
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  return (select coalesce(array_agg(distinct m.project_id), '{}') from ops.project_members m
          where m.member = ops.current_actor());
end
$$;

--
-- Name: actor_worker_project_ids(); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.actor_worker_project_ids() RETURNS uuid[]
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  return (select coalesce(array_agg(distinct m.project_id), '{}') from ops.project_members m
          where m.member = ops.current_actor() and m.role <> 'viewer' and m.env_type is null);
end
$$;

--
-- Name: project_members; Type: TABLE; Schema: ops; Owner: -
--

CREATE TABLE ops.project_members (
    id bigint NOT NULL,
    project_id uuid NOT NULL,
    member text NOT NULL,
    role text NOT NULL,
    env_type text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    created_by text NOT NULL,
    CONSTRAINT project_members_env_type_check CHECK (((env_type IS NULL) OR (env_type = ANY (ARRAY['production'::text, 'staging'::text, 'preview'::text, 'dev'::text]))))
);

ALTER TABLE ONLY ops.project_members FORCE ROW LEVEL SECURITY;

--
-- Name: add_member(uuid, text, text, text); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.add_member(p_project uuid, p_member text, p_role text, p_env_type text DEFAULT NULL::text) RETURNS ops.project_members
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $_$
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
$_$;

--
-- Name: append_event(bigint, text, text, jsonb, text, text, integer); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.append_event(p_run bigint, p_level text, p_message text, p_payload jsonb DEFAULT '{}'::jsonb, p_phase text DEFAULT NULL::text, p_worker text DEFAULT NULL::text, p_attempt integer DEFAULT NULL::integer) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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

--
-- Name: approval_env_type(uuid, text); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.approval_env_type(p_project uuid, p_env text) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
  select coalesce((
    select e.type from ops.environments e
    where e.project_id = p_project and e.name = p_env
    order by (e.status <> 'destroyed') desc, e.created_at desc limit 1), 'production')
$$;

--
-- Name: upgrade_reports; Type: TABLE; Schema: ops; Owner: -
--

CREATE TABLE ops.upgrade_reports (
    id bigint NOT NULL,
    project_id uuid NOT NULL,
    run_id bigint,
    env text NOT NULL,
    from_version text NOT NULL,
    to_version text NOT NULL,
    verdict text NOT NULL,
    report jsonb NOT NULL,
    markdown text NOT NULL,
    requested_by text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    approved_by text,
    approved_at timestamp with time zone,
    CONSTRAINT upgrade_reports_approval_check CHECK (((approved_by IS NULL) = (approved_at IS NULL))),
    CONSTRAINT upgrade_reports_to_version_check CHECK ((to_version ~ '^[0-9]{1,3}\.[0-9]+$'::text)),
    CONSTRAINT upgrade_reports_verdict_check CHECK ((verdict = ANY (ARRAY['ready'::text, 'blocked'::text])))
);

ALTER TABLE ONLY ops.upgrade_reports FORCE ROW LEVEL SECURITY;

--
-- Name: approve_upgrade_report(uuid, bigint); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.approve_upgrade_report(p_project uuid, p_id bigint) RETURNS ops.upgrade_reports
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare v_row ops.upgrade_reports;
begin
  select * into v_row from ops.upgrade_reports u where u.id = p_id and u.project_id = p_project for update;
  if v_row.id is null or not (p_project = any (ops.actor_project_ids())) then
    raise exception 'upgrade report % not found', p_id using errcode = 'OS404';
  end if;
  perform ops.require_role(p_project, array['admin'], 'approve upgrade reports');
  if v_row.requested_by = ops.current_actor() then
    raise exception 'actor "%" asked for upgrade report % and may not approve it', ops.current_actor(), p_id using errcode = 'OS403';
  end if;
  if v_row.verdict <> 'ready' then
    raise exception 'upgrade report % is blocked: only a ready report can be approved', p_id using errcode = 'OS409';
  end if;
  if v_row.approved_by is not null then
    raise exception 'upgrade report % was already approved by %', p_id, v_row.approved_by using errcode = 'OS409';
  end if;
  update ops.upgrade_reports u set approved_by = ops.current_actor(), approved_at = now()
  where u.id = p_id returning * into v_row;
  perform ops.record_audit(p_project, 'upgrade.approve', p_id::text, v_row.env, v_row.run_id,
    jsonb_build_object('to_version', v_row.to_version, 'requested_by', v_row.requested_by));
  return v_row;
end
$$;

--
-- Name: attach_backup_slot_run(uuid, text, timestamp with time zone, bigint); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.attach_backup_slot_run(p_project uuid, p_env text, p_slot timestamp with time zone, p_run bigint) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  perform ops.require_role(p_project, array['admin'], 'fire scheduled backups');
  update ops.backup_slots s set run_id = p_run
  where s.project_id = p_project and s.env = p_env and s.slot = p_slot;
  if not found then
    raise exception 'backup slot % of environment % was never claimed', p_slot, p_env using errcode = 'OS404';
  end if;
end
$$;

--
-- Name: audit_canonical(uuid, bigint, timestamp with time zone, text, text, text, text, bigint, jsonb); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.audit_canonical(p_project uuid, p_seq bigint, p_at timestamp with time zone, p_actor text, p_action text, p_target text, p_env text, p_run bigint, p_payload jsonb) RETURNS text
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$
  select jsonb_build_object(
    'project_id', p_project, 'seq', p_seq,
    'at', to_char(p_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    'actor', p_actor, 'action', p_action, 'target', p_target, 'env', p_env, 'run_id', p_run,
    'payload', p_payload)::text
$$;

--
-- Name: backups; Type: TABLE; Schema: ops; Owner: -
--

CREATE TABLE ops.backups (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    project_id uuid NOT NULL,
    environment text NOT NULL,
    kind text DEFAULT 'manual'::text NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    run_id bigint,
    storage text,
    location text,
    manifest jsonb,
    size_bytes bigint,
    created_by text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    completed_at timestamp with time zone,
    error text,
    verified_at timestamp with time zone,
    verification jsonb,
    CONSTRAINT backups_kind_check CHECK ((kind = ANY (ARRAY['daily'::text, 'manual'::text, 'pre-deploy'::text, 'safety'::text]))),
    CONSTRAINT backups_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'complete'::text, 'failed'::text, 'deleted'::text])))
);

ALTER TABLE ONLY ops.backups FORCE ROW LEVEL SECURITY;

--
-- Name: backup_is_live(ops.backups); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.backup_is_live(p_backup ops.backups) RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  select p_backup.status = 'pending' and exists (
    select 1 from ops.runs r
    where r.id = p_backup.run_id and r.state in ('claimed', 'running') and r.lease_expires_at > now())
$$;

--
-- Name: backup_slot_text(timestamp with time zone); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.backup_slot_text(p_slot timestamp with time zone) RETURNS text
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$ select to_char(p_slot at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') $$;

--
-- Name: runs; Type: TABLE; Schema: ops; Owner: -
--

CREATE TABLE ops.runs (
    id bigint NOT NULL,
    project_id uuid NOT NULL,
    env text,
    type text NOT NULL,
    state text DEFAULT 'queued'::text NOT NULL,
    git_sha text,
    ref text,
    payload jsonb DEFAULT '{}'::jsonb NOT NULL,
    result jsonb,
    phase text,
    priority smallint DEFAULT 0 NOT NULL,
    run_at timestamp with time zone DEFAULT now() NOT NULL,
    attempts smallint DEFAULT 0 NOT NULL,
    max_attempts smallint DEFAULT 5 NOT NULL,
    backoff_ms integer DEFAULT 1000 NOT NULL,
    exclusive boolean DEFAULT false NOT NULL,
    locked_by text,
    lease_expires_at timestamp with time zone,
    cancel_requested boolean DEFAULT false NOT NULL,
    last_error text,
    created_by text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    started_at timestamp with time zone,
    finished_at timestamp with time zone,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT runs_attempts_check CHECK (((attempts >= 0) AND (max_attempts >= 1))),
    CONSTRAINT runs_lock_check CHECK (((state = ANY (ARRAY['claimed'::text, 'running'::text])) = ((locked_by IS NOT NULL) AND (lease_expires_at IS NOT NULL)))),
    CONSTRAINT runs_state_check CHECK ((state = ANY (ARRAY['queued'::text, 'claimed'::text, 'running'::text, 'succeeded'::text, 'failed'::text, 'cancelled'::text, 'timed_out'::text]))),
    CONSTRAINT runs_type_check CHECK ((type ~ '^[a-z][a-z0-9_-]{0,39}$'::text))
);

ALTER TABLE ONLY ops.runs FORCE ROW LEVEL SECURITY;

--
-- Name: cancel_run(bigint); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.cancel_run(p_run bigint) RETURNS ops.runs
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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

--
-- Name: claim_backup_slot(uuid, text, timestamp with time zone); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.claim_backup_slot(p_project uuid, p_env text, p_slot timestamp with time zone) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare v_claimed boolean;
begin
  if not (p_project = any (ops.actor_project_ids())) then
    raise exception 'project % not found (or you are not a member)', p_project using errcode = 'OS404';
  end if;
  perform ops.require_role(p_project, array['admin'], 'fire scheduled backups');
  insert into ops.backup_slots (project_id, env, slot, fired_by)
  values (p_project, p_env, p_slot, ops.current_actor())
  on conflict on constraint backup_slots_pkey do nothing
  returning true into v_claimed;
  if v_claimed then
    perform ops.record_audit(p_project, 'backup.slot.claim', ops.backup_slot_text(p_slot), p_env, null,
      jsonb_build_object('slot', ops.backup_slot_text(p_slot)));
  end if;
  return coalesce(v_claimed, false);
end
$$;

--
-- Name: claim_next_run(text, integer, text[]); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.claim_next_run(p_worker text, p_lease_seconds integer DEFAULT 60, p_types text[] DEFAULT NULL::text[]) RETURNS SETOF ops.runs
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    SET enable_sort TO 'off'
    AS $$
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

--
-- Name: claim_run(bigint, text, integer); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.claim_run(p_run bigint, p_worker text, p_lease_seconds integer DEFAULT 60) RETURNS SETOF ops.runs
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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

--
-- Name: complete_backup(uuid, text, text, jsonb, bigint); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.complete_backup(p_backup uuid, p_storage text, p_location text, p_manifest jsonb, p_size bigint) RETURNS ops.backups
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare v_backup ops.backups;
begin
  select * into v_backup from ops.backups b where b.id = p_backup for update;
  if v_backup.id is null or not (v_backup.project_id = any (ops.actor_project_ids())) then
    raise exception 'backup % not found', p_backup using errcode = 'OS404';
  end if;
  perform ops.require_role(v_backup.project_id, array['admin'], 'complete backups');
  if v_backup.status <> 'pending' then
    raise exception 'backup % is %, not pending: it cannot be completed', p_backup, v_backup.status using errcode = 'OS409';
  end if;
  if p_manifest is null or p_location is null or p_size is null or p_size < 0 then
    raise exception 'backup % needs a location, a manifest and a size to complete', p_backup using errcode = 'OS400';
  end if;
  update ops.backups b set status = 'complete', storage = p_storage, location = p_location, manifest = p_manifest,
    size_bytes = p_size, completed_at = now(), error = null
  where b.id = p_backup returning * into v_backup;
  perform ops.record_audit(v_backup.project_id, 'backup.complete', p_backup::text, v_backup.environment, v_backup.run_id,
    jsonb_build_object('location', p_location, 'size_bytes', p_size, 'storage', p_storage));
  return v_backup;
end
$$;

--
-- Name: create_backup(uuid, text, text, bigint); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.create_backup(p_project uuid, p_env text, p_kind text DEFAULT 'manual'::text, p_run bigint DEFAULT NULL::bigint) RETURNS ops.backups
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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

--
-- Name: projects; Type: TABLE; Schema: ops; Owner: -
--

CREATE TABLE ops.projects (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    name text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    created_by text NOT NULL,
    CONSTRAINT projects_name_check CHECK ((name ~ '^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$'::text))
);

ALTER TABLE ONLY ops.projects FORCE ROW LEVEL SECURITY;

--
-- Name: create_project(text); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.create_project(p_name text) RETURNS ops.projects
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $_$
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
$_$;

--
-- Name: current_actor(); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.current_actor() RETURNS text
    LANGUAGE sql STABLE
    AS $$
  select case
    when coalesce(pg_catalog.current_setting('request.jwt.claims', true), '') operator(pg_catalog.<>) ''
         and pg_catalog.pg_has_role(session_user, 'ops_authenticator', 'member')
    then coalesce(pg_catalog.current_setting('request.jwt.claims', true)::pg_catalog.jsonb operator(pg_catalog.->>) 'sub', '')
    else session_user::pg_catalog.text
  end
$$;

--
-- Name: approvals; Type: TABLE; Schema: ops; Owner: -
--

CREATE TABLE ops.approvals (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    project_id uuid NOT NULL,
    action text NOT NULL,
    environment text NOT NULL,
    release text,
    reason text,
    status text DEFAULT 'pending'::text NOT NULL,
    requested_by text NOT NULL,
    decided_by text,
    decided_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone,
    quorum smallint DEFAULT 1 NOT NULL,
    CONSTRAINT approvals_action_check CHECK ((action = ANY (ARRAY['deploy'::text, 'promote'::text, 'restore'::text, 'exec'::text]))),
    CONSTRAINT approvals_quorum_check CHECK (((quorum >= 1) AND (quorum <= 10))),
    CONSTRAINT approvals_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'approved'::text, 'rejected'::text, 'expired'::text])))
);

ALTER TABLE ONLY ops.approvals FORCE ROW LEVEL SECURITY;

--
-- Name: decide_approval(uuid, text, boolean, text); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.decide_approval(p_id uuid, p_vote text, p_allow_self boolean DEFAULT false, p_comment text DEFAULT NULL::text) RETURNS ops.approvals
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_row ops.approvals;
  v_type text;
  v_actor text := ops.current_actor();
  v_role text;
  v_approves integer;
begin
  select * into v_row from ops.approvals a where a.id = p_id for update;
  if v_row.id is null or not (v_row.project_id = any (ops.actor_project_ids())) then
    raise exception 'approval % not found', p_id using errcode = 'OS404';
  end if;
  if p_vote is null or p_vote not in ('approve', 'reject') then
    raise exception 'invalid vote "%": use approve or reject', p_vote using errcode = 'OS400';
  end if;
  if v_row.status = 'pending' and v_row.expires_at < now() then
    raise exception 'approval % expired at %: request a new one', p_id, v_row.expires_at using errcode = 'OS409';
  end if;
  if v_row.status <> 'pending' then
    raise exception 'approval % is already %: it cannot be decided again', p_id, v_row.status using errcode = 'OS409';
  end if;
  v_type := ops.approval_env_type(v_row.project_id, v_row.environment);
  if not ops.has_role(v_row.project_id, ops.env_roles(v_type), v_type) then
    if ops.has_role(v_row.project_id, array['viewer'], v_type) and not ops.has_role(v_row.project_id, array['developer', 'tester'], v_type) then
      raise exception 'actor "%" may not decide approvals: viewers are read-only', v_actor using errcode = 'OS403';
    end if;
    raise exception 'actor "%" may not decide approvals for % environment "%": needs role %', v_actor, v_type,
      v_row.environment, array_to_string(ops.env_roles(v_type), ' or ') || ' (or admin)' using errcode = 'OS403';
  end if;
  if p_vote = 'approve' and v_row.requested_by = v_actor then
    if not coalesce(p_allow_self, false) then
      raise exception 'self-approval refused: "%" requested approval % and cannot approve it; another member must', v_actor, p_id
        using errcode = 'OS403';
    end if;
    -- The caller's word is not enough: only a policy stored in ops.policies (changed by admins, audited) allows it.
    if not exists (
      select 1 from ops.policies p
      where p.project_id = v_row.project_id and p.env_type = v_type
        and not exists (select 1 from pg_catalog.jsonb_array_elements_text(p.rules) r(rule)
                        where pg_catalog.regexp_replace(pg_catalog.lower(pg_catalog.btrim(r.rule)), '[-[:space:]]+', ' ', 'g') = 'no self approval')
    ) then
      raise exception 'self-approval refused: "%" requested approval % and no stored % policy allows self-approval (rules from the configuration file are not trusted for it: an admin stores them with `odoo-sh-next policy set`)', v_actor, p_id, v_type
        using errcode = 'OS403';
    end if;
  end if;
  select m.role into v_role from ops.project_members m join ops.roles r on r.name = m.role
  where m.project_id = v_row.project_id and m.member = v_actor
    and (m.env_type is null or m.env_type = v_type)
    and (m.role = 'admin' or m.role = any (ops.env_roles(v_type)))
  order by r.rank desc limit 1;
  begin
    insert into ops.approval_votes (approval_id, project_id, voter, role, vote, comment)
    values (p_id, v_row.project_id, v_actor, v_role, p_vote, nullif(p_comment, ''));
  exception when unique_violation then
    raise exception 'actor "%" already voted on approval %', v_actor, p_id using errcode = 'OS409';
  end;
  select count(*) into v_approves from ops.approval_votes v where v.approval_id = p_id and v.vote = 'approve';
  if p_vote = 'reject' or v_approves >= v_row.quorum then
    update ops.approvals a set status = case when p_vote = 'reject' then 'rejected' else 'approved' end,
      decided_by = v_actor, decided_at = now()
    where a.id = p_id returning * into v_row;
  end if;
  perform ops.record_audit(v_row.project_id, 'approval.' || p_vote, p_id::text, v_row.environment, null,
    jsonb_build_object('action', v_row.action, 'release', v_row.release, 'role', v_role, 'status', v_row.status,
                       'approves', v_approves, 'quorum', v_row.quorum, 'self', v_row.requested_by = v_actor,
                       'comment', nullif(p_comment, '')));
  return v_row;
end
$$;

--
-- Name: delete_backup(uuid); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.delete_backup(p_backup uuid) RETURNS ops.backups
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_backup ops.backups;
  v_before text;
begin
  select * into v_backup from ops.backups b where b.id = p_backup for update;
  if v_backup.id is null or not (v_backup.project_id = any (ops.actor_project_ids())) then
    raise exception 'backup % not found', p_backup using errcode = 'OS404';
  end if;
  perform ops.require_role(v_backup.project_id, array['admin'], 'delete backups');
  if v_backup.status = 'deleted' then
    return v_backup;
  end if;
  if ops.backup_is_live(v_backup) then
    raise exception 'backup % is being written by run %: cancel the run first', p_backup, v_backup.run_id using errcode = 'OS409';
  end if;
  v_before := v_backup.status;
  update ops.backups b set status = 'deleted' where b.id = p_backup returning * into v_backup;
  perform ops.record_audit(v_backup.project_id, 'backup.delete', p_backup::text, v_backup.environment, null,
    jsonb_build_object('status', v_before, 'location', v_backup.location, 'kind', v_backup.kind, 'size_bytes', v_backup.size_bytes));
  return v_backup;
end
$$;

--
-- Name: ensure_member_role(uuid, text, text); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.ensure_member_role(p_project uuid, p_name text, p_scram_verifier text DEFAULT NULL::text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $_$
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
$_$;

--
-- Name: env_roles(text); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.env_roles(p_type text) RETURNS text[]
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$
  select case p_type
    when 'production' then array['admin']
    when 'staging' then array['tester']
    else array['developer', 'tester']
  end
$$;

--
-- Name: expire_approvals(uuid); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.expire_approvals(p_project uuid) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_row record;
  v_count integer := 0;
begin
  if not (p_project = any (ops.actor_project_ids())) then
    raise exception 'project % not found (or you are not a member)', p_project using errcode = 'OS404';
  end if;
  for v_row in
    update ops.approvals a set status = 'expired'
    where a.project_id = p_project and a.status in ('pending', 'approved') and a.expires_at < now()
    returning a.id, a.environment, a.action, a.release
  loop
    v_count := v_count + 1;
    perform ops.record_audit(p_project, 'approval.expire', v_row.id::text, v_row.environment, null,
      jsonb_build_object('action', v_row.action, 'release', v_row.release));
  end loop;
  return v_count;
end
$$;

--
-- Name: environments; Type: TABLE; Schema: ops; Owner: -
--

CREATE TABLE ops.environments (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    project_id uuid NOT NULL,
    name text NOT NULL,
    type text NOT NULL,
    branch text,
    status text DEFAULT 'creating'::text NOT NULL,
    url text,
    current_release text,
    database_name text,
    ttl_expires_at timestamp with time zone,
    settings jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    destroyed_at timestamp with time zone,
    CONSTRAINT environments_name_check CHECK ((name ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'::text)),
    CONSTRAINT environments_status_check CHECK ((status = ANY (ARRAY['creating'::text, 'active'::text, 'failed'::text, 'destroying'::text, 'destroyed'::text]))),
    CONSTRAINT environments_type_check CHECK ((type = ANY (ARRAY['production'::text, 'staging'::text, 'preview'::text, 'dev'::text])))
);

ALTER TABLE ONLY ops.environments FORCE ROW LEVEL SECURITY;

--
-- Name: expired_environments(uuid, timestamp with time zone); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.expired_environments(p_project uuid, p_now timestamp with time zone DEFAULT now()) RETURNS SETOF ops.environments
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
  select * from ops.environments e
  where e.project_id = p_project and e.project_id = any (ops.actor_project_ids())
    and e.status in ('active', 'failed') and e.ttl_expires_at is not null and e.ttl_expires_at <= p_now
  order by e.ttl_expires_at
$$;

--
-- Name: restores; Type: TABLE; Schema: ops; Owner: -
--

CREATE TABLE ops.restores (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    project_id uuid NOT NULL,
    backup_id uuid,
    target_env text NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    run_id bigint,
    new_database text,
    previous_database text,
    keep_previous_until timestamp with time zone,
    created_by text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    completed_at timestamp with time zone,
    source jsonb DEFAULT '{}'::jsonb NOT NULL,
    source_env text,
    error text,
    previous_dropped_at timestamp with time zone,
    CONSTRAINT restores_new_database_check CHECK (((new_database IS NULL) OR (new_database ~ '^[a-z0-9_]{1,63}$'::text))),
    CONSTRAINT restores_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'verifying'::text, 'switched'::text, 'confirmed'::text, 'expired'::text, 'failed'::text, 'rolled_back'::text])))
);

ALTER TABLE ONLY ops.restores FORCE ROW LEVEL SECURITY;

--
-- Name: expired_restores(uuid, timestamp with time zone); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.expired_restores(p_project uuid, p_now timestamp with time zone DEFAULT now()) RETURNS SETOF ops.restores
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
  select * from ops.restores r
  where r.project_id = p_project and r.project_id = any (ops.actor_project_ids())
    and r.status = 'switched' and r.keep_previous_until <= p_now
  order by r.keep_previous_until
$$;

--
-- Name: fail_backup(uuid, text); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.fail_backup(p_backup uuid, p_error text) RETURNS ops.backups
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare v_backup ops.backups;
begin
  select * into v_backup from ops.backups b where b.id = p_backup for update;
  if v_backup.id is null or not (v_backup.project_id = any (ops.actor_project_ids())) then
    raise exception 'backup % not found', p_backup using errcode = 'OS404';
  end if;
  perform ops.require_role(v_backup.project_id, array['admin'], 'fail backups');
  if v_backup.status = 'failed' then
    return v_backup;
  end if;
  if v_backup.status <> 'pending' then
    raise exception 'backup % is %, not pending: it cannot fail', p_backup, v_backup.status using errcode = 'OS409';
  end if;
  update ops.backups b set status = 'failed', error = left(coalesce(p_error, 'failed'), 2000), completed_at = now()
  where b.id = p_backup returning * into v_backup;
  perform ops.record_audit(v_backup.project_id, 'backup.fail', p_backup::text, v_backup.environment, v_backup.run_id,
    jsonb_build_object('error', v_backup.error));
  return v_backup;
end
$$;

--
-- Name: fail_stale_backups(uuid, bigint); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.fail_stale_backups(p_project uuid, p_run bigint DEFAULT NULL::bigint) RETURNS SETOF ops.backups
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare v_backup ops.backups;
begin
  perform ops.require_role(p_project, array['admin'], 'clean up backups');
  for v_backup in
    select * from ops.backups b
    where b.project_id = p_project and b.status = 'pending'
      and ((p_run is not null and b.run_id = p_run) or not ops.backup_is_live(b))
    order by b.created_at
    for update skip locked
  loop
    update ops.backups b set status = 'failed', completed_at = now(),
      error = case when p_run is not null and v_backup.run_id = p_run then 'superseded by a new attempt of its run'
                   else 'interrupted: its run ended or lost its lease before the backup completed' end
    where b.id = v_backup.id returning * into v_backup;
    perform ops.record_audit(p_project, 'backup.fail', v_backup.id::text, v_backup.environment, v_backup.run_id,
      jsonb_build_object('error', v_backup.error));
    return next v_backup;
  end loop;
end
$$;

--
-- Name: finish_restore(uuid, text); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.finish_restore(p_restore uuid, p_status text) RETURNS ops.restores
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_restore ops.restores;
  v_env ops.environments;
begin
  if p_status not in ('confirmed', 'expired') then
    raise exception 'invalid final restore status "%"', p_status using errcode = 'OS400';
  end if;
  select * into v_restore from ops.restores r
  where r.id = p_restore and r.project_id = any (ops.actor_project_ids()) for update;
  if v_restore.id is null then
    raise exception 'restore % not found', p_restore using errcode = 'OS404';
  end if;
  if v_restore.status <> 'switched' then
    raise exception 'restore % is %, not switched', p_restore, v_restore.status using errcode = 'OS409';
  end if;
  select * into v_env from ops.environments e
  where e.project_id = v_restore.project_id and e.name = v_restore.target_env and e.status <> 'destroyed';
  if v_env.id is not null then
    perform ops.require_restore_role(v_restore.project_id, v_env, v_restore.backup_id is not null);
  else
    perform ops.require_role(v_restore.project_id, array['admin'], 'finish restores of destroyed environments');
  end if;
  update ops.restores r set status = p_status, previous_dropped_at = now()
  where r.id = p_restore returning * into v_restore;
  perform ops.record_audit(v_restore.project_id, 'restore.' || case when p_status = 'confirmed' then 'confirm' else 'expire' end,
    p_restore::text, v_restore.target_env, v_restore.run_id,
    jsonb_build_object('dropped_database', v_restore.previous_database, 'kept_database', v_restore.new_database));
  return v_restore;
end
$$;

--
-- Name: finish_run(bigint, text, integer, text, text, jsonb); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.finish_run(p_run bigint, p_worker text, p_attempt integer, p_status text, p_error text DEFAULT NULL::text, p_result jsonb DEFAULT NULL::jsonb) RETURNS ops.runs
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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

--
-- Name: has_role(uuid, text[], text); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.has_role(p_project uuid, p_roles text[], p_env_type text DEFAULT NULL::text) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
  select exists (
    select 1 from ops.project_members m
    where m.project_id = p_project
      and m.member = ops.current_actor()
      and (m.role = 'admin' or m.role = any (p_roles))
      and (m.env_type is null or m.env_type = p_env_type)
  )
$$;

--
-- Name: heartbeat(bigint, text, integer, integer); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.heartbeat(p_run bigint, p_worker text, p_attempt integer, p_lease_seconds integer DEFAULT 60) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare v_run ops.runs;
begin
  v_run := ops.require_lease(p_run, p_worker, p_attempt);
  update ops.runs r set lease_expires_at = now() + make_interval(secs => p_lease_seconds), updated_at = now()
  where r.id = p_run;
  return v_run.cancel_requested;
end
$$;

--
-- Name: is_exclusive_type(text); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.is_exclusive_type(p_type text) RETURNS boolean
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$ select p_type in ('deploy', 'promote', 'restore', 'clone', 'rollback', 'destroy', 'preview-up', 'backup', 'db-mask', 'backup-prune') $$;

--
-- Name: list_approvals(uuid, text, text, integer); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.list_approvals(p_project uuid, p_env text DEFAULT NULL::text, p_status text DEFAULT NULL::text, p_limit integer DEFAULT 100) RETURNS SETOF ops.approvals
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  perform ops.expire_approvals(p_project);
  return query
    select * from ops.approvals a
    where a.project_id = p_project and (p_env is null or a.environment = p_env) and (p_status is null or a.status = p_status)
    order by a.created_at desc, a.id
    limit greatest(1, least(coalesce(p_limit, 100), 10000));
end
$$;

--
-- Name: lock_live_environment(uuid, text); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.lock_live_environment(p_project uuid, p_env text) RETURNS ops.environments
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare v_env ops.environments;
begin
  select * into v_env from ops.environments e
  where e.project_id = p_project and e.name = p_env and e.status <> 'destroyed'
    and e.project_id = any (ops.actor_project_ids())
  for update;
  if v_env.id is null then
    raise exception 'environment "%" not found', p_env using errcode = 'OS404';
  end if;
  return v_env;
end
$$;

--
-- Name: lock_members(uuid); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.lock_members(p_project uuid) RETURNS void
    LANGUAGE sql
    SET search_path TO ''
    AS $$ select pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('ops.members:' || p_project::text, 0)) $$;

--
-- Name: releases; Type: TABLE; Schema: ops; Owner: -
--

CREATE TABLE ops.releases (
    id text NOT NULL,
    project_id uuid NOT NULL,
    env text NOT NULL,
    source_env text,
    commit text,
    addons_hash text NOT NULL,
    odoo_version text NOT NULL,
    modules jsonb DEFAULT '{}'::jsonb NOT NULL,
    image_digest text,
    created_by text DEFAULT ops.current_actor() NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    deployed_at timestamp with time zone,
    status text DEFAULT 'built'::text NOT NULL,
    gates jsonb DEFAULT '{}'::jsonb NOT NULL,
    run_id bigint,
    pre_deploy_backup text,
    updated_modules jsonb DEFAULT '[]'::jsonb NOT NULL,
    CONSTRAINT releases_id_check CHECK ((id ~ '^r-[0-9a-f]{12}$'::text)),
    CONSTRAINT releases_status_check CHECK ((status = ANY (ARRAY['built'::text, 'deployed'::text, 'rolled_back'::text, 'failed'::text])))
);

ALTER TABLE ONLY ops.releases FORCE ROW LEVEL SECURITY;

--
-- Name: mark_release(uuid, text, text, text, jsonb, jsonb, bigint); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.mark_release(p_project uuid, p_id text, p_env text, p_status text, p_gates jsonb DEFAULT NULL::jsonb, p_updated_modules jsonb DEFAULT NULL::jsonb, p_run bigint DEFAULT NULL::bigint) RETURNS ops.releases
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_type text;
  v_rel ops.releases;
begin
  select e.type into v_type from ops.environments e
  where e.project_id = p_project and e.name = p_env and e.status <> 'destroyed';
  perform ops.require_role(p_project, ops.env_roles(coalesce(v_type, 'production')), 'deploy to ' || coalesce(v_type, 'production'),
    coalesce(v_type, 'production'));
  update ops.releases r set status = p_status, gates = coalesce(p_gates, r.gates),
    updated_modules = coalesce(p_updated_modules, r.updated_modules),
    deployed_at = case when p_status = 'deployed' then now() else r.deployed_at end,
    run_id = coalesce(p_run, r.run_id)
  where r.project_id = p_project and r.env = p_env and r.id = p_id
  returning * into v_rel;
  if v_rel.id is null then
    raise exception 'release % of environment % not found', p_id, p_env using errcode = 'OS404';
  end if;
  perform ops.record_audit(p_project, 'release.' || p_status, p_id, p_env, p_run,
    jsonb_build_object('gates', p_gates, 'updated_modules', p_updated_modules));
  return v_rel;
exception when check_violation then
  raise exception 'invalid release status "%"', p_status using errcode = 'OS400';
end
$$;

--
-- Name: other_admins(uuid, bigint); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.other_admins(p_project uuid, p_except bigint) RETURNS integer
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
  select count(*)::integer from ops.project_members m
  where m.project_id = p_project and m.role = 'admin' and m.env_type is null and m.id <> p_except
$$;

--
-- Name: project_id_by_name(text); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.project_id_by_name(p_name text) RETURNS uuid
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
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

--
-- Name: prune_events(interval); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.prune_events(p_older_than interval) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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

--
-- Name: prune_run_logs(interval); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.prune_run_logs(p_older_than interval) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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

--
-- Name: queue_run(uuid, text, text, text, text, jsonb, jsonb); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.queue_run(p_project uuid, p_env text, p_git_sha text, p_ref text, p_type text, p_payload jsonb DEFAULT '{}'::jsonb, p_options jsonb DEFAULT '{}'::jsonb) RETURNS ops.runs
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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

--
-- Name: record_audit(uuid, text, text, text, bigint, jsonb); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.record_audit(p_project uuid, p_action text, p_target text DEFAULT NULL::text, p_env text DEFAULT NULL::text, p_run bigint DEFAULT NULL::bigint, p_payload jsonb DEFAULT '{}'::jsonb) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $_$
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
$_$;

--
-- Name: record_backup_verification(uuid, boolean, jsonb); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.record_backup_verification(p_backup uuid, p_ok boolean, p_detail jsonb DEFAULT '{}'::jsonb) RETURNS ops.backups
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare v_backup ops.backups;
begin
  select * into v_backup from ops.backups b where b.id = p_backup for update;
  if v_backup.id is null or not (v_backup.project_id = any (ops.actor_project_ids())) then
    raise exception 'backup % not found', p_backup using errcode = 'OS404';
  end if;
  perform ops.require_role(v_backup.project_id, array['admin'], 'verify backups');
  update ops.backups b set verified_at = now(),
    verification = coalesce(p_detail, '{}') || jsonb_build_object('ok', p_ok)
  where b.id = p_backup returning * into v_backup;
  perform ops.record_audit(v_backup.project_id, 'backup.verify', p_backup::text, v_backup.environment, null,
    jsonb_build_object('ok', p_ok, 'failures', coalesce(p_detail -> 'failures', '0'::jsonb)));
  return v_backup;
end
$$;

--
-- Name: record_policy_denial(uuid, text, text, jsonb); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.record_policy_denial(p_project uuid, p_action text, p_env text, p_payload jsonb) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  if p_action is null or p_action not in ('deploy', 'promote', 'restore', 'exec') then
    raise exception 'invalid action "%": use deploy, promote, restore or exec', p_action using errcode = 'OS400';
  end if;
  if p_env is null or p_env = '' then
    raise exception 'a policy denial names its environment' using errcode = 'OS400';
  end if;
  if p_payload is null or jsonb_typeof(p_payload -> 'reasons') is distinct from 'array' or jsonb_array_length(p_payload -> 'reasons') = 0 then
    raise exception 'a policy denial lists its reasons (payload.reasons, a non-empty array)' using errcode = 'OS400';
  end if;
  return ops.record_audit(p_project, 'policy.deny', p_action, p_env, null, p_payload);
end
$$;

--
-- Name: record_release(uuid, text, text, text, text, text, text, jsonb, text, text, bigint); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.record_release(p_project uuid, p_id text, p_env text, p_source_env text, p_commit text, p_addons_hash text, p_odoo_version text, p_modules jsonb, p_image_digest text, p_pre_deploy_backup text, p_run bigint) RETURNS ops.releases
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_type text;
  v_rel ops.releases;
begin
  select e.type into v_type from ops.environments e
  where e.project_id = p_project and e.name = p_env and e.status <> 'destroyed';
  perform ops.require_role(p_project, ops.env_roles(coalesce(v_type, 'production')), 'deploy to ' || coalesce(v_type, 'production'),
    coalesce(v_type, 'production'));
  insert into ops.releases as r (id, project_id, env, source_env, commit, addons_hash, odoo_version, modules, image_digest,
    pre_deploy_backup, run_id)
  values (p_id, p_project, p_env, p_source_env, p_commit, p_addons_hash, p_odoo_version, coalesce(p_modules, '{}'),
    p_image_digest, p_pre_deploy_backup, p_run)
  on conflict (project_id, env, id) do update set status = 'built', source_env = coalesce(excluded.source_env, r.source_env),
    pre_deploy_backup = excluded.pre_deploy_backup, run_id = excluded.run_id, gates = '{}', updated_modules = '[]'
  returning * into v_rel;
  perform ops.record_audit(p_project, 'release.record', p_id, p_env, p_run,
    jsonb_build_object('commit', p_commit, 'addons_hash', p_addons_hash, 'odoo_version', p_odoo_version,
      'source_env', p_source_env, 'pre_deploy_backup', p_pre_deploy_backup));
  return v_rel;
exception when check_violation then
  raise exception 'invalid release: %', sqlerrm using errcode = 'OS400';
end
$$;

--
-- Name: record_restore_switch(uuid, text, text, timestamp with time zone); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.record_restore_switch(p_restore uuid, p_expected_database text, p_url text, p_keep_until timestamp with time zone) RETURNS ops.restores
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_restore ops.restores;
  v_env ops.environments;
begin
  select * into v_restore from ops.restores r
  where r.id = p_restore and r.project_id = any (ops.actor_project_ids()) for update;
  if v_restore.id is null then
    raise exception 'restore % not found', p_restore using errcode = 'OS404';
  end if;
  if v_restore.status not in ('pending', 'verifying') then
    raise exception 'restore % is %: it cannot switch the environment', p_restore, v_restore.status using errcode = 'OS409';
  end if;
  v_env := ops.lock_live_environment(v_restore.project_id, v_restore.target_env);
  perform ops.require_restore_role(v_restore.project_id, v_env, v_restore.backup_id is not null);
  if coalesce(v_env.database_name, p_expected_database) is distinct from p_expected_database then
    raise exception 'environment "%" now uses database %, not %: not switched', v_env.name, v_env.database_name, p_expected_database
      using errcode = 'OS409';
  end if;
  update ops.environments e set database_name = v_restore.new_database, url = coalesce(p_url, e.url),
    status = 'active', updated_at = now()
  where e.id = v_env.id;
  update ops.restores r set status = 'switched', previous_database = p_expected_database,
    keep_previous_until = p_keep_until, completed_at = now()
  where r.id = p_restore returning * into v_restore;
  perform ops.record_audit(v_restore.project_id, 'restore.switch', p_restore::text, v_restore.target_env, v_restore.run_id,
    jsonb_build_object('from_database', p_expected_database, 'to_database', v_restore.new_database,
      'keep_previous_until', p_keep_until, 'backup_id', v_restore.backup_id, 'env_type', v_env.type));
  return v_restore;
end
$$;

--
-- Name: artifacts; Type: TABLE; Schema: ops; Owner: -
--

CREATE TABLE ops.artifacts (
    id bigint NOT NULL,
    run_id bigint,
    project_id uuid NOT NULL,
    kind text NOT NULL,
    name text NOT NULL,
    uri text NOT NULL,
    sha256 text,
    size_bytes bigint,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);

ALTER TABLE ONLY ops.artifacts FORCE ROW LEVEL SECURITY;

--
-- Name: record_run_log(bigint, text, integer, text, text, integer); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.record_run_log(p_run bigint, p_worker text, p_attempt integer, p_name text, p_phase text DEFAULT NULL::text, p_max_bytes integer DEFAULT 8388608) RETURNS ops.artifacts
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $_$
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
$_$;

--
-- Name: record_upgrade_report(uuid, bigint, text, text, text, text, jsonb, text); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.record_upgrade_report(p_project uuid, p_run bigint, p_env text, p_from text, p_to text, p_verdict text, p_report jsonb, p_markdown text) RETURNS ops.upgrade_reports
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_type text;
  v_requester text;
  v_row ops.upgrade_reports;
begin
  select e.type into v_type from ops.environments e
  where e.project_id = p_project and e.name = p_env and e.status <> 'destroyed';
  perform ops.require_role(p_project, ops.env_roles(coalesce(v_type, 'production')), 'record upgrade reports of ' || p_env,
    coalesce(v_type, 'production'));
  select r.created_by into v_requester from ops.runs r where r.id = p_run and r.project_id = p_project;
  if v_requester is null then
    raise exception 'run % not found', p_run using errcode = 'OS404';
  end if;
  insert into ops.upgrade_reports (project_id, run_id, env, from_version, to_version, verdict, report, markdown, requested_by)
  values (p_project, p_run, p_env, p_from, p_to, p_verdict, p_report, p_markdown, v_requester)
  returning * into v_row;
  insert into ops.artifacts (run_id, project_id, kind, name, uri, sha256, size_bytes, metadata)
  values
    (p_run, p_project, 'upgrade-report', 'upgrade-report-' || v_row.id || '.json', 'ops:upgrade_reports/' || v_row.id || '#json',
     encode(sha256(convert_to(p_report::text, 'UTF8')), 'hex'), octet_length(p_report::text),
     jsonb_build_object('format', 'json', 'report_id', v_row.id, 'verdict', p_verdict, 'to_version', p_to)),
    (p_run, p_project, 'upgrade-report', 'upgrade-report-' || v_row.id || '.md', 'ops:upgrade_reports/' || v_row.id || '#markdown',
     encode(sha256(convert_to(p_markdown, 'UTF8')), 'hex'), octet_length(p_markdown),
     jsonb_build_object('format', 'markdown', 'report_id', v_row.id, 'verdict', p_verdict, 'to_version', p_to));
  perform ops.record_audit(p_project, 'upgrade.report', v_row.id::text, p_env, p_run,
    jsonb_build_object('from_version', p_from, 'to_version', p_to, 'verdict', p_verdict));
  return v_row;
exception
  when unique_violation then
    raise exception 'run % already has an upgrade report', p_run using errcode = 'OS409';
  when check_violation then
    raise exception 'invalid upgrade report: %', sqlerrm using errcode = 'OS400';
end
$$;

--
-- Name: release_backup_slot(uuid, text, timestamp with time zone); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.release_backup_slot(p_project uuid, p_env text, p_slot timestamp with time zone) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  perform ops.require_role(p_project, array['admin'], 'fire scheduled backups');
  delete from ops.backup_slots s
  where s.project_id = p_project and s.env = p_env and s.slot = p_slot and s.run_id is null;
  if found then
    perform ops.record_audit(p_project, 'backup.slot.release', ops.backup_slot_text(p_slot), p_env, null,
      jsonb_build_object('slot', ops.backup_slot_text(p_slot)));
  end if;
  return found;
end
$$;

--
-- Name: remove_member(uuid, text, text); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.remove_member(p_project uuid, p_member text, p_env_type text DEFAULT NULL::text) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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

--
-- Name: request_approval(uuid, text, text, text, text, smallint, interval); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.request_approval(p_project uuid, p_action text, p_env text, p_release text DEFAULT NULL::text, p_reason text DEFAULT NULL::text, p_quorum smallint DEFAULT 1, p_ttl interval DEFAULT '24:00:00'::interval) RETURNS ops.approvals
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $_$
declare
  v_type text := ops.approval_env_type(p_project, p_env);
  v_row ops.approvals;
begin
  if not (p_project = any (ops.actor_project_ids())) then
    raise exception 'project % not found (or you are not a member)', p_project using errcode = 'OS404';
  end if;
  perform ops.require_role(p_project, array['developer', 'tester'], 'request approvals for ' || v_type || ' environments', v_type);
  if p_action is null or p_action not in ('deploy', 'promote', 'restore', 'exec') then
    raise exception 'invalid approval action "%": use deploy, promote, restore or exec', p_action using errcode = 'OS400';
  end if;
  if p_env is null or p_env !~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$' then
    raise exception 'invalid environment name "%"', p_env using errcode = 'OS400';
  end if;
  if p_quorum is null or p_quorum < 1 or p_quorum > 10 then
    raise exception 'invalid quorum %: use 1 to 10 approvers', p_quorum using errcode = 'OS400';
  end if;
  if p_ttl is null or p_ttl <= interval '0' or p_ttl > interval '90 days' then
    raise exception 'invalid approval ttl %: use more than 0 and at most 90 days', p_ttl using errcode = 'OS400';
  end if;
  insert into ops.approvals (project_id, action, environment, release, reason, quorum, requested_by, expires_at)
  values (p_project, p_action, p_env, nullif(p_release, ''), nullif(p_reason, ''), p_quorum, ops.current_actor(), now() + p_ttl)
  returning * into v_row;
  perform ops.record_audit(p_project, 'approval.request', v_row.id::text, p_env, null,
    jsonb_build_object('action', p_action, 'release', v_row.release, 'reason', v_row.reason, 'quorum', p_quorum,
                       'expires_at', v_row.expires_at, 'env_type', v_type));
  return v_row;
end
$_$;

--
-- Name: require_lease(bigint, text, integer); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.require_lease(p_run bigint, p_worker text, p_attempt integer) RETURNS ops.runs
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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

--
-- Name: require_restore_role(uuid, ops.environments, boolean); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.require_restore_role(p_project uuid, p_env ops.environments, p_is_backup boolean) RETURNS void
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  if p_is_backup then
    perform ops.require_role(p_project, array['admin'], 'restore backups');
  else
    perform ops.require_role(p_project, ops.env_roles(p_env.type), 'import data into ' || p_env.type || ' environments', p_env.type);
  end if;
end
$$;

--
-- Name: require_role(uuid, text[], text, text); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.require_role(p_project uuid, p_roles text[], p_action text, p_env_type text DEFAULT NULL::text) RETURNS void
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  if not ops.has_role(p_project, p_roles, p_env_type) then
    raise exception 'actor "%" may not %: needs role % on project %', ops.current_actor(), p_action,
      array_to_string(p_roles, ' or '), p_project
      using errcode = 'OS403';
  end if;
end
$$;

--
-- Name: require_run_role(uuid, text, text, text, text); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.require_run_role(p_project uuid, p_env text, p_type text, p_action text, p_declared text DEFAULT NULL::text) RETURNS void
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
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

--
-- Name: restore_backup(uuid, text, bigint); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.restore_backup(p_backup uuid, p_target_env text, p_run bigint DEFAULT NULL::bigint) RETURNS ops.restores
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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

--
-- Name: run_env_type(uuid, text, text); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.run_env_type(p_project uuid, p_env text, p_declared text DEFAULT NULL::text) RETURNS text
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
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

--
-- Name: set_environment_state(uuid, text, text, text, text, text, bigint); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.set_environment_state(p_project uuid, p_name text, p_status text, p_url text DEFAULT NULL::text, p_release text DEFAULT NULL::text, p_database text DEFAULT NULL::text, p_run bigint DEFAULT NULL::bigint) RETURNS ops.environments
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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

--
-- Name: policies; Type: TABLE; Schema: ops; Owner: -
--

CREATE TABLE ops.policies (
    id bigint NOT NULL,
    project_id uuid NOT NULL,
    env_type text NOT NULL,
    rules jsonb DEFAULT '[]'::jsonb NOT NULL,
    updated_by text NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT policies_env_type_check CHECK ((env_type = ANY (ARRAY['production'::text, 'staging'::text, 'preview'::text, 'dev'::text])))
);

ALTER TABLE ONLY ops.policies FORCE ROW LEVEL SECURITY;

--
-- Name: set_policy(uuid, text, jsonb); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.set_policy(p_project uuid, p_env_type text, p_rules jsonb) RETURNS ops.policies
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare v_row ops.policies;
begin
  perform ops.require_role(p_project, array['admin'], 'change policies');
  if p_env_type is null or p_env_type not in ('production', 'staging', 'preview', 'dev') then
    raise exception 'invalid environment type "%": use production, staging, preview or dev', p_env_type using errcode = 'OS400';
  end if;
  if p_rules is null then
    delete from ops.policies p where p.project_id = p_project and p.env_type = p_env_type returning * into v_row;
    if v_row.id is not null then
      perform ops.record_audit(p_project, 'policy.reset', p_env_type, null, null, jsonb_build_object('env_type', p_env_type, 'previous', v_row.rules));
    end if;
    return v_row;
  end if;
  if jsonb_typeof(p_rules) <> 'array' or jsonb_array_length(p_rules) > 100 then
    raise exception 'policy rules must be an array of at most 100 strings' using errcode = 'OS400';
  end if;
  if exists (select 1 from jsonb_array_elements(p_rules) e
             where jsonb_typeof(e) <> 'string' or length(btrim(e #>> '{}')) = 0 or length(e #>> '{}') > 500) then
    raise exception 'every policy rule must be a non-empty string of at most 500 characters' using errcode = 'OS400';
  end if;
  insert into ops.policies as p (project_id, env_type, rules, updated_by, updated_at)
  values (p_project, p_env_type, p_rules, ops.current_actor(), now())
  on conflict (project_id, env_type) do update set rules = excluded.rules, updated_by = excluded.updated_by, updated_at = excluded.updated_at
  returning * into v_row;
  perform ops.record_audit(p_project, 'policy.set', p_env_type, null, null, jsonb_build_object('env_type', p_env_type, 'rules', p_rules));
  return v_row;
end
$$;

--
-- Name: set_restore_status(uuid, text, text); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.set_restore_status(p_restore uuid, p_status text, p_error text DEFAULT NULL::text) RETURNS ops.restores
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare v_restore ops.restores;
begin
  select * into v_restore from ops.restores r
  where r.id = p_restore and r.project_id = any (ops.actor_project_ids()) for update;
  if v_restore.id is null then
    raise exception 'restore % not found', p_restore using errcode = 'OS404';
  end if;
  if not (v_restore.status in ('pending', 'verifying') and p_status in ('verifying', 'failed')) then
    raise exception 'restore % is %: cannot become %', p_restore, v_restore.status, p_status using errcode = 'OS409';
  end if;
  perform ops.require_restore_role(v_restore.project_id, ops.lock_live_environment(v_restore.project_id, v_restore.target_env),
    v_restore.backup_id is not null);
  update ops.restores r set status = p_status, error = p_error,
    completed_at = case when p_status = 'failed' then now() end
  where r.id = p_restore returning * into v_restore;
  if p_status = 'failed' then
    perform ops.record_audit(v_restore.project_id, 'restore.fail', p_restore::text, v_restore.target_env, v_restore.run_id,
      jsonb_build_object('error', p_error, 'new_database', v_restore.new_database));
  end if;
  return v_restore;
end
$$;

--
-- Name: start_restore(uuid, uuid, uuid, text, bigint, text, jsonb, text); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.start_restore(p_id uuid, p_project uuid, p_backup uuid, p_target_env text, p_run bigint, p_new_database text, p_source jsonb DEFAULT '{}'::jsonb, p_source_env text DEFAULT NULL::text) RETURNS ops.restores
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_env ops.environments;
  v_backup ops.backups;
  v_restore ops.restores;
begin
  v_env := ops.lock_live_environment(p_project, p_target_env);
  if p_backup is not null then
    select * into v_backup from ops.backups b where b.id = p_backup and b.project_id = p_project;
    if v_backup.id is null then
      raise exception 'backup % not found', p_backup using errcode = 'OS404';
    end if;
    if v_backup.status <> 'complete' then
      raise exception 'backup % is %, not complete: it cannot be restored', p_backup, v_backup.status using errcode = 'OS409';
    end if;
  end if;
  perform ops.require_restore_role(p_project, v_env, p_backup is not null);
  if p_new_database is not distinct from v_env.database_name then
    raise exception 'a restore never loads the database the environment uses (%)', p_new_database using errcode = 'OS400';
  end if;
  insert into ops.restores (id, project_id, backup_id, target_env, run_id, new_database, source, source_env, created_by)
  values (p_id, p_project, p_backup, p_target_env, p_run, p_new_database, coalesce(p_source, '{}'),
          coalesce(p_source_env, v_backup.environment), ops.current_actor())
  returning * into v_restore;
  perform ops.record_audit(p_project, 'restore.start', coalesce(p_backup::text, p_source ->> 'kind'), p_target_env, p_run,
    jsonb_build_object('restore_id', p_id, 'new_database', p_new_database, 'source', p_source, 'env_type', v_env.type));
  return v_restore;
exception when check_violation then
  raise exception 'invalid restore: %', sqlerrm using errcode = 'OS400';
end
$$;

--
-- Name: start_run(bigint, text, integer, integer); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.start_run(p_run bigint, p_worker text, p_attempt integer, p_lease_seconds integer DEFAULT 60) RETURNS ops.runs
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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

--
-- Name: sweep_expired_runs(); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.sweep_expired_runs() RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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

--
-- Name: transition_run(bigint, text, text); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.transition_run(p_run bigint, p_from text, p_to text) RETURNS ops.runs
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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

--
-- Name: upsert_environment(uuid, text, text, text, timestamp with time zone, jsonb); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.upsert_environment(p_project uuid, p_name text, p_type text, p_branch text, p_ttl_expires_at timestamp with time zone DEFAULT NULL::timestamp with time zone, p_settings jsonb DEFAULT '{}'::jsonb) RETURNS ops.environments
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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

--
-- Name: valid_approvals(uuid, text, text, text); Type: FUNCTION; Schema: ops; Owner: -
--

CREATE FUNCTION ops.valid_approvals(p_project uuid, p_action text, p_env text, p_release text) RETURNS SETOF ops.approvals
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  if not (p_project = any (ops.actor_project_ids())) then
    raise exception 'project % not found (or you are not a member)', p_project using errcode = 'OS404';
  end if;
  return query
    select * from ops.approvals a
    where a.project_id = p_project and a.status = 'approved'
      and a.action = p_action and a.environment = p_env and a.release is not distinct from p_release
      and (a.expires_at is null or a.expires_at >= now())
    order by a.decided_at desc, a.id;
end
$$;

--
-- Name: approval_votes; Type: TABLE; Schema: ops; Owner: -
--

CREATE TABLE ops.approval_votes (
    id bigint NOT NULL,
    approval_id uuid NOT NULL,
    project_id uuid NOT NULL,
    voter text NOT NULL,
    role text NOT NULL,
    vote text NOT NULL,
    comment text,
    at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT approval_votes_vote_check CHECK ((vote = ANY (ARRAY['approve'::text, 'reject'::text])))
);

ALTER TABLE ONLY ops.approval_votes FORCE ROW LEVEL SECURITY;

--
-- Name: approval_votes_id_seq; Type: SEQUENCE; Schema: ops; Owner: -
--

ALTER TABLE ops.approval_votes ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME ops.approval_votes_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: artifact_contents; Type: TABLE; Schema: ops; Owner: -
--

CREATE TABLE ops.artifact_contents (
    artifact_id bigint NOT NULL,
    project_id uuid NOT NULL,
    content text NOT NULL
);

ALTER TABLE ONLY ops.artifact_contents FORCE ROW LEVEL SECURITY;

--
-- Name: artifacts_id_seq; Type: SEQUENCE; Schema: ops; Owner: -
--

ALTER TABLE ops.artifacts ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME ops.artifacts_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: audit_log; Type: TABLE; Schema: ops; Owner: -
--

CREATE TABLE ops.audit_log (
    id bigint NOT NULL,
    project_id uuid NOT NULL,
    seq bigint NOT NULL,
    at timestamp with time zone NOT NULL,
    actor text NOT NULL,
    action text NOT NULL,
    target text,
    env text,
    run_id bigint,
    payload jsonb DEFAULT '{}'::jsonb NOT NULL,
    prev_hash text NOT NULL,
    hash text NOT NULL
);

ALTER TABLE ONLY ops.audit_log FORCE ROW LEVEL SECURITY;

--
-- Name: audit_log_id_seq; Type: SEQUENCE; Schema: ops; Owner: -
--

ALTER TABLE ops.audit_log ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME ops.audit_log_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: backup_slots; Type: TABLE; Schema: ops; Owner: -
--

CREATE TABLE ops.backup_slots (
    project_id uuid NOT NULL,
    env text NOT NULL,
    slot timestamp with time zone NOT NULL,
    fired_at timestamp with time zone DEFAULT now() NOT NULL,
    fired_by text NOT NULL,
    run_id bigint
);

ALTER TABLE ONLY ops.backup_slots FORCE ROW LEVEL SECURITY;

--
-- Name: migrations; Type: TABLE; Schema: ops; Owner: -
--

CREATE TABLE ops.migrations (
    id integer NOT NULL,
    name text NOT NULL,
    breaking boolean DEFAULT false NOT NULL,
    applied_at timestamp with time zone DEFAULT now() NOT NULL
);

ALTER TABLE ONLY ops.migrations FORCE ROW LEVEL SECURITY;

--
-- Name: policies_id_seq; Type: SEQUENCE; Schema: ops; Owner: -
--

ALTER TABLE ops.policies ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME ops.policies_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: project_members_id_seq; Type: SEQUENCE; Schema: ops; Owner: -
--

ALTER TABLE ops.project_members ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME ops.project_members_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: roles; Type: TABLE; Schema: ops; Owner: -
--

CREATE TABLE ops.roles (
    name text NOT NULL,
    rank smallint NOT NULL,
    description text NOT NULL
);

ALTER TABLE ONLY ops.roles FORCE ROW LEVEL SECURITY;

--
-- Name: run_events; Type: TABLE; Schema: ops; Owner: -
--

CREATE TABLE ops.run_events (
    id bigint NOT NULL,
    run_id bigint NOT NULL,
    project_id uuid NOT NULL,
    at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    level text NOT NULL,
    phase text,
    message text NOT NULL,
    payload jsonb DEFAULT '{}'::jsonb NOT NULL,
    attempt smallint,
    CONSTRAINT run_events_level_check CHECK ((level = ANY (ARRAY['debug'::text, 'info'::text, 'warn'::text, 'error'::text])))
);

ALTER TABLE ONLY ops.run_events FORCE ROW LEVEL SECURITY;

--
-- Name: run_events_id_seq; Type: SEQUENCE; Schema: ops; Owner: -
--

ALTER TABLE ops.run_events ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME ops.run_events_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: run_transitions; Type: TABLE; Schema: ops; Owner: -
--

CREATE TABLE ops.run_transitions (
    from_state text NOT NULL,
    to_state text NOT NULL
);

ALTER TABLE ONLY ops.run_transitions FORCE ROW LEVEL SECURITY;

--
-- Name: runs_id_seq; Type: SEQUENCE; Schema: ops; Owner: -
--

ALTER TABLE ops.runs ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME ops.runs_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: upgrade_reports_id_seq; Type: SEQUENCE; Schema: ops; Owner: -
--

ALTER TABLE ops.upgrade_reports ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME ops.upgrade_reports_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: approval_votes approval_votes_pkey; Type: CONSTRAINT; Schema: ops; Owner: -
--

ALTER TABLE ONLY ops.approval_votes
    ADD CONSTRAINT approval_votes_pkey PRIMARY KEY (id);

--
-- Name: approval_votes approval_votes_voter_key; Type: CONSTRAINT; Schema: ops; Owner: -
--

ALTER TABLE ONLY ops.approval_votes
    ADD CONSTRAINT approval_votes_voter_key UNIQUE (approval_id, voter);

--
-- Name: approvals approvals_pkey; Type: CONSTRAINT; Schema: ops; Owner: -
--

ALTER TABLE ONLY ops.approvals
    ADD CONSTRAINT approvals_pkey PRIMARY KEY (id);

--
-- Name: artifact_contents artifact_contents_pkey; Type: CONSTRAINT; Schema: ops; Owner: -
--

ALTER TABLE ONLY ops.artifact_contents
    ADD CONSTRAINT artifact_contents_pkey PRIMARY KEY (artifact_id);

--
-- Name: artifacts artifacts_pkey; Type: CONSTRAINT; Schema: ops; Owner: -
--

ALTER TABLE ONLY ops.artifacts
    ADD CONSTRAINT artifacts_pkey PRIMARY KEY (id);

--
-- Name: audit_log audit_log_pkey; Type: CONSTRAINT; Schema: ops; Owner: -
--

ALTER TABLE ONLY ops.audit_log
    ADD CONSTRAINT audit_log_pkey PRIMARY KEY (id);

--
-- Name: audit_log audit_log_project_seq_key; Type: CONSTRAINT; Schema: ops; Owner: -
--

ALTER TABLE ONLY ops.audit_log
    ADD CONSTRAINT audit_log_project_seq_key UNIQUE (project_id, seq);

--
-- Name: backup_slots backup_slots_pkey; Type: CONSTRAINT; Schema: ops; Owner: -
--

ALTER TABLE ONLY ops.backup_slots
    ADD CONSTRAINT backup_slots_pkey PRIMARY KEY (project_id, env, slot);

--
-- Name: backups backups_pkey; Type: CONSTRAINT; Schema: ops; Owner: -
--

ALTER TABLE ONLY ops.backups
    ADD CONSTRAINT backups_pkey PRIMARY KEY (id);

--
-- Name: environments environments_pkey; Type: CONSTRAINT; Schema: ops; Owner: -
--

ALTER TABLE ONLY ops.environments
    ADD CONSTRAINT environments_pkey PRIMARY KEY (id);

--
-- Name: migrations migrations_pkey; Type: CONSTRAINT; Schema: ops; Owner: -
--

ALTER TABLE ONLY ops.migrations
    ADD CONSTRAINT migrations_pkey PRIMARY KEY (id);

--
-- Name: policies policies_pkey; Type: CONSTRAINT; Schema: ops; Owner: -
--

ALTER TABLE ONLY ops.policies
    ADD CONSTRAINT policies_pkey PRIMARY KEY (id);

--
-- Name: policies policies_project_env_type_key; Type: CONSTRAINT; Schema: ops; Owner: -
--

ALTER TABLE ONLY ops.policies
    ADD CONSTRAINT policies_project_env_type_key UNIQUE (project_id, env_type);

--
-- Name: project_members project_members_pkey; Type: CONSTRAINT; Schema: ops; Owner: -
--

ALTER TABLE ONLY ops.project_members
    ADD CONSTRAINT project_members_pkey PRIMARY KEY (id);

--
-- Name: projects projects_name_key; Type: CONSTRAINT; Schema: ops; Owner: -
--

ALTER TABLE ONLY ops.projects
    ADD CONSTRAINT projects_name_key UNIQUE (name);

--
-- Name: projects projects_pkey; Type: CONSTRAINT; Schema: ops; Owner: -
--

ALTER TABLE ONLY ops.projects
    ADD CONSTRAINT projects_pkey PRIMARY KEY (id);

--
-- Name: releases releases_pkey; Type: CONSTRAINT; Schema: ops; Owner: -
--

ALTER TABLE ONLY ops.releases
    ADD CONSTRAINT releases_pkey PRIMARY KEY (project_id, env, id);

--
-- Name: restores restores_pkey; Type: CONSTRAINT; Schema: ops; Owner: -
--

ALTER TABLE ONLY ops.restores
    ADD CONSTRAINT restores_pkey PRIMARY KEY (id);

--
-- Name: roles roles_pkey; Type: CONSTRAINT; Schema: ops; Owner: -
--

ALTER TABLE ONLY ops.roles
    ADD CONSTRAINT roles_pkey PRIMARY KEY (name);

--
-- Name: run_events run_events_pkey; Type: CONSTRAINT; Schema: ops; Owner: -
--

ALTER TABLE ONLY ops.run_events
    ADD CONSTRAINT run_events_pkey PRIMARY KEY (id);

--
-- Name: run_transitions run_transitions_pkey; Type: CONSTRAINT; Schema: ops; Owner: -
--

ALTER TABLE ONLY ops.run_transitions
    ADD CONSTRAINT run_transitions_pkey PRIMARY KEY (from_state, to_state);

--
-- Name: runs runs_pkey; Type: CONSTRAINT; Schema: ops; Owner: -
--

ALTER TABLE ONLY ops.runs
    ADD CONSTRAINT runs_pkey PRIMARY KEY (id);

--
-- Name: upgrade_reports upgrade_reports_pkey; Type: CONSTRAINT; Schema: ops; Owner: -
--

ALTER TABLE ONLY ops.upgrade_reports
    ADD CONSTRAINT upgrade_reports_pkey PRIMARY KEY (id);

--
-- Name: approvals_pending_index; Type: INDEX; Schema: ops; Owner: -
--

CREATE INDEX approvals_pending_index ON ops.approvals USING btree (project_id, environment) WHERE (status = 'pending'::text);

--
-- Name: approvals_valid_index; Type: INDEX; Schema: ops; Owner: -
--

CREATE INDEX approvals_valid_index ON ops.approvals USING btree (project_id, action, environment) WHERE (status = 'approved'::text);

--
-- Name: artifacts_run_index; Type: INDEX; Schema: ops; Owner: -
--

CREATE INDEX artifacts_run_index ON ops.artifacts USING btree (run_id);

--
-- Name: artifacts_run_log_index; Type: INDEX; Schema: ops; Owner: -
--

CREATE UNIQUE INDEX artifacts_run_log_index ON ops.artifacts USING btree (run_id, name) WHERE (kind = 'log'::text);

--
-- Name: backups_env_index; Type: INDEX; Schema: ops; Owner: -
--

CREATE INDEX backups_env_index ON ops.backups USING btree (project_id, environment, created_at DESC);

--
-- Name: backups_pending_index; Type: INDEX; Schema: ops; Owner: -
--

CREATE INDEX backups_pending_index ON ops.backups USING btree (project_id) WHERE (status = 'pending'::text);

--
-- Name: environments_live_name_index; Type: INDEX; Schema: ops; Owner: -
--

CREATE UNIQUE INDEX environments_live_name_index ON ops.environments USING btree (project_id, name) WHERE (status <> 'destroyed'::text);

--
-- Name: environments_ttl_index; Type: INDEX; Schema: ops; Owner: -
--

CREATE INDEX environments_ttl_index ON ops.environments USING btree (ttl_expires_at) WHERE ((status = 'active'::text) AND (ttl_expires_at IS NOT NULL));

--
-- Name: project_members_member_index; Type: INDEX; Schema: ops; Owner: -
--

CREATE INDEX project_members_member_index ON ops.project_members USING btree (member);

--
-- Name: project_members_unique_index; Type: INDEX; Schema: ops; Owner: -
--

CREATE UNIQUE INDEX project_members_unique_index ON ops.project_members USING btree (project_id, member, COALESCE(env_type, '*'::text));

--
-- Name: releases_history_index; Type: INDEX; Schema: ops; Owner: -
--

CREATE INDEX releases_history_index ON ops.releases USING btree (project_id, env, created_at DESC);

--
-- Name: restores_backup_index; Type: INDEX; Schema: ops; Owner: -
--

CREATE INDEX restores_backup_index ON ops.restores USING btree (backup_id);

--
-- Name: restores_env_index; Type: INDEX; Schema: ops; Owner: -
--

CREATE INDEX restores_env_index ON ops.restores USING btree (project_id, target_env, status);

--
-- Name: restores_keep_index; Type: INDEX; Schema: ops; Owner: -
--

CREATE INDEX restores_keep_index ON ops.restores USING btree (keep_previous_until) WHERE (status = 'switched'::text);

--
-- Name: run_events_at_index; Type: INDEX; Schema: ops; Owner: -
--

CREATE INDEX run_events_at_index ON ops.run_events USING btree (at);

--
-- Name: run_events_run_index; Type: INDEX; Schema: ops; Owner: -
--

CREATE INDEX run_events_run_index ON ops.run_events USING btree (run_id, id);

--
-- Name: runs_available_index; Type: INDEX; Schema: ops; Owner: -
--

CREATE INDEX runs_available_index ON ops.runs USING btree (priority, run_at, id) WHERE (state = 'queued'::text);

--
-- Name: runs_env_exclusive_index; Type: INDEX; Schema: ops; Owner: -
--

CREATE UNIQUE INDEX runs_env_exclusive_index ON ops.runs USING btree (project_id, env) WHERE (exclusive AND (state = ANY (ARRAY['claimed'::text, 'running'::text])));

--
-- Name: runs_lease_index; Type: INDEX; Schema: ops; Owner: -
--

CREATE INDEX runs_lease_index ON ops.runs USING btree (lease_expires_at) WHERE (state = ANY (ARRAY['claimed'::text, 'running'::text]));

--
-- Name: runs_project_index; Type: INDEX; Schema: ops; Owner: -
--

CREATE INDEX runs_project_index ON ops.runs USING btree (project_id, id DESC);

--
-- Name: upgrade_reports_env_index; Type: INDEX; Schema: ops; Owner: -
--

CREATE INDEX upgrade_reports_env_index ON ops.upgrade_reports USING btree (project_id, env, to_version, created_at DESC);

--
-- Name: upgrade_reports_run_index; Type: INDEX; Schema: ops; Owner: -
--

CREATE UNIQUE INDEX upgrade_reports_run_index ON ops.upgrade_reports USING btree (run_id) WHERE (run_id IS NOT NULL);

--
-- Name: audit_log _100_audit_no_truncate; Type: TRIGGER; Schema: ops; Owner: -
--

CREATE TRIGGER _100_audit_no_truncate BEFORE TRUNCATE ON ops.audit_log FOR EACH STATEMENT EXECUTE FUNCTION ops._100_audit_append_only();

--
-- Name: audit_log _100_audit_no_update; Type: TRIGGER; Schema: ops; Owner: -
--

CREATE TRIGGER _100_audit_no_update BEFORE DELETE OR UPDATE ON ops.audit_log FOR EACH ROW EXECUTE FUNCTION ops._100_audit_append_only();

--
-- Name: audit_log _500_audit_chain; Type: TRIGGER; Schema: ops; Owner: -
--

CREATE TRIGGER _500_audit_chain BEFORE INSERT ON ops.audit_log FOR EACH ROW EXECUTE FUNCTION ops._500_audit_chain();

--
-- Name: approval_votes approval_votes_approval_id_fkey; Type: FK CONSTRAINT; Schema: ops; Owner: -
--

ALTER TABLE ONLY ops.approval_votes
    ADD CONSTRAINT approval_votes_approval_id_fkey FOREIGN KEY (approval_id) REFERENCES ops.approvals(id) ON DELETE CASCADE;

--
-- Name: approval_votes approval_votes_project_id_fkey; Type: FK CONSTRAINT; Schema: ops; Owner: -
--

ALTER TABLE ONLY ops.approval_votes
    ADD CONSTRAINT approval_votes_project_id_fkey FOREIGN KEY (project_id) REFERENCES ops.projects(id) ON DELETE CASCADE;

--
-- Name: approval_votes approval_votes_role_fkey; Type: FK CONSTRAINT; Schema: ops; Owner: -
--

ALTER TABLE ONLY ops.approval_votes
    ADD CONSTRAINT approval_votes_role_fkey FOREIGN KEY (role) REFERENCES ops.roles(name);

--
-- Name: approvals approvals_project_id_fkey; Type: FK CONSTRAINT; Schema: ops; Owner: -
--

ALTER TABLE ONLY ops.approvals
    ADD CONSTRAINT approvals_project_id_fkey FOREIGN KEY (project_id) REFERENCES ops.projects(id) ON DELETE CASCADE;

--
-- Name: artifact_contents artifact_contents_artifact_id_fkey; Type: FK CONSTRAINT; Schema: ops; Owner: -
--

ALTER TABLE ONLY ops.artifact_contents
    ADD CONSTRAINT artifact_contents_artifact_id_fkey FOREIGN KEY (artifact_id) REFERENCES ops.artifacts(id) ON DELETE CASCADE;

--
-- Name: artifact_contents artifact_contents_project_id_fkey; Type: FK CONSTRAINT; Schema: ops; Owner: -
--

ALTER TABLE ONLY ops.artifact_contents
    ADD CONSTRAINT artifact_contents_project_id_fkey FOREIGN KEY (project_id) REFERENCES ops.projects(id) ON DELETE CASCADE;

--
-- Name: artifacts artifacts_project_id_fkey; Type: FK CONSTRAINT; Schema: ops; Owner: -
--

ALTER TABLE ONLY ops.artifacts
    ADD CONSTRAINT artifacts_project_id_fkey FOREIGN KEY (project_id) REFERENCES ops.projects(id) ON DELETE CASCADE;

--
-- Name: artifacts artifacts_run_id_fkey; Type: FK CONSTRAINT; Schema: ops; Owner: -
--

ALTER TABLE ONLY ops.artifacts
    ADD CONSTRAINT artifacts_run_id_fkey FOREIGN KEY (run_id) REFERENCES ops.runs(id) ON DELETE SET NULL;

--
-- Name: audit_log audit_log_project_id_fkey; Type: FK CONSTRAINT; Schema: ops; Owner: -
--

ALTER TABLE ONLY ops.audit_log
    ADD CONSTRAINT audit_log_project_id_fkey FOREIGN KEY (project_id) REFERENCES ops.projects(id);

--
-- Name: backup_slots backup_slots_project_id_fkey; Type: FK CONSTRAINT; Schema: ops; Owner: -
--

ALTER TABLE ONLY ops.backup_slots
    ADD CONSTRAINT backup_slots_project_id_fkey FOREIGN KEY (project_id) REFERENCES ops.projects(id) ON DELETE CASCADE;

--
-- Name: backup_slots backup_slots_run_id_fkey; Type: FK CONSTRAINT; Schema: ops; Owner: -
--

ALTER TABLE ONLY ops.backup_slots
    ADD CONSTRAINT backup_slots_run_id_fkey FOREIGN KEY (run_id) REFERENCES ops.runs(id) ON DELETE SET NULL;

--
-- Name: backups backups_project_id_fkey; Type: FK CONSTRAINT; Schema: ops; Owner: -
--

ALTER TABLE ONLY ops.backups
    ADD CONSTRAINT backups_project_id_fkey FOREIGN KEY (project_id) REFERENCES ops.projects(id) ON DELETE CASCADE;

--
-- Name: backups backups_run_id_fkey; Type: FK CONSTRAINT; Schema: ops; Owner: -
--

ALTER TABLE ONLY ops.backups
    ADD CONSTRAINT backups_run_id_fkey FOREIGN KEY (run_id) REFERENCES ops.runs(id) ON DELETE SET NULL;

--
-- Name: environments environments_project_id_fkey; Type: FK CONSTRAINT; Schema: ops; Owner: -
--

ALTER TABLE ONLY ops.environments
    ADD CONSTRAINT environments_project_id_fkey FOREIGN KEY (project_id) REFERENCES ops.projects(id) ON DELETE CASCADE;

--
-- Name: policies policies_project_id_fkey; Type: FK CONSTRAINT; Schema: ops; Owner: -
--

ALTER TABLE ONLY ops.policies
    ADD CONSTRAINT policies_project_id_fkey FOREIGN KEY (project_id) REFERENCES ops.projects(id) ON DELETE CASCADE;

--
-- Name: project_members project_members_project_id_fkey; Type: FK CONSTRAINT; Schema: ops; Owner: -
--

ALTER TABLE ONLY ops.project_members
    ADD CONSTRAINT project_members_project_id_fkey FOREIGN KEY (project_id) REFERENCES ops.projects(id) ON DELETE CASCADE;

--
-- Name: project_members project_members_role_fkey; Type: FK CONSTRAINT; Schema: ops; Owner: -
--

ALTER TABLE ONLY ops.project_members
    ADD CONSTRAINT project_members_role_fkey FOREIGN KEY (role) REFERENCES ops.roles(name);

--
-- Name: releases releases_project_id_fkey; Type: FK CONSTRAINT; Schema: ops; Owner: -
--

ALTER TABLE ONLY ops.releases
    ADD CONSTRAINT releases_project_id_fkey FOREIGN KEY (project_id) REFERENCES ops.projects(id) ON DELETE CASCADE;

--
-- Name: restores restores_backup_id_fkey; Type: FK CONSTRAINT; Schema: ops; Owner: -
--

ALTER TABLE ONLY ops.restores
    ADD CONSTRAINT restores_backup_id_fkey FOREIGN KEY (backup_id) REFERENCES ops.backups(id);

--
-- Name: restores restores_project_id_fkey; Type: FK CONSTRAINT; Schema: ops; Owner: -
--

ALTER TABLE ONLY ops.restores
    ADD CONSTRAINT restores_project_id_fkey FOREIGN KEY (project_id) REFERENCES ops.projects(id) ON DELETE CASCADE;

--
-- Name: restores restores_run_id_fkey; Type: FK CONSTRAINT; Schema: ops; Owner: -
--

ALTER TABLE ONLY ops.restores
    ADD CONSTRAINT restores_run_id_fkey FOREIGN KEY (run_id) REFERENCES ops.runs(id) ON DELETE SET NULL;

--
-- Name: run_events run_events_run_id_fkey; Type: FK CONSTRAINT; Schema: ops; Owner: -
--

ALTER TABLE ONLY ops.run_events
    ADD CONSTRAINT run_events_run_id_fkey FOREIGN KEY (run_id) REFERENCES ops.runs(id) ON DELETE CASCADE;

--
-- Name: runs runs_project_id_fkey; Type: FK CONSTRAINT; Schema: ops; Owner: -
--

ALTER TABLE ONLY ops.runs
    ADD CONSTRAINT runs_project_id_fkey FOREIGN KEY (project_id) REFERENCES ops.projects(id) ON DELETE CASCADE;

--
-- Name: upgrade_reports upgrade_reports_project_id_fkey; Type: FK CONSTRAINT; Schema: ops; Owner: -
--

ALTER TABLE ONLY ops.upgrade_reports
    ADD CONSTRAINT upgrade_reports_project_id_fkey FOREIGN KEY (project_id) REFERENCES ops.projects(id) ON DELETE CASCADE;

--
-- Name: upgrade_reports upgrade_reports_run_id_fkey; Type: FK CONSTRAINT; Schema: ops; Owner: -
--

ALTER TABLE ONLY ops.upgrade_reports
    ADD CONSTRAINT upgrade_reports_run_id_fkey FOREIGN KEY (run_id) REFERENCES ops.runs(id) ON DELETE SET NULL;

--
-- Name: approval_votes; Type: ROW SECURITY; Schema: ops; Owner: -
--

ALTER TABLE ops.approval_votes ENABLE ROW LEVEL SECURITY;

--
-- Name: approval_votes approval_votes_member; Type: POLICY; Schema: ops; Owner: -
--

CREATE POLICY approval_votes_member ON ops.approval_votes USING ((project_id = ANY (( SELECT ops.actor_project_ids() AS actor_project_ids)::uuid[]))) WITH CHECK ((project_id = ANY (( SELECT ops.actor_project_ids() AS actor_project_ids)::uuid[])));

--
-- Name: approvals; Type: ROW SECURITY; Schema: ops; Owner: -
--

ALTER TABLE ops.approvals ENABLE ROW LEVEL SECURITY;

--
-- Name: approvals approvals_member; Type: POLICY; Schema: ops; Owner: -
--

CREATE POLICY approvals_member ON ops.approvals USING ((project_id = ANY (( SELECT ops.actor_project_ids() AS actor_project_ids)::uuid[]))) WITH CHECK ((project_id = ANY (( SELECT ops.actor_project_ids() AS actor_project_ids)::uuid[])));

--
-- Name: artifact_contents; Type: ROW SECURITY; Schema: ops; Owner: -
--

ALTER TABLE ops.artifact_contents ENABLE ROW LEVEL SECURITY;

--
-- Name: artifact_contents artifact_contents_member; Type: POLICY; Schema: ops; Owner: -
--

CREATE POLICY artifact_contents_member ON ops.artifact_contents FOR SELECT USING ((project_id = ANY (( SELECT ops.actor_project_ids() AS actor_project_ids)::uuid[])));

--
-- Name: artifacts; Type: ROW SECURITY; Schema: ops; Owner: -
--

ALTER TABLE ops.artifacts ENABLE ROW LEVEL SECURITY;

--
-- Name: artifacts artifacts_member; Type: POLICY; Schema: ops; Owner: -
--

CREATE POLICY artifacts_member ON ops.artifacts USING ((project_id = ANY (( SELECT ops.actor_project_ids() AS actor_project_ids)::uuid[]))) WITH CHECK ((project_id = ANY (( SELECT ops.actor_project_ids() AS actor_project_ids)::uuid[])));

--
-- Name: audit_log; Type: ROW SECURITY; Schema: ops; Owner: -
--

ALTER TABLE ops.audit_log ENABLE ROW LEVEL SECURITY;

--
-- Name: audit_log audit_log_member; Type: POLICY; Schema: ops; Owner: -
--

CREATE POLICY audit_log_member ON ops.audit_log USING ((project_id = ANY (( SELECT ops.actor_project_ids() AS actor_project_ids)::uuid[]))) WITH CHECK ((project_id = ANY (( SELECT ops.actor_project_ids() AS actor_project_ids)::uuid[])));

--
-- Name: backup_slots; Type: ROW SECURITY; Schema: ops; Owner: -
--

ALTER TABLE ops.backup_slots ENABLE ROW LEVEL SECURITY;

--
-- Name: backup_slots backup_slots_member; Type: POLICY; Schema: ops; Owner: -
--

CREATE POLICY backup_slots_member ON ops.backup_slots FOR SELECT USING ((project_id = ANY (( SELECT ops.actor_project_ids() AS actor_project_ids)::uuid[])));

--
-- Name: backups; Type: ROW SECURITY; Schema: ops; Owner: -
--

ALTER TABLE ops.backups ENABLE ROW LEVEL SECURITY;

--
-- Name: backups backups_member; Type: POLICY; Schema: ops; Owner: -
--

CREATE POLICY backups_member ON ops.backups USING ((project_id = ANY (( SELECT ops.actor_project_ids() AS actor_project_ids)::uuid[]))) WITH CHECK ((project_id = ANY (( SELECT ops.actor_project_ids() AS actor_project_ids)::uuid[])));

--
-- Name: environments; Type: ROW SECURITY; Schema: ops; Owner: -
--

ALTER TABLE ops.environments ENABLE ROW LEVEL SECURITY;

--
-- Name: environments environments_member; Type: POLICY; Schema: ops; Owner: -
--

CREATE POLICY environments_member ON ops.environments USING ((project_id = ANY (( SELECT ops.actor_project_ids() AS actor_project_ids)::uuid[]))) WITH CHECK ((project_id = ANY (( SELECT ops.actor_project_ids() AS actor_project_ids)::uuid[])));

--
-- Name: migrations; Type: ROW SECURITY; Schema: ops; Owner: -
--

ALTER TABLE ops.migrations ENABLE ROW LEVEL SECURITY;

--
-- Name: migrations migrations_read; Type: POLICY; Schema: ops; Owner: -
--

CREATE POLICY migrations_read ON ops.migrations FOR SELECT USING (true);

--
-- Name: policies; Type: ROW SECURITY; Schema: ops; Owner: -
--

ALTER TABLE ops.policies ENABLE ROW LEVEL SECURITY;

--
-- Name: policies policies_member; Type: POLICY; Schema: ops; Owner: -
--

CREATE POLICY policies_member ON ops.policies USING ((project_id = ANY (( SELECT ops.actor_project_ids() AS actor_project_ids)::uuid[]))) WITH CHECK ((project_id = ANY (( SELECT ops.actor_project_ids() AS actor_project_ids)::uuid[])));

--
-- Name: project_members; Type: ROW SECURITY; Schema: ops; Owner: -
--

ALTER TABLE ops.project_members ENABLE ROW LEVEL SECURITY;

--
-- Name: project_members project_members_member; Type: POLICY; Schema: ops; Owner: -
--

CREATE POLICY project_members_member ON ops.project_members USING ((project_id = ANY (( SELECT ops.actor_project_ids() AS actor_project_ids)::uuid[]))) WITH CHECK ((project_id = ANY (( SELECT ops.actor_project_ids() AS actor_project_ids)::uuid[])));

--
-- Name: projects; Type: ROW SECURITY; Schema: ops; Owner: -
--

ALTER TABLE ops.projects ENABLE ROW LEVEL SECURITY;

--
-- Name: projects projects_member; Type: POLICY; Schema: ops; Owner: -
--

CREATE POLICY projects_member ON ops.projects USING ((id = ANY (( SELECT ops.actor_project_ids() AS actor_project_ids)::uuid[]))) WITH CHECK ((id = ANY (( SELECT ops.actor_project_ids() AS actor_project_ids)::uuid[])));

--
-- Name: releases; Type: ROW SECURITY; Schema: ops; Owner: -
--

ALTER TABLE ops.releases ENABLE ROW LEVEL SECURITY;

--
-- Name: releases releases_member; Type: POLICY; Schema: ops; Owner: -
--

CREATE POLICY releases_member ON ops.releases FOR SELECT USING ((project_id = ANY (( SELECT ops.actor_project_ids() AS actor_project_ids)::uuid[])));

--
-- Name: restores; Type: ROW SECURITY; Schema: ops; Owner: -
--

ALTER TABLE ops.restores ENABLE ROW LEVEL SECURITY;

--
-- Name: restores restores_member; Type: POLICY; Schema: ops; Owner: -
--

CREATE POLICY restores_member ON ops.restores USING ((project_id = ANY (( SELECT ops.actor_project_ids() AS actor_project_ids)::uuid[]))) WITH CHECK ((project_id = ANY (( SELECT ops.actor_project_ids() AS actor_project_ids)::uuid[])));

--
-- Name: roles; Type: ROW SECURITY; Schema: ops; Owner: -
--

ALTER TABLE ops.roles ENABLE ROW LEVEL SECURITY;

--
-- Name: roles roles_read; Type: POLICY; Schema: ops; Owner: -
--

CREATE POLICY roles_read ON ops.roles FOR SELECT USING (true);

--
-- Name: run_events; Type: ROW SECURITY; Schema: ops; Owner: -
--

ALTER TABLE ops.run_events ENABLE ROW LEVEL SECURITY;

--
-- Name: run_events run_events_member; Type: POLICY; Schema: ops; Owner: -
--

CREATE POLICY run_events_member ON ops.run_events USING ((project_id = ANY (( SELECT ops.actor_project_ids() AS actor_project_ids)::uuid[]))) WITH CHECK ((project_id = ANY (( SELECT ops.actor_project_ids() AS actor_project_ids)::uuid[])));

--
-- Name: run_transitions; Type: ROW SECURITY; Schema: ops; Owner: -
--

ALTER TABLE ops.run_transitions ENABLE ROW LEVEL SECURITY;

--
-- Name: run_transitions run_transitions_read; Type: POLICY; Schema: ops; Owner: -
--

CREATE POLICY run_transitions_read ON ops.run_transitions FOR SELECT USING (true);

--
-- Name: runs; Type: ROW SECURITY; Schema: ops; Owner: -
--

ALTER TABLE ops.runs ENABLE ROW LEVEL SECURITY;

--
-- Name: runs runs_member; Type: POLICY; Schema: ops; Owner: -
--

CREATE POLICY runs_member ON ops.runs USING ((project_id = ANY (( SELECT ops.actor_project_ids() AS actor_project_ids)::uuid[]))) WITH CHECK ((project_id = ANY (( SELECT ops.actor_project_ids() AS actor_project_ids)::uuid[])));

--
-- Name: upgrade_reports; Type: ROW SECURITY; Schema: ops; Owner: -
--

ALTER TABLE ops.upgrade_reports ENABLE ROW LEVEL SECURITY;

--
-- Name: upgrade_reports upgrade_reports_member; Type: POLICY; Schema: ops; Owner: -
--

CREATE POLICY upgrade_reports_member ON ops.upgrade_reports FOR SELECT USING ((project_id = ANY (( SELECT ops.actor_project_ids() AS actor_project_ids)::uuid[])));

--
-- PostgreSQL database dump complete
--
