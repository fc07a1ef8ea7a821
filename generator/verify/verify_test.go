package verify

import (
	"bytes"
	"flag"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/warden-sql/warden/generator/classify"
	"github.com/warden-sql/warden/internal/fileset"
	"github.com/warden-sql/warden/introspect"
	"github.com/warden-sql/warden/policy"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenFile is the reviewed copy of the example's DataFile. ChecksFile has
// no golden copy: it is kit/checks.go, which TestChecksFileIsTheKit holds
// it to.
const goldenFile = "testdata/" + DataFile + ".golden"

var (
	dataPath   = path.Join(Dir, DataFile)
	checksPath = path.Join(Dir, ChecksFile)
)

// TestFilesGolden renders the example application's tests and compares the
// data file with the reviewed copy in testdata; -update rewrites it. Every
// file is deterministic, gofmt-clean and starts with the generated header.
func TestFilesGolden(t *testing.T) {
	e := loadExample(t)
	files, err := Files(e.plan, "")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{checksPath, dataPath}, sortedKeys(files)); diff != "" {
		t.Errorf("paths (-want +got):\n%s", diff)
	}
	got := files[dataPath]
	if *update {
		if err := os.WriteFile(goldenFile, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(goldenFile)
	if err != nil {
		t.Fatalf("%v (run go test ./generator/verify -run TestFilesGolden -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("rendered file differs from %s (-want +got); run with -update if the change is intended:\n%s", goldenFile, diff)
	}

	again, err := Files(e.plan, "")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(files, again); diff != "" {
		t.Errorf("two renders of the same plan differ:\n%s", diff)
	}
	for p, src := range files {
		formatted, err := format.Source(src)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if !bytes.Equal(formatted, src) {
			t.Errorf("%s is not gofmt-clean:\n%s", p, cmp.Diff(string(src), string(formatted)))
		}
		if first, _, _ := strings.Cut(string(src), "\n"); first != fileset.HeaderGo {
			t.Errorf("%s: first line is %q", p, first)
		}
	}
}

// TestChecksFileIsTheKit: ChecksFile is kit/checks.go as it is on disk,
// with the header and the package clause as the only changes.
func TestChecksFileIsTheKit(t *testing.T) {
	e := loadExample(t)
	files, err := Files(e.plan, "dbcheck")
	if err != nil {
		t.Fatal(err)
	}
	kit, err := os.ReadFile("kit/checks.go")
	if err != nil {
		t.Fatal(err)
	}
	want := fileset.HeaderGo + "\n\npackage dbcheck\n" + strings.TrimPrefix(string(kit), "package kit\n")
	if diff := cmp.Diff(want, string(files[checksPath])); diff != "" {
		t.Errorf("%s is not kit/checks.go (-want +got):\n%s", ChecksFile, diff)
	}
}

// TestKitStandInMatches: kit/data.go, which lets the kit compile on its own,
// declares exactly the names a generated DataFile declares where the policy
// distributes on Citus (so that what compiles in the kit is what compiles in
// an adopter's repository), and those but beginRequestSQL where it does not.
func TestKitStandInMatches(t *testing.T) {
	e := loadExample(t)
	standIn, err := parser.ParseFile(token.NewFileSet(), "kit/data.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		plan *classify.Plan
		want []string
	}{
		{distributed(e.plan), declared(standIn)},
		{e.plan, slices.DeleteFunc(declared(standIn), func(n string) bool { return n == "beginRequestSQL" })},
	} {
		files, err := Files(tc.plan, "kit")
		if err != nil {
			t.Fatal(err)
		}
		data, err := parser.ParseFile(token.NewFileSet(), DataFile, files[dataPath], 0)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, declared(data)); diff != "" {
			t.Errorf("distribute %v: names declared by kit/data.go (-) and %s (+) differ:\n%s", tc.plan.Policy.Distribute != nil, DataFile, diff)
		}
	}
}

// distributed returns plan with the policy's distribute: citus set.
func distributed(plan *classify.Plan) *classify.Plan {
	pol := *plan.Policy
	pol.Distribute = &policy.Distribute{Target: policy.DistributeCitus, Excluded: policy.ExcludedLocal}
	p := *plan
	p.Policy = &pol
	return &p
}

// TestCitusFile: where the policy distributes on Citus, the package has a
// third file, kit/citus.go with the header and the package's clause, and it
// compiles and vets with the other two; without distribute there is none.
func TestCitusFile(t *testing.T) {
	e := loadExample(t)
	plain, err := Files(e.plan, "verify")
	if err != nil {
		t.Fatal(err)
	}
	citusPath := path.Join(Dir, CitusFile)
	if _, ok := plain[citusPath]; ok || len(plain) != 2 {
		t.Errorf("without distribute the package has %v, want only %s and %s", sortedKeys(plain), DataFile, ChecksFile)
	}
	files, err := Files(distributed(e.plan), "verify")
	if err != nil {
		t.Fatal(err)
	}
	kit, err := os.ReadFile("kit/citus.go")
	if err != nil {
		t.Fatal(err)
	}
	want := fileset.HeaderGo + "\n\npackage verify\n" + strings.TrimPrefix(string(kit), "package kit\n")
	if diff := cmp.Diff(want, string(files[citusPath])); diff != "" {
		t.Errorf("%s is not kit/citus.go (-want +got):\n%s", CitusFile, diff)
	}
	if diff := cmp.Diff(plain[checksPath], files[checksPath]); diff != "" {
		t.Errorf("%s differs under distribute (-plain +distributed):\n%s", ChecksFile, diff)
	}
	buildTests(t, files)
}

// declared lists the top-level names f declares, sorted.
func declared(f *ast.File) []string {
	var names []string
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			names = append(names, d.Name.Name)
		case *ast.GenDecl:
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.ValueSpec:
					for _, n := range s.Names {
						names = append(names, n.Name)
					}
				case *ast.TypeSpec:
					names = append(names, s.Name.Name)
				}
			}
		}
	}
	sort.Strings(names)
	return names
}

// TestFilesImports checks what makes the package portable: its files
// import only the standard library and pgx, never warden.
func TestFilesImports(t *testing.T) {
	e := loadExample(t)
	files, err := Files(e.plan, "verify")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for p, src := range files {
		f, err := parser.ParseFile(token.NewFileSet(), p, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			seen[path] = true
		}
	}
	want := []string{"context", "encoding/json", "errors", "fmt",
		"github.com/jackc/pgx/v5", "github.com/jackc/pgx/v5/pgconn", "os", "strings", "testing"}
	if diff := cmp.Diff(want, sortedKeys(seen)); diff != "" {
		t.Errorf("imports (-want +got):\n%s", diff)
	}
}

// TestFilesPackage: the package name is the caller's, in every file; only
// the data file documents the package. A name that is no Go identifier, and
// a plan with problems, are refused.
func TestFilesPackage(t *testing.T) {
	e := loadExample(t)
	files, err := Files(e.plan, "dbcheck")
	if err != nil {
		t.Fatal(err)
	}
	for p, src := range files {
		f, err := parser.ParseFile(token.NewFileSet(), p, src, parser.PackageClauseOnly|parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		if f.Name.Name != "dbcheck" {
			t.Errorf("%s: package %s, want dbcheck", p, f.Name.Name)
		}
		if documented := f.Doc != nil; documented != (p == dataPath) {
			t.Errorf("%s: has a package comment: %v", p, documented)
		}
	}
	if !bytes.Contains(files[dataPath], []byte("// Package dbcheck proves")) {
		t.Error("the package comment does not name the package")
	}
	for _, bad := range []string{"my-tests", "func", "_", "9lives"} {
		if _, err := Files(e.plan, bad); err == nil || !strings.Contains(err.Error(), strconv.Quote(bad)) {
			t.Errorf("Files(%q) = %v, want an error naming it", bad, err)
		}
	}
	broken := *e.plan
	broken.Problems = []classify.Problem{{Table: "public.x", Msg: "has ownership column user_id but no decision in the policy"}}
	if _, err := Files(&broken, ""); err == nil || !strings.Contains(err.Error(), "public.x") {
		t.Errorf("Files of a plan with problems = %v, want the problem", err)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func TestNoParentValue(t *testing.T) {
	parent := &introspect.Table{Schema: "public", Name: "Parent"}
	for _, tc := range []struct {
		typ     string
		notNull bool
		parent  *introspect.Table
		want    string
	}{
		{"uuid", true, nil, "gen_random_uuid()"},
		{"text", true, nil, "gen_random_uuid()::text"},
		{"character varying(255)", true, parent, "gen_random_uuid()::text"},
		{"character varying(20)", true, parent, "left(gen_random_uuid()::text, 20)"},
		{"bigint", true, parent, `(SELECT coalesce(max(p."id"), 0) + 1 FROM "public"."Parent" p)`},
		{"bigint", true, nil, ""}, // an integer user id: no users table key to go past
		{"jsonb", false, parent, "NULL"},
		{"jsonb", true, parent, ""},
	} {
		got, ok := noParentValue(&introspect.Column{Name: "k", Type: tc.typ, NotNull: tc.notNull}, tc.parent, "id")
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("noParentValue(%s, not null %v, parent %v) = %q, %v; want %q", tc.typ, tc.notNull, tc.parent != nil, got, ok, tc.want)
		}
	}
}

func TestUpdateColumn(t *testing.T) {
	owner := &introspect.Column{Name: "user_id", Type: "uuid", Attnum: 2}
	tab := &introspect.Table{
		Columns: []*introspect.Column{
			{Name: "id", Attnum: 1, Identity: "always"},
			owner,
			{Name: "parent_id", Attnum: 3},
			{Name: "total", Attnum: 5, Generated: true},
			{Name: "note", Attnum: 6},
			{Name: "org_id", Attnum: 7},
		},
		PrimaryKey:  &introspect.PrimaryKey{Columns: []string{"id"}},
		ForeignKeys: []*introspect.ForeignKey{{Columns: []string{"parent_id"}}},
	}
	tp := &classify.TablePlan{Table: tab, Owner: owner}
	if got := updateColumn(tp, "org_id"); got != "note" {
		t.Errorf("plain column: got %s, want note", got)
	}
	tab.Columns = tab.Columns[:3]
	if got := updateColumn(tp, "org_id"); got != "user_id" {
		t.Errorf("no plain column: got %s, want the first non-key column user_id", got)
	}
	tab.Columns = tab.Columns[:1]
	if got := updateColumn(tp, "org_id"); got != "org_id" {
		t.Errorf("only the key: got %s, want org_id", got)
	}
}
