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
