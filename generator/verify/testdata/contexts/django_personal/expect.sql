-- Every user is a member of an org: users 4 and 5, and every signup, of
-- one of their own; each note is in its owner's org; the ownerless note
-- in the default org; each comment in its note's org.
DO $$
DECLARE n bigint;
BEGIN
  SELECT count(*) INTO n FROM public.auth_user u
   WHERE NOT EXISTS (SELECT 1 FROM public.accounts_membership m WHERE m.user_id = u.id);
  IF n > 0 THEN RAISE EXCEPTION '% users have no org', n; END IF;
  SELECT count(*) INTO n FROM public.accounts_membership m JOIN public.accounts_organization o ON o.id = m.organization_id
   WHERE m.user_id IN (4, 5) AND (o.slug <> 'unassigned-' || m.user_id OR m.role <> 'owner'
     OR (SELECT count(*) FROM public.accounts_membership x WHERE x.organization_id = o.id) <> 1);
  IF n > 0 THEN RAISE EXCEPTION '% memberships of users 4 and 5 are not in a personal org they own alone', n; END IF;
  SELECT count(*) INTO n FROM public.notes_note t
   WHERE t.organization_id IS DISTINCT FROM CASE
     WHEN t.owner_id IS NULL THEN 1000000
     WHEN t.owner_id IN (1, 2) THEN 1
     WHEN t.owner_id = 3 THEN 2
     ELSE (SELECT m.organization_id FROM public.accounts_membership m WHERE m.user_id = t.owner_id) END;
  IF n > 0 THEN RAISE EXCEPTION '% notes have the wrong org', n; END IF;
  SELECT count(*) INTO n FROM public.notes_comment c JOIN public.notes_note t ON t.id = c.note_id WHERE c.organization_id <> t.organization_id;
  IF n > 0 THEN RAISE EXCEPTION '% comments have another org than their note', n; END IF;
END
$$;
