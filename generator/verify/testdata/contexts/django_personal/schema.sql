-- A Django-style app: integer user ids (auth_user), an organizations table
-- keyed by bigserial with a unique slug, a membership table whose role and
-- joined_at have no database default (Django sets them in Python), users
-- with no membership at all, and one app role that sets app.org_id and
-- app.user_id per transaction. Its policy gives every user without a
-- membership an org of their own (membership.personal_orgs).
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'django_app') THEN CREATE ROLE django_app NOLOGIN; END IF;
END $$;
CREATE TABLE public.django_migrations (id bigserial PRIMARY KEY, app varchar(255) NOT NULL, name varchar(255) NOT NULL, applied timestamptz NOT NULL);
CREATE TABLE public.auth_user (
  id serial PRIMARY KEY,
  username varchar(150) NOT NULL UNIQUE,
  date_joined timestamptz NOT NULL
);
CREATE TABLE public.accounts_organization (
  id bigserial PRIMARY KEY,
  name varchar(100) NOT NULL,
  slug varchar(50) NOT NULL UNIQUE
);
CREATE TABLE public.accounts_membership (
  id bigserial PRIMARY KEY,
  user_id integer NOT NULL REFERENCES public.auth_user (id) DEFERRABLE INITIALLY DEFERRED,
  organization_id bigint NOT NULL REFERENCES public.accounts_organization (id) DEFERRABLE INITIALLY DEFERRED,
  role varchar(20) NOT NULL CHECK (role IN ('owner', 'member')),
  joined_at timestamptz NOT NULL,
  UNIQUE (user_id, organization_id)
);
CREATE INDEX accounts_membership_user_id ON public.accounts_membership (user_id);
CREATE TABLE public.notes_note (
  id bigserial PRIMARY KEY,
  owner_id integer REFERENCES public.auth_user (id) DEFERRABLE INITIALLY DEFERRED,
  body text NOT NULL
);
CREATE TABLE public.notes_comment (
  id bigserial PRIMARY KEY,
  note_id bigint NOT NULL REFERENCES public.notes_note (id) DEFERRABLE INITIALLY DEFERRED,
  body text NOT NULL
);
-- The app's own rule, in a BEFORE INSERT trigger that fires before
-- warden's (names sort): a comment needs its note. The generated
-- verification tests' row without an org names no note, so this refuses
-- it first; they must say so, not fail.
CREATE FUNCTION public.notes_comment_needs_note() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM public.notes_note WHERE id = NEW.note_id) THEN
    RAISE EXCEPTION 'comment on a missing note %', NEW.note_id;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER app_comment_needs_note BEFORE INSERT ON public.notes_comment
  FOR EACH ROW EXECUTE FUNCTION public.notes_comment_needs_note();
GRANT USAGE ON SCHEMA public TO django_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO django_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO django_app;

INSERT INTO public.accounts_organization (name, slug) VALUES ('Acme', 'acme'), ('Globex', 'globex');
INSERT INTO public.auth_user (username, date_joined) SELECT 'u' || i, now() FROM generate_series(1, 5) i;
-- users 1-2 in Acme, 3 in Globex; 4 and 5 in none
INSERT INTO public.accounts_membership (user_id, organization_id, role, joined_at) VALUES
  (1, 1, 'owner', now()), (2, 1, 'member', now()), (3, 2, 'owner', now());
INSERT INTO public.notes_note (owner_id, body) SELECT 1 + i % 5, 'n' || i FROM generate_series(1, 15) i;
INSERT INTO public.notes_note (owner_id, body) VALUES (NULL, 'ownerless');
INSERT INTO public.notes_comment (note_id, body) SELECT 1 + i % 16, 'c' || i FROM generate_series(1, 32) i;
