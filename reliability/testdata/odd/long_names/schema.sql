-- Names near PostgreSQL's 63-byte limit: two tables sharing a 60-byte
-- prefix (so every name derived from them by truncation alone would
-- collide), a child with the same prefix, a 62-byte name of two-byte
-- characters (a cut must fall on a character boundary), and a long table
-- in a 60-byte schema (warden's helper functions are named after both).
create schema auth;
create table auth.users (id uuid primary key, raw_app_meta_data jsonb not null default '{}'::jsonb);
insert into auth.users (id) values ('00000000-0000-0000-0000-0000000000a1'), ('00000000-0000-0000-0000-0000000000a2');

create table public.orgs (id uuid primary key, name text not null);
insert into public.orgs values ('b0000000-0000-0000-0000-00000000000b', 'Other org');
create table public.members (user_id uuid not null references auth.users (id), org_id uuid not null references public.orgs (id),
  created_at timestamptz not null default now(), primary key (user_id, org_id));
insert into public.members (user_id, org_id) values ('00000000-0000-0000-0000-0000000000a1', 'b0000000-0000-0000-0000-00000000000b');

create table public.customer_interaction_history_records_for_the_analytics_team_one (id int primary key, user_id uuid not null references auth.users (id));
create table public.customer_interaction_history_records_for_the_analytics_team_two (id int primary key, user_id uuid not null references auth.users (id));
create table public.customer_interaction_history_records_for_the_analytics_team_kid (id int primary key, parent_id int not null references public.customer_interaction_history_records_for_the_analytics_team_one (id));
create table public."ééééééééééééééééééééééééééééééé" (id int primary key, user_id uuid references auth.users (id));
create schema tenant_data_with_a_rather_long_schema_name_for_testing_names;
create table tenant_data_with_a_rather_long_schema_name_for_testing_names.events_recorded_by_the_mobile_application_for_every_user_ok (id int primary key, user_id uuid references auth.users (id));

insert into public.customer_interaction_history_records_for_the_analytics_team_one select i, (array['00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000a2'])[1 + i % 2]::uuid from generate_series(1, 6) i;
insert into public.customer_interaction_history_records_for_the_analytics_team_two select i, '00000000-0000-0000-0000-0000000000a2' from generate_series(1, 4) i;
insert into public.customer_interaction_history_records_for_the_analytics_team_kid select i, 1 + i % 6 from generate_series(1, 8) i;
insert into public."ééééééééééééééééééééééééééééééé" values (1, '00000000-0000-0000-0000-0000000000a1'), (2, null);
insert into tenant_data_with_a_rather_long_schema_name_for_testing_names.events_recorded_by_the_mobile_application_for_every_user_ok values (1, '00000000-0000-0000-0000-0000000000a1');
