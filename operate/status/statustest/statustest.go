// Package statustest loads the example application into a test database and
// applies its generated migration steps up to a chosen point, for the tests
// of status, backfill and the warden commands that operate a migration.
//
// It follows generator/migrations' own acceptance tests (apply_test.go): the
// schema files and exampledata rows go into a pgtest template once per
// package run, each test gets a copy, and every step runs as one
// simple-protocol batch, the way psql -f and the Supabase CLI send a file.
package statustest

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/warden-sql/warden/exampleapp/exampledb"
	"github.com/warden-sql/warden/generator/classify"
	"github.com/warden-sql/warden/generator/migrations"
	"github.com/warden-sql/warden/internal/pgtest"
	"github.com/warden-sql/warden/introspect"
	"github.com/warden-sql/warden/policy"
)

// Example is one test's copy of the example application.
type Example struct {
	URL    string
	Conn   *pgx.Conn
	Policy *policy.Policy
	// DB, Plan and Steps are read and rendered from the database as loaded,
	// before any step ran: the migration a user would have generated.
	DB    *introspect.Database
	Plan  *classify.Plan
	Steps []migrations.Step
}

// Load returns a fresh database with the example schema of the policy at
// policyPath and rows rows in its largest tables (see exampledata), and the
// plan and steps generated for it. The template is built once per package
// run and rows value.
func Load(t testing.TB, policyPath string, rows int) *Example {
	t.Helper()
	pol, err := policy.Load(policyPath)
	if err != nil {
		t.Fatal(err)
	}
	url := exampledb.New(t, pol, exampledb.Rows(rows))
	return FromConn(t, url, pgtest.Connect(t, url), pol)
}

// FromConn reads, classifies and renders the database of conn (at url)
// with pol: the Example of a database the test loaded itself.
func FromConn(t testing.TB, url string, conn *pgx.Conn, pol *policy.Policy) *Example {
	t.Helper()
	db, err := introspect.Inspect(context.Background(), conn, pol.Schemas)
	if err != nil {
		t.Fatal(err)
	}
	plan := classify.Classify(db, pol)
	steps, err := migrations.Steps(plan, db)
	if err != nil {
		t.Fatal(err)
	}
	return &Example{URL: url, Conn: conn, Policy: pol, DB: db, Plan: plan, Steps: steps}
}

// Apply runs the up script of every step keep accepts (all when keep is
// nil), in order.
func (e *Example) Apply(t testing.TB, keep func(migrations.Step) bool) {
	t.Helper()
	for _, s := range e.Steps {
		if keep == nil || keep(s) {
			ApplyStep(t, e.Conn, s)
		}
	}
}

// ApplyStep runs one step's up script as one batch.
func ApplyStep(t testing.TB, conn *pgx.Conn, s migrations.Step) {
	t.Helper()
	if _, err := conn.Exec(context.Background(), s.Up); err != nil {
		t.Fatalf("step %s: %v\n%s", s.Name, err, s.Up)
	}
}

// Through accepts the steps of phase and of every phase before it.
func Through(phase migrations.Phase) func(migrations.Step) bool {
	return func(s migrations.Step) bool { return s.Phase <= phase }
}

// Live re-reads the schema and classifies it again, as warden status and
// warden backfill do against a database part-way through the migration.
func (e *Example) Live(t testing.TB) (*introspect.Database, *classify.Plan) {
	t.Helper()
	db, err := introspect.Inspect(context.Background(), e.Conn, e.Policy.Schemas)
	if err != nil {
		t.Fatal(err)
	}
	plan := classify.Classify(db, e.Policy)
	if err := plan.Err(); err != nil {
		t.Fatal(err)
	}
	return db, plan
}

// Scalar runs a query returning one integer.
func (e *Example) Scalar(t testing.TB, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := e.Conn.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%v\n%s", err, sql)
	}
	return n
}

// Quoted is a scoped table's quoted, qualified name.
func Quoted(tp *classify.TablePlan) string {
	return pgx.Identifier{tp.Table.Schema, tp.Table.Name}.Sanitize()
}

// NullCounts returns, per scoped table (display name), its rows without the
// tenant column.
func (e *Example) NullCounts(t testing.TB) map[string]int64 {
	t.Helper()
	col := pgx.Identifier{e.Policy.Tenant.Column}.Sanitize()
	out := map[string]int64{}
	for _, tp := range e.Plan.Scoped {
		out[tp.Name()] = e.Scalar(t, fmt.Sprintf(`SELECT count(*) FROM %s WHERE %s IS NULL`, Quoted(tp), col))
	}
	return out
}

// Checksum is one digest of every scoped row's primary key (or whole row,
// for a table without one) and tenant column: two databases with the same
// checksum gave every row the same org.
func (e *Example) Checksum(t testing.TB) string {
	t.Helper()
	col := e.Policy.Tenant.Column
	var parts string
	for _, tp := range e.Plan.Scoped {
		key := "to_jsonb(t) - " + quoteLiteral(col)
		if pk := tp.Table.PrimaryKey; pk != nil {
			key = "jsonb_build_array(" + joinCols("t", pk.Columns) + ")"
		}
		q := fmt.Sprintf(`SELECT count(*)::text || ':' || coalesce(md5(string_agg(h, ',' ORDER BY h)), '')
FROM (SELECT md5((%s)::text || '=' || coalesce(t.%s::text, 'NULL')) AS h FROM %s t) s`,
			key, pgx.Identifier{col}.Sanitize(), Quoted(tp))
		var sum string
		if err := e.Conn.QueryRow(context.Background(), q).Scan(&sum); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
		parts += tp.Name() + "=" + sum + "\n"
	}
	return parts
}

func joinCols(alias string, cols []string) string {
	out := ""
	for i, c := range cols {
		if i > 0 {
			out += ", "
		}
		out += alias + "." + pgx.Identifier{c}.Sanitize()
	}
	return out
}

func quoteLiteral(s string) string {
	out := "'"
	for _, r := range s {
		if r == '\'' {
			out += "''"
		} else {
			out += string(r)
		}
	}
	return out + "'"
}
