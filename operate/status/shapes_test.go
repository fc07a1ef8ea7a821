package status

import (
	"context"
	"testing"

	"github.com/warden-sql/warden/exampleapp/exampledb"
	"github.com/warden-sql/warden/generator/classify"
	"github.com/warden-sql/warden/generator/migrations"
	"github.com/warden-sql/warden/internal/pgtest"
	"github.com/warden-sql/warden/introspect"
	"github.com/warden-sql/warden/operate/status/statustest"
	"github.com/warden-sql/warden/policy"
)

// TestStatusOtherShapes measures apps unlike the example (bigint and text
// keys, session and JWT contexts, tables that already carry the tenant
// column, sources that are tenant-key columns) before and after every
// step: nothing is done before, everything after, the already-scoped
// tables and the closing steps included.
func TestStatusOtherShapes(t *testing.T) {
	for _, dir := range []string{"already_tenanted", "org_teams", "accounts_jwt", "rails_session"} {
		t.Run(dir, func(t *testing.T) {
			t.Parallel()
			pol, err := policy.Load("../../generator/verify/testdata/contexts/" + dir + "/policy.yaml")
			if err != nil {
				t.Fatal(err)
			}
			url := exampledb.New(t, pol, nil)
			conn := pgtest.Connect(t, url)
			db, err := introspect.Inspect(context.Background(), conn, pol.Schemas)
			if err != nil {
				t.Fatal(err)
			}
			plan := classify.Classify(db, pol)
			steps, err := migrations.Steps(plan, db)
			if err != nil {
				t.Fatal(err)
			}
			e := &statustest.Example{URL: url, Conn: conn, Policy: pol, DB: db, Plan: plan, Steps: steps}
			if r := measure(t, e, Options{}); r.Complete || r.PhasesDone != 0 {
				t.Errorf("before any step: %d phases done, complete %v", r.PhasesDone, r.Complete)
			}
			e.Apply(t, nil)
			r := measure(t, e, Options{})
			if !r.Complete {
				for _, p := range r.Phases {
					if p.State != Done {
						t.Errorf("after every step, %s is %s: %s", p.Title, p.State, p.Next)
					}
				}
			}
			if len(r.Tables) != len(plan.Scoped)+len(plan.Finished) {
				t.Errorf("%d tables measured, want the %d scoped and %d already scoped", len(r.Tables), len(plan.Scoped), len(plan.Finished))
			}
		})
	}
}
