-- A users table keyed by integer (not Supabase's auth.users), in the
-- governed schema, with ownership columns of type integer and bigint (FKs
-- to it) and text (no FK: ids written as digits, some malformed or
-- unknown), and a membership table keyed by the integer user id.
create table public.orgs (id uuid primary key, name text not null default 'org');
insert into public.orgs values ('b0000000-0000-0000-0000-00000000000b', 'Other org');

create table public.people (
  id integer primary key,
  email text,
  raw_app_meta_data jsonb not null default '{}'::jsonb
);
insert into public.people (id, email) select i, 'p' || i || '@example.com' from generate_series(1, 6) i;

create table public.memberships (
  person_id integer not null references public.people (id),
  org_id uuid not null references public.orgs (id),
  joined_at timestamptz not null default now(),
  primary key (person_id, org_id)
);
-- people 1-3 are members of the other org; 4-6 have no membership.
insert into public.memberships (person_id, org_id) select i, 'b0000000-0000-0000-0000-00000000000b' from generate_series(1, 3) i;

create table public.tasks (id serial primary key, owner_id integer references public.people (id), title text);
insert into public.tasks (owner_id, title) select case when i % 7 = 0 then null else 1 + i % 6 end, 't' || i from generate_series(1, 20) i;

create table public.big_tasks (id bigserial primary key, user_id bigint references public.people (id), title text);
insert into public.big_tasks (user_id, title) select 1 + i % 6, 'b' || i from generate_series(1, 12) i;

create table public.notes (id serial primary key, created_by text, body text);
insert into public.notes (created_by, body) values ('1', 'member'), ('5', 'no membership'), ('999', 'unknown user'),
  ('not a number', 'malformed'), (null, 'nobody'), ('99999999999999999999', 'too big');
