-- 000007: backup rows through their life: pending (being written) → complete (every part stored,
-- manifest written and re-read) or failed; complete → deleted. Verification results. Backup runs
-- are exclusive per environment (a backup never overlaps a restore, deploy or destroy of its env).
-- Backups are admin-only, like ops.create_backup (000003).

alter table ops.backups add column error text;
alter table ops.backups add column verified_at timestamptz;
-- The last `backups verify`: {ok, failures (count), parts: {name: ok}, detail...}.
alter table ops.backups add column verification jsonb;
create index backups_pending_index on ops.backups (project_id) where status = 'pending';

-- A pending backup is alive while its run holds a live lease; anything else left pending was
-- interrupted (process killed, lease lost) and can never complete.
create function ops.backup_is_live(p_backup ops.backups) returns boolean
language sql stable
set search_path = ''
as $$
  select p_backup.status = 'pending' and exists (
    select 1 from ops.runs r
    where r.id = p_backup.run_id and r.state in ('claimed', 'running') and r.lease_expires_at > now())
$$;

-- Only a pending backup becomes complete, once: the data-ops service calls this after every part
-- is stored and manifest.json was written and read back.
create function ops.complete_backup(
  p_backup uuid, p_storage text, p_location text, p_manifest jsonb, p_size bigint
) returns ops.backups
language plpgsql security definer
set search_path = ''
as $$
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

-- Marks a pending backup failed (idempotent for a failed one). A complete backup is never failed.
create function ops.fail_backup(p_backup uuid, p_error text) returns ops.backups
language plpgsql security definer
set search_path = ''
as $$
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

-- Fails the pending backups of the project that can never complete (their run is gone or its
-- lease lapsed), plus any pending backup of p_run (an earlier attempt of the run calling this).
-- Returns the backups it failed.
create function ops.fail_stale_backups(p_project uuid, p_run bigint default null) returns setof ops.backups
language plpgsql security definer
set search_path = ''
as $$
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

-- Marks a backup deleted (audited); the data-ops service then removes its files. Deleting a
-- deleted backup returns it unchanged (so an interrupted delete can be retried); a backup still
-- being written is refused.
create function ops.delete_backup(p_backup uuid) returns ops.backups
language plpgsql security definer
set search_path = ''
as $$
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

-- Records the outcome of `backups verify` (audited).
create function ops.record_backup_verification(p_backup uuid, p_ok boolean, p_detail jsonb default '{}') returns ops.backups
language plpgsql security definer
set search_path = ''
as $$
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

-- Backups never overlap another exclusive run (restore, deploy, destroy...) of their environment.
create or replace function ops.is_exclusive_type(p_type text) returns boolean
language sql immutable
set search_path = ''
as $$ select p_type in ('deploy', 'promote', 'restore', 'clone', 'rollback', 'destroy', 'preview-up', 'backup') $$;

revoke all on function
  ops.backup_is_live(ops.backups), ops.complete_backup(uuid, text, text, jsonb, bigint), ops.fail_backup(uuid, text),
  ops.fail_stale_backups(uuid, bigint), ops.delete_backup(uuid), ops.record_backup_verification(uuid, boolean, jsonb)
from public;
grant execute on function
  ops.backup_is_live(ops.backups), ops.complete_backup(uuid, text, text, jsonb, bigint), ops.fail_backup(uuid, text),
  ops.fail_stale_backups(uuid, bigint), ops.delete_backup(uuid), ops.record_backup_verification(uuid, boolean, jsonb)
to ops_app;
