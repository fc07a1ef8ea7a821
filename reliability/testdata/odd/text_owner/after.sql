-- The old app's writes after the migration.
insert into public.api_keys (created_by, label) values ('00000000-0000-0000-0000-0000000000a2', 'new');
insert into public.webhooks (owner, url) values ('00000000-0000-0000-0000-0000000000a1', 'https://new');
do $$
begin
  if (select org_id from public.api_keys where label = 'new') is distinct from 'b0000000-0000-0000-0000-00000000000b'
     or (select org_id from public.api_keys where label = 'member, upper case') is distinct from 'b0000000-0000-0000-0000-00000000000b'
     or (select org_id from public.api_keys where label = 'malformed') is distinct from 'a0000000-0000-0000-0000-000000000001'
     or (select org_id from public.webhooks where url = 'https://new') is distinct from 'a0000000-0000-0000-0000-000000000001' then
    raise exception 'text owners did not map to the right orgs';
  end if;
  -- a row naming no known user has nothing to derive its org from: the
  -- policy gives such rows the default org (when_null), as the backfill did
  insert into public.api_keys (created_by, label) values ('alice', 'no user');
  if (select org_id from public.api_keys where label = 'no user') is distinct from 'a0000000-0000-0000-0000-000000000001' then
    raise exception 'a row with a malformed owner did not get the default org, as its when_null says';
  end if;
end
$$;
