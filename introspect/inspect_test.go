package introspect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/warden-sql/warden/internal/golden"
	"github.com/warden-sql/warden/internal/ident"
	"github.com/warden-sql/warden/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// loadTestSchema builds a database from testdata/schema.sql plus an index
// left INVALID by a failed concurrent build.
func loadTestSchema(t *testing.T) *pgx.Conn {
	t.Helper()
	sql, err := os.ReadFile("testdata/schema.sql")
	if err != nil {
		t.Fatal(err)
	}
	conn := pgtest.Connect(t, pgtest.NewDB(t))
	pgtest.Exec(t, conn, string(sql))
	// A unique build over duplicates fails and leaves the index INVALID,
	// exactly what a killed or failed CREATE INDEX CONCURRENTLY leaves.
	if _, err := conn.Exec(context.Background(), `CREATE UNIQUE INDEX CONCURRENTLY dupes_v_key ON app.dupes (v)`); err == nil {
		t.Fatal("expected the concurrent unique build over duplicates to fail")
	}
	return conn
}

func TestInspectGolden(t *testing.T) {
	conn := loadTestSchema(t)
	db, err := Inspect(context.Background(), conn, []string{"app"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.MarshalIndent()
	if err != nil {
		t.Fatal(err)
	}
	golden.File(t, filepath.Join("testdata", "schema.golden.json"), got)

	// A second run over the same schema gives the same bytes.
	again, err := Inspect(context.Background(), conn, []string{"app"})
	if err != nil {
		t.Fatal(err)
	}
	againJSON, _ := again.MarshalIndent()
	if !bytes.Equal(got, againJSON) {
		t.Error("two inspections of one schema differ")
	}

	// The snapshot reads back into an identical model.
	back, err := ReadSnapshot(got)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(db, back); diff != "" {
		t.Errorf("snapshot round trip (-inspected +read):\n%s", diff)
	}
}

// The golden file pins everything; these assertions say what matters and
// keep the facts readable when the golden file is regenerated.
func TestInspectFacts(t *testing.T) {
	conn := loadTestSchema(t)
	db, err := Inspect(context.Background(), conn, []string{"app"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tb := range db.Tables {
		names = append(names, tb.Name)
	}
	wantNames := []string{"LineNotes", "audit", "dupes", "events", "lines", "orders", "users"}
	if diff := cmp.Diff(wantNames, names); diff != "" {
		t.Fatalf("tables: views, partitions, other schemas and extension tables must be left out (-want +got):\n%s", diff)
	}

	notes := db.Table("app", "LineNotes")
	if got := notes.QualifiedName(); got != `app."LineNotes"` {
		t.Errorf("qualified name %s", got)
	}
	fk := notes.ForeignKeys[0]
	if diff := cmp.Diff(&ForeignKey{Name: "LineNotes_line_fk", Columns: []string{"lineNo", "orderId"},
		RefSchema: "app", RefTable: "lines", RefColumns: []string{"line_no", "order_id"},
		OnDelete: "set null", OnUpdate: "no action", Validated: true}, fk); diff != "" {
		t.Errorf("composite FK pairing (-want +got):\n%s", diff)
	}

	events := db.Table("app", "events")
	if !events.Partitioned || events.PartitionKey != "RANGE (at)" {
		t.Errorf("events partitioned=%v key=%q", events.Partitioned, events.PartitionKey)
	}
	wantParts := []*Partition{
		{Schema: "app", Name: "events_2024", Level: 1, Leaf: false},
		{Schema: "app", Name: "events_2024_a", Level: 2, Leaf: true},
		{Schema: "app", Name: "events_2025", Level: 1, Leaf: true},
		{Schema: "app", Name: "events_default", Level: 1, Leaf: true},
	}
	if diff := cmp.Diff(wantParts, events.Partitions); diff != "" {
		t.Errorf("partitions folded into their root (-want +got):\n%s", diff)
	}
	if len(events.Triggers) != 1 || len(events.ForeignKeys) != 1 {
		t.Errorf("cloned partition triggers/FKs must not repeat: %d triggers, %d FKs", len(events.Triggers), len(events.ForeignKeys))
	}

	audit := db.Table("app", "audit")
	if audit.ForeignKeys[0].Validated || audit.Checks[0].Validated {
		t.Error("NOT VALID constraints must read as not validated")
	}
	if audit.PrimaryKey != nil {
		t.Error("audit has no primary key")
	}

	dupes := db.Table("app", "dupes")
	if len(dupes.Indexes) != 1 || dupes.Indexes[0].Valid {
		t.Errorf("the failed concurrent build must show as an invalid index: %+v", dupes.Indexes)
	}

	orders := db.Table("app", "orders")
	if c := orders.Column("order"); c == nil || c.Type != "integer" || !c.NotNull || c.Default != "0" {
		t.Errorf("reserved-word column: %+v", c)
	}
	if c := orders.Column("id"); c.Identity != "always" {
		t.Errorf("identity column: %+v", c)
	}
	if c := orders.Column("total"); !c.Generated {
		t.Errorf("generated column: %+v", c)
	}
	if c := orders.Column("note"); c.Type != "character varying(20)" || c.NotNull {
		t.Errorf("note: %+v", c)
	}
	if !orders.RLSEnabled || !orders.RLSForced || len(orders.Policies) != 2 {
		t.Errorf("RLS: enabled=%v forced=%v policies=%d", orders.RLSEnabled, orders.RLSForced, len(orders.Policies))
	}
	if p := orders.Policies[0]; p.Name != "org_guard" || p.Permissive || p.Command != "insert" {
		t.Errorf("restrictive policy: %+v", p)
	}
	var mixed *Index
	for _, ix := range notes.Indexes {
		if ix.Name == "LineNotes_mixed_idx" {
			mixed = ix
		}
	}
	if mixed == nil || !slices.Equal(mixed.Columns, []string{`"orderId"`, "lower(body)", `"lineNo"`}) {
		t.Errorf("index key columns, quoted, expression deparsed, INCLUDE left out: %+v", mixed)
	}
	enabled := map[string]string{}
	for _, tr := range orders.Triggers {
		enabled[tr.Name] = tr.Enabled
	}
	if enabled["orders_touch"] != "always" || enabled["orders_stmt"] != "disabled" {
		t.Errorf("trigger enabled states: %v", enabled)
	}
}

// Inspect names a plain index key column itself (quote_ident) and asks
// the deparser only for expressions; both must read exactly as
// pg_get_indexdef(index, k, true) reads every key column.
func TestIndexColumnsAsDeparsed(t *testing.T) {
	conn := loadTestSchema(t)
	db, err := Inspect(context.Background(), conn, []string{"app"})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(context.Background(), `
SELECT i.indexrelid::regclass::text,
       ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, true) FROM generate_series(1, i.indnkeyatts) k ORDER BY k)
FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
WHERE c.relnamespace = 'app'::regnamespace AND NOT c.relispartition`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{}
	for rows.Next() {
		var name string
		var cols []string
		if err := rows.Scan(&name, &cols); err != nil {
			t.Fatal(err)
		}
		want[strings.TrimPrefix(name, "app.")] = cols
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, tb := range db.Tables {
		for _, ix := range tb.Indexes {
			got[ident.QuoteIfNeeded(ix.Name)] = ix.Columns
		}
	}
	if len(want) < 9 {
		t.Fatalf("the fixture holds nine indexes, the query found %d", len(want))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("index key columns (-pg_get_indexdef +inspected):\n%s", diff)
	}
}

func TestInspectMissingSchema(t *testing.T) {
	conn := pgtest.Connect(t, pgtest.NewDB(t))
	_, err := Inspect(context.Background(), conn, []string{"public", "nope"})
	var missing *SchemaNotFoundError
	if !errors.As(err, &missing) || fmt.Sprint(missing.Schemas) != "[nope]" {
		t.Fatalf("got %v", err)
	}
	if err.Error() != `introspect: schema "nope" does not exist` {
		t.Errorf("message: %s", err)
	}
}

// countingQuerier counts round trips to the server.
type countingQuerier struct {
	q Querier
	n int
}

func (c *countingQuerier) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	c.n++
	return c.q.Query(ctx, sql, args...)
}

// syntheticSchema creates n tables, each with an FK to the previous one, an
// index, a trigger and a policy, so every per-kind query has work to do.
// Tables are created in chunks, one transaction each: thousands of tables in
// one transaction would exhaust the server's lock table.
func syntheticSchema(t testing.TB, conn *pgx.Conn, n int) {
	t.Helper()
	pgtest.Exec(t, conn, `
CREATE SCHEMA syn;
CREATE FUNCTION syn.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;`)
	const chunk = 250
	for from := 1; from <= n; from += chunk {
		to := min(from+chunk-1, n)
		pgtest.Exec(t, conn, fmt.Sprintf(`
DO $$
BEGIN
  FOR i IN %d..%d LOOP
    EXECUTE format('CREATE TABLE syn.t%%s (id bigint PRIMARY KEY, user_id uuid, parent_id bigint %%s, note text)',
                   i, CASE WHEN i > 1 THEN format('REFERENCES syn.t%%s(id)', i - 1) ELSE '' END);
    EXECUTE format('CREATE INDEX ON syn.t%%s (user_id)', i);
    EXECUTE format('CREATE TRIGGER touch BEFORE UPDATE ON syn.t%%s FOR EACH ROW EXECUTE FUNCTION syn.touch()', i);
    EXECUTE format('CREATE POLICY p ON syn.t%%s USING (true)', i);
  END LOOP;
END $$;`, from, to))
	}
}

func TestQueryCountIsConstant(t *testing.T) {
	counts := map[int]int{}
	for _, n := range []int{10, 500} {
		conn := pgtest.Connect(t, pgtest.NewDB(t))
		syntheticSchema(t, conn, n)
		cq := &countingQuerier{q: conn}
		db, err := Inspect(context.Background(), cq, []string{"syn"})
		if err != nil {
			t.Fatal(err)
		}
		if len(db.Tables) != n {
			t.Fatalf("read %d tables, want %d", len(db.Tables), n)
		}
		counts[n] = cq.n
	}
	if counts[10] != counts[500] || counts[10] != QueryCount {
		t.Fatalf("catalog round trips: %v, want %d for both", counts, QueryCount)
	}
}

func BenchmarkInspect(b *testing.B) {
	for _, n := range []int{50, 500, 5000} {
		b.Run(fmt.Sprintf("tables=%d", n), func(b *testing.B) {
			conn := pgtest.Connect(b, pgtest.NewDB(b))
			syntheticSchema(b, conn, n)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := Inspect(context.Background(), conn, []string{"syn"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestInspectIgnoresSearchPath: the model must not depend on the role's
// search_path (pg_get_expr and friends qualify only invisible names), and
// Inspect must leave the session's search_path and jit as it found them.
func TestInspectIgnoresSearchPath(t *testing.T) {
	conn := loadTestSchema(t)
	ctx := context.Background()
	want, err := Inspect(ctx, conn, []string{"app"})
	if err != nil {
		t.Fatal(err)
	}
	pgtest.Exec(t, conn, `SET search_path = app, public; SET jit = on`)
	got, err := Inspect(ctx, conn, []string{"app"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the model changed with the search_path (-default +app first):\n%s", diff)
	}
	var path string
	if err := conn.QueryRow(ctx, `SHOW search_path`).Scan(&path); err != nil || path != "app, public" {
		t.Errorf("search_path after Inspect: %q %v, want it restored to \"app, public\"", path, err)
	}
	// JIT is off while the catalog is read (compiling those queries cost
	// more than running them) and back on after, here and after the row
	// estimates.
	if _, err := InspectStats(ctx, conn, got, false); err != nil {
		t.Fatal(err)
	}
	var jit string
	if err := conn.QueryRow(ctx, `SHOW jit`).Scan(&jit); err != nil || jit != "on" {
		t.Errorf("jit after Inspect and InspectStats: %q %v, want it restored to on", jit, err)
	}
}

// Snapshots written before the full index text was dropped from the model
// hold a "definition" for every index; they must still read.
func TestSnapshotWithIndexDefinitionReads(t *testing.T) {
	old := []byte(`{"schemas": ["app"], "tables": [{"schema": "app", "name": "t", "columns": [],
  "indexes": [{"name": "t_pkey", "columns": ["id"], "unique": true, "primary": true, "valid": true,
               "method": "btree", "definition": "CREATE UNIQUE INDEX t_pkey ON app.t USING btree (id)"}]}]}`)
	db, err := ReadSnapshot(old)
	if err != nil {
		t.Fatal(err)
	}
	want := &Index{Name: "t_pkey", Columns: []string{"id"}, Unique: true, Primary: true, Valid: true, Method: "btree"}
	if diff := cmp.Diff(want, db.Table("app", "t").Indexes[0]); diff != "" {
		t.Errorf("index read from an older snapshot (-want +got):\n%s", diff)
	}
}
