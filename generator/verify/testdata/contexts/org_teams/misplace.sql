-- As a trusted writer with triggers off (session_replication_role = replica):
-- the parent-org trigger would refuse the row, and the point is expect.sql.
SET LOCAL session_replication_role = replica;
-- A document of a Globex team put in Acme, its author's oldest org: what
-- an owner-first rule would do. expect.sql must refuse it.
INSERT INTO public.documents (team_id, author_id, title, org_id) VALUES (2, 1, 'misplaced', 1);
