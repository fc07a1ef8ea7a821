package migrations

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/warden-sql/warden/generator"
	"github.com/warden-sql/warden/internal/exampledata"
	"github.com/warden-sql/warden/internal/pgtest"
	"github.com/warden-sql/warden/internal/policy"
	"github.com/warden-sql/warden/introspect"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// exampleRows sizes the example data of these tests: big enough that every
// backfill runs many batches at the policy's batch size.
const exampleRows = 20000

// loadExample returns a fresh database with the example schema and data,
// the policy, and the plan and steps generated for it.
func loadExample(t testing.TB, rows int) (*pgx.Conn, *policy.Policy, *generator.Plan, []Step) {
	t.Helper()
	pol, err := policy.Load("../../policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tmpl := pgtest.Template(t, fmt.Sprintf("example_%d", rows), func(ctx context.Context, conn *pgx.Conn) error {
		for _, f := range pol.SchemaFiles {
			sql, err := os.ReadFile(f.Path)
			if err != nil {
				return err
			}
			if _, err := conn.Exec(ctx, string(sql)); err != nil {
				return fmt.Errorf("%s: %w", f.Name, err)
			}
		}
		if err := exampledata.Fill(ctx, conn, exampledata.Options{RowsPerTable: rows}); err != nil {
			return err
		}
		_, err := conn.Exec(ctx, "ANALYZE")
		return err
	})
	conn := pgtest.Connect(t, pgtest.NewDBFrom(t, tmpl))
	db, err := introspect.Inspect(context.Background(), conn, pol.Schemas)
	if err != nil {
		t.Fatal(err)
	}
	plan := generator.Classify(db, pol)
	steps, err := Steps(plan, db)
	if err != nil {
		t.Fatal(err)
	}
	return conn, pol, plan, steps
}

// apply runs each step as one simple-protocol batch, the way the Supabase
// CLI and psql -f send a file.
func apply(t testing.TB, conn *pgx.Conn, steps []Step, down bool) {
	t.Helper()
	for i := range steps {
		s := steps[i]
		sql := s.Up
		if down {
			s = steps[len(steps)-1-i]
			sql = s.Down
		}
		if sql == "" {
			continue
		}
		if _, err := conn.Exec(context.Background(), sql); err != nil {
			t.Fatalf("step %s (%s): %v\n%s", s.Name, map[bool]string{true: "down", false: "up"}[down], err, sql)
		}
	}
}

func TestApplySmoke(t *testing.T) {
	conn, _, plan, steps := loadExample(t, 2000)
	apply(t, conn, steps, false)
	apply(t, conn, steps, false)
	for _, tp := range plan.Scoped {
		var nulls int
		q := fmt.Sprintf("SELECT count(*) FROM %s WHERE org_id IS NULL", tp.Table.QualifiedName())
		if err := conn.QueryRow(context.Background(), q).Scan(&nulls); err != nil {
			t.Fatal(err)
		}
		if nulls != 0 {
			t.Errorf("%s: %d NULL org_id", tp.Name(), nulls)
		}
	}
	apply(t, conn, steps, true)
}
