-- Partitioned tables: range partitions (one of them in another, ungoverned
-- schema) with a default partition, hash partitions, and a plain table
-- that inherits its org through a composite FK to the partitioned parent.
create schema auth;
create table auth.users (id uuid primary key, raw_app_meta_data jsonb not null default '{}'::jsonb);
insert into auth.users (id) values ('00000000-0000-0000-0000-0000000000a1'), ('00000000-0000-0000-0000-0000000000a2');

create table public.orgs (id uuid primary key, name text not null default 'org');
insert into public.orgs values ('b0000000-0000-0000-0000-00000000000b', 'Other org');
create table public.members (user_id uuid not null references auth.users (id), org_id uuid not null references public.orgs (id),
  created_at timestamptz not null default now(), primary key (user_id, org_id));
insert into public.members (user_id, org_id) values ('00000000-0000-0000-0000-0000000000a2', 'b0000000-0000-0000-0000-00000000000b');

create schema archive;
create table public.metrics (
  id bigint not null,
  user_id uuid not null references auth.users (id),
  at timestamptz not null,
  v integer,
  primary key (id, at)
) partition by range (at);
create table archive.metrics_2024 partition of public.metrics for values from ('2024-01-01') to ('2025-01-01');
create table public.metrics_2025 partition of public.metrics for values from ('2025-01-01') to ('2026-01-01');
create table public.metrics_default partition of public.metrics default;
insert into public.metrics
select i, (array['00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000a2'])[1 + i % 2]::uuid,
       '2024-06-01'::timestamptz + i * interval '9 days', i
from generate_series(1, 120) i;

create table public.sessions (
  id uuid not null,
  user_id uuid references auth.users (id),
  primary key (id)
) partition by hash (id);
create table public.sessions_0 partition of public.sessions for values with (modulus 2, remainder 0);
create table public.sessions_1 partition of public.sessions for values with (modulus 2, remainder 1);
insert into public.sessions
select md5('s' || i)::uuid, case when i % 4 = 0 then null else '00000000-0000-0000-0000-0000000000a2'::uuid end
from generate_series(1, 40) i;

create table public.metric_notes (
  id integer primary key,
  metric_id bigint not null,
  metric_at timestamptz not null,
  note text,
  foreign key (metric_id, metric_at) references public.metrics (id, at)
);
insert into public.metric_notes select id, id, at, 'n' from public.metrics where id % 3 = 0;

-- A view that reads one partition by name: planned like a view over the
-- partitioned table (security_invoker).
create view public.metrics_2025_view as select id, at from public.metrics_2025;
