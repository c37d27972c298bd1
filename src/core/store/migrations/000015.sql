-- 000015: releases, the immutable artifacts deploys put on environments. One row per (release, environment):
-- a release built once (commit + addons hash + Odoo version + module versions; image digest for container
-- providers) keeps its id when promoted to another environment. Written only through the audited functions below.

create table ops.releases (
  id text not null,
  project_id uuid not null references ops.projects (id) on delete cascade,
  env text not null,
  source_env text,
  commit text,
  addons_hash text not null,
  odoo_version text not null,
  modules jsonb not null default '{}',
  image_digest text,
  created_by text not null default ops.current_actor(),
  created_at timestamptz not null default now(),
  deployed_at timestamptz,
  status text not null default 'built',
  gates jsonb not null default '{}',
  run_id bigint,
  pre_deploy_backup text,
  updated_modules jsonb not null default '[]',
  constraint releases_pkey primary key (project_id, env, id),
  constraint releases_id_check check (id ~ '^r-[0-9a-f]{12}$'),
  constraint releases_status_check check (status in ('built', 'deployed', 'rolled_back', 'failed'))
);
create index releases_history_index on ops.releases (project_id, env, created_at desc);
alter table ops.releases enable row level security;
alter table ops.releases force row level security;
create policy releases_member on ops.releases for select
  using (project_id = any ((select ops.actor_project_ids())::uuid[]));
revoke all on ops.releases from public;
grant select on ops.releases to ops_app;

-- Records (or re-records, for a redeploy of the same release) a release on an environment as built. Audited.
create function ops.record_release(
  p_project uuid, p_id text, p_env text, p_source_env text, p_commit text, p_addons_hash text,
  p_odoo_version text, p_modules jsonb, p_image_digest text, p_pre_deploy_backup text, p_run bigint
) returns ops.releases
language plpgsql security definer
set search_path = ''
as $$
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

-- Marks a release of an environment deployed / rolled_back / failed, with the gates it passed. Audited.
create function ops.mark_release(
  p_project uuid, p_id text, p_env text, p_status text, p_gates jsonb default null, p_updated_modules jsonb default null,
  p_run bigint default null
) returns ops.releases
language plpgsql security definer
set search_path = ''
as $$
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

revoke all on function
  ops.record_release(uuid, text, text, text, text, text, text, jsonb, text, text, bigint),
  ops.mark_release(uuid, text, text, text, jsonb, jsonb, bigint)
from public;
grant execute on function
  ops.record_release(uuid, text, text, text, text, text, text, jsonb, text, text, bigint),
  ops.mark_release(uuid, text, text, text, jsonb, jsonb, bigint)
to ops_app;
