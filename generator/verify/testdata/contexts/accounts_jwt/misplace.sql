-- As a trusted writer with triggers off (session_replication_role = replica):
-- the parent-org trigger would refuse the row, and the point is expect.sql.
SET LOCAL session_replication_role = replica;
-- A file of a Globex project put in its uploader's personal account.
INSERT INTO public.project_files (project_id, uploaded_by, path, account_id)
SELECT id, '00000000-0000-4000-8000-0000000000a1', 'misplaced', 'acc00000-0000-4000-8000-0000000000a1'
FROM public.projects WHERE name = 'globex site';
