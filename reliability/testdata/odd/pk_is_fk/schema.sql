-- A table whose primary key is also its foreign key to the users table
-- (one profile per user), and a table keyed the same way whose user_id
-- references profiles rather than the users table: not an owner column
-- (require_fk), so it inherits through profiles.
create schema auth;
create table auth.users (id uuid primary key, raw_app_meta_data jsonb not null default '{}'::jsonb);
insert into auth.users (id) select ('00000000-0000-0000-0000-0000000000a' || i)::uuid from generate_series(1, 5) i;

create table public.orgs (id uuid primary key, name text not null default 'org');
insert into public.orgs values ('b0000000-0000-0000-0000-00000000000b', 'Other org');
create table public.members (user_id uuid not null references auth.users (id), org_id uuid not null references public.orgs (id),
  created_at timestamptz not null default now(), primary key (user_id, org_id));
insert into public.members (user_id, org_id) values ('00000000-0000-0000-0000-0000000000a2', 'b0000000-0000-0000-0000-00000000000b');

create table public.profiles (user_id uuid primary key references auth.users (id) on delete cascade, display_name text);
insert into public.profiles select id, 'user ' || id from auth.users where id <> '00000000-0000-0000-0000-0000000000a5';
create table public.profile_settings (user_id uuid primary key references public.profiles (user_id), theme text);
insert into public.profile_settings select user_id, 'dark' from public.profiles;
