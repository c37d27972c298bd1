-- 000001: the ops state schema: roles, tables, row-level security, actor and membership helpers.
-- Conventions: every table has RLS enabled AND forced; policies read the actor once per query
-- through (select ...); SECURITY DEFINER functions pin search_path = ''; custom SQLSTATEs:
-- OS400 bad input, OS403 refused (RBAC), OS404 not found, OS409 conflict (lease lost, state changed).

do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'ops_app') then
    create role ops_app nologin;
  end if;
  -- Roles whose sessions may name an actor through request.jwt.claims (PostgREST's authenticator).
  if not exists (select 1 from pg_roles where rolname = 'ops_authenticator') then
    create role ops_authenticator nologin;
  end if;
end
$$;

grant usage on schema ops to ops_app;

-- The actor: the `sub` of request.jwt.claims when the session's login role is trusted to set
-- claims (member of ops_authenticator), otherwise the login role itself. Anyone may set a custom
-- GUC, so claims from an untrusted session are ignored rather than believed.
create function ops.current_actor() returns text
language sql stable
set search_path = ''
as $$
  select case
    when nullif(current_setting('request.jwt.claims', true), '') is not null
         and pg_catalog.pg_has_role(session_user, 'ops_authenticator', 'member')
    then coalesce(nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub', '')
    else session_user::text
  end
$$;

create table ops.roles (
  name text primary key,
  rank smallint not null,
  description text not null
);
insert into ops.roles (name, rank, description) values
  ('admin', 40, 'everything, including production, backups and members'),
  ('tester', 30, 'staging and previews with production-derived data'),
  ('developer', 20, 'previews and dev environments'),
  ('viewer', 10, 'read-only');

create table ops.projects (
  id uuid primary key default gen_random_uuid(),
  name text not null,
  created_at timestamptz not null default now(),
  created_by text not null,
  constraint projects_name_key unique (name),
  constraint projects_name_check check (name ~ '^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$')
);

create table ops.project_members (
  id bigint primary key generated always as identity,
  project_id uuid not null references ops.projects (id) on delete cascade,
  member text not null,
  role text not null references ops.roles (name),
  env_type text,
  created_at timestamptz not null default now(),
  created_by text not null,
  constraint project_members_env_type_check check (env_type is null or env_type in ('production', 'staging', 'preview', 'dev'))
);
create unique index project_members_unique_index on ops.project_members (project_id, member, coalesce(env_type, '*'));
create index project_members_member_index on ops.project_members (member);

create table ops.environments (
  id uuid primary key default gen_random_uuid(),
  project_id uuid not null references ops.projects (id) on delete cascade,
  name text not null,
  type text not null,
  branch text,
  status text not null default 'creating',
  url text,
  current_release text,
  database_name text,
  ttl_expires_at timestamptz,
  settings jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  destroyed_at timestamptz,
  constraint environments_type_check check (type in ('production', 'staging', 'preview', 'dev')),
  constraint environments_status_check check (status in ('creating', 'active', 'failed', 'destroying', 'destroyed')),
  constraint environments_name_check check (name ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$')
);
create unique index environments_live_name_index on ops.environments (project_id, name) where status <> 'destroyed';
create index environments_ttl_index on ops.environments (ttl_expires_at) where status = 'active' and ttl_expires_at is not null;

create table ops.runs (
  id bigint primary key generated always as identity,
  project_id uuid not null references ops.projects (id) on delete cascade,
  env text,
  type text not null,
  state text not null default 'queued',
  git_sha text,
  ref text,
  payload jsonb not null default '{}',
  result jsonb,
  phase text,
  priority smallint not null default 0,
  run_at timestamptz not null default now(),
  attempts smallint not null default 0,
  max_attempts smallint not null default 5,
  backoff_ms integer not null default 1000,
  exclusive boolean not null default false,
  locked_by text,
  lease_expires_at timestamptz,
  cancel_requested boolean not null default false,
  last_error text,
  created_by text not null,
  created_at timestamptz not null default now(),
  started_at timestamptz,
  finished_at timestamptz,
  updated_at timestamptz not null default now(),
  constraint runs_state_check check (state in ('queued', 'claimed', 'running', 'succeeded', 'failed', 'cancelled', 'timed_out')),
  constraint runs_type_check check (type ~ '^[a-z][a-z0-9_-]{0,39}$'),
  constraint runs_attempts_check check (attempts >= 0 and max_attempts >= 1),
  constraint runs_lock_check check ((state in ('claimed', 'running')) = (locked_by is not null and lease_expires_at is not null))
);
-- The queue's hot path: only runs waiting to be claimed are in this index, so it stays small as the table grows.
create index runs_available_index on ops.runs (priority, run_at, id) where state = 'queued';
create index runs_lease_index on ops.runs (lease_expires_at) where state in ('claimed', 'running');
create index runs_project_index on ops.runs (project_id, id desc);
-- One exclusive run (deploy, restore, clone...) per environment at a time: the claim checks it,
-- and this index is the last line of defence.
create unique index runs_env_exclusive_index on ops.runs (project_id, env) where exclusive and state in ('claimed', 'running');

create table ops.run_events (
  id bigint primary key generated always as identity,
  run_id bigint not null references ops.runs (id) on delete cascade,
  project_id uuid not null,
  at timestamptz not null default clock_timestamp(),
  level text not null,
  phase text,
  message text not null,
  payload jsonb not null default '{}',
  attempt smallint,
  constraint run_events_level_check check (level in ('debug', 'info', 'warn', 'error'))
);
create index run_events_run_index on ops.run_events (run_id, id);
create index run_events_at_index on ops.run_events (at);

create table ops.artifacts (
  id bigint primary key generated always as identity,
  run_id bigint references ops.runs (id) on delete set null,
  project_id uuid not null references ops.projects (id) on delete cascade,
  kind text not null,
  name text not null,
  uri text not null,
  sha256 text,
  size_bytes bigint,
  metadata jsonb not null default '{}',
  created_at timestamptz not null default now()
);
create index artifacts_run_index on ops.artifacts (run_id);

create table ops.backups (
  id uuid primary key default gen_random_uuid(),
  project_id uuid not null references ops.projects (id) on delete cascade,
  environment text not null,
  kind text not null default 'manual',
  status text not null default 'pending',
  run_id bigint references ops.runs (id) on delete set null,
  storage text,
  location text,
  manifest jsonb,
  size_bytes bigint,
  created_by text not null,
  created_at timestamptz not null default now(),
  completed_at timestamptz,
  constraint backups_kind_check check (kind in ('daily', 'manual', 'pre-deploy', 'safety')),
  constraint backups_status_check check (status in ('pending', 'complete', 'failed', 'deleted'))
);
create index backups_env_index on ops.backups (project_id, environment, created_at desc);

create table ops.restores (
  id uuid primary key default gen_random_uuid(),
  project_id uuid not null references ops.projects (id) on delete cascade,
  backup_id uuid not null references ops.backups (id),
  target_env text not null,
  status text not null default 'pending',
  run_id bigint references ops.runs (id) on delete set null,
  new_database text,
  previous_database text,
  keep_previous_until timestamptz,
  created_by text not null,
  created_at timestamptz not null default now(),
  completed_at timestamptz,
  constraint restores_status_check check (status in ('pending', 'verifying', 'switched', 'confirmed', 'failed', 'rolled_back'))
);
create index restores_backup_index on ops.restores (backup_id);

create table ops.approvals (
  id uuid primary key default gen_random_uuid(),
  project_id uuid not null references ops.projects (id) on delete cascade,
  action text not null,
  environment text not null,
  release text,
  reason text,
  status text not null default 'pending',
  requested_by text not null,
  decided_by text,
  decided_at timestamptz,
  created_at timestamptz not null default now(),
  expires_at timestamptz,
  constraint approvals_action_check check (action in ('deploy', 'promote', 'restore', 'exec')),
  constraint approvals_status_check check (status in ('pending', 'approved', 'rejected', 'expired'))
);
create index approvals_pending_index on ops.approvals (project_id, environment) where status = 'pending';

create table ops.policies (
  id bigint primary key generated always as identity,
  project_id uuid not null references ops.projects (id) on delete cascade,
  env_type text not null,
  rules jsonb not null default '[]',
  updated_by text not null,
  updated_at timestamptz not null default now(),
  constraint policies_env_type_check check (env_type in ('production', 'staging', 'preview', 'dev')),
  constraint policies_project_env_type_key unique (project_id, env_type)
);

create table ops.audit_log (
  id bigint primary key generated always as identity,
  project_id uuid not null references ops.projects (id),
  seq bigint not null,
  at timestamptz not null,
  actor text not null,
  action text not null,
  target text,
  env text,
  run_id bigint,
  payload jsonb not null default '{}',
  prev_hash text not null,
  hash text not null,
  constraint audit_log_project_seq_key unique (project_id, seq)
);
