package kit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// This file is added to the generated package where the policy distributes
// the tables on Citus (distribute: citus), as warden_citus_test.go. Phase 8
// changes what a migrated table looks like, so some checks of
// warden_checks_test.go are replaced by what holds on the cluster instead:
//
//   - Citus shards every org-owned table by orgColumn and refuses a row
//     without it or a change of it, so phase 8 drops the fill and
//     immutability triggers: distributed_by_org, org_default and
//     org_change_fails check the distribution, the column default and the
//     refusal instead.
//   - Citus copies policies without AS RESTRICTIVE, so phase 8 folds
//     warden's restrictive policies into the permissive ones:
//     rls_policies checks the folded policies.
//   - A request settles its org with beginRequestSQL (the workers do not see
//     set_config() claims): the row-level security checks call it.
//   - A row's ctid is unique only within one shard, so a row is named by
//     its org (which routes to its shard), tableoid and ctid.
//
// The other checks run as they are.

func init() {
	scopedChecks = citusChecks
}

// citusChecks are the subtests of every scoped table on a Citus cluster,
// in the order of scopedChecks.
var citusChecks = []struct {
	name string
	run  func(t *testing.T, c *checker)
}{
	{"column_type", checkColumnType},
	{"not_null", checkNotNull},
	{"foreign_key", checkForeignKey},
	{"index", checkIndex},
	{"no_null_rows", checkNoNullRows},
	{"distributed_by_org", checkDistributed},
	{"org_default", checkOrgDefault},
	{"insert_without_org_fails", checkCitusInsertWithoutOrg},
	{"org_change_fails", func(t *testing.T, c *checker) {
		checkCitusOrgChange(t, c, false)
	}},
	{"org_change_fails_as_replica", func(t *testing.T, c *checker) {
		checkCitusOrgChange(t, c, true)
	}},
	{"normal_update_succeeds", checkCitusNormalUpdate},
	{"rls_policies", checkFoldedPolicies},
	{"rls_isolation", checkCitusIsolation},
	{"rls_no_org_claim", checkCitusNoOrgClaim},
	{"rls_anon", checkAnon},
}

// TestBeginRequest checks the request's start on the cluster: the org
// beginRequestSQL settles is the one public.auth_org_id() then returns,
// NULL for a request with no org and, where membership is checked, for a
// claim of an org the user left.
func TestBeginRequest(t *testing.T) {
	conn := connect(t)
	try := func(t *testing.T, name string, setup func(tx pgx.Tx) (subject, org, want string)) {
		t.Run(name, func(t *testing.T) {
			citusRollback(t, conn, func(tx pgx.Tx) {
				subject, org, want := setup(tx)
				got := beginAs(t, tx, subject, org)
				var auth *string
				queryRow(t, tx, "SELECT public.auth_org_id()::text", nil, &auth)
				if show(got) != want || show(auth) != want {
					t.Errorf("acting as %s in org %q: begin_request() = %s and then public.auth_org_id() = %s, want %s", subject, org, show(got), show(auth), want)
				}
			})
		})
	}
	try(t, "with_org", func(tx pgx.Tx) (string, string, string) {
		org, subject := probeOrg, probeUser
		if memberSQL != "" {
			org = newOrg(t, tx)
			subject = memberOf(t, tx, probeUser, org)
		}
		return subject, org, org
	})
	try(t, "without_org", func(pgx.Tx) (string, string, string) {
		return probeUser, "", "NULL"
	})
	if memberSQL == "" {
		return
	}
	try(t, "claim_without_membership", func(tx pgx.Tx) (string, string, string) {
		org := newOrg(t, tx)
		subject := memberOf(t, tx, probeUser, org)
		exec(t, tx, leaveSQL, subject, org)
		return subject, org, "NULL"
	})
}

// citusRollback is rollback with Citus's sequential mode: a check may add
// an org (a reference table) after it changed a distributed table, which
// Citus refuses in one transaction once it wrote to shards in parallel.
func citusRollback(t *testing.T, conn *pgx.Conn, fn func(tx pgx.Tx)) {
	t.Helper()
	rollback(t, conn, func(tx pgx.Tx) {
		exec(t, tx, "SET LOCAL citus.multi_shard_modify_mode TO 'sequential'")
		fn(tx)
	})
}

// beginAs acts as a request of subject in org (none when empty) and starts
// it the way the app does on the cluster, returning the org
// beginRequestSQL settled.
func beginAs(t *testing.T, tx pgx.Tx, subject, org string) *string {
	t.Helper()
	actAsOrg(t, tx, subject, org)
	var got *string
	queryRow(t, tx, beginRequestSQL, nil, &got)
	return got
}

// rowWhere names one row of the table: its org routes the statement to one
// shard, where tableoid (the shard's) and ctid are unique.
func rowWhere(first int) string {
	return fmt.Sprintf("%s = $%d AND tableoid = $%d AND ctid = $%d::tid", quote(orgColumn), first, first+1, first+2)
}

// checkDistributed: the table is hash-distributed by orgColumn, colocated
// with the first scoped table, so that an org's joins stay on one node.
func checkDistributed(t *testing.T, c *checker) {
	const sql = `SELECT p.partmethod::text, coalesce(pg_catalog.column_to_column_name(p.logicalrelid, p.partkey), ''), p.colocationid,
       (SELECT f.colocationid FROM pg_catalog.pg_dist_partition f WHERE f.logicalrelid = $2::regclass)
FROM pg_catalog.pg_dist_partition p
WHERE p.logicalrelid = $1::regclass`
	var method, column string
	var group int64
	var first *int64
	if !queryRow(t, c.conn, sql, []any{c.table.ident(), scopedTables[0].ident()}, &method, &column, &group, &first) {
		t.Fatalf("%s is not a Citus table: the distribution (phase 8) is missing", c.table)
	}
	if method != "h" || column != orgColumn {
		t.Errorf("%s is distributed by %q (method %s), want hash by %s", c.table, column, method, orgColumn)
	}
	if first == nil || group != *first {
		t.Errorf("%s is in colocation group %d, want %s's (%v): an org's rows of both must be on one node", c.table, group, scopedTables[0], show(int64Text(first)))
	}
}

// int64Text is a nullable integer as nullable text.
func int64Text(n *int64) *string {
	if n == nil {
		return nil
	}
	return strPtr(fmt.Sprint(*n))
}

// checkOrgDefault: orgColumn defaults to public.auth_org_id(), so that a
// row written without it gets the request's org, as the fill trigger gave
// it on one node.
func checkOrgDefault(t *testing.T, c *checker) {
	const sql = `SELECT coalesce(pg_catalog.pg_get_expr(d.adbin, d.adrelid), '')
FROM pg_catalog.pg_attribute a LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = $1::regclass AND a.attname = $2`
	var def string
	queryRow(t, c.conn, sql, []any{c.table.ident(), orgColumn}, &def)
	if !strings.Contains(def, "auth_org_id()") {
		t.Errorf("%s: %s defaults to %q, want public.auth_org_id()", c.table, orgColumn, def)
	}
}

// checkCitusInsertWithoutOrg: a row written with no orgColumn outside any
// request (so the default is NULL) is refused: Citus cannot place a row
// without its shard key. (On one node the policy may give such a row the
// default org; on the cluster the app must name the org.)
func checkCitusInsertWithoutOrg(t *testing.T, c *checker) {
	citusRollback(t, c.conn, func(tx pgx.Tx) {
		clearOrg(t, tx)
		_, err := tx.Exec(context.Background(), "INSERT INTO "+c.table.ident()+" DEFAULT VALUES")
		var pgErr *pgconn.PgError
		switch {
		case err == nil:
			t.Errorf("%s: a row with no %s and no request was inserted; want it refused", c.table, orgColumn)
		case errors.As(err, &pgErr) && (pgErr.Code == "22004" || pgErr.Code == "23502" && pgErr.ColumnName == orgColumn):
			t.Logf("refused: %s", pgErr.Message)
		default:
			t.Errorf("%s: inserting a row with no %s: got %v; want Citus's refusal of a NULL shard key (22004)", c.table, orgColumn, err)
		}
	})
}

// checkCitusOrgChange moves an existing row to a throwaway org, which Citus
// refuses (0A000: a row cannot change shards), also under
// session_replication_role = replica; rows of the default org too, which
// must get their real org before phase 8.
func checkCitusOrgChange(t *testing.T, c *checker, replica bool) {
	if c.row == nil {
		t.Logf("%s has no row to change: distributed_by_org asserts the shard key", c.table)
		return
	}
	citusRollback(t, c.conn, func(tx pgx.Tx) {
		org := newOrg(t, tx)
		if replica {
			exec(t, tx, "SET LOCAL session_replication_role = replica")
		}
		sql := fmt.Sprintf("UPDATE %s SET %s = $1 WHERE %s", c.table.ident(), quote(orgColumn), rowWhere(2))
		_, err := tx.Exec(context.Background(), sql, org, c.row.Org, c.row.TableOID, c.row.CTID)
		var pgErr *pgconn.PgError
		switch {
		case err == nil:
			t.Errorf("%s: changing a row's %s from %s to %s succeeded; want Citus's refusal (0A000)", c.table, orgColumn, c.row.Org, org)
		case !errors.As(err, &pgErr) || pgErr.Code != "0A000":
			t.Errorf("%s: changing a row's %s: got %v; want Citus's refusal (0A000)", c.table, orgColumn, err)
		default:
			t.Logf("refused: %s", pgErr.Message)
		}
	})
}

// checkCitusNormalUpdate sets a column of an existing row to its own value:
// exactly that row changes, and keeps its org.
func checkCitusNormalUpdate(t *testing.T, c *checker) {
	if c.row == nil {
		t.Logf("%s has no row to update", c.table)
		return
	}
	citusRollback(t, c.conn, func(tx pgx.Tx) {
		col := quote(c.table.UpdateColumn)
		sql := fmt.Sprintf("UPDATE %s SET %s = %s WHERE %s RETURNING %s::text", c.table.ident(), col, col, rowWhere(1), quote(orgColumn))
		rows, err := tx.Query(context.Background(), sql, c.row.Org, c.row.TableOID, c.row.CTID)
		if err != nil {
			t.Fatalf("%s: a normal update failed: %v\n%s", c.table, err, sql)
		}
		orgs, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("%s: a normal update failed: %v\n%s", c.table, err, sql)
		}
		if len(orgs) != 1 || orgs[0] != c.row.Org {
			t.Errorf("%s: a normal update of one row of org %s returned orgs %v", c.table, c.row.Org, orgs)
		}
	})
}

// checkFoldedPolicies: row-level security is on, no restrictive policy is
// left (Citus would copy it as permissive), warden's are gone, and every
// permissive policy compares orgColumn with auth_org_id(): the
// restrictive condition was folded into each.
func checkFoldedPolicies(t *testing.T, c *checker) {
	var enabled bool
	queryRow(t, c.conn, "SELECT relrowsecurity FROM pg_catalog.pg_class WHERE oid = $1::regclass", []any{c.table.ident()}, &enabled)
	if !enabled {
		t.Errorf("%s: row-level security is not enabled", c.table)
	}
	rows, err := c.conn.Query(context.Background(), `SELECT p.polname::text, p.polpermissive,
       coalesce(pg_catalog.pg_get_expr(p.polqual, p.polrelid), '') || ' ' ||
       coalesce(pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid), '')
FROM pg_catalog.pg_policy p
WHERE p.polrelid = $1::regclass
ORDER BY 1`, c.table.ident())
	if err != nil {
		t.Fatal(err)
	}
	type pol struct {
		name       string
		permissive bool
		exprs      string
	}
	policies, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (p pol, err error) {
		err = r.Scan(&p.name, &p.permissive, &p.exprs)
		return p, err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(policies) == 0 {
		t.Errorf("%s has no policy: with row-level security on, no request reads a row", c.table)
	}
	for _, p := range policies {
		for _, r := range restrictivePolicies {
			if p.name == r.Name {
				t.Errorf("%s: policy %s is still there: phase 8 folds it into the permissive policies", c.table, p.name)
			}
		}
		if !p.permissive {
			t.Errorf("%s: policy %s is RESTRICTIVE, which Citus copies to the shards as PERMISSIVE", c.table, p.name)
		}
		if !strings.Contains(p.exprs, orgColumn) || !strings.Contains(p.exprs, "auth_org_id()") {
			t.Errorf("%s: policy %s does not compare %s with auth_org_id(): %s", c.table, p.name, orgColumn, p.exprs)
		}
	}
}

// checkCitusIsolation acts as a user of the sample row's org through
// beginRequestSQL: it must see no row of another org (and, where warden's
// policy is the only permissive one, every row of its own), and updating or
// deleting another org's row must touch nothing. A user of an org with no
// rows sees nothing.
func checkCitusIsolation(t *testing.T, c *checker) {
	citusRollback(t, c.conn, func(tx pgx.Tx) {
		count := fmt.Sprintf("SELECT count(*), count(*) FILTER (WHERE %s IS DISTINCT FROM $1) FROM %s", quote(orgColumn), c.table.ident())
		var visible, foreign int64
		if c.row == nil {
			t.Logf("%s has no rows: only a user of an org with no rows is tried", c.table)
		} else {
			org := c.row.Org
			var total, others int64
			queryRow(t, tx, count, []any{org}, &total, &others)
			subject := probeUser
			var other *rowRef
			if others > 0 {
				other = &rowRef{}
				var owner *string
				sql := fmt.Sprintf("SELECT r.%s::text, r.tableoid, r.ctid::text, to_jsonb(r) ->> $2 FROM %s r WHERE r.%s <> $1 LIMIT 1", quote(orgColumn), c.table.ident(), quote(orgColumn))
				queryRow(t, tx, sql, []any{org, c.table.Owner}, &other.Org, &other.TableOID, &other.CTID, &owner)
				if owner != nil {
					subject = *owner
				}
			}
			subject = memberOf(t, tx, subject, org)
			if got := beginAs(t, tx, subject, org); show(got) != org {
				t.Fatalf("%s: begin_request() as %s in org %s = %s", c.table, subject, org, show(got))
			}
			queryRow(t, tx, count, []any{org}, &visible, &foreign)
			if foreign > 0 {
				t.Errorf("%s: a user of org %s sees %d rows of other orgs", c.table, org, foreign)
			}
			if c.table.OrgPolicy && visible != total-others {
				t.Errorf("%s: a user of org %s sees %d of its org's %d rows", c.table, org, visible, total-others)
			}
			t.Logf("a user of org %s (subject %s) sees %d rows; the table has %d rows of other orgs", org, subject, visible, others)
			if other != nil {
				col := quote(c.table.UpdateColumn)
				for _, sql := range []string{
					fmt.Sprintf("UPDATE %s SET %s = %s WHERE %s", c.table.ident(), col, col, rowWhere(1)),
					fmt.Sprintf("DELETE FROM %s WHERE %s", c.table.ident(), rowWhere(1)),
				} {
					tag, err := tx.Exec(context.Background(), sql, other.Org, other.TableOID, other.CTID)
					if err != nil {
						t.Fatalf("%s: %v\n%s", c.table, err, sql)
					}
					if tag.RowsAffected() != 0 {
						t.Errorf("%s: a user of org %s changed a row of org %s: %s", c.table, org, other.Org, tag)
					}
				}
			}
		}
		empty, subject := probeOrg, probeUser
		if memberSQL != "" {
			exec(t, tx, "RESET ROLE")
			empty = newOrg(t, tx)
			subject = memberOf(t, tx, probeUser, empty)
		}
		beginAs(t, tx, subject, empty)
		queryRow(t, tx, count, []any{empty}, &visible, &foreign)
		if visible > 0 {
			t.Errorf("%s: a user of an org with no rows sees %d rows", c.table, visible)
		}
	})
}

// checkCitusNoOrgClaim: a request without an org sees nothing, and so does
// a request of a member that never called beginRequestSQL (its claims do
// not reach the workers): the table reads empty or the request is refused,
// but no row comes back.
func checkCitusNoOrgClaim(t *testing.T, c *checker) {
	citusRollback(t, c.conn, func(tx pgx.Tx) {
		beginAs(t, tx, probeUser, "")
		var n int64
		queryRow(t, tx, "SELECT count(*) FROM "+c.table.ident(), nil, &n)
		if n > 0 {
			t.Errorf("%s: a request without an org (subject %s) sees %d rows", c.table, probeUser, n)
		}
	})
	if c.row == nil {
		return
	}
	citusRollback(t, c.conn, func(tx pgx.Tx) {
		subject := memberOf(t, tx, probeUser, c.row.Org)
		actAsOrg(t, tx, subject, c.row.Org)
		var n int64
		err := tx.QueryRow(context.Background(), "SELECT count(*) FROM "+c.table.ident()).Scan(&n)
		switch {
		case err != nil:
			t.Logf("without begin_request() the request is refused: %v", err)
		case n > 0:
			t.Errorf("%s: a member of org %s that did not call begin_request() sees %d rows", c.table, c.row.Org, n)
		}
	})
}
