package migrations

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
)

// TestExposedRelationsClosed attacks the example as its API roles before
// and after the migration: the excluded tables (customers, credits,
// subscriptions), the global table (plans), the view over calls and the
// materialized view of calls were open to anon and to every signed-in
// user; after up anon reads and writes none of them, a user reaches only
// their own rows of an excluded table, the view shows an org's user only
// their org's calls, and the materialized view is closed to the API. A
// rule book over the catalog then finds nothing exposed, and down restores
// the catalog's row-level security, view options and grants exactly.
func TestExposedRelationsClosed(t *testing.T) {
	e := loadExample(t, 300)
	ctx := context.Background()
	var user, org string
	if err := e.conn.QueryRow(ctx, `SELECT m.user_id::text, m.org_id::text FROM public.organization_members m
		JOIN public.calls c ON c.user_id = m.user_id ORDER BY m.user_id LIMIT 1`).Scan(&user, &org); err != nil {
		t.Fatal(err)
	}
	anon := `{"role": "anon"}` // an anon token has no subject
	member := claims(user, "authenticated", org)
	count := func(role, jwt, sql string) (int64, error) {
		var n int64
		var err error
		asAPI(t, e.conn, role, jwt, nil, func(tx pgx.Tx) { n, err = txCount(tx, sql) })
		return n, err
	}
	before := catalogState(t, e)

	// Before: open. (The attack's own negative case: it does find rows.)
	for _, table := range []string{"public.customers", "public.user_credits", "public.user_subscriptions"} {
		if n, err := count("anon", anon, "SELECT count(*) FROM "+table); err != nil || n == 0 {
			t.Fatalf("before the migration, anon reads %d rows of %s (%v); the attack needs an open table to start from", n, table, err)
		}
	}

	// The rule book is no empty promise either: before, it finds plenty.
	if found := ruleBook(t, e); len(found) < 5 {
		t.Errorf("before the migration the rule book finds only %q", found)
	}

	e.up(t, nil)

	for _, table := range []string{"public.customers", "public.user_credits", "public.user_subscriptions", "public.subscription_plans"} {
		n, err := count("anon", anon, "SELECT count(*) FROM "+table)
		if table == "public.subscription_plans" {
			if err != nil || n == 0 {
				t.Errorf("anon reads %d plans (%v); global data stays readable", n, err)
			}
			continue
		}
		if err != nil || n != 0 {
			t.Errorf("after up, anon reads %d rows of %s (%v), want none", n, table, err)
		}
		mine, err := count("authenticated", member, "SELECT count(*) FROM "+table+" WHERE user_id = '"+user+"'")
		all, err2 := count("authenticated", member, "SELECT count(*) FROM "+table)
		if err != nil || err2 != nil || mine != all {
			t.Errorf("a signed-in user reaches %d rows of %s, %d of them their own (%v, %v)", all, table, mine, err, err2)
		}
	}
	asAPI(t, e.conn, "anon", anon, nil, func(tx pgx.Tx) {
		tag, err := tx.Exec(ctx, "UPDATE public.subscription_plans SET name = name")
		if err == nil && tag.RowsAffected() != 0 {
			t.Errorf("anon changed %d plans", tag.RowsAffected())
		}
	})
	viaView, err := count("authenticated", member, "SELECT coalesce(sum(total_calls), 0) FROM public.call_summary")
	if err != nil {
		t.Fatal(err)
	}
	ofOrg, err := count("authenticated", member, "SELECT count(*) FROM public.calls")
	if err != nil {
		t.Fatal(err)
	}
	total := e.scalar(t, "SELECT count(*) FROM public.calls")
	if viaView != ofOrg || ofOrg == total {
		t.Errorf("through public.call_summary a user of org %s sees %d calls; the org has %d of %d", org, viaView, ofOrg, total)
	}
	if _, err := count("authenticated", member, "SELECT count(*) FROM public.daily_call_stats"); sqlState(err) != "42501" {
		t.Errorf("a signed-in user reading the materialized view of every org's calls: %v, want permission denied", err)
	}

	if found := ruleBook(t, e); len(found) > 0 {
		t.Errorf("the rule book finds, after up:\n  %s", strings.Join(found, "\n  "))
	}

	e.down(t)
	if diff := cmp.Diff(before, catalogState(t, e)); diff != "" {
		t.Errorf("down does not restore row-level security, view options and grants (-before +after):\n%s", diff)
	}
}

// ruleBook lists what is still exposed to the API roles: a table of the
// governed schemas without row-level security, a view over a table with
// row-level security that runs with its owner's rights and that they may
// read, a materialized view they may read, a function of warden's without
// a fixed search_path (the two backfill procedures excepted: a procedure
// with SET cannot COMMIT, so every name in them is qualified instead; and
// public.auth_org_id() while it reads no table, left unpinned so that the
// planner inlines it), and
// a SECURITY DEFINER function of warden's they may execute (but
// warden.request_org() for authenticated: auth_org_id()'s membership
// lookup, which reads only the request's own claims).
func ruleBook(t *testing.T, e *example) []string {
	t.Helper()
	rows, err := e.conn.Query(context.Background(), `
SELECT 'table without row-level security: ' || c.oid::regclass::text
FROM pg_catalog.pg_class c
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relrowsecurity
UNION ALL
SELECT 'view with its owner''s rights over a protected table: ' || v.oid::regclass::text
FROM pg_catalog.pg_class v
WHERE v.relnamespace = 'public'::regnamespace AND v.relkind = 'v'
  AND NOT coalesce(v.reloptions && ARRAY['security_invoker=true', 'security_invoker=on'], false)
  AND (pg_catalog.has_table_privilege('anon', v.oid, 'SELECT') OR pg_catalog.has_table_privilege('authenticated', v.oid, 'SELECT'))
  AND EXISTS (SELECT 1 FROM pg_catalog.pg_rewrite r JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = r.oid
              JOIN pg_catalog.pg_class t ON t.oid = d.refobjid AND t.relrowsecurity
              WHERE r.ev_class = v.oid)
UNION ALL
SELECT 'materialized view the API may read: ' || m.oid::regclass::text
FROM pg_catalog.pg_class m
WHERE m.relnamespace = 'public'::regnamespace AND m.relkind = 'm'
  AND (pg_catalog.has_table_privilege('anon', m.oid, 'SELECT') OR pg_catalog.has_table_privilege('authenticated', m.oid, 'SELECT'))
UNION ALL
SELECT 'function without a fixed search_path: ' || p.oid::regprocedure::text
FROM pg_catalog.pg_proc p
WHERE (p.pronamespace = pg_catalog.to_regnamespace('warden') OR p.oid = pg_catalog.to_regprocedure('public.auth_org_id()'))
  AND NOT coalesce(EXISTS (SELECT 1 FROM unnest(p.proconfig) s WHERE s LIKE 'search_path=%'), false)
  AND p.proname NOT IN ('backfill', 'backfill_user_claims')
  -- auth_org_id() is left unpinned so the planner inlines it: allowed
  -- while it runs with the caller's rights and reads no table.
  AND NOT (p.oid = pg_catalog.to_regprocedure('public.auth_org_id()') AND NOT p.prosecdef
           AND p.proconfig IS NULL AND p.prosrc !~* '\m(from|join)\M')
UNION ALL
SELECT 'SECURITY DEFINER function the API may call: ' || p.oid::regprocedure::text
FROM pg_catalog.pg_proc p
WHERE p.prosecdef AND (p.pronamespace = pg_catalog.to_regnamespace('warden') OR p.oid = pg_catalog.to_regprocedure('public.auth_org_id()'))
  AND (pg_catalog.has_function_privilege('anon', p.oid, 'EXECUTE')
       OR (pg_catalog.has_function_privilege('authenticated', p.oid, 'EXECUTE')
           AND p.oid IS DISTINCT FROM pg_catalog.to_regprocedure('warden.request_org()')))
ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// catalogState is what down must restore of the relations the exposed
// steps touch: row-level security per table, view options, SELECT grants.
func catalogState(t *testing.T, e *example) []string {
	t.Helper()
	rows, err := e.conn.Query(context.Background(), `
SELECT c.oid::regclass::text || ' rls=' || c.relrowsecurity || ' force=' || c.relforcerowsecurity
       || ' options=' || coalesce(c.reloptions::text, '{}')
       || ' select=' || coalesce((SELECT string_agg(CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(a.grantee)::text END, ',' ORDER BY 1)
                                  FROM pg_catalog.aclexplode(c.relacl) a WHERE a.privilege_type = 'SELECT'), '')
FROM pg_catalog.pg_class c
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// TestCrossOrgParentsRejected attacks the example as a member of org A
// after up: a call log of org A for org B's call, a log of A's re-pointed at
// B's call, and the 1:1 sentiment analysis of B's call (which would block
// B's own) are all refused with the parent-org SQLSTATE; writes within the
// member's own org pass. Before the parent-org step, the first attack
// passes: the check is what stops it.
func TestCrossOrgParentsRejected(t *testing.T) {
	e := loadExample(t, 300)
	ctx := context.Background()
	e.up(t, func(s Step) bool { return s.Kind != KindParentOrg })
	var user, orgA, callA, callB string
	if err := e.conn.QueryRow(ctx, `SELECT m.user_id::text, m.org_id::text, a.id::text, b.id::text
		FROM public.organization_members m
		JOIN public.calls a ON a.org_id = m.org_id
		JOIN public.calls b ON b.org_id <> m.org_id
		WHERE NOT EXISTS (SELECT 1 FROM public.sentiment_analysis s WHERE s.call_id = b.id)
		ORDER BY m.user_id, a.id, b.id LIMIT 1`).Scan(&user, &orgA, &callA, &callB); err != nil {
		t.Fatal(err)
	}
	member := claims(user, "authenticated", orgA)
	// The attacker names their own org: the fill trigger would otherwise
	// take the call's, which row-level security refuses.
	insertLog := `INSERT INTO public.call_logs (call_id, event, org_id) VALUES ($1, 'x', $2)`
	attack := func(sql string, args ...any) error {
		var err error
		asAPI(t, e.conn, "authenticated", member, nil, func(tx pgx.Tx) { _, err = tx.Exec(ctx, sql, args...) })
		return err
	}
	if err := attack(insertLog, callB, orgA); err != nil {
		t.Fatalf("before the parent-org step, org A's log for org B's call: %v; the attack needs it to pass there", err)
	}
	e.up(t, func(s Step) bool { return s.Kind == KindParentOrg })

	if err := attack(insertLog, callA, orgA); err != nil {
		t.Errorf("a log for the member's own org's call: %v", err)
	}
	for name, sql := range map[string]string{
		"a log for another org's call":           insertLog,
		"a log re-pointed at another org's call": `UPDATE public.call_logs SET call_id = $1 WHERE id = (SELECT id FROM public.call_logs WHERE org_id = $2 ORDER BY id LIMIT 1)`,
		"the 1:1 analysis of another org's call": `INSERT INTO public.sentiment_analysis (call_id, overall_sentiment, org_id) VALUES ($1, 'positive', $2)`,
	} {
		if err := attack(sql, callB, orgA); sqlState(err) != ParentOrgSQLState {
			t.Errorf("%s: %v, want SQLSTATE %s", name, err, ParentOrgSQLState)
		}
	}
}
