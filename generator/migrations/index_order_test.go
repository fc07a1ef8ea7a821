package migrations

import (
	"slices"
	"strings"
	"testing"

	"github.com/warden-sql/warden/policy"
)

// TestIndexAfterBackfill: with backfill.org_index: after_backfill the org
// index's builds and checks run after the backfill check and before NOT
// NULL, in phase 3; no org index exists while the backfill runs; the
// migrated database passes the generated verification tests. The default
// policy's order (index first) must fail the same order check.
func TestIndexAfterBackfill(t *testing.T) {
	isIndex := func(s Step) bool { return s.Kind == KindIndexBuild || s.Kind == KindIndexVerify }
	// orderProblem says what is wrong with the order of steps for an index
	// built after the backfill, "" when nothing.
	orderProblem := func(steps []Step) string {
		check := slices.IndexFunc(steps, func(s Step) bool { return s.Kind == KindBackfillCheck })
		notNull := slices.IndexFunc(steps, func(s Step) bool { return s.Kind == KindNotNullCheck })
		n := 0
		for i, s := range steps {
			if !isIndex(s) {
				continue
			}
			n++
			if i < check || i > notNull {
				return s.Name + " is not between the backfill check and NOT NULL"
			}
			if s.Phase != PhaseBackfill {
				return s.Name + " is not in phase 3"
			}
			if s.Kind == KindIndexBuild && !strings.HasPrefix(s.Up, "-- Phase 3 ·") {
				return s.Name + " says another phase: " + strings.SplitN(s.Up, "\n", 2)[0]
			}
		}
		if n == 0 {
			return "no index step"
		}
		return ""
	}

	if p := orderProblem(loadExample(t, 100).steps); p == "" {
		t.Error("negative control: the default policy's steps pass the after-backfill order check")
	}

	e := loadExampleWith(t, 1000, func(p *policy.Policy) { p.Backfill.OrgIndex = policy.OrgIndexAfterBackfill })
	if p := orderProblem(e.steps); p != "" {
		t.Fatal(p)
	}
	// Built indexes led by the column (a partitioned table's ON ONLY
	// index, added with the column, builds nothing and stays invalid until
	// its partitions' are attached).
	const orgIndexes = `SELECT count(*) FROM pg_catalog.pg_index i JOIN pg_catalog.pg_attribute a
  ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] WHERE a.attname = 'org_id' AND i.indisvalid
  AND i.indrelid IN (SELECT oid FROM pg_catalog.pg_class WHERE relnamespace = 'public'::regnamespace)`
	before := e.scalar(t, orgIndexes) // the app's own, on tables it created with the column
	check := slices.IndexFunc(e.steps, func(s Step) bool { return s.Kind == KindBackfillCheck })
	for i, s := range e.steps {
		applyStep(t, e.conn, s, false)
		if i == check {
			if n := e.scalar(t, orgIndexes); n != before {
				t.Errorf("after the backfill: %d org indexes, want the app's own %d", n, before)
			}
		}
	}
	if n := e.scalar(t, orgIndexes); n <= before {
		t.Errorf("after the migration: %d org indexes, want more than the app's own %d", n, before)
	}
	if n := e.scalar(t, `SELECT count(*) FROM pg_catalog.pg_index WHERE NOT indisvalid`); n != 0 {
		t.Errorf("%d INVALID indexes after the migration", n)
	}
	runVerify(t, buildVerify(t), e.url)
}
