package reliability

import (
	"slices"
	"strings"
	"testing"

	"github.com/warden-sql/warden/exampleapp/exampledata"
	"github.com/warden-sql/warden/generator/migrations"
	"github.com/warden-sql/warden/internal/ident"
)

// strongLocks are the table lock modes that block the app's writes (SHARE
// and stronger; SHARE UPDATE EXCLUSIVE, which VALIDATE takes, does not).
const strongLocks = `ARRAY['ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock']`

// TestLocksAsDeclared applies every step of the example app in order and,
// before it commits each one, reads pg_locks in the same transaction: a
// step may hold a lock that blocks writes only on its own table (and the
// table's partitions), on the tenant table where it adds a foreign key to
// it (SHARE ROW EXCLUSIVE, for the few milliseconds of a NOT VALID add),
// on warden's own bookkeeping tables, and, for the setup, on the tenant
// table it inserts the default org into (no strong lock). Never on a
// second table of the app: one file locking two app tables is how
// migrations deadlock against live writes. One known exception, listed in
// allowedLock and the README (the partitioned parent's foreign key, where
// PostgreSQL itself locks the tenant table); any other fails.
func TestLocksAsDeclared(t *testing.T) {
	m := exampleApp(t, exampledata.Options{RowsPerTable: 50}, nil)
	ctx := t.Context()
	tenant := ident.Qualified(m.pol.Tenant.Table.Schema, m.pol.Tenant.Table.Name)
	roots := lockRoots{
		tenant: tenant,
		users:  ident.Qualified(m.pol.Users.Table.Schema, m.pol.Users.Table.Name),
	}
	if ms := m.pol.Membership; ms != nil {
		roots.members = ident.Qualified(ms.Table.Schema, ms.Table.Name)
	}
	checked := 0
	for _, s := range m.steps {
		if s.NoTransaction {
			if err := applyStep(ctx, m.conn, s, false); err != nil {
				t.Fatal(err)
			}
			continue
		}
		tx, err := m.conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, s.Up); err != nil {
			tx.Rollback(ctx)
			t.Fatalf("%s: %v", s.Name, err)
		}
		rows, err := tx.Query(ctx, `
SELECT n.nspname, c.relname, l.mode
FROM pg_catalog.pg_locks l
JOIN pg_catalog.pg_class c ON c.oid = l.relation
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE l.pid = pg_catalog.pg_backend_pid() AND l.locktype = 'relation' AND l.granted
  AND l.mode = ANY (`+strongLocks+`) AND c.relkind IN ('r', 'p')
  AND n.nspname <> 'warden'
ORDER BY 1, 2`)
		if err != nil {
			tx.Rollback(ctx)
			t.Fatal(err)
		}
		var locked []string
		for rows.Next() {
			var schema, name, mode string
			if err := rows.Scan(&schema, &name, &mode); err != nil {
				t.Fatal(err)
			}
			rel := ident.Qualified(schema, name)
			if !allowedLock(s, rel, mode, roots) {
				locked = append(locked, rel+" "+mode)
			}
		}
		rows.Close()
		if len(locked) > 0 {
			t.Errorf("%s holds write-blocking locks beyond its own table: %s", s.Name, strings.Join(locked, ", "))
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		checked++
	}
	if checked < 100 {
		t.Fatalf("only %d transactional steps checked", checked)
	}
	// The check can fail: a file touching two app tables is reported.
	two := migrations.Step{Name: "two", Table: "public.calls"}
	if allowedLock(two, ident.Qualified("public", "leads"), "AccessExclusiveLock", roots) {
		t.Error("a lock on a second app table passes the check")
	}
}

// lockRoots are the policy's tenant, users and membership tables, quoted.
type lockRoots struct{ tenant, users, members string }

// allowedLock says whether step s may hold mode on rel.
func allowedLock(s migrations.Step, rel, mode string, roots lockRoots) bool {
	own := []string{}
	if tp := s.TablePlan; tp != nil {
		own = append(own, ident.Qualified(tp.Table.Schema, tp.Table.Name))
		for _, p := range tp.Table.Partitions {
			own = append(own, ident.Qualified(p.Schema, p.Name))
		}
	}
	if slices.Contains(own, rel) {
		return true
	}
	switch s.Kind {
	case migrations.KindAddColumn:
		// ADD FOREIGN KEY ... NOT VALID takes SHARE ROW EXCLUSIVE on the
		// referenced table too, for the milliseconds of a catalog change.
		return rel == roots.tenant && mode == "ShareRowExclusiveLock"
	case migrations.KindJWTClaims, migrations.KindPersonalOrgs:
		// CREATE TRIGGER on the users table, and nothing else.
		return rel == roots.users && mode == "ShareRowExclusiveLock"
	case migrations.KindJWTMemberSync:
		return rel == roots.members && mode == "ShareRowExclusiveLock"
	case migrations.KindParentFK:
		// Known and documented (README, Phases): adding the foreign key
		// of a partitioned parent adopts the partitions' own, and
		// PostgreSQL drops their action triggers on the referenced table,
		// which takes ACCESS EXCLUSIVE on the tenant table. A catalog
		// change under lock_timeout, in a file of its own.
		return rel == roots.tenant
	}
	return false
}
