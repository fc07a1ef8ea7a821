-- Names that only differ in where the schema ends: public.billing_invoices
-- and billing.invoices. warden names its helper functions (in schema
-- warden) after schema and table, so these must not end up sharing one.
-- The two tables derive their orgs differently (direct, inherited), so a
-- shared function would fill one of them from the wrong place.
create schema auth;
create table auth.users (id uuid primary key, raw_app_meta_data jsonb not null default '{}'::jsonb);
insert into auth.users (id) values ('00000000-0000-0000-0000-0000000000a1'), ('00000000-0000-0000-0000-0000000000a2');

create table public.orgs (id uuid primary key, name text not null default 'org');
insert into public.orgs values ('b0000000-0000-0000-0000-00000000000b', 'Other org');
create table public.members (user_id uuid not null references auth.users (id), org_id uuid not null references public.orgs (id),
  created_at timestamptz not null default now(), primary key (user_id, org_id));
insert into public.members (user_id, org_id) values ('00000000-0000-0000-0000-0000000000a2', 'b0000000-0000-0000-0000-00000000000b');

create table public.billing_invoices (id int primary key, user_id uuid not null references auth.users (id));
insert into public.billing_invoices values (1, '00000000-0000-0000-0000-0000000000a1'), (2, '00000000-0000-0000-0000-0000000000a2');
create schema billing;
create table billing.invoices (id int primary key, invoice_id int not null references public.billing_invoices (id));
insert into billing.invoices values (1, 2), (2, 1), (3, 2);
