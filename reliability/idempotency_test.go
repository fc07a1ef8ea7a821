package reliability

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/warden-sql/warden/exampleapp/exampledata"
	"github.com/warden-sql/warden/generator/migrations"
	"github.com/warden-sql/warden/generator/output"
)

// TestApplyTwice applies every step twice in a row (a runner retrying a
// file that did commit), then the whole generated directory again with
// psql, as files on disk: neither the second application of a file nor of
// the set may fail or change the catalog, and the data ends migrated with
// nothing else changed.
func TestApplyTwice(t *testing.T) {
	m := exampleApp(t, exampledata.Options{RowsPerTable: 2000}, nil)
	before := m.checksums(t)
	for _, s := range m.steps {
		for range 2 {
			if err := applyStep(t.Context(), m.conn, s, false); err != nil {
				t.Fatal(err)
			}
		}
	}
	migrated := schemaDump(t, m.url)
	m.assertNoNulls(t)

	files, err := output.Render(m.plan, m.db)
	if err != nil {
		t.Fatal(err)
	}
	up, _ := writeFiles(t, t.TempDir(), files)
	// One file per unit of the grouped layout (several steps of a kind
	// share one; the example policy keeps the default layout).
	if units := migrations.Group(m.steps, m.pol.Migrations.Format); len(up) != len(units) {
		t.Fatalf("%d up files for %d units (%d steps)", len(up), len(units), len(m.steps))
	}
	psqlFiles(t, m.url, up)
	if diff := cmp.Diff(migrated, schemaDump(t, m.url)); diff != "" {
		t.Errorf("applying the generated set a second time changed the catalog (-first +second):\n%s", diff)
	}
	m.assertNoNulls(t)
	m.assertInheritedConsistent(t)
	if diff := cmp.Diff(before, m.checksums(t)); diff != "" {
		t.Errorf("row counts or columns other than org_id changed (-before +after):\n%s", diff)
	}
}

// TestUpDownCycles runs up → down → up → down with the generated files on
// disk (psql, the rollback directory in its numbered order): every up gives
// the same catalog, every down restores the original one, and the data
// survives both directions.
func TestUpDownCycles(t *testing.T) {
	m := exampleApp(t, exampledata.Options{RowsPerTable: 2000}, nil)
	baseline := schemaDump(t, m.url)
	before := m.checksums(t)
	files, err := output.Render(m.plan, m.db)
	if err != nil {
		t.Fatal(err)
	}
	up, down := writeFiles(t, t.TempDir(), files)

	var migrated string
	for cycle := 1; cycle <= 2; cycle++ {
		psqlFiles(t, m.url, up)
		got := schemaDump(t, m.url)
		if cycle == 1 {
			migrated = got
		} else if diff := cmp.Diff(migrated, got); diff != "" {
			t.Errorf("cycle %d: up gave another catalog than the first up (-first +now):\n%s", cycle, diff)
		}
		m.assertNoNulls(t)
		m.assertInheritedConsistent(t)
		if diff := cmp.Diff(before, m.checksums(t)); diff != "" {
			t.Errorf("cycle %d: up changed row counts or columns other than org_id (-before +after):\n%s", cycle, diff)
		}

		psqlFiles(t, m.url, down)
		if diff := cmp.Diff(baseline, schemaDump(t, m.url)); diff != "" {
			t.Errorf("cycle %d: down did not restore the catalog (-baseline +after down):\n%s", cycle, diff)
		}
		if diff := cmp.Diff(before, m.checksums(t)); diff != "" {
			t.Errorf("cycle %d: down changed row counts or columns (-before +after):\n%s", cycle, diff)
		}
	}
}
