-- The old app, after the migration: a row written without org_id gets it,
-- and the victim is still there.
insert into public."evil$do$ table" ("user$do$id", note) values ('00000000-0000-0000-0000-0000000000a1', 'new');
do $$
begin
  if (select org_id from public."evil$do$ table" where note = 'new') is distinct from 'b0000000-0000-0000-0000-00000000000b' then
    raise exception 'a new row did not get its owner''s org';
  end if;
  if (select count(*) from public.victim) <> 1 then
    raise exception 'public.victim lost its row';
  end if;
end
$$;
