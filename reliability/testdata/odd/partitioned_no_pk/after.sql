-- The old app's writes after the migration, through the parent.
insert into public.audit_log values ('2024-03-01', '00000000-0000-0000-0000-0000000000a2', 'new');
insert into public.audit_log values ('2025-03-01', '00000000-0000-0000-0000-0000000000a2', 'new');
insert into public.audit_log values ('2031-03-01', null, 'new');
do $$
begin
  if (select org_id from archive.audit_log_2024 where action = 'new') is distinct from 'b0000000-0000-0000-0000-00000000000b'
     or (select org_id from public.audit_log_2025 where action = 'new') is distinct from 'b0000000-0000-0000-0000-00000000000b' then
    raise exception 'a row routed to a leaf partition did not get its owner''s org';
  end if;
  if (select org_id from public.audit_log_default where at = '2031-03-01') is distinct from 'a0000000-0000-0000-0000-000000000001' then
    raise exception 'a system event did not get the default org';
  end if;
  -- every backfilled row: its owner's org, or the default org
  if exists (select 1 from public.audit_log
             where org_id is distinct from case when user_id = '00000000-0000-0000-0000-0000000000a2' then 'b0000000-0000-0000-0000-00000000000b'::uuid
                                                else 'a0000000-0000-0000-0000-000000000001'::uuid end) then
    raise exception 'a backfilled row has the wrong org';
  end if;
end
$$;
