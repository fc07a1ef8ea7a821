-- The old app, after the migration: rows written without "Org Ref" get it.
insert into "Odd App"."order" ("user", "select") values ('00000000-0000-0000-0000-0000000000a1', 'new');
insert into "Odd App"."position" ("order", "position")
select max(id), 1 from "Odd App"."order";
insert into "Odd App"."Line ""Items""" ("order", "position") select max(id), 1 from "Odd App"."order";
insert into "Odd App"."café ☕ table" (user_id) values ('00000000-0000-0000-0000-0000000000a3');
insert into "Odd App"."MixedCase" values (3, '00000000-0000-0000-0000-0000000000a2');
do $$
begin
  if (select li."Org Ref" from "Odd App"."Line ""Items""" li join "Odd App"."order" o on o.id = li."order"
      where o."select" = 'new') is distinct from 'b0000000-0000-0000-0000-00000000000b' then
    raise exception 'new line item did not inherit its order''s org';
  end if;
  if (select "Org Ref" from "Odd App"."café ☕ table" where user_id = '00000000-0000-0000-0000-0000000000a3')
     is distinct from 'a0000000-0000-0000-0000-000000000001' then
    raise exception 'a user without a membership did not get the default org';
  end if;
end
$$;
