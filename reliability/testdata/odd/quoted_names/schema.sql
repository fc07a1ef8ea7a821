-- Identifiers that must be quoted everywhere: a schema with a space and
-- upper case, reserved words as table and column names ("order", "user",
-- "position", "select"), a double quote inside a name, unicode and spaces,
-- two tables whose names differ only in case, and a tenant column that is
-- itself mixed case with a space ("Org Ref").
create schema auth;
create table auth.users (id uuid primary key, raw_app_meta_data jsonb not null default '{}'::jsonb);
insert into auth.users (id) values
  ('00000000-0000-0000-0000-0000000000a1'),
  ('00000000-0000-0000-0000-0000000000a2'),
  ('00000000-0000-0000-0000-0000000000a3');  -- no membership: the default org

create schema "Odd App";
create table "Odd App"."Organizations" ("Id" uuid primary key, "Name" text);
insert into "Odd App"."Organizations" values ('b0000000-0000-0000-0000-00000000000b', 'Other org');

create table "Odd App"."Org Members" (
  "User" uuid not null references auth.users (id),
  "Org" uuid not null references "Odd App"."Organizations" ("Id"),
  "Since" timestamptz not null default now(),
  primary key ("User", "Org")
);
insert into "Odd App"."Org Members" ("User", "Org") values
  ('00000000-0000-0000-0000-0000000000a1', 'b0000000-0000-0000-0000-00000000000b'),
  ('00000000-0000-0000-0000-0000000000a2', 'b0000000-0000-0000-0000-00000000000b');

create table "Odd App"."order" (
  id bigint generated always as identity primary key,
  "user" uuid references auth.users (id),
  "position" integer,
  "select" text
);
insert into "Odd App"."order" ("user", "position", "select")
select (array['00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000a3', null])[1 + i % 3]::uuid, i, 'row ' || i
from generate_series(1, 9) i;

create table "Odd App"."position" (
  "order" bigint not null references "Odd App"."order" (id),
  "position" integer not null,
  note text,
  primary key ("order", "position")
);
insert into "Odd App"."position" select o.id, p, 'p' from "Odd App"."order" o, generate_series(1, 2) p;

create table "Odd App"."Line ""Items""" (
  "Id" uuid primary key default gen_random_uuid(),
  "order" bigint not null,
  "position" integer not null,
  foreign key ("order", "position") references "Odd App"."position" ("order", "position")
);
insert into "Odd App"."Line ""Items""" ("order", "position") select "order", "position" from "Odd App"."position";

create table "Odd App"."café ☕ table" (
  "ключ" serial primary key,
  user_id uuid references auth.users (id),
  "naïve ""quoted"" col" text
);
insert into "Odd App"."café ☕ table" (user_id, "naïve ""quoted"" col")
select '00000000-0000-0000-0000-0000000000a2', 'x' from generate_series(1, 5);

create table "Odd App"."MixedCase" (id int primary key, user_id uuid not null references auth.users (id));
create table "Odd App".mixedcase (id int primary key, user_id uuid not null references auth.users (id));
insert into "Odd App"."MixedCase" values (1, '00000000-0000-0000-0000-0000000000a1'), (2, '00000000-0000-0000-0000-0000000000a3');
insert into "Odd App".mixedcase values (1, '00000000-0000-0000-0000-0000000000a2');

create table "Odd App"."user" (id int primary key, user_id uuid references auth.users (id));
insert into "Odd App"."user" values (1, '00000000-0000-0000-0000-0000000000a1'), (2, null);
