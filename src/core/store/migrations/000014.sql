-- 000014: approvals with quorum, expiry and no self-approval, enforced here (mirrors src/core/approvals/approval-state.ts).
-- A request binds to one action + environment + release; ops.valid_approvals answers only for exactly that triple
-- (approving release A never admits release B). Votes: one per voter; a reject decides the request as rejected;
-- `quorum` approve votes decide it as approved. A pending or approved request past expires_at is expired.
-- Who may vote: admin, or a role of ops.env_roles(<type of the environment>) (production: admin only); never a viewer;
-- never the requester approving their own request unless the caller says the policy allows it (p_allow_self).

alter table ops.approvals add column quorum smallint not null default 1;
alter table ops.approvals add constraint approvals_quorum_check check (quorum between 1 and 10);
create index approvals_valid_index on ops.approvals (project_id, action, environment) where status = 'approved';

create table ops.approval_votes (
  id bigint primary key generated always as identity,
  approval_id uuid not null references ops.approvals (id) on delete cascade,
  project_id uuid not null references ops.projects (id) on delete cascade,
  voter text not null,
  role text not null references ops.roles (name),
  vote text not null,
  comment text,
  at timestamptz not null default now(),
  constraint approval_votes_vote_check check (vote in ('approve', 'reject')),
  constraint approval_votes_voter_key unique (approval_id, voter)
);
alter table ops.approval_votes enable row level security;
alter table ops.approval_votes force row level security;
create policy approval_votes_member on ops.approval_votes for all
  using (project_id = any ((select ops.actor_project_ids())::uuid[]))
  with check (project_id = any ((select ops.actor_project_ids())::uuid[]));
revoke all on ops.approval_votes from public;
grant select on ops.approval_votes to ops_app;

-- The type of an environment for approvals: the live environment's, else the latest destroyed one's,
-- else production (an environment not created yet, e.g. before the first deploy, gets the strictest rules).
create function ops.approval_env_type(p_project uuid, p_env text) returns text
language sql stable security definer
set search_path = ''
as $$
  select coalesce((
    select e.type from ops.environments e
    where e.project_id = p_project and e.name = p_env
    order by (e.status <> 'destroyed') desc, e.created_at desc limit 1), 'production')
$$;

-- Marks the project's pending/approved requests past their expiry as expired (audited); returns how many.
create function ops.expire_approvals(p_project uuid) returns integer
language plpgsql security definer
set search_path = ''
as $$
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

create function ops.request_approval(
  p_project uuid, p_action text, p_env text, p_release text default null, p_reason text default null,
  p_quorum smallint default 1, p_ttl interval default interval '24 hours'
) returns ops.approvals
language plpgsql security definer
set search_path = ''
as $$
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
$$;

-- One vote on a pending request. Raises OS404 (unknown), OS409 (decided, expired, already voted),
-- OS403 (viewer, role not allowed for the environment type, self-approval), OS400 (bad vote).
create function ops.decide_approval(p_id uuid, p_vote text, p_allow_self boolean default false, p_comment text default null)
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
  if p_vote = 'approve' and v_row.requested_by = v_actor and not coalesce(p_allow_self, false) then
    raise exception 'self-approval refused: "%" requested approval % and cannot approve it; another member must', v_actor, p_id
      using errcode = 'OS403';
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

-- What the policy engine reads: approved, unexpired approvals for exactly this action, environment and release
-- (a request without a release only admits actions without one).
create function ops.valid_approvals(p_project uuid, p_action text, p_env text, p_release text)
returns setof ops.approvals
language plpgsql stable security definer
set search_path = ''
as $$
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

-- `approvals list`: expires what is due first, then lists newest first.
create function ops.list_approvals(p_project uuid, p_env text default null, p_status text default null, p_limit integer default 100)
returns setof ops.approvals
language plpgsql security definer
set search_path = ''
as $$
begin
  perform ops.expire_approvals(p_project);
  return query
    select * from ops.approvals a
    where a.project_id = p_project and (p_env is null or a.environment = p_env) and (p_status is null or a.status = p_status)
    order by a.created_at desc, a.id
    limit greatest(1, least(coalesce(p_limit, 100), 10000));
end
$$;

revoke all on function
  ops.approval_env_type(uuid, text), ops.expire_approvals(uuid),
  ops.request_approval(uuid, text, text, text, text, smallint, interval),
  ops.decide_approval(uuid, text, boolean, text), ops.valid_approvals(uuid, text, text, text),
  ops.list_approvals(uuid, text, text, integer)
from public;
grant execute on function
  ops.expire_approvals(uuid),
  ops.request_approval(uuid, text, text, text, text, smallint, interval),
  ops.decide_approval(uuid, text, boolean, text), ops.valid_approvals(uuid, text, text, text),
  ops.list_approvals(uuid, text, text, integer)
to ops_app;
