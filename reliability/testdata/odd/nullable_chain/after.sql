-- After the migration: a row with a parent inherits, a row without one
-- takes the caller's JWT org, and without a JWT it fails NOT NULL.
insert into public.subtasks values (10, 1);
do $$
begin
  if (select org_id from public.subtasks where id = 10) is distinct from 'b0000000-0000-0000-0000-00000000000b' then
    raise exception 'subtask 10 did not inherit through the chain';
  end if;
  if (select org_id from public.subtasks where id = 2) is distinct from 'a0000000-0000-0000-0000-000000000001'
     or (select org_id from public.subtasks where id = 4) is distinct from 'a0000000-0000-0000-0000-000000000001' then
    raise exception 'orphans of the nullable chain did not get the default org';
  end if;
  if (select sum(orphans) from warden.backfill_progress) <> 4 then
    raise exception 'the backfill counted % orphans, want 4 (project 2: no owner; project 3: owner without a membership; task 3 and subtask 4: no parent)',
      (select sum(orphans) from warden.backfill_progress);
  end if;
  -- The policy gives subtasks without a task the default org (when_null):
  -- the fill trigger does as the backfill did.
  insert into public.subtasks values (11, null);
  if (select org_id from public.subtasks where id = 11) <> 'a0000000-0000-0000-0000-000000000001' then
    raise exception 'a subtask without a parent or a JWT did not get the default org, as its when_null says';
  end if;
  delete from public.subtasks where id = 11;
  perform set_config('request.jwt.claims', '{"app_metadata": {"org_id": "b0000000-0000-0000-0000-00000000000b"}}', true);
  insert into public.subtasks values (12, null);
  if (select org_id from public.subtasks where id = 12) is distinct from 'b0000000-0000-0000-0000-00000000000b' then
    raise exception 'a subtask without a parent did not take the JWT org';
  end if;
end
$$;
