-- 000013: policies as code. ops.policies rows (one per project and environment type) override the
-- configuration file's `policies.<type>` list for that type (the whole list is replaced, never
-- merged); without a row, the config list applies. The rule grammar is parsed by the CLI
-- (src/core/policy/policy-rules.ts); SQL checks the shape (an array of 1..100 non-empty strings of
-- at most 500 characters) and the evaluator fails closed on a stored rule it cannot parse.

-- Sets (p_rules an array) or removes (p_rules null: back to the config defaults) the rules of one
-- environment type. Project-wide admins only (a member scoped to one environment type may not
-- change the guard rails); audited as policy.set / policy.reset.
create function ops.set_policy(p_project uuid, p_env_type text, p_rules jsonb) returns ops.policies
language plpgsql security definer
set search_path = ''
as $$
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

-- Records that a policy refused an action (audit action policy.deny, target the refused action).
-- Any member may record their own refusal: the row names the actor from the session, not from
-- the payload. p_payload carries at least {reasons: [..non-empty..]} (plus release, env_type, results).
create function ops.record_policy_denial(p_project uuid, p_action text, p_env text, p_payload jsonb) returns bigint
language plpgsql security definer
set search_path = ''
as $$
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

revoke all on function ops.set_policy(uuid, text, jsonb), ops.record_policy_denial(uuid, text, text, jsonb) from public;
grant execute on function ops.set_policy(uuid, text, jsonb), ops.record_policy_denial(uuid, text, text, jsonb) to ops_app;
