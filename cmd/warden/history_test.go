package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// readTree returns every file under dir by slash path.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, p := range listFiles(t, dir) {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil {
			t.Fatal(err)
		}
		out[p] = string(data)
	}
	return out
}

// isMigration reports whether p is a migration or rollback file (not
// REPORT.md, the verify tests or the ledger, which describe the whole set).
func isMigration(p string) bool {
	return strings.HasPrefix(p, "supabase/") || strings.HasPrefix(p, "rollback/")
}

// appendToFile adds text to the end of path and restores it when the test
// ends.
func appendToFile(t *testing.T, path, text string) {
	t.Helper()
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.WriteFile(path, before, 0o644) })
	if err := os.WriteFile(path, append(before, text...), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestHistoryAppendsNeverRewrites is the second day: a table enters scope
// after the first migrations were generated (and, in production, applied).
// Regenerating keeps every existing migration file byte for byte under its
// name and appends the new table's whole lifecycle after the highest
// version; the steps that cover every table (the backfill check) are
// appended as a new version, the old one kept.
func TestHistoryAppendsNeverRewrites(t *testing.T) {
	cleanEnv(t)
	dir := repoCopy(t)
	pol := filepath.Join(dir, "policy.yaml")
	gen := filepath.Join(dir, "generated")
	wantOK(t, warden(t, "generate", "--policy", pol))
	first := readTree(t, gen)

	appendToFile(t, filepath.Join(dir, "exampleapp/schema/app.sql"),
		"\ncreate table public.call_tags (id bigint primary key, user_id uuid not null references auth.users (id), tag text);\n")
	appendToFile(t, pol, "\n# second day\n")
	policyText, err := os.ReadFile(pol)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(pol, []byte(strings.Replace(string(policyText), "scope:\n", "scope:\n  - call_tags\n", 1)), 0o644)

	r := warden(t, "check", "--policy", pol)
	if r.code != 1 {
		t.Fatalf("check after the schema change: exit %d, want 1 (drift)\n%s%s", r.code, r.stdout, r.stderr)
	}
	wantOK(t, warden(t, "generate", "--policy", pol))
	second := readTree(t, gen)

	var added []string
	for p, data := range first {
		if !isMigration(p) {
			continue
		}
		if got, ok := second[p]; !ok {
			t.Errorf("%s was deleted or renamed", p)
		} else if got != data {
			t.Errorf("%s was rewritten", p)
		}
	}
	maxFirst := ""
	for p := range first {
		if strings.HasPrefix(p, "supabase/migrations/") && p > maxFirst {
			maxFirst = p
		}
	}
	for p := range second {
		if _, ok := first[p]; !ok && isMigration(p) {
			added = append(added, p)
			if strings.HasPrefix(p, "supabase/migrations/") && p < maxFirst {
				t.Errorf("new migration %s sorts before the last existing one %s", p, maxFirst)
			}
		}
	}
	slices.Sort(added)
	for _, want := range []string{"add_org_id_call_tags", "index_call_tags_org_id_idx", "fill_trigger_call_tags", "backfill_call_tags", "set_not_null_call_tags", "immutable_call_tags", "rls_call_tags", "backfill_check"} {
		if !slices.ContainsFunc(added, func(p string) bool { return strings.Contains(p, "_warden_"+want+".sql") }) {
			t.Errorf("no new migration for %s; added:\n%s", want, strings.Join(added, "\n"))
		}
	}
	wantOK(t, warden(t, "check", "--policy", pol))

	// The older version of a re-emitted step is kept as it was: an edit to
	// it is refused by both commands, which name it and write nothing.
	oldCheck := ""
	for p := range first {
		if strings.HasSuffix(p, "_warden_backfill_check.sql") {
			oldCheck = p
		}
	}
	if oldCheck == "" || second[oldCheck] != first[oldCheck] {
		t.Fatalf("the first backfill_check (%q) was not kept", oldCheck)
	}
	appendToFile(t, filepath.Join(gen, filepath.FromSlash(oldCheck)), "-- tweak\n")
	for _, cmd := range []string{"check", "generate"} {
		r := warden(t, cmd, "--policy", pol)
		if r.code != 1 || !strings.Contains(r.stderr, oldCheck) || !strings.Contains(r.stderr, "was edited") {
			t.Errorf("%s after an edit of a kept file: exit %d\n%s%s", cmd, r.code, r.stdout, r.stderr)
		}
	}
	os.WriteFile(filepath.Join(gen, filepath.FromSlash(oldCheck)), []byte(first[oldCheck]), 0o644)

	// The same schema, policy and ledger give the same bytes.
	wantOK(t, warden(t, "generate", "--policy", pol))
	if diff := diffTrees(second, readTree(t, gen)); diff != "" {
		t.Errorf("a second generate changed files: %s", diff)
	}
}

func diffTrees(a, b map[string]string) string {
	var out []string
	for p, data := range a {
		if b[p] != data {
			out = append(out, p)
		}
	}
	for p := range b {
		if _, ok := a[p]; !ok {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

// TestHistoryRefusals: what the history never does silently. A ledger
// edited by hand, a recorded step that would change, a table leaving scope:
// check and generate exit 1 naming the file or step, and generate writes
// nothing. (A hand edit of a current file is drift that generate repairs.)
func TestHistoryRefusals(t *testing.T) {
	cleanEnv(t)
	dir := repoCopy(t)
	pol := filepath.Join(dir, "policy.yaml")
	gen := filepath.Join(dir, "generated")
	wantOK(t, warden(t, "generate", "--policy", pol))
	setup := filepath.Join(gen, "supabase/migrations/20250110000000_warden_setup.sql")
	if _, err := os.Stat(setup); err != nil {
		t.Fatal(err)
	}
	// A file of the current version, whatever its position.
	var rls string
	for _, f := range listFiles(t, gen) {
		if strings.Contains(f, "_warden_rls_root_") && strings.HasSuffix(f, ".sql") {
			rls = f
		}
	}
	if rls == "" {
		t.Fatal("no rls_root file was generated")
	}
	ledger := filepath.Join(gen, "warden.sum")

	refused := func(t *testing.T, want ...string) {
		t.Helper()
		before := readTree(t, gen)
		for _, cmd := range []string{"check", "generate"} {
			r := warden(t, cmd, "--policy", pol)
			if r.code != 1 {
				t.Errorf("%s: exit %d, want 1\n%s%s", cmd, r.code, r.stdout, r.stderr)
			}
			for _, w := range want {
				if !strings.Contains(r.stdout+r.stderr, w) {
					t.Errorf("%s: output does not name %q:\n%s%s", cmd, w, r.stdout, r.stderr)
				}
			}
		}
		if diff := diffTrees(before, readTree(t, gen)); diff != "" {
			t.Errorf("a refused generate changed: %s", diff)
		}
	}

	t.Run("edited or deleted current file", func(t *testing.T) {
		// A recorded file of the current version is rendered again with
		// its recorded bytes: check shows the edit, generate restores it.
		original, err := os.ReadFile(setup)
		if err != nil {
			t.Fatal(err)
		}
		appendToFile(t, setup, "-- tweak\n")
		r := warden(t, "check", "--policy", pol)
		if r.code != 1 || !strings.Contains(r.stdout, "20250110000000_warden_setup.sql") || !strings.Contains(r.stdout, "-- tweak") {
			t.Errorf("check after an edit: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		wantOK(t, warden(t, "generate", "--policy", pol))
		if got, _ := os.ReadFile(setup); string(got) != string(original) {
			t.Error("generate did not restore the recorded bytes")
		}
		path := filepath.Join(gen, filepath.FromSlash(rls))
		os.Remove(path)
		r = warden(t, "check", "--policy", pol)
		if r.code != 1 || !strings.Contains(r.stdout+r.stderr, filepath.Base(rls)) {
			t.Errorf("check after a delete: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		wantOK(t, warden(t, "generate", "--policy", pol))
		if _, err := os.Stat(path); err != nil {
			t.Error("generate did not restore the deleted file")
		}
	})
	t.Run("edited ledger", func(t *testing.T) {
		data, err := os.ReadFile(ledger)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.WriteFile(ledger, data, 0o644) })
		os.WriteFile(ledger, []byte(strings.Replace(string(data), "20250110000001 ", "20250110000002 ", 1)), 0o644)
		refused(t, "warden.sum", "edited by hand")
	})
	t.Run("recorded step would change", func(t *testing.T) {
		data, err := os.ReadFile(pol)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.WriteFile(pol, data, 0o644) })
		os.WriteFile(pol, []byte(strings.Replace(string(data), "on_delete: cascade", "on_delete: restrict", 1)), 0o644)
		refused(t, "add_org_id_agent_configurations", "--rewrite")
		// Said to be never applied, it is rewritten in place.
		wantOK(t, warden(t, "generate", "--policy", pol, "--rewrite"))
		wantOK(t, warden(t, "check", "--policy", pol))
		os.WriteFile(pol, data, 0o644)
		wantOK(t, warden(t, "generate", "--policy", pol, "--rewrite"))
	})
	t.Run("table leaves scope", func(t *testing.T) {
		data, err := os.ReadFile(pol)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.WriteFile(pol, data, 0o644) })
		text := strings.Replace(string(data), "  - usage_records\n", "", 1)
		text = strings.Replace(text, "exclude:\n", "exclude:\n  - usage_records\n", 1)
		os.WriteFile(pol, []byte(text), 0o644)
		refused(t, "rls_usage_records", "no longer planned")
	})
	wantOK(t, warden(t, "check", "--policy", pol))
}

// TestCheckIsQuietAndPrecise: a missing output directory is one line, not
// a diff of every file; --stat names files without diffs; the fix names
// the flags the check was run with; a folder generated in another format
// says which.
func TestCheckIsQuietAndPrecise(t *testing.T) {
	cleanEnv(t)
	dir := repoCopy(t)
	pol := filepath.Join(dir, "policy.yaml")
	out := filepath.Join(dir, "elsewhere")
	r := warden(t, "check", "--policy", pol, "--out", out)
	if r.code != 1 || r.stdout != "" || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "holds none of the") || !strings.Contains(r.stderr, "--out "+out) {
		t.Errorf("check of a missing directory: exit %d\nstdout %q\nstderr %q", r.code, r.stdout, r.stderr)
	}
	wantOK(t, warden(t, "generate", "--policy", pol, "--out", out))
	setup := filepath.Join(out, "supabase/migrations/20250110000000_warden_setup.sql")
	appendToFile(t, setup, "-- tweak\n")
	r = warden(t, "check", "--policy", pol, "--out", out, "--stat")
	if r.code != 1 || r.stdout != "changed\tsupabase/migrations/20250110000000_warden_setup.sql\n" || !strings.Contains(r.stderr, "run `warden generate --policy "+pol+" --out "+out+"`") {
		t.Errorf("check --stat: exit %d\nstdout %q\nstderr %q", r.code, r.stdout, r.stderr)
	}
	r = warden(t, "check", "--policy", pol, "--out", out, "--format", "psql")
	if r.code != 1 || !strings.Contains(r.stderr, "in the supabase format, not psql: generate with --format supabase") {
		t.Errorf("check in another format: exit %d\n%s", r.code, r.stderr)
	}
}
