package output

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/warden-sql/warden/exampleapp/exampledb"
	"github.com/warden-sql/warden/generator/classify"
	"github.com/warden-sql/warden/generator/migrations"
	"github.com/warden-sql/warden/internal/fileset"
	"github.com/warden-sql/warden/internal/pgtest"
	"github.com/warden-sql/warden/introspect"
	"github.com/warden-sql/warden/policy"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func render(t *testing.T, conn *pgx.Conn, pol *policy.Policy) (fileset.Set, *classify.Plan, *introspect.Database) {
	t.Helper()
	db, err := introspect.Inspect(context.Background(), conn, pol.Schemas)
	if err != nil {
		t.Fatal(err)
	}
	plan := classify.Classify(db, pol)
	files, err := Render(plan, db)
	if err != nil {
		t.Fatal(err)
	}
	return files, plan, db
}

// TestFixedPoint: a user whose database already ran warden's migrations
// (their migrations folder holds the generated files) must see no drift:
// introspecting after the migration gives the same output as before.
func TestFixedPoint(t *testing.T) {
	pol, err := policy.Load("../../policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	conn := pgtest.Connect(t, exampledb.New(t, pol, nil))
	before, plan, db := render(t, conn, pol)

	steps, err := migrations.Steps(plan, db)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		pgtest.Exec(t, conn, s.Up)
	}
	after, _, _ := render(t, conn, pol)
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("output changed after applying warden's own migrations (-before +after):\n%s", diff)
	}
}

func TestRenderRefusesAPlanWithProblems(t *testing.T) {
	pol, err := policy.Load("../../policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	conn := pgtest.Connect(t, exampledb.New(t, pol, nil))
	pgtest.Exec(t, conn, `CREATE TABLE public.call_tags (id bigint PRIMARY KEY, user_id uuid REFERENCES auth.users (id))`)
	db, err := introspect.Inspect(context.Background(), conn, pol.Schemas)
	if err != nil {
		t.Fatal(err)
	}
	files, err := Render(classify.Classify(db, pol), db)
	if _, ok := err.(*PlanError); !ok || files != nil {
		t.Fatalf("got %v files, err %v; want a *PlanError and nothing rendered", len(files), err)
	}
}
