package bench

import (
	"bytes"
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/warden-sql/warden/generator/classify"
	"github.com/warden-sql/warden/generator/output"
	"github.com/warden-sql/warden/internal/pgtest"
	"github.com/warden-sql/warden/introspect"
	"github.com/warden-sql/warden/policy"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// The generation benchmark runs on Synthetic.Model instead of a database:
// it must be exactly what introspect reads from a database loaded with
// Synthetic.SQL, and generate the same files.
func TestSyntheticModelIsTheCatalog(t *testing.T) {
	s := Synthetic{Families: 50} // every kind of family: owner_id, created_by, kinds, prefs
	conn := pgtest.Connect(t, pgtest.NewDB(t))
	for _, chunk := range s.SQL() {
		pgtest.Exec(t, conn, chunk)
	}
	got, err := introspect.Inspect(context.Background(), conn, []string{SyntheticSchema})
	if err != nil {
		t.Fatal(err)
	}
	want := s.Model()
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("Synthetic.Model differs from the inspected catalog (-model +inspected):\n%s", diff)
	}
	if len(got.Tables) != s.Tables() {
		t.Fatalf("%d tables, Tables() says %d", len(got.Tables), s.Tables())
	}

	pol, err := policy.Parse("synthetic.yaml", s.Policy())
	if err != nil {
		t.Fatal(err)
	}
	plan := classify.Classify(want, pol)
	if err := plan.Err(); err != nil {
		t.Fatal(err)
	}
	classes := map[classify.Class]int{}
	maxDepth := 0
	for _, tp := range plan.Tables {
		classes[tp.Class]++
		maxDepth = max(maxDepth, tp.Depth)
	}
	wantClasses := map[classify.Class]int{
		classify.TenantRoot: 3,
		classify.Direct:     50 + 5, // every _a, and _e of every 10th family
		classify.Inherited:  4*50 - 5,
		classify.Global:     2,
		classify.Excluded:   2,
	}
	if diff := cmp.Diff(wantClasses, classes); diff != "" {
		t.Errorf("classes (-want +got):\n%s", diff)
	}
	if maxDepth != 4 {
		t.Errorf("deepest FK chain %d, want 4", maxDepth)
	}

	fromModel, err := output.Render(plan, want)
	if err != nil {
		t.Fatal(err)
	}
	fromDB, err := output.Render(classify.Classify(got, pol), got)
	if err != nil {
		t.Fatal(err)
	}
	if len(fromModel) != len(fromDB) {
		t.Fatalf("%d files from the model, %d from the database", len(fromModel), len(fromDB))
	}
	for path, data := range fromDB {
		if !bytes.Equal(data, fromModel[path]) {
			t.Errorf("%s differs between the model and the database", path)
		}
	}
}
