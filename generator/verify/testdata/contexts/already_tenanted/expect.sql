-- Children take their already-tenanted parent's org; the already-tenanted
-- tables keep theirs and are finished.
DO $$
DECLARE n bigint;
BEGIN
  SELECT count(*) INTO n FROM public.invoice_lines l JOIN public.invoices i ON i.id = l.invoice_id WHERE l.organization_id IS DISTINCT FROM i.organization_id;
  IF n > 0 THEN RAISE EXCEPTION '% invoice lines are not in their invoice''s org', n; END IF;
  SELECT count(*) INTO n FROM public.customer_notes x JOIN public.customers c ON c.id = x.customer_id WHERE x.organization_id IS DISTINCT FROM c.organization_id;
  IF n > 0 THEN RAISE EXCEPTION '% customer notes are not in their customer''s org (the author''s?)', n; END IF;
  SELECT count(*) INTO n FROM pg_catalog.pg_attribute
   WHERE attname = 'organization_id' AND NOT attnotnull
     AND attrelid IN ('public.webhooks'::regclass, 'public.audit_events'::regclass, 'public.customers'::regclass, 'public.invoices'::regclass);
  IF n > 0 THEN RAISE EXCEPTION '% already-tenanted tables still allow NULL organization_id', n; END IF;
  SELECT count(*) INTO n FROM pg_catalog.pg_constraint
   WHERE conrelid = 'public.webhooks'::regclass AND contype = 'f' AND confrelid = 'public.organizations'::regclass AND convalidated;
  IF n <> 1 THEN RAISE EXCEPTION 'webhooks.organization_id got % validated foreign keys to organizations, want 1', n; END IF;
  SELECT count(*) INTO n FROM pg_catalog.pg_index WHERE indrelid = 'public.invoices'::regclass;
  IF n <> 2 THEN RAISE EXCEPTION 'invoices has % indexes, want its key and its own org index (no second one)', n; END IF;
END
$$;
