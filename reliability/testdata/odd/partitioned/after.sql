-- The old app's writes after the migration, through the parents.
insert into public.metrics values (1000, '00000000-0000-0000-0000-0000000000a2', '2024-03-01', 1);
insert into public.metrics values (1001, '00000000-0000-0000-0000-0000000000a2', '2030-03-01', 1);
insert into public.sessions values ('00000000-0000-0000-0000-00000000000f', '00000000-0000-0000-0000-0000000000a1');
insert into public.metric_notes values (1000, 1000, '2024-03-01', 'new');
do $$
begin
  if (select org_id from archive.metrics_2024 where id = 1000) is distinct from 'b0000000-0000-0000-0000-00000000000b' then
    raise exception 'a row routed to a partition in another schema did not get its owner''s org';
  end if;
  if (select org_id from public.metric_notes where id = 1000) is distinct from 'b0000000-0000-0000-0000-00000000000b' then
    raise exception 'a note did not inherit its metric''s org';
  end if;
end
$$;
