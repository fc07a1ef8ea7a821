// Package reliability holds the end-to-end tests of what warden promises an
// operator: every generated file can be applied twice and undone, a backfill
// killed at any point resumes and loses nothing, the old application keeps
// writing through every phase, odd schemas migrate as well as the example
// app, and the parsers never panic. Every test runs against a real
// PostgreSQL (internal/pgtest); nothing is mocked or skipped.
package reliability

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/warden-sql/warden/exampleapp/exampledata"
	"github.com/warden-sql/warden/exampleapp/exampledb"
	"github.com/warden-sql/warden/generator/classify"
	"github.com/warden-sql/warden/generator/migrations"
	"github.com/warden-sql/warden/internal/pgtest"
	"github.com/warden-sql/warden/introspect"
	"github.com/warden-sql/warden/policy"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// migration is one test's database and what warden generated for it.
type migration struct {
	url   string
	conn  *pgx.Conn // the operator's session: applies steps, runs checks
	pol   *policy.Policy
	db    *introspect.Database
	plan  *classify.Plan
	steps []migrations.Step
	// schemas are those whose tables the checksums cover: the governed
	// ones plus the users table's.
	schemas []string
}

// exampleApp returns a fresh copy of the example application filled as
// data says, and the steps warden generates for it. tune,
// when given, changes the policy before generation (smaller batches make a
// backfill slow enough to interrupt).
func exampleApp(t testing.TB, data exampledata.Options, tune func(*policy.Policy)) *migration {
	t.Helper()
	pol, err := policy.Load("../policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	url := exampledb.New(t, pol, &data)
	if tune != nil {
		tune(pol)
	}
	m := &migration{url: url, pol: pol}
	m.conn = pgtest.Connect(t, m.url)
	m.generate(t)
	return m
}

// generate reads the schema, classifies it and renders the steps, as
// `warden generate` does, failing the test on any problem.
func (m *migration) generate(t testing.TB) {
	t.Helper()
	db, err := introspect.Inspect(context.Background(), m.conn, m.pol.Schemas)
	if err != nil {
		t.Fatal(err)
	}
	plan := classify.Classify(db, m.pol)
	if err := plan.Err(); err != nil {
		t.Fatal(err)
	}
	steps, err := migrations.Steps(plan, db)
	if err != nil {
		t.Fatal(err)
	}
	m.db, m.plan, m.steps = db, plan, steps
	m.schemas = append([]string(nil), m.pol.Schemas...)
	if u := m.pol.Users.Table.Schema; !slices.Contains(m.schemas, u) {
		m.schemas = append(m.schemas, u)
	}
}

// applyStep runs one step's script on conn as one simple-protocol batch, the
// way psql -f and the Supabase CLI send a file.
func applyStep(ctx context.Context, conn *pgx.Conn, s migrations.Step, down bool) error {
	sql := s.Up
	if down {
		sql = s.Down
	}
	if sql == "" {
		return nil
	}
	_, err := conn.Exec(ctx, sql)
	if err != nil {
		dir := "up"
		if down {
			dir = "down"
		}
		return fmt.Errorf("step %s (%s): %w", s.Name, dir, err)
	}
	return nil
}

// up applies the up script of every step keep accepts (all when nil).
func (m *migration) up(t testing.TB, keep func(migrations.Step) bool) {
	t.Helper()
	for _, s := range m.steps {
		if keep == nil || keep(s) {
			if err := applyStep(context.Background(), m.conn, s, false); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// down applies every down script, last step first.
func (m *migration) down(t testing.TB) {
	t.Helper()
	for i := len(m.steps) - 1; i >= 0; i-- {
		if err := applyStep(context.Background(), m.conn, m.steps[i], true); err != nil {
			t.Fatal(err)
		}
	}
}

// stepIndex returns the position of the step called name.
func (m *migration) stepIndex(t testing.TB, name string) int {
	t.Helper()
	for i, s := range m.steps {
		if s.Name == name {
			return i
		}
	}
	t.Fatalf("no step %s", name)
	return -1
}

func (m *migration) scalar(t testing.TB, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := m.conn.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%v\n%s", err, sql)
	}
	return n
}

func quoted(tp *classify.TablePlan) string {
	return pgx.Identifier{tp.Table.Schema, tp.Table.Name}.Sanitize()
}

func (m *migration) col() string { return pgx.Identifier{m.pol.Tenant.Column}.Sanitize() }

// assertNoNulls fails for every scoped table with a row lacking the tenant
// column.
func (m *migration) assertNoNulls(t testing.TB) {
	t.Helper()
	for _, tp := range m.plan.Scoped {
		if n := m.scalar(t, fmt.Sprintf(`SELECT count(*) FROM %s WHERE %s IS NULL`, quoted(tp), m.col())); n != 0 {
			t.Errorf("%s: %d rows without %s", tp.Name(), n, m.pol.Tenant.Column)
		}
	}
}

// assertInheritedConsistent fails for every inherited row whose org is not
// its parent's: the fill trigger and the backfill must agree, and a row
// written during the migration must not get another org than its parent.
func (m *migration) assertInheritedConsistent(t testing.TB) {
	t.Helper()
	for _, tp := range m.plan.Scoped {
		if tp.Class != classify.Inherited {
			continue
		}
		var join []string
		for i, c := range tp.ParentFK.Columns {
			join = append(join, fmt.Sprintf("p.%s = c.%s", pgx.Identifier{tp.ParentFK.RefColumns[i]}.Sanitize(), pgx.Identifier{c}.Sanitize()))
		}
		q := fmt.Sprintf(`SELECT count(*) FROM %s c JOIN %s p ON %s WHERE c.%s IS DISTINCT FROM p.%s`,
			quoted(tp), quoted(tp.Parent), strings.Join(join, " AND "), m.col(), m.col())
		if n := m.scalar(t, q); n != 0 {
			t.Errorf("%s: %d rows whose %s differs from their parent %s row's", tp.Name(), n, m.pol.Tenant.Column, tp.Parent.Name())
		}
	}
}

// checksums returns, for every table of the governed schemas and the
// users table's schema, the row count and a checksum of every column but
// the tenant column: md5 of the ordered string_agg of md5((to_jsonb(t) -
// 'org_id')::text). What the migration adds on purpose is left out: the
// org claim it writes into the users' raw_app_meta_data (phase 5) and the
// default org row.
func (m *migration) checksums(t testing.TB) map[string]string {
	t.Helper()
	ctx := context.Background()
	rows, err := m.conn.Query(ctx, `
SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1`, m.schemas)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	col := m.pol.Tenant.Column
	out := map[string]string{}
	for _, tb := range tables {
		var count int64
		var sum string
		q := fmt.Sprintf(`SELECT count(*), coalesce(md5(string_agg(h, '' ORDER BY h)), '')
FROM (SELECT md5(((to_jsonb(t) - $1::text) #- ARRAY['raw_app_meta_data', $1::text])::text) AS h FROM %s t
      WHERE to_jsonb(t) ->> $2::text IS DISTINCT FROM $3::text) s`, tb)
		if err := m.conn.QueryRow(ctx, q, col, m.pol.Tenant.Key, m.pol.Tenant.DefaultOrg).Scan(&count, &sum); err != nil {
			t.Fatalf("%s: %v", tb, err)
		}
		out[tb] = fmt.Sprintf("%d rows %s", count, sum)
	}
	return out
}

// schemaDump is pg_dump --schema-only of the database: the catalog as a
// reviewer compares it, privileges included.
func schemaDump(t testing.TB, url string) string {
	t.Helper()
	out, err := command("pg_dump", "--schema-only", "--no-owner", "--dbname", url)
	if err != nil {
		t.Fatalf("pg_dump: %v\n%s", err, out)
	}
	// pg_dump 15.14+ brackets its output with \restrict lines carrying a
	// random key: not part of the catalog.
	var keep []string
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, `\restrict `) && !strings.HasPrefix(line, `\unrestrict `) {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n")
}

func command(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}

// sqlState returns the SQLSTATE of err, "" when it has none.
func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// writeFiles writes set below dir and returns the paths of the up files
// (supabase/migrations) and of the rollback files, each in the order to run
// them.
func writeFiles(t testing.TB, dir string, set map[string][]byte) (up, down []string) {
	t.Helper()
	for name, data := range set {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		switch {
		case strings.HasPrefix(name, "supabase/migrations/"):
			up = append(up, path)
		case strings.HasPrefix(name, "rollback/"):
			down = append(down, path)
		}
	}
	sort.Strings(up)
	// Rollback files are named by the version they undo: newest first.
	sort.Sort(sort.Reverse(sort.StringSlice(down)))
	return up, down
}

// psqlFiles runs files in order in one psql session, stopping at the first
// error, as an operator applying the generated directory by hand would:
// each file in its own transaction (as the Supabase CLI and the SQL editor
// run one), except the ones that must not run in a transaction block.
func psqlFiles(t testing.TB, url string, files []string) {
	t.Helper()
	var script strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if noTransaction(string(data)) {
			fmt.Fprintf(&script, "\\i %s\n", f)
		} else {
			fmt.Fprintf(&script, "BEGIN;\n\\i %s\nCOMMIT;\n", f)
		}
	}
	path := filepath.Join(t.TempDir(), "apply.psql")
	if err := os.WriteFile(path, []byte(script.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := command("psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "--dbname", url, "-f", path); err != nil {
		t.Fatalf("psql: %v\n%s", err, out)
	}
}

// noTransaction reports whether a generated file must run outside a
// transaction block: its one statement builds or drops an index
// concurrently, or CALLs a procedure that commits.
func noTransaction(sql string) bool {
	for _, line := range strings.Split(sql, "\n") {
		if strings.HasPrefix(line, "CREATE INDEX CONCURRENTLY") || strings.HasPrefix(line, "DROP INDEX CONCURRENTLY") || strings.HasPrefix(line, "CALL ") {
			return true
		}
	}
	return false
}
