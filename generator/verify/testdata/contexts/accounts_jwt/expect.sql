-- Files take their project's account, never their uploader's first one;
-- versions their file's.
DO $$
DECLARE n bigint;
BEGIN
  SELECT count(*) INTO n FROM public.project_files f JOIN public.projects p ON p.id = f.project_id WHERE f.account_id IS DISTINCT FROM p.account_id;
  IF n > 0 THEN RAISE EXCEPTION '% files are not in their project''s account', n; END IF;
  SELECT count(*) INTO n FROM public.file_versions v JOIN public.project_files f ON f.id = v.file_id WHERE v.account_id IS DISTINCT FROM f.account_id;
  IF n > 0 THEN RAISE EXCEPTION '% file versions are not in their file''s account', n; END IF;
  SELECT count(*) INTO n FROM public.project_files WHERE account_id = 'acc00000-0000-4000-8000-0000000000a1';
  IF n > 0 THEN RAISE EXCEPTION '% files went to their uploader''s personal account', n; END IF;
  SELECT count(*) INTO n FROM public.invitations WHERE account_id IS NULL;
  IF n > 0 THEN RAISE EXCEPTION 'invitations lost their account'; END IF;
END
$$;
