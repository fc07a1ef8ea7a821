-- A Prisma-style app: quoted PascalCase tables, camelCase columns, text
-- (cuid) keys for users and the existing "Organization" table, Prisma's
-- migrations table, and an API role behind a PostgREST-style server that
-- puts the verified token's claims in request.jwt.claims.
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'prisma_api') THEN CREATE ROLE prisma_api NOLOGIN; END IF;
END $$;
CREATE TABLE public."_prisma_migrations" (
  "id" varchar(36) PRIMARY KEY, "checksum" varchar(64) NOT NULL, "finished_at" timestamptz,
  "migration_name" varchar(255) NOT NULL, "started_at" timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE public."User" (
  "id" text PRIMARY KEY,
  "email" text NOT NULL UNIQUE,
  "createdAt" timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE public."Organization" (
  "id" text PRIMARY KEY,
  "name" text NOT NULL,
  "slug" text NOT NULL UNIQUE,
  "createdAt" timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE public."Membership" (
  "id" text PRIMARY KEY,
  "userId" text NOT NULL REFERENCES public."User" ("id") ON DELETE CASCADE,
  "organizationId" text NOT NULL REFERENCES public."Organization" ("id") ON DELETE CASCADE,
  "isPrimary" boolean NOT NULL DEFAULT false
);
CREATE TABLE public."Post" (
  "id" text PRIMARY KEY,
  "authorId" text REFERENCES public."User" ("id") ON DELETE SET NULL,
  "title" text NOT NULL,
  "updatedAt" timestamp(3) NOT NULL
);
CREATE TABLE public."PostTag" (
  "postId" text NOT NULL REFERENCES public."Post" ("id") ON DELETE CASCADE,
  "tag" text NOT NULL,
  PRIMARY KEY ("postId", "tag")
);
GRANT USAGE ON SCHEMA public TO prisma_api;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO prisma_api;

INSERT INTO public."Organization" ("id", "name", "slug") VALUES ('clorgacme0001', 'Acme', 'acme'), ('clorgglobex002', 'Globex', 'globex');
INSERT INTO public."User" ("id", "email") SELECT 'cluser' || i, 'u' || i || '@example.com' FROM generate_series(1, 6) i;
-- cluser5 is in both orgs, primary in Acme; cluser6 in none.
INSERT INTO public."Membership" ("id", "userId", "organizationId", "isPrimary") VALUES
  ('m1', 'cluser1', 'clorgacme0001', false), ('m2', 'cluser2', 'clorgacme0001', false),
  ('m3', 'cluser3', 'clorgglobex002', false), ('m4', 'cluser4', 'clorgglobex002', false),
  ('m5', 'cluser5', 'clorgglobex002', false), ('m6', 'cluser5', 'clorgacme0001', true);
INSERT INTO public."Post" ("id", "authorId", "title", "updatedAt")
SELECT 'clpost' || i, CASE WHEN i % 7 = 0 THEN NULL ELSE 'cluser' || (1 + i % 6) END, 'post ' || i, now() FROM generate_series(1, 21) i;
INSERT INTO public."PostTag" ("postId", "tag") SELECT 'clpost' || i, t FROM generate_series(1, 21) i, (VALUES ('a'), ('b')) v(t);
