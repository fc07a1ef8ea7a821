package verify

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/warden-sql/warden/generator/classify"
	"github.com/warden-sql/warden/generator/migrations"
	"github.com/warden-sql/warden/internal/pgtest"
	"github.com/warden-sql/warden/operate/status/statustest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// exampleRows sizes the example data: enough rows in every table for the
// row checks and several orgs for isolation, small enough to stay fast.
const exampleRows = 200

// example is the example application loaded into a fresh database, with
// the plan and steps generated for it (introspected before any migration).
type example struct {
	url   string
	conn  *pgx.Conn
	plan  *classify.Plan
	steps []migrations.Step
}

// loadExample returns a fresh database holding the example schema and data,
// copied from a template built once per package run (statustest.Load, the
// shared loader).
func loadExample(t testing.TB) *example {
	t.Helper()
	e := statustest.Load(t, "../../policy.yaml", exampleRows)
	return &example{url: e.URL, conn: e.Conn, plan: e.Plan, steps: e.Steps}
}

// migrate applies every step except those of the skipped phases, each as
// one simple-protocol batch, the way the Supabase CLI and psql -f send a
// file.
func (e *example) migrate(t testing.TB, skip ...migrations.Phase) {
	t.Helper()
	skipped := map[migrations.Phase]bool{}
	for _, p := range skip {
		skipped[p] = true
	}
	for _, s := range e.steps {
		if skipped[s.Phase] {
			continue
		}
		if _, err := e.conn.Exec(context.Background(), s.Up); err != nil {
			t.Fatalf("step %s: %v\n%s", s.Name, err, s.Up)
		}
	}
}
