-- Each row's org, as the policy's rule gives it.
DO $$
DECLARE n bigint;
BEGIN
  SELECT count(*) INTO n FROM public.projects p
   WHERE p.organization_id IS DISTINCT FROM CASE
     WHEN p.user_id IN (1, 2) THEN 1 WHEN p.user_id IN (3, 4) THEN 2 WHEN p.user_id = 5 THEN 2
     WHEN p.name LIKE 'app %' THEN p.organization_id  -- written by the app during the migration
     ELSE 1000000 END;
  IF n > 0 THEN RAISE EXCEPTION '% projects have the wrong org', n; END IF;
  SELECT count(*) INTO n FROM public.tasks t JOIN public.projects p ON p.id = t.project_id WHERE t.organization_id <> p.organization_id;
  IF n > 0 THEN RAISE EXCEPTION '% tasks have another org than their project', n; END IF;
  SELECT count(*) INTO n FROM public.comments c JOIN public.tasks t ON t.id = c.task_id WHERE c.organization_id <> t.organization_id;
  IF n > 0 THEN RAISE EXCEPTION '% comments have another org than their task', n; END IF;
  SELECT count(*) INTO n FROM public.projects WHERE name LIKE 'app %' AND organization_id <> 2;
  IF n > 0 THEN RAISE EXCEPTION '% projects the app wrote in Globex are not in Globex', n; END IF;
END
$$;
