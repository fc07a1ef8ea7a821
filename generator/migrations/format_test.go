package migrations

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/warden-sql/warden/generator/classify"
	"github.com/warden-sql/warden/internal/fileset"
	"github.com/warden-sql/warden/internal/golden"
	"github.com/warden-sql/warden/internal/pgtest"
	"github.com/warden-sql/warden/introspect"
	"github.com/warden-sql/warden/policy"
)

// formats are every value of migrations.format.
var formats = []string{policy.FormatSupabase, policy.FormatGoose, policy.FormatGolangMigrate, policy.FormatPsql}

const baseVersion = "20250110000000"

// twoTablePolicy and twoTableSchema are the small plan of the golden tests:
// one direct table and one inherited from it, no membership table.
const twoTablePolicy = `version: 1
schemas: [public]
tenant:
  table: orgs
  default_org: a0000000-0000-0000-0000-000000000001
  default_org_name: Default organization
scope: [calls, call_logs]
tables:
  calls: {when_null: default_org}
migrations:
  version: "20250110000000"
  lock_timeout: 2s
`

const twoTableSchema = `
CREATE SCHEMA auth;
CREATE TABLE auth.users (id uuid PRIMARY KEY, raw_app_meta_data jsonb NOT NULL DEFAULT '{}');
CREATE TABLE public.orgs (id uuid PRIMARY KEY, name text NOT NULL);
CREATE TABLE public.calls (id uuid PRIMARY KEY, user_id uuid REFERENCES auth.users, status text);
CREATE TABLE public.call_logs (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  call_id uuid NOT NULL REFERENCES public.calls, event text);
`

// twoTableSteps generates the steps of the small plan from a real catalog.
func twoTableSteps(t *testing.T) []Step {
	t.Helper()
	pol, err := policy.Parse("policy.yaml", []byte(twoTablePolicy))
	if err != nil {
		t.Fatal(err)
	}
	conn := pgtest.Connect(t, pgtest.NewDB(t))
	pgtest.Exec(t, conn, twoTableSchema)
	db, err := introspect.Inspect(context.Background(), conn, pol.Schemas)
	if err != nil {
		t.Fatal(err)
	}
	plan := classify.Classify(db, pol)
	steps, err := Steps(plan, db)
	if err != nil {
		t.Fatal(err)
	}
	return steps
}

// TestLayoutGolden is the full output of every format for the small plan.
func TestLayoutGolden(t *testing.T) {
	steps := twoTableSteps(t)
	for _, format := range formats {
		t.Run(format, func(t *testing.T) {
			laid, err := Layout(steps, format, baseVersion)
			if err != nil {
				t.Fatal(err)
			}
			files := laid.Set
			for _, s := range steps {
				if _, ok := files[laid.Up[s.Name]]; !ok {
					t.Errorf("step %s: up file %q is not in the layout", s.Name, laid.Up[s.Name])
				}
				if down, ok := laid.Down[s.Name]; ok != (s.Down != "" || format == policy.FormatGolangMigrate) {
					t.Errorf("step %s: down file %q, but the step's down script is %q", s.Name, down, s.Down)
				} else if _, in := files[down]; ok && !in {
					t.Errorf("step %s: down file %q is not in the layout", s.Name, down)
				}
			}
			golden.Dir(t, filepath.Join("testdata", filepath.Join("formats"), format), files)
			checkLayout(t, format, steps, files)
		})
	}
}

// TestLayoutExample lays out the example app in every format, twice from
// two catalogs read separately: the same bytes, and the layout rules hold.
func TestLayoutExample(t *testing.T) {
	first, second := loadExample(t, 500).steps, loadExample(t, 500).steps
	for _, format := range formats {
		t.Run(format, func(t *testing.T) {
			la, err := Layout(first, format, baseVersion)
			if err != nil {
				t.Fatal(err)
			}
			lb, err := Layout(second, format, baseVersion)
			if err != nil {
				t.Fatal(err)
			}
			a, b := la.Set, lb.Set
			if len(a) != len(b) {
				t.Fatalf("%d files, then %d", len(a), len(b))
			}
			for name, data := range a {
				if !bytes.Equal(data, b[name]) {
					t.Errorf("%s differs between two layouts of the same schema", name)
				}
			}
			checkLayout(t, format, first, a)
		})
	}
}

// versionedName matches the migration files of the versioned formats.
var versionedName = regexp.MustCompile(`^(?:supabase/)?migrations/(\d{14})_warden_([a-z0-9_]+?)(\.up|\.down)?\.sql$`)

// checkLayout asserts what every format promises, reading files only by
// their names and contents:
//   - every file starts with the warden header line;
//   - versions (or psql's positions) count up from the base, one per step,
//     in step order;
//   - the SQL a runner sends for a step that must not run in a transaction
//     block is exactly that step's one statement, alone, and the runner is
//     told not to wrap it (goose's NO TRANSACTION, no BEGIN in psql).
func checkLayout(t *testing.T, format string, steps []Step, files fileset.Set) {
	t.Helper()
	for name, data := range files {
		if first, _, _ := strings.Cut(string(data), "\n"); first != fileset.HeaderSQL {
			t.Errorf("%s: first line %q, want the warden header", name, first)
		}
	}
	base, _ := strconv.ParseInt(baseVersion, 10, 64)
	index := map[string]int{} // step name -> position
	for i, s := range steps {
		index[s.Name] = i
	}
	oneStatement := func(file, sql string, s Step, down bool) {
		t.Helper()
		want := s.Up
		if down {
			want = s.Down
		}
		got, wantS := statementTexts(sql), statementTexts(want)
		if len(wantS) > 1 {
			t.Errorf("step %s must run outside a transaction but has %d statements", s.Name, len(wantS))
		} else if !cmp.Equal(got, wantS) {
			t.Errorf("%s: must hold the one statement of step %s alone, holds %q", file, s.Name, got)
		}
	}
	seen := map[int]bool{}
	switch format {
	case policy.FormatSupabase, policy.FormatGoose, policy.FormatGolangMigrate:
		for name, data := range files {
			if rest, ok := strings.CutPrefix(name, "rollback/"); ok {
				// Supabase's undo scripts, <version>_undo_<step>.sql.
				_, rest, _ = strings.Cut(strings.TrimSuffix(rest, ".sql"), "_undo_")
				if i, ok := index[rest]; !ok {
					t.Errorf("%s: no step %s", name, rest)
				} else if steps[i].DownNoTransaction {
					oneStatement(name, string(data), steps[i], true)
				}
				continue
			}
			m := versionedName.FindStringSubmatch(name)
			if m == nil {
				t.Errorf("%s: not a migration file name of format %s", name, format)
				continue
			}
			v, _ := strconv.ParseInt(m[1], 10, 64)
			i, ok := index[m[2]]
			if !ok || int64(i) != v-base {
				t.Errorf("%s: version %s is not the base version + the position of step %s (%d)", name, m[1], m[2], i)
				continue
			}
			seen[i] = true
			s, body := steps[i], string(data)
			switch {
			case format == policy.FormatGoose:
				noTx := strings.Contains(body, "\n-- +goose NO TRANSACTION\n")
				if noTx != (s.NoTransaction || s.DownNoTransaction) {
					t.Errorf("%s: NO TRANSACTION is %v, step has NoTransaction %v, DownNoTransaction %v", name, noTx, s.NoTransaction, s.DownNoTransaction)
				}
				up, down, ok := strings.Cut(body, "\n-- +goose Down\n")
				if !ok {
					t.Errorf("%s: no Down section", name)
				}
				if s.NoTransaction {
					oneStatement(name+" (Up)", up, s, false)
				}
				if s.DownNoTransaction {
					oneStatement(name+" (Down)", down, s, true)
				}
			case m[3] == ".down":
				if s.DownNoTransaction {
					oneStatement(name, body, s, true)
				}
			default:
				if s.NoTransaction {
					oneStatement(name, body, s, false)
				}
			}
		}
		want := len(steps)
		if format == policy.FormatGolangMigrate {
			want *= 2
		}
		if got := len(files) - countPrefix(files, "rollback/"); got != want {
			t.Errorf("%d migration files for %d steps", got, len(steps))
		}
	case policy.FormatPsql:
		for _, script := range []string{"psql/up.psql", "psql/down.psql"} {
			lines := strings.Split(string(files[script]), "\n")
			var order []int
			for j, line := range lines {
				path, ok := strings.CutPrefix(line, `\ir `)
				if !ok {
					continue
				}
				data, ok := files["psql/"+path]
				if !ok {
					t.Errorf("%s includes %s, which is not generated", script, path)
					continue
				}
				pos, name, _ := strings.Cut(strings.TrimSuffix(filepath.Base(path), ".sql"), "_")
				n, _ := strconv.ParseInt(pos, 10, 64)
				i, ok := index[name]
				if !ok || int64(i) != n-base {
					t.Errorf("%s: version %s is not the base version + the position of step %s", path, pos, name)
					continue
				}
				order = append(order, i)
				s, down := steps[i], strings.HasPrefix(path, "undo/")
				noTx := s.NoTransaction
				if down {
					noTx = s.DownNoTransaction
				}
				inTx := j > 0 && lines[j-1] == "BEGIN;" && lines[j+1] == "COMMIT;"
				if inTx == noTx {
					t.Errorf("%s: %s in a transaction is %v; the step must not run in one: %v", script, path, inTx, noTx)
				}
				if noTx {
					oneStatement(path, string(data), s, down)
				}
			}
			if script == "psql/up.psql" {
				if len(order) != len(steps) || !sort.IntsAreSorted(order) {
					t.Errorf("%s runs steps %v, want every step in order", script, order)
				}
			} else if !sort.SliceIsSorted(order, func(a, b int) bool { return order[a] > order[b] }) {
				t.Errorf("%s runs steps %v, want last first", script, order)
			}
			if !strings.Contains(string(files[script]), "\n\\set ON_ERROR_STOP on\n") {
				t.Errorf("%s does not stop at the first error", script)
			}
		}
	}
}

func countPrefix(files fileset.Set, prefix string) int {
	n := 0
	for name := range files {
		if strings.HasPrefix(name, prefix) {
			n++
		}
	}
	return n
}

// statementTexts returns the statements of a script as PostgreSQL's lexer
// separates them, without goose annotations (which are comments to it).
func statementTexts(sql string) []string {
	var out []string
	for _, s := range splitStatements(sql) {
		out = append(out, sql[s.start:s.end])
	}
	return out
}

func TestSplitStatements(t *testing.T) {
	for _, tc := range []struct {
		name string
		sql  string
		want []string
	}{
		{"plain", "SET a = 1;\nSELECT 2;", []string{"SET a = 1;", "SELECT 2;"}},
		{"no final semicolon", "SELECT 1;\nSELECT 2\n", []string{"SELECT 1;", "SELECT 2\n"}},
		{"comments", "-- a; b\nSELECT /* x; /* nested; */ y; */ 1; -- c;\n/* d; */", []string{"SELECT /* x; /* nested; */ y; */ 1;"}},
		{"strings", `SELECT 'a;''b', "c;""d", E'e\';f', e'\\';`, []string{`SELECT 'a;''b', "c;""d", E'e\';f', e'\\';`}},
		{"not an E string", `SELECT fee'\'; SELECT 2;`, []string{`SELECT fee'\';`, "SELECT 2;"}},
		{"dollar quotes", "DO $do$ BEGIN PERFORM 1; RAISE NOTICE '$$;'; END $do$;\nSELECT $$a;b$$, $1, x$y$z;", []string{
			"DO $do$ BEGIN PERFORM 1; RAISE NOTICE '$$;'; END $do$;", "SELECT $$a;b$$, $1, x$y$z;"}},
		{"empty statements", ";;SELECT 1;;", []string{"SELECT 1;"}},
		{"unterminated", "SELECT 'a;", []string{"SELECT 'a;"}},
		{"only comments", "-- nothing\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, statementTexts(tc.sql)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestGooseSection(t *testing.T) {
	for _, tc := range []struct {
		name, sql, want string
	}{
		{"simple statements are left alone",
			"-- why\nSET lock_timeout = '2s';\nALTER TABLE t\n  ADD COLUMN c int; -- done\n",
			"-- why\nSET lock_timeout = '2s';\nALTER TABLE t\n  ADD COLUMN c int; -- done\n"},
		{"a DO block is wrapped, its comment stays before it",
			"SET x = 1;\n\n-- check\nDO $do$\nBEGIN\n  PERFORM 1;\nEND\n$do$;\nSELECT 1;",
			"SET x = 1;\n\n-- check\n-- +goose StatementBegin\nDO $do$\nBEGIN\n  PERFORM 1;\nEND\n$do$;\n-- +goose StatementEnd\nSELECT 1;\n"},
		{"a string with a line ending in a semicolon",
			"SELECT 'a;\nb';\n",
			"-- +goose StatementBegin\nSELECT 'a;\nb';\n-- +goose StatementEnd\n"},
		{"statements sharing a line stay together", "SET a = 1; SET b = 2;\n", "SET a = 1; SET b = 2;\n"},
		{"a semicolon hidden from goose by a comment", "SELECT 1;-- x\n", "-- +goose StatementBegin\nSELECT 1;-- x\n-- +goose StatementEnd\n"},
		{"no final semicolon", "SELECT 1", "-- +goose StatementBegin\nSELECT 1\n-- +goose StatementEnd\n"},
		{"comments only", "-- nothing\n", "-- nothing\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := gooseSection(tc.sql)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
	if _, err := gooseSection("-- table \"+goose Down\"\nSELECT 1;\n"); err == nil {
		t.Error("a comment that goose reads as an annotation was accepted")
	}
}

func TestLayoutRejects(t *testing.T) {
	ok := []Step{{Name: "a", Up: "SELECT 1;\n"}}
	if _, err := Layout(ok, policy.FormatGoose, "2025"); err == nil {
		t.Error("a base version of 4 digits was accepted")
	}
	if _, err := Layout(ok, "flyway", baseVersion); err == nil || !strings.Contains(err.Error(), `unknown format "flyway"`) {
		t.Errorf("unknown format: %v", err)
	}
	two := []Step{{Name: "index_x", Up: "CREATE INDEX CONCURRENTLY i ON t (c);\nSELECT 1;\n", NoTransaction: true}}
	for _, format := range formats {
		if _, err := Layout(two, format, baseVersion); err == nil || !strings.Contains(err.Error(), "step index_x (up) must run outside a transaction but has 2 statements") {
			t.Errorf("%s: a NoTransaction step of two statements: %v", format, err)
		}
	}
}

// TestGooseMixedTransaction: a file that is NO TRANSACTION for one
// direction's sake spells out the other direction's transaction.
func TestGooseMixedTransaction(t *testing.T) {
	steps := []Step{{
		Name: "mixed",
		Up:   "CREATE INDEX CONCURRENTLY i ON t (c);\n",
		Down: "SET lock_timeout = '2s';\nDROP INDEX i;", NoTransaction: true,
	}}
	laid, err := Layout(steps, policy.FormatGoose, baseVersion)
	if err != nil {
		t.Fatal(err)
	}
	files := laid.Set
	want := fileset.HeaderSQL + "\n-- +goose NO TRANSACTION\n-- +goose Up\nCREATE INDEX CONCURRENTLY i ON t (c);\n\n" +
		"-- +goose Down\nBEGIN;\nSET lock_timeout = '2s';\nDROP INDEX i;\nCOMMIT;\n"
	if got := string(files["migrations/20250110000000_warden_mixed.sql"]); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestSettingsNeverOutliveTheirFile: psql, goose and golang-migrate run
// every file in one session, so a plain SET in one file would bind the
// next: a lock_timeout of 2 s left behind fails the next concurrent index
// build behind any older transaction. Every setting a step makes is SET
// LOCAL, ended with the step's transaction; the steps that run outside a
// transaction make none.
func TestSettingsNeverOutliveTheirFile(t *testing.T) {
	plain := regexp.MustCompile(`(?im)^\s*SET\s+(?:SESSION\s+)?(lock_timeout|statement_timeout|search_path|role|session_replication_role)\b[^\n]*;[ \t]*$`)
	for _, s := range twoTableSteps(t) {
		for dir, sql := range map[string]string{"up": s.Up, "down": s.Down} {
			if m := plain.FindString(sql); m != "" {
				t.Errorf("step %s (%s) sets %q for the session; use SET LOCAL", s.Name, dir, strings.TrimSpace(m))
			}
		}
		if s.NoTransaction && strings.Contains(s.Up, "SET LOCAL") {
			t.Errorf("step %s runs outside a transaction, where SET LOCAL does nothing", s.Name)
		}
	}
	if !plain.MatchString("-- x\nSET lock_timeout = '2s';\n") {
		t.Error("the check misses a plain SET")
	}
}

// TestStatementTimeout: every file that takes strong locks bounds its
// statements (migrations.statement_timeout, a minute unless the policy
// says otherwise), so a catalog change that turns into a scan cannot hold
// its lock; the validation scans and the files outside a transaction are
// left unbounded.
func TestStatementTimeout(t *testing.T) {
	bounded := 0
	for _, s := range twoTableSteps(t) {
		for dir, sql := range map[string]string{"up": s.Up, "down": s.Down} {
			if !strings.Contains(sql, "SET LOCAL lock_timeout") {
				continue
			}
			has := strings.Contains(sql, "SET LOCAL statement_timeout = '60s';")
			switch {
			case s.Kind == KindValidate && has:
				t.Errorf("step %s (%s) bounds a validation scan", s.Name, dir)
			case s.Kind != KindValidate && !has:
				t.Errorf("step %s (%s) takes locks without a statement_timeout:\n%s", s.Name, dir, sql)
			case has:
				bounded++
			}
		}
	}
	if bounded == 0 {
		t.Fatal("no step bounds its statements")
	}
}
