-- 000018: Self-approval decided by the database, not by the caller: ops.decide_approval(p_allow_self) used to trust
-- the CLI's reading of the policy, so a member with a direct connection could pass true. Now a requester may
-- approve their own request only when the caller asks for it AND the policy stored for the environment's type
-- (ops.policies, admin-only, audited) has no `no self-approval` rule. Policies only in the configuration file
-- never allow it (fail closed).

create or replace function ops.decide_approval(p_id uuid, p_vote text, p_allow_self boolean default false, p_comment text default null)
returns ops.approvals
language plpgsql security definer
set search_path = ''
as $$
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
