-- A partitioned event log with no primary key (the key would have to
-- include the partition column, and many apps leave it out): range
-- partitions, one in another schema, a default partition, and a nullable
-- owner. Its backfill walks each leaf partition by
-- physical position in turn.
create schema auth;
create table auth.users (id uuid primary key, raw_app_meta_data jsonb not null default '{}'::jsonb);
insert into auth.users (id) values ('00000000-0000-0000-0000-0000000000a1'), ('00000000-0000-0000-0000-0000000000a2');

create table public.orgs (id uuid primary key, name text not null default 'org');
insert into public.orgs values ('b0000000-0000-0000-0000-00000000000b', 'Other org');
create table public.members (user_id uuid not null references auth.users (id), org_id uuid not null references public.orgs (id),
  created_at timestamptz not null default now(), primary key (user_id, org_id));
insert into public.members (user_id, org_id) values ('00000000-0000-0000-0000-0000000000a2', 'b0000000-0000-0000-0000-00000000000b');

create schema archive;
create table public.audit_log (
  at timestamptz not null,
  user_id uuid references auth.users (id),
  action text not null
) partition by range (at);
create table archive.audit_log_2024 partition of public.audit_log for values from ('2024-01-01') to ('2025-01-01');
create table public.audit_log_2025 partition of public.audit_log for values from ('2025-01-01') to ('2026-01-01');
create table public.audit_log_default partition of public.audit_log default;
insert into public.audit_log
select '2024-06-01'::timestamptz + i * interval '3 days',
       (array['00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000a2', null])[1 + i % 3]::uuid,
       (array['login', 'edit', 'delete'])[1 + i % 3]
from generate_series(1, 300) i;
