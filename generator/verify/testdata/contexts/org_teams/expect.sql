-- Each row's org is its real one: the team's, the environment's, the
-- namespace's org or its user's; never the author's oldest org.
DO $$
DECLARE n bigint;
BEGIN
  SELECT count(*) INTO n FROM public.documents d JOIN public.teams t ON t.id = d.team_id WHERE d.org_id IS DISTINCT FROM t.org_id;
  IF n > 0 THEN RAISE EXCEPTION '% documents are not in their team''s org', n; END IF;
  SELECT count(*) INTO n FROM public.comments c JOIN public.documents d ON d.id = c.document_id WHERE c.org_id IS DISTINCT FROM d.org_id;
  IF n > 0 THEN RAISE EXCEPTION '% comments are not in their document''s org', n; END IF;
  SELECT count(*) INTO n FROM public.surveys s JOIN public.teams t ON t.id = s.team_id WHERE s.org_id IS DISTINCT FROM t.org_id;
  IF n > 0 THEN RAISE EXCEPTION '% surveys are not in their team''s org', n; END IF;
  SELECT count(*) INTO n FROM public.environments e WHERE e.org_id IS DISTINCT FROM e.owner_org;
  IF n > 0 THEN RAISE EXCEPTION '% environments are not in their owner org (a dev member''s org won?)', n; END IF;
  SELECT count(*) INTO n FROM public.deployments x JOIN public.environments e ON e.id = x.environment_id WHERE x.org_id IS DISTINCT FROM e.org_id;
  IF n > 0 THEN RAISE EXCEPTION '% deployments are not in their environment''s org', n; END IF;
  -- An org namespace is the org's; a user's namespace is the user's
  -- org: user 1 → Acme (oldest), user 2 → Globex, user 3 → Acme.
  SELECT count(*) INTO n FROM public.namespaces s
   WHERE s.org_id IS DISTINCT FROM coalesce(s.namespace_org_id, CASE s.namespace_user_id WHEN 1 THEN 1 WHEN 2 THEN 2 WHEN 3 THEN 1 END);
  IF n > 0 THEN RAISE EXCEPTION '% namespaces have the wrong org', n; END IF;
  SELECT count(*) INTO n FROM public.repos r JOIN public.namespaces s ON s.id = r.namespace_id WHERE r.org_id IS DISTINCT FROM s.org_id;
  IF n > 0 THEN RAISE EXCEPTION '% repos are not in their namespace''s org', n; END IF;
  SELECT count(*) INTO n FROM public.documents WHERE org_id = 1000000;
  IF n > 0 THEN RAISE EXCEPTION '% documents went to the default org', n; END IF;
  SELECT count(*) INTO n FROM public.documents WHERE title = 'app doc' AND org_id <> 2;
  IF n > 0 THEN RAISE EXCEPTION 'the app''s document in a Globex team is not in Globex'; END IF;
END
$$;
