-- The app's writes in one request of Globex, as teams_app, with only the
-- columns it knew before the migration: user 1's document in a Globex team
-- (user 1's oldest org is Acme), a comment on it by user 4 (no org), a
-- survey, a deployment, a namespace of user 2 and a repo in it.
WITH d AS (INSERT INTO public.documents (team_id, author_id, title) VALUES (3, 1, 'app doc') RETURNING id)
INSERT INTO public.comments (document_id, author_id, body) SELECT id, 4, 'app comment' FROM d;
INSERT INTO public.surveys (team_id, created_by, title) VALUES (2, NULL, 'app survey');
INSERT INTO public.deployments (environment_id, sha) SELECT id, 'app' FROM public.environments WHERE name = 'globex prod';
WITH n AS (INSERT INTO public.namespaces (namespace_user_id, path) VALUES (2, 'app ns ' || gen_random_uuid()) RETURNING id)
INSERT INTO public.repos (namespace_id, name) SELECT id, 'app repo' FROM n;
UPDATE public.documents SET title = title WHERE title = 'app doc';
