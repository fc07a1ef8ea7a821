package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/warden-sql/warden/internal/pgtest"
	"github.com/warden-sql/warden/policy"
)

func examplePolicy(t testing.TB) *policy.Policy {
	t.Helper()
	pol, err := policy.Load("../policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return pol
}

func exampleDB(t testing.TB, pol *policy.Policy) string {
	t.Helper()
	tmpl := pgtest.Template(t, "bench_example", func(ctx context.Context, conn *pgx.Conn) error {
		return LoadExample(ctx, conn, pol, 300)
	})
	return pgtest.NewDBFrom(t, tmpl)
}

// rowDigests returns, per scoped table, a digest of every row with its
// org_id (updated_at left out: the naive UPDATE fires the app's
// updated_at triggers, warden's backfill does not).
func rowDigests(t testing.TB, conn *pgx.Conn, m *Migration) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, tp := range m.Plan.Scoped {
		var n int64
		var sum string
		q := fmt.Sprintf(`SELECT count(*), coalesce(md5(string_agg(x, ',' ORDER BY x)), '')
FROM (SELECT (to_jsonb(t) - 'updated_at')::text AS x FROM %s t) s`, pgx.Identifier{tp.Table.Schema, tp.Table.Name}.Sanitize())
		if err := conn.QueryRow(context.Background(), q).Scan(&n, &sum); err != nil {
			t.Fatal(err)
		}
		out[tp.Name()] = fmt.Sprintf("%d %s", n, sum)
	}
	return out
}

// The naive baseline of the online-migration benchmark must end where
// warden's migration ends: every scoped row with the same org_id.
func TestNaiveMatchesWarden(t *testing.T) {
	ctx := context.Background()
	pol := examplePolicy(t)
	wconn := pgtest.Connect(t, exampleDB(t, pol))
	nconn := pgtest.Connect(t, exampleDB(t, pol))
	m, err := PlanMigration(ctx, wconn, pol)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range m.Steps {
		if _, err := wconn.Exec(ctx, s.Up); err != nil {
			t.Fatalf("warden step %s: %v", s.Name, err)
		}
	}
	for _, s := range NaiveSteps(m.Plan) {
		if _, err := nconn.Exec(ctx, s.SQL); err != nil {
			t.Fatalf("naive %s %s: %v\n%s", s.Phase, s.Table, err, s.SQL)
		}
	}
	want := rowDigests(t, wconn, m)
	if diff := cmp.Diff(want, rowDigests(t, nconn, m)); diff != "" {
		t.Fatalf("rows after the naive migration differ from warden's (-warden +naive):\n%s", diff)
	}
	var nulls int64
	for _, tp := range m.Plan.Scoped {
		var n int64
		if err := nconn.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM %s WHERE org_id IS NULL`,
			pgx.Identifier{tp.Table.Schema, tp.Table.Name}.Sanitize())).Scan(&n); err != nil {
			t.Fatal(err)
		}
		nulls += n
	}
	if nulls != 0 {
		t.Fatalf("%d rows without org_id after the naive migration", nulls)
	}
}

// The load runs the old app's transactions at the fixed rate, without
// errors on the unmigrated schema, and counts latency from the schedule.
func TestLoadFixedRate(t *testing.T) {
	ctx := context.Background()
	pol := examplePolicy(t)
	url := exampleDB(t, pol)
	conn := pgtest.Connect(t, url)
	sample, err := SampleExample(ctx, conn, 100)
	if err != nil {
		t.Fatal(err)
	}
	l, err := StartLoad(ctx, LoadOptions{URL: url, Rate: 200, Workers: 4, StatementTimeout: 8 * time.Second, Seed: 1}, sample)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	recs := l.Stop()
	// The schedule, not the machine, sets the count: about 200, give or
	// take how long Sleep and Stop take on a busy machine.
	if len(recs) < 100 || len(recs) > 400 {
		t.Fatalf("%d transactions in about a second at 200/s", len(recs))
	}
	kinds := map[string]int{}
	for i, r := range recs {
		if r.Err != "" {
			t.Errorf("%s: %s", r.Kind, r.Err)
		}
		if want := time.Duration(i) * 5 * time.Millisecond; r.Sched != want {
			t.Fatalf("record %d scheduled at %v, want %v", i, r.Sched, want)
		}
		if r.Latency <= 0 {
			t.Fatalf("record %d: latency %v", i, r.Latency)
		}
		kinds[r.Kind]++
	}
	if len(kinds) != len(txMix) {
		t.Errorf("transaction kinds seen: %v", kinds)
	}
}
