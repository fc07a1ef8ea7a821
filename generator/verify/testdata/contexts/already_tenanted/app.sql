-- The app's writes in one request of Globex, as saas_app: the tables it
-- already tenanted get organization_id from the app, the children without
-- it get nothing.
WITH c AS (INSERT INTO public.customers (organization_id, name)
           VALUES (nullif(current_setting('app.organization', true), '')::uuid, 'app customer ' || gen_random_uuid()) RETURNING id),
     i AS (INSERT INTO public.invoices (organization_id, customer_id, total)
           SELECT nullif(current_setting('app.organization', true), '')::uuid, id, 10 FROM c RETURNING id),
     n AS (INSERT INTO public.customer_notes (customer_id, author_id, body)
           SELECT id, '00000000-0000-4000-8000-000000000001', 'app note' FROM c RETURNING id)
INSERT INTO public.invoice_lines (invoice_id, amount) SELECT id, 5 FROM i;
INSERT INTO public.webhooks (organization_id, url) VALUES (nullif(current_setting('app.organization', true), '')::uuid, 'https://example.com/app');
INSERT INTO public.audit_events (organization_id, action) VALUES (nullif(current_setting('app.organization', true), '')::uuid, 'app');
UPDATE public.customers SET name = name WHERE name LIKE 'app customer %';
