-- A chain of nullable foreign keys under a nullable owner: rows with a NULL
-- at any level have no derivable org and go to the default org (counted as
-- orphans); after the migration such a row needs a JWT org or fails.
create schema auth;
create table auth.users (id uuid primary key, raw_app_meta_data jsonb not null default '{}'::jsonb);
insert into auth.users (id) values ('00000000-0000-0000-0000-0000000000a1'), ('00000000-0000-0000-0000-0000000000a2');

create table public.orgs (id uuid primary key, name text not null default 'org');
insert into public.orgs values ('b0000000-0000-0000-0000-00000000000b', 'Other org');
create table public.members (user_id uuid not null references auth.users (id), org_id uuid not null references public.orgs (id),
  created_at timestamptz not null default now(), primary key (user_id, org_id));
insert into public.members (user_id, org_id) values ('00000000-0000-0000-0000-0000000000a2', 'b0000000-0000-0000-0000-00000000000b');

create table public.projects (id int primary key, user_id uuid references auth.users (id));
insert into public.projects values (1, '00000000-0000-0000-0000-0000000000a2'), (2, null), (3, '00000000-0000-0000-0000-0000000000a1');
create table public.tasks (id int primary key, project_id int references public.projects (id) on delete set null);
insert into public.tasks values (1, 1), (2, 2), (3, null), (4, 3), (5, 1);
create table public.subtasks (id int primary key, task_id int references public.tasks (id) on delete set null);
insert into public.subtasks values (1, 1), (2, 2), (3, 3), (4, null), (5, 4), (6, 5);
