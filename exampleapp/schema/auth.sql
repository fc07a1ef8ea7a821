-- schema/auth.sql: a minimal, faithful stand-in for Supabase auth on vanilla
-- PostgreSQL (15+).
--
-- It provides what the example application (schema/app.sql) and warden's
-- generated migrations rely on:
--   * the API roles anon, authenticated and service_role;
--   * schema auth with auth.users (raw_app_meta_data, raw_user_meta_data, ...);
--   * auth.jwt(), auth.uid(), auth.role() and auth.email(), which read the
--     request.jwt.claims setting (and the legacy request.jwt.claim.* ones)
--     exactly like Supabase/PostgREST;
--   * Supabase's default grants on schemas public and auth.
--
-- The file is idempotent within a database and safe to load into many
-- databases of one cluster, also concurrently: roles are cluster-wide, so they
-- are created only when missing. It contains no psql meta-commands, so it can
-- be run with `psql -v ON_ERROR_STOP=1 -f` or as one multi-statement simple
-- query (pgx Exec without arguments).

-- API roles ------------------------------------------------------------------
-- Two sessions loading this file into two databases at the same moment may
-- both see a role missing; the loser of that race gets duplicate_object or
-- unique_violation, which is caught.
do $roles$
declare
  r record;
begin
  for r in
    select *
    from (values
      ('anon', 'nologin noinherit'),
      ('authenticated', 'nologin noinherit'),
      ('service_role', 'nologin noinherit bypassrls')
    ) as v(name, options)
  loop
    if not exists (select 1 from pg_catalog.pg_roles where rolname = r.name) then
      begin
        execute format('create role %I %s', r.name, r.options);
      exception
        when duplicate_object or unique_violation then
          null;
      end;
    end if;
  end loop;
end
$roles$;

-- Schema auth ----------------------------------------------------------------
create schema if not exists auth;

-- auth.users as Supabase GoTrue defines it (the columns an application and
-- warden may touch; GoTrue-internal token columns are kept for realism).
create table if not exists auth.users (
  instance_id uuid,
  id uuid not null default gen_random_uuid() primary key,
  aud varchar(255),
  role varchar(255),
  email varchar(255),
  encrypted_password varchar(255),
  email_confirmed_at timestamptz,
  invited_at timestamptz,
  confirmation_token varchar(255),
  confirmation_sent_at timestamptz,
  recovery_token varchar(255),
  recovery_sent_at timestamptz,
  email_change_token_new varchar(255),
  email_change varchar(255),
  email_change_sent_at timestamptz,
  last_sign_in_at timestamptz,
  raw_app_meta_data jsonb not null default '{}'::jsonb,
  raw_user_meta_data jsonb default '{}'::jsonb,
  is_super_admin boolean,
  created_at timestamptz default now(),
  updated_at timestamptz default now(),
  phone text unique default null,
  phone_confirmed_at timestamptz,
  phone_change text default '',
  phone_change_token varchar(255) default '',
  phone_change_sent_at timestamptz,
  confirmed_at timestamptz generated always as (least(email_confirmed_at, phone_confirmed_at)) stored,
  email_change_token_current varchar(255) default '',
  email_change_confirm_status smallint default 0
    check (email_change_confirm_status >= 0 and email_change_confirm_status <= 2),
  banned_until timestamptz,
  reauthentication_token varchar(255) default '',
  reauthentication_sent_at timestamptz,
  is_sso_user boolean not null default false,
  deleted_at timestamptz,
  is_anonymous boolean not null default false
);

comment on table auth.users is 'Auth: Stores user login data within a secure schema.';

create index if not exists users_instance_id_idx on auth.users (instance_id);
create index if not exists users_instance_id_email_idx on auth.users (instance_id, lower(email));
create unique index if not exists users_email_partial_key on auth.users (email) where (is_sso_user = false);
create index if not exists users_is_anonymous_idx on auth.users (is_anonymous);

-- JWT helpers ------------------------------------------------------------------
-- PostgREST sets request.jwt.claims (JSON) per request; older versions set
-- request.jwt.claim (JSON) and request.jwt.claim.<name>. These match
-- Supabase's definitions.
create or replace function auth.jwt()
returns jsonb
language sql
stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;

create or replace function auth.uid()
returns uuid
language sql
stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;

create or replace function auth.role()
returns text
language sql
stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;

create or replace function auth.email()
returns text
language sql
stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.email', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
  )::text
$$;

comment on function auth.uid() is 'Deprecated. Use auth.jwt() -> ''sub'' instead.';
comment on function auth.role() is 'Deprecated. Use auth.jwt() -> ''role'' instead.';
comment on function auth.email() is 'Deprecated. Use auth.jwt() -> ''email'' instead.';

-- Grants (as Supabase sets them up) -------------------------------------------
grant usage on schema auth to anon, authenticated, service_role;
grant execute on function auth.jwt(), auth.uid(), auth.role(), auth.email()
  to anon, authenticated, service_role;

grant usage on schema public to anon, authenticated, service_role;

-- Objects the loading role creates in public later (schema/app.sql) are
-- exposed to the API roles, as in a Supabase project; RLS decides the rows.
alter default privileges in schema public
  grant all on tables to anon, authenticated, service_role;
alter default privileges in schema public
  grant all on sequences to anon, authenticated, service_role;
alter default privileges in schema public
  grant all on functions to anon, authenticated, service_role;
