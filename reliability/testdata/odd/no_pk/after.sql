-- The old app's writes after the migration.
insert into public.events values ('00000000-0000-0000-0000-0000000000a2', 'new');
insert into public.event_notes values (1, 'new');  -- parent 1 belongs to a2, a member of the other org
do $$
begin
  if (select org_id from public.events where payload = 'new') is distinct from 'b0000000-0000-0000-0000-00000000000b' then
    raise exception 'new event did not get its owner''s org';
  end if;
  if (select org_id from public.event_notes where note = 'new') is distinct from 'b0000000-0000-0000-0000-00000000000b' then
    raise exception 'new note did not inherit its parent''s org';
  end if;
  -- orphans of the backfill went to the default org
  if exists (select 1 from public.events where user_id is null and org_id <> 'a0000000-0000-0000-0000-000000000001') then
    raise exception 'an event without an owner did not get the default org';
  end if;
end
$$;
