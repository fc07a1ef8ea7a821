package generator

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/warden-sql/warden/internal/pgtest"
	"github.com/warden-sql/warden/internal/policy"
	"github.com/warden-sql/warden/introspect"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// exampleDB returns a fresh database holding the repository's example
// schema (policy.yaml's schema files), and the loaded policy.
func exampleDB(t testing.TB) (string, *policy.Policy) {
	t.Helper()
	pol, err := policy.Load("../policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tmpl := pgtest.Template(t, "example_app", func(ctx context.Context, conn *pgx.Conn) error {
		for _, f := range pol.SchemaFiles {
			sql, err := os.ReadFile(f.Path)
			if err != nil {
				return err
			}
			if _, err := conn.Exec(ctx, string(sql)); err != nil {
				return err
			}
		}
		return nil
	})
	return pgtest.NewDBFrom(t, tmpl), pol
}

// examplePlan classifies the example schema.
func examplePlan(t testing.TB) (*Plan, *introspect.Database) {
	t.Helper()
	url, pol := exampleDB(t)
	conn := pgtest.Connect(t, url)
	db, err := introspect.Inspect(context.Background(), conn, pol.Schemas)
	if err != nil {
		t.Fatal(err)
	}
	return Classify(db, pol), db
}

func TestExamplePlanDraft(t *testing.T) {
	plan, _ := examplePlan(t)
	for _, tp := range plan.Tables {
		t.Logf("%-30s %-15s %s %v", tp.Name(), tp.Class, tp.Reason, tp.Notes)
	}
	for _, p := range plan.Problems {
		t.Logf("PROBLEM %s", p)
	}
	t.Logf("scoped %d", len(plan.Scoped))
}
