-- stand-in app schema for policy tests
create table public.organizations (id uuid primary key);
