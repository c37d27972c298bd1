-- 000016: upgrade reports (the upgrade advisor, `upgrade preview`). One row per preview run: the report
-- (JSON, and its Markdown rendering), the versions, the verdict and who approved it. Reports are recorded
-- as artifacts of their run too (ops.artifacts, kind 'upgrade-report', uri ops:upgrade_reports/<id>).
-- Approval (what the policy rule `upgrade report approved when the Odoo major version changes` needs):
-- admin only, never by the member who asked for the preview, only a `ready` report; audited.

create table ops.upgrade_reports (
  id bigint primary key generated always as identity,
  project_id uuid not null references ops.projects (id) on delete cascade,
  run_id bigint references ops.runs (id) on delete set null,
  env text not null,
  from_version text not null,
  to_version text not null,
  verdict text not null,
  report jsonb not null,
  markdown text not null,
  requested_by text not null,
  created_at timestamptz not null default now(),
  approved_by text,
  approved_at timestamptz,
  constraint upgrade_reports_verdict_check check (verdict in ('ready', 'blocked')),
  constraint upgrade_reports_to_version_check check (to_version ~ '^[0-9]{1,3}\.[0-9]+$'),
  constraint upgrade_reports_approval_check check ((approved_by is null) = (approved_at is null))
);
create index upgrade_reports_env_index on ops.upgrade_reports (project_id, env, to_version, created_at desc);
create unique index upgrade_reports_run_index on ops.upgrade_reports (run_id) where run_id is not null;
alter table ops.upgrade_reports enable row level security;
alter table ops.upgrade_reports force row level security;
create policy upgrade_reports_member on ops.upgrade_reports for select
  using (project_id = any ((select ops.actor_project_ids())::uuid[]));
revoke all on ops.upgrade_reports from public;
grant select on ops.upgrade_reports to ops_app;

-- Records the report of a preview run (once per run) and its two artifacts. Needs the roles of the
-- environment previewed (production: admin). The requester is the member who queued the run.
create function ops.record_upgrade_report(
  p_project uuid, p_run bigint, p_env text, p_from text, p_to text, p_verdict text, p_report jsonb, p_markdown text
) returns ops.upgrade_reports
language plpgsql security definer
set search_path = ''
as $$
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

-- Approves a ready report: admin only, not the requester, once. Audited.
create function ops.approve_upgrade_report(p_project uuid, p_id bigint) returns ops.upgrade_reports
language plpgsql security definer
set search_path = ''
as $$
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

revoke all on function
  ops.record_upgrade_report(uuid, bigint, text, text, text, text, jsonb, text),
  ops.approve_upgrade_report(uuid, bigint)
from public;
grant execute on function
  ops.record_upgrade_report(uuid, bigint, text, text, text, text, jsonb, text),
  ops.approve_upgrade_report(uuid, bigint)
to ops_app;
