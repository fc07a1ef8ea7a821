package reliability

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/warden-sql/warden/exampleapp/exampledata"
	"github.com/warden-sql/warden/exampleapp/exampledb"
	"github.com/warden-sql/warden/internal/verifyrun"
	"github.com/warden-sql/warden/policy"
)

// TestCommittedHistoryApplies applies the example's committed migration
// history (generated/supabase/migrations, every version in order, the ones
// appended by later generations included) to a fresh copy of the example
// app, as the Supabase CLI would on a database that never saw any of it,
// and then runs the committed verification tests against the result. The
// other tests apply what warden generates now; this one proves the files
// users actually apply still add up to a migrated database.
func TestCommittedHistoryApplies(t *testing.T) {
	pol, err := policy.Load("../policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	url := exampledb.New(t, pol, &exampledata.Options{RowsPerTable: 300})

	files, err := filepath.Glob(filepath.Join("..", "generated", "supabase", "migrations", "*.sql"))
	if err != nil {
		t.Fatal(err)
	}
	// A history of one generation would prove nothing more than the
	// runner tests do: the example's has appended versions.
	if len(files) < 500 {
		t.Fatalf("%d committed migration files, want the example's whole history (500 and more)", len(files))
	}
	sort.Strings(files) // by version: the names start with it
	psqlFiles(t, url, files)
	bin := committedVerifyTests(t)
	out, code := verifyrun.Run(t, bin, url)
	if code != 0 {
		t.Fatalf("the committed verification tests failed on the committed history (exit %d):\n%s", code, verifyrun.Failures(out))
	}
	for name, result := range verifyrun.Results(out) {
		if result != "PASS" {
			t.Errorf("%s: %s, want PASS", name, result)
		}
	}

	// Negative control: the same history stopped before its first
	// row-level security file must fail the same tests.
	first := len(files)
	for i, f := range files {
		if strings.Contains(filepath.Base(f), "_warden_rls_") {
			first = i
			break
		}
	}
	if first == len(files) {
		t.Fatal("no rls file in the committed history")
	}
	half := exampledb.New(t, pol, &exampledata.Options{RowsPerTable: 300})
	psqlFiles(t, half, files[:first])
	if out, code := verifyrun.Run(t, bin, half); code == 0 {
		t.Errorf("the verification tests passed on a history stopped before %s:\n%s", filepath.Base(files[first]), out)
	}
}

// committedVerifyTests compiles the example's committed verification tests
// (generated/verify).
func committedVerifyTests(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "generated", "verify")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	sources := map[string][]byte{}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".go") {
			src, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			sources[e.Name()] = src
		}
	}
	return verifyrun.Build(t, "testdata", sources)
}
