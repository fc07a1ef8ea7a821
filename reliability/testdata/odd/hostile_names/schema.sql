-- Names written to subvert generated SQL: a newline followed by a
-- statement (in a foreign-key column, which the plan's reason and so the
-- comments of the generated files name), dollar-quote tags
-- that would end a function body or DO block ($do$, $fn$, $$), comment
-- openers and closers, semicolons, quotes and backslashes. public.victim
-- must survive the whole migration, up and down.
create schema auth;
create table auth.users (id uuid primary key, raw_app_meta_data jsonb not null default '{}'::jsonb);
insert into auth.users (id) values
  ('00000000-0000-0000-0000-0000000000a1'),
  ('00000000-0000-0000-0000-0000000000a2');

create table public.orgs (id uuid primary key, name text);
insert into public.orgs values ('b0000000-0000-0000-0000-00000000000b', 'Other org');
create table public.members (
  user_id uuid not null references auth.users (id),
  org_id uuid not null references public.orgs (id),
  created_at timestamptz not null default now(),
  primary key (user_id, org_id)
);
insert into public.members (user_id, org_id) values ('00000000-0000-0000-0000-0000000000a1', 'b0000000-0000-0000-0000-00000000000b');

create table public.victim (id int primary key);
insert into public.victim values (1);

create table public."evil$do$ table" (
  id bigint generated always as identity primary key,
  "user$do$id" uuid references auth.users (id),
  note text
);
insert into public."evil$do$ table" ("user$do$id", note)
select (array['00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000a2', null])[1 + i % 3]::uuid, 'n' || i
from generate_series(1, 7) i;

create table public."child$fn$ */ -- ; '""\ $$" (
  id int primary key,
  "p
drop table if exists public.victim; --" bigint not null references public."evil$do$ table" (id)
);
insert into public."child$fn$ */ -- ; '""\ $$" select id, id from public."evil$do$ table";
