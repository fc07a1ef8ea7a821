-- Composite primary and foreign keys: keyset batches over (text, integer)
-- and (uuid, date) keys, a composite FK chain two levels deep, and a key
-- that contains the owner column.
create schema auth;
create table auth.users (id uuid primary key, raw_app_meta_data jsonb not null default '{}'::jsonb);
insert into auth.users (id) values ('00000000-0000-0000-0000-0000000000a1'), ('00000000-0000-0000-0000-0000000000a2');

create table public.orgs (id uuid primary key, name text not null default 'org');
insert into public.orgs values ('b0000000-0000-0000-0000-00000000000b', 'Other org');
create table public.members (user_id uuid not null references auth.users (id), org_id uuid not null references public.orgs (id),
  created_at timestamptz not null default now(), primary key (user_id, org_id));
insert into public.members (user_id, org_id) values ('00000000-0000-0000-0000-0000000000a2', 'b0000000-0000-0000-0000-00000000000b');

create table public.accounts (
  region text not null,
  account_no integer not null,
  user_id uuid not null references auth.users (id),
  primary key (region, account_no)
);
insert into public.accounts
select r, n, (array['00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000a2'])[1 + (n + length(r)) % 2]::uuid
from unnest(array['Zürich', 'apple', 'Apple', 'a b', 'o''brien']) r, generate_series(1, 4) n;

create table public.account_items (
  region text not null,
  account_no integer not null,
  item_no integer not null,
  qty integer,
  primary key (region, account_no, item_no),
  foreign key (region, account_no) references public.accounts (region, account_no)
);
insert into public.account_items select region, account_no, i, i from public.accounts, generate_series(1, 3) i;

create table public.item_events (
  id bigint generated always as identity primary key,
  region text not null,
  account_no integer not null,
  item_no integer not null,
  foreign key (region, account_no, item_no) references public.account_items (region, account_no, item_no)
);
insert into public.item_events (region, account_no, item_no) select region, account_no, item_no from public.account_items where item_no <> 2;

create table public.daily_stats (
  user_id uuid not null references auth.users (id),
  day date not null,
  calls integer not null default 0,
  primary key (user_id, day)
);
insert into public.daily_stats (user_id, day)
select u, d::date from unnest(array['00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000a2']::uuid[]) u,
  generate_series('2024-12-28'::date, '2025-01-04'::date, interval '1 day') d;
