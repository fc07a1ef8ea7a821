package migrations

import (
	"context"
	"strings"
	"testing"

	"github.com/warden-sql/warden/generator/classify"
	"github.com/warden-sql/warden/internal/pgtest"
	"github.com/warden-sql/warden/introspect"
	"github.com/warden-sql/warden/policy"
)

// TestSetupPreflightRefusesBeforeAnyChange: the first file checks that
// every column the later files rely on is there, and stops with all the
// missing ones named before it changes anything. Here the users table has
// no claim column (an app with its own users table, not Supabase's) and an
// owner column was dropped after the files were generated: applying the
// setup fails naming both, and the database is as it was (no warden
// schema, no default org).
func TestSetupPreflightRefusesBeforeAnyChange(t *testing.T) {
	pol, err := policy.Parse("policy.yaml", []byte(twoTablePolicy))
	if err != nil {
		t.Fatal(err)
	}
	conn := pgtest.Connect(t, pgtest.NewDB(t))
	pgtest.Exec(t, conn, twoTableSchema)
	ctx := context.Background()
	db, err := introspect.Inspect(ctx, conn, pol.Schemas)
	if err != nil {
		t.Fatal(err)
	}
	steps, err := Steps(classify.Classify(db, pol), db)
	if err != nil {
		t.Fatal(err)
	}
	if steps[0].Kind != KindSetup {
		t.Fatalf("first step is %s, want setup", steps[0].Name)
	}
	// Against the database it was generated from, the preflight passes.
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, steps[0].Up); err != nil {
		t.Fatalf("setup on the database it was generated from: %v", err)
	}
	tx.Rollback(ctx)

	pgtest.Exec(t, conn, `ALTER TABLE auth.users DROP COLUMN raw_app_meta_data; ALTER TABLE public.calls DROP COLUMN user_id`)
	_, err = conn.Exec(ctx, steps[0].Up)
	if err == nil {
		t.Fatal("setup ran on a database without the claim column")
	}
	for _, want := range []string{"nothing was changed", "auth.users.raw_app_meta_data", "public.calls.user_id"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	var schemas, orgs int
	if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM pg_namespace WHERE nspname = 'warden'), (SELECT count(*) FROM public.orgs)`).Scan(&schemas, &orgs); err != nil {
		t.Fatal(err)
	}
	if schemas != 0 || orgs != 0 {
		t.Errorf("a refused setup changed the database: %d warden schemas, %d orgs", schemas, orgs)
	}
}

// TestRLSNoRegressions: a table the app closed (RLS on and forced, no
// policy) stays closed, gaining warden's restrictive policies but no
// permissive one; a table with RLS off gets the permissive org policy; and
// the down scripts put every table's RLS state back exactly (enabled and
// forced), whatever the up found.
func TestRLSNoRegressions(t *testing.T) {
	pol, err := policy.Parse("policy.yaml", []byte(twoTablePolicy))
	if err != nil {
		t.Fatal(err)
	}
	conn := pgtest.Connect(t, pgtest.NewDB(t))
	pgtest.Exec(t, conn, twoTableSchema+`
ALTER TABLE public.calls ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.calls FORCE ROW LEVEL SECURITY;
ALTER TABLE public.orgs ENABLE ROW LEVEL SECURITY;`)
	ctx := context.Background()
	state := func() string {
		t.Helper()
		var out string
		if err := conn.QueryRow(ctx, `SELECT string_agg(c.relname || ':' || c.relrowsecurity || ',' || c.relforcerowsecurity, ' ' ORDER BY c.relname)
			FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'`).Scan(&out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	before := state()
	db, err := introspect.Inspect(ctx, conn, pol.Schemas)
	if err != nil {
		t.Fatal(err)
	}
	steps, err := Steps(classify.Classify(db, pol), db)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		if _, err := conn.Exec(ctx, s.Up); err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
	}
	var access map[string]bool = map[string]bool{}
	rows, err := conn.Query(ctx, `SELECT c.relname FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid WHERE p.polname = 'warden_org_access'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		rows.Scan(&n)
		access[n] = true
	}
	rows.Close()
	if access["calls"] {
		t.Error("the closed table public.calls got a permissive policy: it is open to org members now")
	}
	if !access["call_logs"] {
		t.Error("public.call_logs (RLS off before) got no permissive org policy: it went dark")
	}
	// Down twice, as the psql script says to re-run after a fix: the
	// second run finds no record and must leave RLS as it is (switching it
	// off would open the table the app closed).
	for range 2 {
		for i := len(steps) - 1; i >= 0; i-- {
			if steps[i].Down == "" {
				continue
			}
			if _, err := conn.Exec(ctx, steps[i].Down); err != nil {
				t.Fatalf("%s down: %v", steps[i].Name, err)
			}
		}
		if after := state(); after != before {
			t.Errorf("down did not restore the RLS state:\n before %s\n after  %s", before, after)
		}
	}
}
