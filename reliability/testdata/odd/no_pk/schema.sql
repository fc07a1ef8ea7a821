-- Tables without a primary key: the backfill walks them in ctid ranges.
-- events spans many pages, with dead tuples and moved rows (deletes and
-- updates before the migration); event_notes inherits through a nullable
-- FK and has no key either.
create schema auth;
create table auth.users (id uuid primary key, raw_app_meta_data jsonb not null default '{}'::jsonb);
insert into auth.users (id) values ('00000000-0000-0000-0000-0000000000a1'), ('00000000-0000-0000-0000-0000000000a2');

create table public.orgs (id uuid primary key, name text not null default 'org');
insert into public.orgs values ('b0000000-0000-0000-0000-00000000000b', 'Other org');
create table public.members (user_id uuid not null references auth.users (id), org_id uuid not null references public.orgs (id),
  created_at timestamptz not null default now());
insert into public.members (user_id, org_id) values ('00000000-0000-0000-0000-0000000000a2', 'b0000000-0000-0000-0000-00000000000b');

create table public.events (user_id uuid references auth.users (id), payload text);
insert into public.events
select (array['00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000a2', null])[1 + i % 3]::uuid,
       repeat('x', 200) || i
from generate_series(1, 3000) i;
delete from public.events where payload like '%7';
update public.events set payload = payload || 'u' where payload like '%3';

create table public.parents (id int primary key, user_id uuid not null references auth.users (id));
insert into public.parents select i, (array['00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000a2'])[1 + i % 2]::uuid
from generate_series(1, 10) i;
create table public.event_notes (parent_id int references public.parents (id), note text);
insert into public.event_notes select case when i % 5 = 0 then null else 1 + i % 10 end, 'n' from generate_series(1, 500) i;
