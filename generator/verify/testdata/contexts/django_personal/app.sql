-- The app's writes in one request of Globex by its user 3 (app.user_id), as django_app,
-- with only the columns it knew before the migration; and a signup.
WITH n AS (INSERT INTO public.notes_note (owner_id, body) VALUES (3, 'app note') RETURNING id)
INSERT INTO public.notes_comment (note_id, body) SELECT id, 'app comment' FROM n;
UPDATE public.notes_note SET body = body WHERE id = (SELECT max(id) FROM public.notes_note WHERE body = 'app note');
INSERT INTO public.auth_user (username, date_joined) VALUES ('new-' || gen_random_uuid(), now());
