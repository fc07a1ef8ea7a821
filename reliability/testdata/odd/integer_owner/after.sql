-- The old app's writes after the migration, and the claims of phase 5.
insert into public.tasks (owner_id, title) values (2, 'new');
insert into public.big_tasks (user_id, title) values (3, 'new');
insert into public.notes (created_by, body) values ('2', 'new');
insert into public.people (id) values (7);
do $$
begin
  if (select org_id from public.tasks where title = 'new') is distinct from 'b0000000-0000-0000-0000-00000000000b'
     or (select org_id from public.big_tasks where title = 'new') is distinct from 'b0000000-0000-0000-0000-00000000000b'
     or (select org_id from public.notes where body = 'new') is distinct from 'b0000000-0000-0000-0000-00000000000b' then
    raise exception 'new rows of integer, bigint and text owners did not get their owner''s org';
  end if;
  if (select org_id from public.notes where body = 'member') is distinct from 'b0000000-0000-0000-0000-00000000000b'
     or (select org_id from public.notes where body = 'too big') is distinct from 'a0000000-0000-0000-0000-000000000001' then
    raise exception 'the backfill of the text owner column is wrong';
  end if;
  if exists (select 1 from public.people where raw_app_meta_data ->> 'org_id' is null) then
    raise exception 'a person has no org claim';
  end if;
  if (select raw_app_meta_data ->> 'org_id' from public.people where id = 1) <> 'b0000000-0000-0000-0000-00000000000b' then
    raise exception 'person 1 has the wrong org claim';
  end if;
end
$$;
