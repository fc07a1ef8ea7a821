-- The old app's writes after the migration.
insert into public.profiles values ('00000000-0000-0000-0000-0000000000a5', 'new');
insert into public.profile_settings values ('00000000-0000-0000-0000-0000000000a5', 'light');
update public.profile_settings set theme = 'light' where user_id = '00000000-0000-0000-0000-0000000000a2';
do $$
begin
  if (select org_id from public.profile_settings where user_id = '00000000-0000-0000-0000-0000000000a2') is distinct from 'b0000000-0000-0000-0000-00000000000b' then
    raise exception 'the member''s settings are not in the member''s org';
  end if;
  if (select org_id from public.profile_settings where user_id = '00000000-0000-0000-0000-0000000000a5') is distinct from 'a0000000-0000-0000-0000-000000000001' then
    raise exception 'the new settings row did not inherit its profile''s org';
  end if;
end
$$;
