-- The API's writes for one request of Globex, as accounts_api: the tables
-- that carry account_id get it from the request, the others nothing.
WITH p AS (INSERT INTO public.projects (account_id, created_by, name)
           VALUES ((nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'account_id')::uuid,
                   '00000000-0000-4000-8000-0000000000a1', 'app project') RETURNING id),
     f AS (INSERT INTO public.project_files (project_id, uploaded_by, path) SELECT id, '00000000-0000-4000-8000-0000000000a1', 'app/file' FROM p RETURNING id)
INSERT INTO public.file_versions (file_id, n) SELECT id, 1 FROM f;
INSERT INTO public.invitations (account_id, invited_by_user_id)
VALUES ((nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'account_id')::uuid, '00000000-0000-4000-8000-0000000000b2');
