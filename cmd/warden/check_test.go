package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// repoCopy copies the repository's policy.yaml and schema files into a temp
// directory, so tests can generate, edit and check without touching the
// committed generated/.
func repoCopy(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"policy.yaml", "exampleapp/schema/auth.sql", "exampleapp/schema/app.sql"} {
		data, err := os.ReadFile(filepath.Join("../..", f))
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// copyTree copies the files under src to dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	for _, rel := range listFiles(t, src) {
		data, err := os.ReadFile(filepath.Join(src, rel))
		if err != nil {
			t.Fatal(err)
		}
		to := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// listFiles returns the files under dir, relative and sorted.
func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, path)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func TestGenerateAndCheck(t *testing.T) {
	cleanEnv(t)
	dir := repoCopy(t)
	pol := filepath.Join(dir, "policy.yaml")
	gen := filepath.Join(dir, "generated")

	r := warden(t, "generate", "--policy", pol)
	wantOK(t, r)
	if !strings.Contains(r.stdout, "generated ") {
		t.Fatalf("generate said: %s", r.stdout)
	}
	files := listFiles(t, gen)
	for _, want := range []string{"REPORT.md", "supabase/migrations/20250110000000_warden_setup.sql"} {
		if !slices.Contains(files, want) {
			t.Errorf("generate did not write %s", want)
		}
	}

	// The repository's committed output is what generate produces from
	// its history: generating over a copy of it writes nothing and lists
	// the same files. (A first generate with no history numbers the steps
	// by position; the committed one appended steps after its first day.)
	kept := repoCopy(t)
	copyTree(t, "../../generated", filepath.Join(kept, "generated"))
	r = warden(t, "generate", "--policy", filepath.Join(kept, "policy.yaml"))
	wantOK(t, r)
	if !strings.Contains(r.stdout, " 0 written") {
		t.Errorf("generate over the committed output changed it: %s", r.stdout)
	}
	if diff := cmp.Diff(listFiles(t, "../../generated"), listFiles(t, filepath.Join(kept, "generated"))); diff != "" {
		t.Errorf("committed generated/ differs from generate over it (-committed +generated):\n%s", diff)
	}
	if len(files) > len(listFiles(t, "../../generated")) {
		t.Errorf("a first generate wrote %d files, more than the committed %d", len(files), len(listFiles(t, "../../generated")))
	}

	t.Run("current", func(t *testing.T) {
		r := warden(t, "check", "--policy", pol)
		wantOK(t, r)
		if strings.Count(r.stdout, "\n") != 1 || !strings.HasPrefix(r.stdout, "OK: ") {
			t.Errorf("a clean check prints one OK line, got:\n%s", r.stdout)
		}
	})

	migration := filepath.Join(gen, "supabase/migrations/20250110000000_warden_setup.sql")
	original, err := os.ReadFile(migration)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("hand-edited file", func(t *testing.T) {
		edited := strings.Replace(string(original), "SET LOCAL lock_timeout = '2s';", "SET LOCAL lock_timeout = '1h';", 1)
		if err := os.WriteFile(migration, []byte(edited), 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.WriteFile(migration, original, 0o644)
		r := warden(t, "check", "--policy", pol)
		if r.code != 1 {
			t.Fatalf("exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
		}
		for _, want := range []string{"20250110000000_warden_setup.sql", "-SET LOCAL lock_timeout = '1h';", "+SET LOCAL lock_timeout = '2s';", "@@"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("drift report lacks %q:\n%s", want, r.stdout)
			}
		}
		if !strings.Contains(r.stderr, "1 changed, 0 missing, 0 stale") {
			t.Errorf("stderr: %s", r.stderr)
		}
	})
	t.Run("deleted file", func(t *testing.T) {
		if err := os.Remove(migration); err != nil {
			t.Fatal(err)
		}
		defer os.WriteFile(migration, original, 0o644)
		r := warden(t, "check", "--policy", pol, "--json")
		if r.code != 1 {
			t.Fatalf("exit %d, want 1\n%s", r.code, r.stderr)
		}
		var drift struct {
			Missing []struct{ Path string } `json:"missing"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &drift); err != nil {
			t.Fatalf("--json output: %v\n%s", err, r.stdout)
		}
		if len(drift.Missing) != 1 || drift.Missing[0].Path != "supabase/migrations/20250110000000_warden_setup.sql" {
			t.Errorf("missing: %+v", drift.Missing)
		}
	})
	t.Run("stray warden file", func(t *testing.T) {
		stray := filepath.Join(gen, "supabase/migrations/20990101000000_warden_old.sql")
		if err := os.WriteFile(stray, []byte("-- Code generated by warden. DO NOT EDIT.\nSELECT 1;\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		r := warden(t, "check", "--policy", pol)
		if r.code != 1 || !strings.Contains(r.stdout, "20990101000000_warden_old.sql") || !strings.Contains(r.stderr, "1 stale") {
			t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		// generate removes it; a file that is not warden's is left alone.
		own := filepath.Join(gen, "supabase/migrations/20240101000000_app_own.sql")
		if err := os.WriteFile(own, []byte("SELECT 1;\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		wantOK(t, warden(t, "generate", "--policy", pol))
		if _, err := os.Stat(stray); !os.IsNotExist(err) {
			t.Errorf("stale file survived generate: %v", err)
		}
		if _, err := os.Stat(own); err != nil {
			t.Errorf("generate touched a file that is not warden's: %v", err)
		}
		wantOK(t, warden(t, "check", "--policy", pol))
	})
	t.Run("new table without a decision", func(t *testing.T) {
		app := filepath.Join(dir, "exampleapp/schema/app.sql")
		before, err := os.ReadFile(app)
		if err != nil {
			t.Fatal(err)
		}
		defer os.WriteFile(app, before, 0o644)
		added := string(before) + "\ncreate table public.call_tags (id bigint primary key, user_id uuid not null references auth.users (id), tag text);\n"
		if err := os.WriteFile(app, []byte(added), 0o644); err != nil {
			t.Fatal(err)
		}
		snapshot := listFiles(t, gen)
		for _, cmd := range []string{"check", "generate"} {
			r := warden(t, cmd, "--policy", pol)
			if r.code != 1 || !strings.Contains(r.stderr, "public.call_tags") || !strings.Contains(r.stderr, "unclassified") && !strings.Contains(r.stderr, "no decision") {
				t.Errorf("%s: exit %d, want 1 naming public.call_tags as unclassified; stderr:\n%s", cmd, r.code, r.stderr)
			}
		}
		if diff := cmp.Diff(snapshot, listFiles(t, gen)); diff != "" {
			t.Errorf("a refused generate changed the output directory:\n%s", diff)
		}
	})
}

// TestCheckFromSnapshot runs check with no database at all: the schema
// comes from a snapshot written by inspect.
func TestCheckFromSnapshot(t *testing.T) {
	cleanEnv(t)
	dir := repoCopy(t)
	pol := filepath.Join(dir, "policy.yaml")
	snap := filepath.Join(dir, "schema.json")
	wantOK(t, warden(t, "generate", "--policy", pol))
	r := warden(t, "inspect", "--policy", pol, "--out", snap)
	if r.code != 0 {
		t.Fatalf("inspect: %s", r.stderr)
	}
	r = warden(t, "check", "--policy", pol, "--snapshot", snap)
	wantOK(t, r)
	// and against a live database holding the same schema
	wantOK(t, warden(t, "check", "--policy", pol, "--database-url", exampleDB(t)))
}

func TestPlanCommand(t *testing.T) {
	cleanEnv(t)
	r := warden(t, "plan", "--policy", "../../policy.yaml")
	wantOK(t, r)
	if !strings.Contains(r.stdout, "43 tables require org_id (30 direct, 13 inherited)") {
		t.Errorf("plan summary missing:\n%s", r.stdout)
	}
	r = warden(t, "plan", "--policy", "../../policy.yaml", "--json")
	wantOK(t, r)
	var doc map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("plan --json: %v", err)
	}
}
