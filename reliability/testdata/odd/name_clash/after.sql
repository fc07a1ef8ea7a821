-- The old app's writes after the migration.
insert into public.billing_invoices values (10, '00000000-0000-0000-0000-0000000000a2');
insert into billing.invoices values (10, 10);
do $$
begin
  if (select org_id from billing.invoices where id = 10) is distinct from 'b0000000-0000-0000-0000-00000000000b' then
    raise exception 'billing.invoices did not inherit from public.billing_invoices';
  end if;
end
$$;
