-- The app's writes in one request of Globex, as rails_app, with only the
-- columns it knew before the migration.
WITH u AS (INSERT INTO public.users (email) VALUES ('new-' || gen_random_uuid() || '@example.com') RETURNING id),
     m AS (INSERT INTO public.memberships (user_id, organization_id) SELECT id, 2 FROM u RETURNING user_id),
     p AS (INSERT INTO public.projects (user_id, name) SELECT user_id, 'app project' FROM m RETURNING id),
     t AS (INSERT INTO public.tasks (project_id, title) SELECT id, 'app task' FROM p RETURNING id)
INSERT INTO public.comments (task_id, body) SELECT id, 'app comment' FROM t;
UPDATE public.projects SET name = name WHERE id = (SELECT max(id) FROM public.projects WHERE name = 'app project');
