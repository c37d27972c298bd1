-- 000008: backup schedule slots. A slot is one instant a backup schedule names (per project and
-- environment); its row is the proof that the slot fired, and the primary key makes it fire once
-- however many runners or `backups run-scheduled` calls race for it.

create table ops.backup_slots (
  project_id uuid not null references ops.projects (id) on delete cascade,
  env text not null,
  slot timestamptz not null,
  fired_at timestamptz not null default now(),
  fired_by text not null,
  run_id bigint references ops.runs (id) on delete set null,
  constraint backup_slots_pkey primary key (project_id, env, slot)
);
alter table ops.backup_slots enable row level security;
alter table ops.backup_slots force row level security;
create policy backup_slots_member on ops.backup_slots for select
  using (project_id = any ((select ops.actor_project_ids())::uuid[]));

-- A slot as audit text: ISO 8601 in UTC whatever the session's TimeZone (2026-11-20T02:00:00Z).
create function ops.backup_slot_text(p_slot timestamptz) returns text
language sql immutable
set search_path = ''
as $$ select to_char(p_slot at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') $$;

-- Claims a slot: true for the first caller only (INSERT ... ON CONFLICT DO NOTHING). A second
-- caller racing on the same slot waits for the first one's transaction and then gets false (or
-- true if the first rolled back). Audited in the same transaction.
create function ops.claim_backup_slot(p_project uuid, p_env text, p_slot timestamptz) returns boolean
language plpgsql security definer
set search_path = ''
as $$
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

-- Links a claimed slot to the backup run it started.
create function ops.attach_backup_slot_run(p_project uuid, p_env text, p_slot timestamptz, p_run bigint) returns void
language plpgsql security definer
set search_path = ''
as $$
begin
  perform ops.require_role(p_project, array['admin'], 'fire scheduled backups');
  update ops.backup_slots s set run_id = p_run
  where s.project_id = p_project and s.env = p_env and s.slot = p_slot;
  if not found then
    raise exception 'backup slot % of environment % was never claimed', p_slot, p_env using errcode = 'OS404';
  end if;
end
$$;

-- Gives a claimed slot back when its run could not even be queued (so the next call retries it).
-- A slot whose run was queued is never released.
create function ops.release_backup_slot(p_project uuid, p_env text, p_slot timestamptz) returns boolean
language plpgsql security definer
set search_path = ''
as $$
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

revoke all on ops.backup_slots from public;
grant select on ops.backup_slots to ops_app;
revoke all on function ops.claim_backup_slot(uuid, text, timestamptz), ops.attach_backup_slot_run(uuid, text, timestamptz, bigint),
  ops.release_backup_slot(uuid, text, timestamptz) from public;
grant execute on function
  ops.claim_backup_slot(uuid, text, timestamptz), ops.attach_backup_slot_run(uuid, text, timestamptz, bigint),
  ops.release_backup_slot(uuid, text, timestamptz)
to ops_app;
