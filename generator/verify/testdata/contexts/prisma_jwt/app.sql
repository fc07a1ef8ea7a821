-- One API request of a Globex member, as prisma_api, with the columns the
-- app knew before the migration.
WITH u AS (INSERT INTO public."User" ("id", "email") VALUES ('cl' || md5(random()::text), 'new-' || gen_random_uuid() || '@example.com') RETURNING "id"),
     m AS (INSERT INTO public."Membership" ("id", "userId", "organizationId") SELECT 'cm' || md5(random()::text), "id", 'clorgglobex002' FROM u RETURNING "userId"),
     p AS (INSERT INTO public."Post" ("id", "authorId", "title", "updatedAt") SELECT 'cp' || md5(random()::text), "userId", 'app post', now() FROM m RETURNING "id")
INSERT INTO public."PostTag" ("postId", "tag") SELECT "id", 'new' FROM p;
