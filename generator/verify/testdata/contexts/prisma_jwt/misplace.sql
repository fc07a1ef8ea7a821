-- As a trusted writer with triggers off (session_replication_role = replica):
-- the parent-org trigger would refuse the row, and the point is expect.sql.
SET LOCAL session_replication_role = replica;
-- A tag in another org than its post. expect.sql must refuse it.
INSERT INTO public."PostTag" ("postId", "tag", "organizationId")
SELECT p."id", 'misplaced', CASE WHEN p."organizationId" = 'clorgacme0001' THEN 'clorgglobex002' ELSE 'clorgacme0001' END
FROM public."Post" p WHERE p."id" = 'clpost1';
