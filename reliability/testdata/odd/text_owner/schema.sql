-- An ownership column of type text (no FK, require_fk: false) holding uuids
-- of users: upper case, an unknown user, malformed values and NULL. The
-- malformed ones must become orphans, not fail a batch.
create schema auth;
create table auth.users (id uuid primary key, raw_app_meta_data jsonb not null default '{}'::jsonb);
insert into auth.users (id) values ('00000000-0000-0000-0000-0000000000a1'), ('00000000-0000-0000-0000-0000000000a2');

create table public.orgs (id uuid primary key, name text not null default 'org');
insert into public.orgs values ('b0000000-0000-0000-0000-00000000000b', 'Other org');
create table public.members (user_id uuid not null references auth.users (id), org_id uuid not null references public.orgs (id),
  created_at timestamptz not null default now(), primary key (user_id, org_id));
insert into public.members (user_id, org_id) values ('00000000-0000-0000-0000-0000000000a2', 'b0000000-0000-0000-0000-00000000000b');

create table public.api_keys (id serial primary key, created_by text, label text);
insert into public.api_keys (created_by, label) values
  ('00000000-0000-0000-0000-0000000000a2', 'member'),
  ('00000000-0000-0000-0000-0000000000A2', 'member, upper case'),
  ('00000000-0000-0000-0000-0000000000a1', 'no membership'),
  ('00000000-0000-0000-0000-0000000000ff', 'unknown user'),
  ('alice', 'malformed'),
  ('', 'empty'),
  (null, 'nobody');
create table public.webhooks (id serial primary key, owner varchar(64), url text);
insert into public.webhooks (owner, url) values ('00000000-0000-0000-0000-0000000000a2', 'https://a'), ('{oops}', 'https://b');
