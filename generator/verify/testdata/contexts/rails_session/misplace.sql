-- As a trusted writer with triggers off (session_replication_role = replica):
-- the parent-org trigger would refuse the row, and the point is expect.sql.
SET LOCAL session_replication_role = replica;
-- A task in another org than its project's. expect.sql must refuse it.
INSERT INTO public.tasks (project_id, title, organization_id)
SELECT id, 'misplaced', CASE WHEN organization_id = 1 THEN 2 ELSE 1 END FROM public.projects WHERE name = 'p1';
