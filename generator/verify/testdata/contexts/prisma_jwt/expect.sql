DO $$
DECLARE n bigint;
BEGIN
  SELECT count(*) INTO n FROM public."Post" p
   WHERE p."organizationId" IS DISTINCT FROM CASE
     WHEN p."title" LIKE 'app %' THEN 'clorgglobex002'
     WHEN p."authorId" IN ('cluser1', 'cluser2', 'cluser5') THEN 'clorgacme0001'
     WHEN p."authorId" IN ('cluser3', 'cluser4') THEN 'clorgglobex002'
     ELSE 'clorgunassigned' END;
  IF n > 0 THEN RAISE EXCEPTION '% posts have the wrong org', n; END IF;
  SELECT count(*) INTO n FROM public."PostTag" t JOIN public."Post" p ON p."id" = t."postId" WHERE t."organizationId" <> p."organizationId";
  IF n > 0 THEN RAISE EXCEPTION '% tags have another org than their post', n; END IF;
END
$$;
