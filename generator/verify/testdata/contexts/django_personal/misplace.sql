-- As a trusted writer with triggers off (session_replication_role = replica):
-- the parent-org trigger would refuse the row, and the point is expect.sql.
SET LOCAL session_replication_role = replica;
-- A comment in another org than its note's. expect.sql must refuse it.
INSERT INTO public.notes_comment (note_id, body, organization_id)
SELECT id, 'misplaced', CASE WHEN organization_id = 1 THEN 2 ELSE 1 END FROM public.notes_note WHERE body = 'n1';
