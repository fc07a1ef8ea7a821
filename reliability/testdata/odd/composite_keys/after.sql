-- The old app's writes after the migration.
insert into public.accounts values ('new', 1, '00000000-0000-0000-0000-0000000000a2');
insert into public.account_items values ('new', 1, 1, 5);
insert into public.item_events (region, account_no, item_no) values ('new', 1, 1);
insert into public.daily_stats (user_id, day) values ('00000000-0000-0000-0000-0000000000a1', '2025-02-01');
do $$
begin
  if (select org_id from public.item_events where region = 'new') is distinct from 'b0000000-0000-0000-0000-00000000000b' then
    raise exception 'new item event did not inherit through the composite keys';
  end if;
  if (select org_id from public.daily_stats where day = '2025-02-01') is distinct from 'a0000000-0000-0000-0000-000000000001' then
    raise exception 'a user without a membership did not get the default org';
  end if;
end
$$;
