-- As a trusted writer with triggers off (session_replication_role = replica):
-- the parent-org trigger would refuse the row, and the point is expect.sql.
SET LOCAL session_replication_role = replica;
-- A note of a Globex customer put in Acme, its author's oldest org.
INSERT INTO public.customer_notes (customer_id, author_id, body, organization_id)
SELECT id, '00000000-0000-4000-8000-000000000001', 'misplaced', 'a1111111-1111-4111-8111-111111111111'
FROM public.customers WHERE organization_id = 'b2222222-2222-4222-8222-222222222222' LIMIT 1;
