-- The old app's writes after the migration.
insert into public.customer_interaction_history_records_for_the_analytics_team_one values (100, '00000000-0000-0000-0000-0000000000a1');
insert into public.customer_interaction_history_records_for_the_analytics_team_two values (100, '00000000-0000-0000-0000-0000000000a1');
insert into public.customer_interaction_history_records_for_the_analytics_team_kid values (100, 100);
insert into public."ééééééééééééééééééééééééééééééé" values (100, '00000000-0000-0000-0000-0000000000a2');
insert into tenant_data_with_a_rather_long_schema_name_for_testing_names.events_recorded_by_the_mobile_application_for_every_user_ok values (100, '00000000-0000-0000-0000-0000000000a1');
do $$
begin
  if (select org_id from public.customer_interaction_history_records_for_the_analytics_team_kid where id = 100) is distinct from 'b0000000-0000-0000-0000-00000000000b' then
    raise exception 'the long-named child did not inherit its parent''s org';
  end if;
  if (select org_id from tenant_data_with_a_rather_long_schema_name_for_testing_names.events_recorded_by_the_mobile_application_for_every_user_ok where id = 100) is distinct from 'b0000000-0000-0000-0000-00000000000b' then
    raise exception 'the table in the long schema did not get its owner''s org';
  end if;
end
$$;
