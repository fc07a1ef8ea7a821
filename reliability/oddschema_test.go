package reliability

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/warden-sql/warden/generator/migrations"
	"github.com/warden-sql/warden/generator/output"
	"github.com/warden-sql/warden/internal/ident"
	"github.com/warden-sql/warden/internal/pgtest"
	"github.com/warden-sql/warden/policy"
)

// otherOrg is a second organization every odd schema creates, so that an
// org change can be attempted.
const otherOrg = "b0000000-0000-0000-0000-00000000000b"

// TestOddSchemas migrates each schema of testdata/odd end to end. A case is
// a directory with schema.sql (tables and a few rows, orphans included),
// policy.yaml (which lists schema.sql, so `warden generate --policy` works
// on it too) and after.sql (the old app's writes after the migration,
// without the tenant column, with its own assertions in DO blocks).
//
// Each case: warden classifies it with no problem; every step applies, and
// applies again without changing the catalog; no row is left without an
// org and every inherited row has its parent's; each scoped table got its
// own FK, index and triggers under the derived names (a truncation
// collision would make an IF NOT EXISTS skip one silently); changing the
// org of a row fails with 23W01 naming the table while a normal update
// passes; after.sql's inserts get their org from the fill trigger; and the
// down scripts restore the catalog.
func TestOddSchemas(t *testing.T) {
	dirs, err := filepath.Glob("testdata/odd/*")
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 10 {
		t.Fatalf("only %d odd schemas in testdata/odd", len(dirs))
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			m := oddSchema(t, dir)
			m.migrateAndVerify(t, dir)
		})
	}
}

// oddSchema loads dir/schema.sql into a fresh database and generates the
// steps for dir/policy.yaml.
func oddSchema(t *testing.T, dir string) *migration {
	t.Helper()
	pol, err := policy.Load(filepath.Join(dir, "policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m := &migration{url: pgtest.NewDB(t), pol: pol}
	m.conn = pgtest.Connect(t, m.url)
	for _, f := range pol.SchemaFiles {
		sql, err := os.ReadFile(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		pgtest.Exec(t, m.conn, string(sql))
	}
	m.generate(t)
	return m
}

func (m *migration) migrateAndVerify(t *testing.T, dir string) {
	ctx := t.Context()
	names := map[string]bool{}
	for _, s := range m.steps {
		if names[s.Name] {
			t.Errorf("two steps are called %s: file names and status reports would mix them up", s.Name)
		}
		names[s.Name] = true
	}
	baseline := schemaDump(t, m.url)
	before := m.checksums(t)

	m.up(t, nil)
	migrated := schemaDump(t, m.url)
	m.up(t, nil)
	if diff := cmp.Diff(migrated, schemaDump(t, m.url)); diff != "" {
		t.Errorf("applying every step again changed the catalog (-first +second):\n%s", diff)
	}
	m.assertNoNulls(t)
	m.assertInheritedConsistent(t)
	if diff := cmp.Diff(before, m.checksums(t)); diff != "" {
		t.Errorf("row counts or columns other than the tenant column changed (-before +after):\n%s", diff)
	}
	m.assertObjects(t)

	col := m.col()
	for _, tp := range m.plan.Scoped {
		if m.scalar(t, fmt.Sprintf(`SELECT count(*) FROM %s`, quoted(tp))) == 0 {
			t.Errorf("%s: no rows; the case should have some to migrate", tp.Name())
			continue
		}
		// A row of a real org where there is one: a row of the default org
		// may leave it once.
		one := fmt.Sprintf(`ctid = (SELECT ctid FROM %s ORDER BY %s = %s LIMIT 1)`, quoted(tp), col, ident.Literal(m.pol.Tenant.DefaultOrg))
		if tp.Table.Partitioned {
			// ctid is per partition: pick the row by the whole tuple.
			one = fmt.Sprintf(`t = (SELECT t FROM %s t ORDER BY %s = %s LIMIT 1)`, quoted(tp), col, ident.Literal(m.pol.Tenant.DefaultOrg))
		}
		tx, err := m.conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if m.scalar(t, fmt.Sprintf(`SELECT count(*) FROM %s WHERE %s <> $1::uuid`, quoted(tp), col), m.pol.Tenant.DefaultOrg) == 0 {
			// Every row is in the default org: they leave it once (as a
			// trusted writer, so that the parent-org check, which the
			// parents' staying behind would trip, is off), then may not
			// move again.
			for _, sql := range []string{"SET LOCAL session_replication_role = replica", fmt.Sprintf(`UPDATE %s SET %s = $1::uuid`, quoted(tp), col)} {
				args := []any{otherOrg}
				if !strings.Contains(sql, "$1") {
					args = nil
				}
				if _, err := tx.Exec(ctx, sql, args...); err != nil {
					t.Fatalf("%s: rows of the default org leaving it: %v", tp.Name(), err)
				}
			}
		}
		_, err = tx.Exec(ctx, fmt.Sprintf(`UPDATE %s t SET %s = CASE WHEN %s = $1::uuid THEN $2::uuid ELSE $1::uuid END WHERE %s`,
			quoted(tp), col, col, one), otherOrg, m.pol.Tenant.DefaultOrg)
		var pe *pgconn.PgError
		switch {
		case !errors.As(err, &pe) || pe.Code != migrations.ImmutableSQLState:
			t.Errorf("%s: changing the org gave %v, want SQLSTATE %s", tp.Name(), err, migrations.ImmutableSQLState)
		case !mentions(pe.Message, tp.Table.Name) || !mentions(pe.Message, m.pol.Tenant.Column):
			t.Errorf("%s: message %q should name the table and the column", tp.Name(), pe.Message)
		}
		tx.Rollback(ctx)
		if _, err := m.conn.Exec(ctx, fmt.Sprintf(`UPDATE %s t SET %s = %s WHERE %s`, quoted(tp), col, col, one)); err != nil {
			t.Errorf("%s: a normal update failed: %v", tp.Name(), err)
		}
	}

	after, err := os.ReadFile(filepath.Join(dir, "after.sql"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.conn.Exec(ctx, string(after)); err != nil {
		t.Fatalf("after.sql (the old app's writes after the migration): %v", err)
	}
	m.assertNoNulls(t)
	m.assertInheritedConsistent(t)

	m.down(t)
	if diff := cmp.Diff(baseline, schemaDump(t, m.url)); diff != "" {
		t.Errorf("down did not restore the catalog (-baseline +after down):\n%s", diff)
	}
}

// assertObjects checks, for every scoped table, that the objects named by
// migrations.Names exist on that very table (and its partitions' indexes on
// theirs) and that every derived name fits PostgreSQL's limit.
func (m *migration) assertObjects(t *testing.T) {
	t.Helper()
	for _, tp := range m.plan.Scoped {
		n := migrations.Names(m.plan, tp)
		rel := quoted(tp)
		for _, name := range []string{n.ForeignKey, n.Index, n.NotNullCheck, n.FillTrigger, n.ImmutableTrigger} {
			if len(name) > ident.MaxLen || !utf8.ValidString(name) {
				t.Errorf("%s: derived name %q is %d bytes or not UTF-8", tp.Name(), name, len(name))
			}
		}
		// The FK and the index must be warden's, not objects of the same
		// name that were there before: the FK on the tenant column alone,
		// to the tenant table; the index led by the tenant column.
		checks := []struct{ what, sql string }{
			{"foreign key " + n.ForeignKey + " on the tenant column", `SELECT count(*) FROM pg_constraint WHERE conrelid = $1::regclass AND conname = $2 AND contype = 'f' AND convalidated
  AND conkey = ARRAY[(SELECT attnum FROM pg_attribute WHERE attrelid = $1::regclass AND attname = $3)]
  AND confrelid = $4::regclass`},
			{"index " + n.Index + " led by the tenant column", `SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = $1::regclass AND c.relname = $2 AND i.indisvalid
  AND i.indkey[0] = (SELECT attnum FROM pg_attribute WHERE attrelid = $1::regclass AND attname = $3) AND $4 <> ''`},
			{"fill trigger " + n.FillTrigger, `SELECT count(*) FROM pg_trigger WHERE tgrelid = $1::regclass AND tgname = $2`},
			{"immutability trigger " + n.ImmutableTrigger, `SELECT count(*) FROM pg_trigger WHERE tgrelid = $1::regclass AND tgname = $2 AND tgenabled = 'A'`},
		}
		for i, c := range checks {
			name := []string{n.ForeignKey, n.Index, n.FillTrigger, n.ImmutableTrigger}[i]
			args := []any{rel, name}
			if i < 2 {
				args = append(args, n.Column, pgx.Identifier{m.pol.Tenant.Table.Schema, m.pol.Tenant.Table.Name}.Sanitize())
			}
			if got := m.scalar(t, c.sql, args...); got != 1 {
				t.Errorf("%s: %s not found on the table", tp.Name(), c.what)
			}
		}
		if got := m.scalar(t, `SELECT count(*) FROM pg_attribute WHERE attrelid = $1::regclass AND attname = $2 AND attnotnull AND atttypid = 'uuid'::regtype`, rel, n.Column); got != 1 {
			t.Errorf("%s: %s is not a NOT NULL uuid column", tp.Name(), n.Column)
		}
		for _, p := range tp.Table.Partitions {
			// The partitions' own indexes are attached to the parent's.
			q := `SELECT count(*) FROM pg_index i JOIN pg_inherits h ON h.inhrelid = i.indexrelid
WHERE i.indrelid = $1::regclass AND h.inhparent = (SELECT c.oid FROM pg_class c WHERE c.relname = $2 AND c.relnamespace = $3::regnamespace)`
			if got := m.scalar(t, q, pgx.Identifier{p.Schema, p.Name}.Sanitize(), n.Index, pgx.Identifier{tp.Table.Schema}.Sanitize()); got != 1 {
				t.Errorf("%s: partition %s.%s has no index attached to %s", tp.Name(), p.Schema, p.Name, n.Index)
			}
		}
	}
}

// mentions reports whether msg names an identifier, as is or quoted the
// way format('%I') quotes it.
func mentions(msg, name string) bool {
	return strings.Contains(msg, name) || strings.Contains(msg, ident.Quote(name))
}

// TestHostileNamesApplyWithPsql applies the generated files of the
// hostile_names case with psql, the way an operator would, up and then
// down: names built to escape a comment (a newline and a DROP) or to end a
// dollar-quoted body early ($do$, $fn$, $$) change nothing but what the
// migration means to change, so public.victim and its row survive both
// directions.
func TestHostileNamesApplyWithPsql(t *testing.T) {
	const payload = "drop table if exists public.victim; --"
	next := func(text string, i int) int {
		j := strings.Index(text[i+1:], payload)
		if j < 0 {
			return -1
		}
		return i + 1 + j
	}
	dir := filepath.Join("testdata", "odd", "hostile_names")
	m := oddSchema(t, dir)
	files, err := output.Render(m.plan, m.db)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		if !strings.HasSuffix(name, ".sql") {
			continue
		}
		// The payload may appear only inside the quoted column name
		// ("p<newline>drop ...") or a string literal naming it
		// ('p<newline>drop ...'), or, escaped, in a comment (p\ndrop ...).
		text := string(data)
		for i := strings.Index(text, payload); i >= 0; i = next(text, i) {
			if !strings.HasSuffix(text[:i], "\"p\n") && !strings.HasSuffix(text[:i], "'p\n") && !strings.HasSuffix(text[:i], `p\n`) {
				t.Errorf("%s: the payload is outside a quoted name or a comment: %q", name, text[max(0, i-40):i+len(payload)])
			}
		}
	}
	up, down := writeFiles(t, t.TempDir(), files)
	psqlFiles(t, m.url, up)
	victim := func(when string) {
		t.Helper()
		if n := m.scalar(t, "SELECT count(*) FROM public.victim"); n != 1 {
			t.Fatalf("after %s: public.victim has %d rows, want 1", when, n)
		}
	}
	victim("up")
	m.assertNoNulls(t)
	m.assertInheritedConsistent(t)
	psqlFiles(t, m.url, down)
	victim("down")
}
