package kit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The checks below are the same for every plan: they read what the plan
// says from the constants and tables of the generated data file beside this
// one (warden_verify_test.go), whose types this file declares.

// probeUser is an id no user has: the JWT subject of tokens that must see
// nothing, a version 4 UUID with a readable tail. (probeOrg, an org key no
// org has, is of the tenant key's type: it is in the data file.)
const probeUser = "00000000-0000-4000-8000-00000000a5e1"

// scopedTable is a table the migrations moved to org ownership, with the
// names of what they created for it.
type scopedTable struct {
	Schema, Name string
	ForeignKey   string
	Index        string
	// IndexColumns are the index's key columns, orgColumn first.
	IndexColumns []string
	// OrgPolicy is true where the migrations added orgAccessPolicy.
	OrgPolicy bool
	// UpdateColumn is what a normal update sets to its own value.
	UpdateColumn string
	// NoOrg replaces the owner or parent key columns the org is derived
	// from with values that name no user or parent row: a copy of a row
	// with them has no derivable org, and inserting it must fail.
	NoOrg []columnValue
	// Owner is the uuid ownership column, if any: the isolation check uses
	// the owner of another org's row as the JWT subject, so the app's own
	// per-user policies are put to the test too.
	Owner string
	// NoFill marks a table that already carried orgColumn: the migrations
	// finished it (key, index, NOT NULL, immutability, RLS) but fill
	// nothing, so it has no fill trigger to check.
	NoFill bool
	// NoOrgGets is the org a row with nothing to derive from gets where the
	// policy gives such rows the default org (when_null); "" means the
	// insert must fail with a NOT NULL violation.
	NoOrgGets string
	// OnDelete is the foreign key's ON DELETE where it is the table's own
	// (it already carried orgColumn with one); "" means onDelete.
	OnDelete string
}

// columnValue is a column and the SQL of its value.
type columnValue struct {
	Column, SQL string
}

// policy is a row-level security policy and its command.
type policy struct {
	Name, Command string
}

// table is a table that must stay without orgColumn.
type table struct {
	Schema, Name string
}

// scopedChecks are the subtests of every scoped table, in order: catalog
// facts first, then row behaviour, then row-level security.
var scopedChecks = []struct {
	name string
	run  func(t *testing.T, c *checker)
}{
	{"column_type", checkColumnType},
	{"not_null", checkNotNull},
	{"foreign_key", checkForeignKey},
	{"index", checkIndex},
	{"no_null_rows", checkNoNullRows},
	{"fill_trigger", checkFillTrigger},
	{"insert_without_org_fails", checkInsertWithoutOrg},
	{"immutable_trigger", checkImmutableTrigger},
	{"immutable_change_fails", func(t *testing.T, c *checker) {
		checkOrgChange(t, c, false)
	}},
	{"immutable_change_fails_as_replica", func(t *testing.T, c *checker) {
		checkOrgChange(t, c, true)
	}},
	{"normal_update_succeeds", checkNormalUpdate},
	{"rls_policies", checkPolicies},
	{"rls_isolation", checkIsolation},
	{"rls_no_org_claim", checkNoOrgClaim},
	{"rls_anon", checkAnon},
}

// TestScopedTables checks every table moved to org ownership, one subtest
// per table and check.
func TestScopedTables(t *testing.T) {
	conn := connect(t)
	for _, st := range scopedTables {
		t.Run(st.String(), func(t *testing.T) {
			c := &checker{conn: conn, table: st, row: sampleRow(t, conn, st)}
			if c.row == nil {
				t.Logf("%s has no rows: the checks that need one assert catalog facts only", st)
			}
			for _, check := range scopedChecks {
				if check.name == "rls_anon" && requestContext != "supabase" {
					continue // only Supabase has an anon role to try
				}
				if check.name == "fill_trigger" && st.NoFill {
					continue // nothing fills a column the table already had
				}
				t.Run(check.name, func(t *testing.T) {
					check.run(t, c)
				})
			}
		})
	}
}

// TestExcludedTables checks that the user-owned tables have no orgColumn
// and no trigger or policy of warden's.
func TestExcludedTables(t *testing.T) {
	checkUntouched(t, excludedTables)
}

// TestGlobalTables checks the same of the shared reference tables.
func TestGlobalTables(t *testing.T) {
	checkUntouched(t, globalTables)
}

// TestAuthOrgID checks public.auth_org_id(): the org the request claims,
// NULL without one, callable by actingRole. Where the request names its
// user (memberSQL is set), the claim counts only for a member of the
// claimed org: the member gets it, a user who is no member gets NULL, and a
// request without a claim gets the user's own org.
func TestAuthOrgID(t *testing.T) {
	conn := connect(t)
	t.Run("with_org", func(t *testing.T) {
		rollback(t, conn, func(tx pgx.Tx) {
			org, subject := probeOrg, probeUser
			if memberSQL != "" {
				org = newOrg(t, tx)
				subject = memberOf(t, tx, probeUser, org)
			}
			actAsOrg(t, tx, subject, org)
			var got *string
			queryRow(t, tx, "SELECT public.auth_org_id()::text", nil, &got)
			if show(got) != org {
				t.Errorf("public.auth_org_id() = %s acting as %s in org %q, want %s", show(got), subject, org, org)
			}
		})
	})
	t.Run("without_org", func(t *testing.T) {
		rollback(t, conn, func(tx pgx.Tx) {
			actAsOrg(t, tx, probeUser, "")
			var got *string
			queryRow(t, tx, "SELECT public.auth_org_id()::text", nil, &got)
			if got != nil {
				t.Errorf("public.auth_org_id() = %s for a request with no org and no user, want NULL", show(got))
			}
		})
	})
	if memberSQL == "" {
		return
	}
	t.Run("claim_without_membership", func(t *testing.T) {
		rollback(t, conn, func(tx pgx.Tx) {
			org := newOrg(t, tx)
			subject := memberOf(t, tx, probeUser, org)
			exec(t, tx, leaveSQL, subject, org)
			actAsOrg(t, tx, subject, org)
			var got *string
			queryRow(t, tx, "SELECT public.auth_org_id()::text", nil, &got)
			if got != nil {
				t.Errorf("public.auth_org_id() = %s for user %s claiming org %s after leaving it, want NULL", show(got), subject, org)
			}
		})
	})
	t.Run("no_claim_yet", func(t *testing.T) {
		rollback(t, conn, func(tx pgx.Tx) {
			org := newOrg(t, tx)
			subject := memberOf(t, tx, probeUser, org)
			var want *string
			queryRow(t, tx, userOrgSQL, []any{subject}, &want)
			actAsOrg(t, tx, subject, "")
			var got *string
			queryRow(t, tx, "SELECT public.auth_org_id()::text", nil, &got)
			if want == nil || show(got) != show(want) {
				t.Errorf("public.auth_org_id() = %s for member %s with no org claim, want their org %s", show(got), subject, show(want))
			}
		})
	})
}

// TestUsersHaveOrgClaim checks that every user's org names an existing org:
// the claim in app_metadata, which every token then carries, where the
// request context keeps one (Supabase); else the org the policy's mapping
// gives the user.
func TestUsersHaveOrgClaim(t *testing.T) {
	conn := connect(t)
	var users, missing, unknown int64
	var examples []string
	queryRow(t, conn, usersClaimSQL, nil, &users, &missing, &unknown, &examples)
	if missing > 0 || unknown > 0 {
		t.Errorf("of %d users, %d have no %s claim and %d have an org that does not exist (e.g. %s)", users, missing, orgColumn, unknown, strings.Join(examples, ", "))
	}
	if users == 0 {
		t.Log("there are no users")
	}
}

// checker holds what the checks of one scoped table share.
type checker struct {
	conn  *pgx.Conn
	table scopedTable
	// row is an existing row of the table, nil when it has none.
	row *rowRef
}

// rowRef locates one row (TableOID is the partition's for a partitioned
// table) and holds its org and owner.
type rowRef struct {
	TableOID   uint32
	CTID       string
	Org, Owner string
}

// String names the table schema.name, as the subtests do.
func (st scopedTable) String() string {
	return st.Schema + "." + st.Name
}

// ident is the table's quoted, qualified name for SQL text.
func (st scopedTable) ident() string {
	return pgx.Identifier{st.Schema, st.Name}.Sanitize()
}

// sampleRow returns one row of the table, or nil when it is empty. It reads
// the row as JSON so that a missing orgColumn fails its own check,
// not this one.
func sampleRow(t *testing.T, conn *pgx.Conn, st scopedTable) *rowRef {
	t.Helper()
	var r rowRef
	var org, owner *string
	// A row of a real org where there is one: a row of the default org may
	// leave it once, so it tells less about immutability.
	sql := fmt.Sprintf("SELECT r.tableoid, r.ctid::text, to_jsonb(r) ->> $1, to_jsonb(r) ->> $2 FROM %s r ORDER BY (to_jsonb(r) ->> $1) IS NOT DISTINCT FROM $3 LIMIT 1", st.ident())
	if !queryRow(t, conn, sql, []any{orgColumn, st.Owner, defaultOrg}, &r.TableOID, &r.CTID, &org, &owner) {
		return nil
	}
	r.Org, r.Owner = text(org), text(owner)
	return &r
}

// checkColumnType: the table has orgColumn, of the tenant key's type.
func checkColumnType(t *testing.T, c *checker) {
	typ, _ := orgColumnOf(t, c)
	if typ != orgType {
		t.Errorf("%s.%s is %s, want %s", c.table, orgColumn, typ, orgType)
	}
}

// checkNotNull: orgColumn is NOT NULL.
func checkNotNull(t *testing.T, c *checker) {
	if _, notNull := orgColumnOf(t, c); !notNull {
		t.Errorf("%s.%s allows NULL: SET NOT NULL (phase 4) is missing", c.table, orgColumn)
	}
}

// orgColumnOf returns the type of the table's orgColumn and whether it is NOT
// NULL, and fails the test when there is no such column.
func orgColumnOf(t *testing.T, c *checker) (typ string, notNull bool) {
	t.Helper()
	const sql = `SELECT pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull
FROM pg_catalog.pg_attribute a
WHERE a.attrelid = $1::regclass AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped`
	if !queryRow(t, c.conn, sql, []any{c.table.ident(), orgColumn}, &typ, &notNull) {
		t.Fatalf("%s has no column %s", c.table, orgColumn)
	}
	return typ, notNull
}

// checkForeignKey: orgColumn references the tenant with the policy's ON DELETE,
// and the constraint is validated.
func checkForeignKey(t *testing.T, c *checker) {
	const sql = `SELECT c.confrelid = $3::regclass,
       ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
             JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i),
       ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
             JOIN pg_catalog.pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i),
       CASE c.confdeltype WHEN 'a' THEN 'no action' WHEN 'r' THEN 'restrict' WHEN 'c' THEN 'cascade'
                          WHEN 'n' THEN 'set null' WHEN 'd' THEN 'set default' END,
       c.convalidated, pg_catalog.pg_get_constraintdef(c.oid)
FROM pg_catalog.pg_constraint c
WHERE c.conrelid = $1::regclass AND c.conname = $2 AND c.contype = 'f'`
	var toTenant, validated bool
	var cols, refCols []string
	var del, def string
	fk := c.table.ForeignKey
	if !queryRow(t, c.conn, sql, []any{c.table.ident(), fk, tenantTable}, &toTenant, &cols, &refCols, &del, &validated, &def) {
		t.Fatalf("%s has no foreign key %s", c.table, fk)
	}
	if !toTenant || strings.Join(cols, ",") != orgColumn || strings.Join(refCols, ",") != tenantKey {
		t.Errorf("%s: foreign key %s is %s, want FOREIGN KEY (%s) REFERENCES %s(%s)", c.table, fk, def, orgColumn, tenantTable, tenantKey)
	}
	want := onDelete
	if c.table.OnDelete != "" {
		want = c.table.OnDelete
	}
	if del != want {
		t.Errorf("%s: foreign key %s is ON DELETE %s, want ON DELETE %s", c.table, fk, strings.ToUpper(del), strings.ToUpper(want))
	}
	if !validated {
		t.Errorf("%s: foreign key %s is NOT VALID: its validation (phase 4) is missing", c.table, fk)
	}
}

// checkIndex: the index led by orgColumn (then the parent key, for a table that
// inherits its org) exists and is VALID.
func checkIndex(t *testing.T, c *checker) {
	const sql = `SELECT i.indisvalid,
       ARRAY(SELECT coalesce(a.attname::text, pg_catalog.pg_get_indexdef(i.indexrelid, k.i::int, true))
             FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(n, i)
             LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n
             WHERE k.i <= i.indnkeyatts ORDER BY k.i)
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class x ON x.oid = i.indexrelid
WHERE i.indrelid = $1::regclass AND x.relname = $2`
	var valid bool
	var cols []string
	index := c.table.Index
	if !queryRow(t, c.conn, sql, []any{c.table.ident(), index}, &valid, &cols) {
		t.Fatalf("%s has no index %s", c.table, index)
	}
	if got, want := strings.Join(cols, ", "), strings.Join(c.table.IndexColumns, ", "); got != want {
		t.Errorf("%s: index %s is on (%s), want (%s)", c.table, index, got, want)
	}
	if !valid {
		t.Errorf("%s: index %s is INVALID, left by a failed concurrent build: drop it and apply its migration again", c.table, index)
	}
}

// checkNoNullRows: every row has an org.
func checkNoNullRows(t *testing.T, c *checker) {
	var n int64
	sql := fmt.Sprintf("SELECT count(*) FROM %s WHERE %s IS NULL", c.table.ident(), quote(orgColumn))
	queryRow(t, c.conn, sql, nil, &n)
	if n > 0 {
		t.Errorf("%s: %d rows have no %s", c.table, n, orgColumn)
	}
}

// triggerSQL describes a trigger of a table: row level, BEFORE, fired on
// INSERT, fired on UPDATE, and its enabled state (O origin, A always,
// R replica, D disabled).
const triggerSQL = `SELECT t.tgtype::int & 1 = 1, t.tgtype::int & 2 = 2, t.tgtype::int & 4 = 4, t.tgtype::int & 16 = 16,
       t.tgenabled::text
FROM pg_catalog.pg_trigger t
WHERE t.tgrelid = $1::regclass AND t.tgname = $2 AND NOT t.tgisinternal`

// trigger returns what triggerSQL says of the table's trigger name, and fails
// the test when there is none.
func trigger(t *testing.T, c *checker, name, missing string) (row, before, insert, update bool, enabled string) {
	t.Helper()
	if !queryRow(t, c.conn, triggerSQL, []any{c.table.ident(), name}, &row, &before, &insert, &update, &enabled) {
		t.Fatalf("%s has no trigger %s%s", c.table, name, missing)
	}
	return
}

// checkFillTrigger: the fill trigger fires before every insert and update
// of a row.
func checkFillTrigger(t *testing.T, c *checker) {
	row, before, insert, update, enabled := trigger(t, c, fillTrigger, "")
	if !row || !before || !insert || !update {
		t.Errorf("%s: trigger %s is not BEFORE INSERT OR UPDATE FOR EACH ROW", c.table, fillTrigger)
	}
	if enabled == "D" {
		t.Errorf("%s: trigger %s is disabled", c.table, fillTrigger)
	}
}

// checkImmutableTrigger: the immutability trigger fires before every update
// of a row and is enabled ALWAYS, on the table and on each partition.
func checkImmutableTrigger(t *testing.T, c *checker) {
	row, before, _, update, enabled := trigger(t, c, immutableTrigger, ": the "+orgColumn+" immutability (phase 6) is missing")
	if !row || !before || !update {
		t.Errorf("%s: trigger %s is not BEFORE UPDATE FOR EACH ROW", c.table, immutableTrigger)
	}
	if enabled != "A" {
		t.Errorf("%s: trigger %s is enabled %q, want ALWAYS (A): replication mode would skip it", c.table, immutableTrigger, enabled)
	}
	// A partitioned table's partitions carry clones of the trigger; each
	// must fire always too.
	const sql = `SELECT ARRAY(
  SELECT p.relid::regclass::text FROM pg_catalog.pg_partition_tree($1::regclass) p
  WHERE p.isleaf AND p.relid <> $1::regclass AND NOT EXISTS (
    SELECT 1 FROM pg_catalog.pg_trigger t WHERE t.tgrelid = p.relid AND t.tgname = $2 AND t.tgenabled = 'A')
  ORDER BY 1)`
	var partitions []string
	queryRow(t, c.conn, sql, []any{c.table.ident(), immutableTrigger}, &partitions)
	if len(partitions) > 0 {
		t.Errorf("%s: partitions without trigger %s enabled ALWAYS: %s", c.table, immutableTrigger, strings.Join(partitions, ", "))
	}
}

// checkInsertWithoutOrg copies an existing row with its owner or parent key
// replaced by one that names no user or parent row, and no JWT: the fill
// trigger has nothing to derive orgColumn from, so NOT NULL must reject the
// row. (A bare INSERT of NULL would trip over the table's other NOT NULL
// columns first; the copy has them all.)
func checkInsertWithoutOrg(t *testing.T, c *checker) {
	if c.row == nil {
		t.Logf("%s has no row to copy: NOT NULL is asserted by not_null only", c.table)
		return
	}
	if len(c.table.NoOrg) == 0 {
		t.Logf("%s: no value naming no owner or parent can be written for its key: NOT NULL is asserted by not_null only", c.table)
		return
	}
	rollback(t, c.conn, func(tx pgx.Tx) {
		clearOrg(t, tx)
		// The copied columns: those without a default (a default may fill a
		// unique key), plus the ones NoOrg replaces.
		const columnsSQL = `SELECT coalesce(array_agg(a.attname::text ORDER BY a.attnum), '{}')
FROM pg_catalog.pg_attribute a
WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped AND a.attname <> $2
  AND a.attgenerated = '' AND a.attidentity = '' AND (NOT a.atthasdef OR a.attname = ANY($3))`
		var noOrg []string
		for _, v := range c.table.NoOrg {
			noOrg = append(noOrg, v.Column)
		}
		var cols []string
		queryRow(t, tx, columnsSQL, []any{c.table.ident(), orgColumn, noOrg}, &cols)
		var names, values []string
		for _, col := range cols {
			value := "r." + quote(col)
			for _, v := range c.table.NoOrg {
				if v.Column == col {
					value = v.SQL
				}
			}
			names = append(names, quote(col))
			values = append(values, value)
		}
		sql := fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s r WHERE r.tableoid = $1 AND r.ctid = $2::tid RETURNING %s::text", c.table.ident(), strings.Join(names, ", "), strings.Join(values, ", "), c.table.ident(), quote(orgColumn))
		var org *string
		err := tx.QueryRow(context.Background(), sql, c.row.TableOID, c.row.CTID).Scan(&org)
		var pgErr *pgconn.PgError
		switch {
		case c.table.NoOrgGets != "" && errors.As(err, &pgErr) && (pgErr.Code == "23514" || pgErr.Code == "23502" && pgErr.ColumnName != orgColumn):
			// The app's own rule (a check, a NOT NULL column) refuses a row
			// with every source NULL before the default org could be given.
			t.Logf("%s: a row with every source NULL is refused by the app's own rule first (%s); the default org for such rows is asserted by the backfill only", c.table, pgErr.Message)
		case c.table.NoOrgGets != "":
			if err != nil || org == nil || *org != c.table.NoOrgGets {
				t.Errorf("%s: a row with nothing to derive %s from: got %s (%v); the policy gives such rows the default org %s\n%s", c.table, orgColumn, show(org), err, c.table.NoOrgGets, sql)
			}
		case err == nil:
			t.Errorf("%s: a row with nothing to derive %s from was inserted with %s %s; want a NOT NULL violation\n%s", c.table, orgColumn, orgColumn, show(org), sql)
		case errors.As(err, &pgErr) && pgErr.Code == "23502" && pgErr.ColumnName == orgColumn:
			t.Logf("rejected: %s", pgErr.Message)
		case errors.As(err, &pgErr) && appRule(pgErr):
			// A prerequisite the check cannot create: the app refuses the
			// copied row for a reason of its own before NOT NULL is tried.
			t.Logf("%s: the app's own rule refuses the copied row first (%s %s: %s); NOT NULL is asserted by not_null only", c.table, pgErr.Code, pgErr.ConstraintName, pgErr.Message)
		default:
			t.Errorf("%s: inserting a row with nothing to derive %s from: got %v; want a NOT NULL violation of %s (23502)\n%s", c.table, orgColumn, err, orgColumn, sql)
		}
	})
}

// appRule reports whether err is the app's own rule refusing a row before
// NOT NULL of orgColumn is tried: an exception its own BEFORE trigger
// raises (warden's say "warden" or use their own SQLSTATEs), or NOT NULL
// of another column. (CHECK and unique violations come after NOT NULL:
// with one, orgColumn was not NULL, which is no app rule.)
func appRule(err *pgconn.PgError) bool {
	switch err.Code {
	case "23502":
		return err.ColumnName != orgColumn
	case "P0001":
		return !strings.HasPrefix(err.Message, "warden")
	}
	return false
}

// checkOrgChange moves an existing row to a throwaway org, which the
// immutability trigger must reject with immutableSQLState, naming the table
// and column. With replica it runs under session_replication_role =
// replica, which skips every trigger not enabled ALWAYS (and foreign keys).
func checkOrgChange(t *testing.T, c *checker, replica bool) {
	if c.row == nil {
		t.Logf("%s has no row to change: the trigger is asserted by immutable_trigger only", c.table)
		return
	}
	rollback(t, c.conn, func(tx pgx.Tx) {
		var org string
		queryRow(t, tx, newOrgSQL, nil, &org)
		if replica {
			exec(t, tx, "SET LOCAL session_replication_role = replica")
		}
		sql := fmt.Sprintf("UPDATE %s SET %s = $1 WHERE tableoid = $2 AND ctid = $3::tid RETURNING ctid::text", c.table.ident(), quote(orgColumn))
		from, ctid := c.row.Org, c.row.CTID
		if from == defaultOrg {
			// Every row of the table is in the default org, which a row
			// may leave once, for a real org: that move must succeed, and
			// the next one fail.
			if err := tx.QueryRow(context.Background(), sql, org, c.row.TableOID, ctid).Scan(&ctid); err != nil {
				t.Fatalf("%s: giving a row of the default org %s org %s: %v; a row may leave the default org once", c.table, defaultOrg, org, err)
			}
			from = org
			queryRow(t, tx, newOrgSQL, nil, &org)
		}
		_, err := tx.Exec(context.Background(), sql, org, c.row.TableOID, ctid)
		var pgErr *pgconn.PgError
		switch {
		case err == nil:
			t.Errorf("%s: changing a row's %s from %s to %s succeeded; want SQLSTATE %s", c.table, orgColumn, from, org, immutableSQLState)
		case !errors.As(err, &pgErr) || pgErr.Code != immutableSQLState:
			t.Errorf("%s: changing a row's %s: got %v; want SQLSTATE %s", c.table, orgColumn, err, immutableSQLState)
		case !strings.Contains(pgErr.Message, c.table.Name) || !strings.Contains(pgErr.Message, orgColumn):
			t.Errorf("%s: the error %q does not name the table and %s", c.table, pgErr.Message, orgColumn)
		}
	})
}

// checkNormalUpdate sets a column of an existing row to its own value: the
// immutability trigger fires on every update and must let it pass.
func checkNormalUpdate(t *testing.T, c *checker) {
	if c.row == nil {
		t.Logf("%s has no row to update", c.table)
		return
	}
	rollback(t, c.conn, func(tx pgx.Tx) {
		col := quote(c.table.UpdateColumn)
		sql := fmt.Sprintf("UPDATE %s SET %s = %s WHERE tableoid = $1 AND ctid = $2::tid RETURNING %s::text", c.table.ident(), col, col, quote(orgColumn))
		var org *string
		if err := tx.QueryRow(context.Background(), sql, c.row.TableOID, c.row.CTID).Scan(&org); err != nil {
			t.Fatalf("%s: a normal update failed: %v\n%s", c.table, err, sql)
		}
		if text(org) != c.row.Org {
			t.Errorf("%s: a normal update changed %s from %s to %s", c.table, orgColumn, c.row.Org, show(org))
		}
	})
}

// checkPolicies checks that row-level security is on and that warden's
// policies are there: RESTRICTIVE, TO PUBLIC, comparing orgColumn with
// auth_org_id() (and the permissive orgAccessPolicy where it was added).
func checkPolicies(t *testing.T, c *checker) {
	var enabled bool
	queryRow(t, c.conn, "SELECT relrowsecurity FROM pg_catalog.pg_class WHERE oid = $1::regclass", []any{c.table.ident()}, &enabled)
	if !enabled {
		t.Errorf("%s: row-level security is not enabled", c.table)
	}
	const sql = `SELECT p.polpermissive,
       CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
       ARRAY(SELECT CASE r WHEN 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(r)::text END FROM pg_catalog.unnest(p.polroles) r ORDER BY 1) = $3::text[],
       coalesce(pg_catalog.pg_get_expr(p.polqual, p.polrelid), '') || ' ' ||
       coalesce(pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid), '')
FROM pg_catalog.pg_policy p
WHERE p.polrelid = $1::regclass AND p.polname = $2`
	want := append([]policy{}, restrictivePolicies...)
	if c.table.OrgPolicy {
		want = append(want, policy{Name: orgAccessPolicy, Command: "ALL"})
	}
	for _, p := range want {
		var permissive, roles bool
		var command, exprs string
		if !queryRow(t, c.conn, sql, []any{c.table.ident(), p.Name, policyRoles}, &permissive, &command, &roles, &exprs) {
			t.Errorf("%s has no policy %s", c.table, p.Name)
			continue
		}
		if wantPermissive := p.Name == orgAccessPolicy; permissive != wantPermissive {
			t.Errorf("%s: policy %s is %s, want %s", c.table, p.Name, kind(permissive), kind(wantPermissive))
		}
		if command != p.Command || !roles {
			t.Errorf("%s: policy %s is FOR %s (TO %s: %v), want FOR %s TO %s", c.table, p.Name, command, strings.Join(policyRoles, ", "), roles, p.Command, strings.Join(policyRoles, ", "))
		}
		if !strings.Contains(exprs, orgColumn) || !strings.Contains(exprs, "auth_org_id()") {
			t.Errorf("%s: policy %s does not compare %s with auth_org_id(): %s", c.table, p.Name, orgColumn, exprs)
		}
	}
}

// kind names a policy kind.
func kind(permissive bool) string {
	if permissive {
		return "PERMISSIVE"
	}
	return "RESTRICTIVE"
}

// checkIsolation acts as an authenticated user of the sample row's org: it
// must see no row of another org (and, where warden's policy is the only
// permissive one, every row of its own), and updating or deleting another
// org's row must touch nothing. A user of an org with no rows sees nothing.
func checkIsolation(t *testing.T, c *checker) {
	rollback(t, c.conn, func(tx pgx.Tx) {
		count := fmt.Sprintf("SELECT count(*), count(*) FILTER (WHERE %s IS DISTINCT FROM $1) FROM %s", quote(orgColumn), c.table.ident())
		var visible, foreign int64
		if c.row == nil {
			t.Logf("%s has no rows: only a user of an org with no rows is tried", c.table)
		} else {
			org := c.row.Org
			if org == "" {
				t.Fatalf("%s: the sample row has no %s", c.table, orgColumn)
			}
			// As the table owner: how many rows the org has, and a row of
			// another org with its owner as the JWT subject, so that a per-user
			// policy ("users read their own rows") is tried across orgs too.
			var total, others int64
			queryRow(t, tx, count, []any{org}, &total, &others)
			subject := probeUser
			var other *rowRef
			if others > 0 {
				other = &rowRef{}
				var owner *string
				sql := fmt.Sprintf("SELECT r.tableoid, r.ctid::text, to_jsonb(r) ->> $2 FROM %s r WHERE %s <> $1 LIMIT 1", c.table.ident(), quote(orgColumn))
				queryRow(t, tx, sql, []any{org, c.table.Owner}, &other.TableOID, &other.CTID, &owner)
				if owner != nil {
					subject = *owner
				}
			}
			subject = memberOf(t, tx, subject, org)
			actAsOrg(t, tx, subject, org)
			queryRow(t, tx, count, []any{org}, &visible, &foreign)
			if foreign > 0 {
				t.Errorf("%s: a user of org %s sees %d rows of other orgs", c.table, org, foreign)
			}
			if c.table.OrgPolicy && visible != total-others {
				t.Errorf("%s: a user of org %s sees %d of its org's %d rows", c.table, org, visible, total-others)
			}
			t.Logf("a user of org %s (subject %s) sees %d rows; the table has %d rows of other orgs", org, subject, visible, others)
			if other != nil {
				for _, sql := range []string{
					fmt.Sprintf("UPDATE %s SET %s = %s WHERE tableoid = $1 AND ctid = $2::tid", c.table.ident(), quote(orgColumn), quote(orgColumn)),
					fmt.Sprintf("DELETE FROM %s WHERE tableoid = $1 AND ctid = $2::tid", c.table.ident()),
				} {
					tag, err := tx.Exec(context.Background(), sql, other.TableOID, other.CTID)
					if err != nil {
						t.Fatalf("%s: %v\n%s", c.table, err, sql)
					}
					if tag.RowsAffected() != 0 {
						t.Errorf("%s: a user of org %s changed a row of another org: %s", c.table, org, tag)
					}
				}
			}
		}
		empty, subject := probeOrg, probeUser
		if memberSQL != "" {
			// Back to the check's own user, who adds the org and member.
			exec(t, tx, "RESET ROLE")
			empty = newOrg(t, tx)
			subject = memberOf(t, tx, probeUser, empty)
		}
		actAsOrg(t, tx, subject, empty)
		queryRow(t, tx, count, []any{empty}, &visible, &foreign)
		if visible > 0 {
			t.Errorf("%s: a user of an org with no rows sees %d rows", c.table, visible)
		}
	})
}

// checkNoOrgClaim: a request without an org, whose subject is no user,
// sees nothing. (A user's token without the claim gets the user's own org
// where the context names the user: TestAuthOrgID checks that.)
func checkNoOrgClaim(t *testing.T, c *checker) {
	rollback(t, c.conn, func(tx pgx.Tx) {
		actAsOrg(t, tx, probeUser, "")
		var n int64
		queryRow(t, tx, "SELECT count(*) FROM "+c.table.ident(), nil, &n)
		if n > 0 {
			t.Errorf("%s: a request without an org (subject %s) sees %d rows", c.table, probeUser, n)
		}
	})
}

// checkAnon: the anon role sees nothing, or is refused outright.
func checkAnon(t *testing.T, c *checker) {
	rollback(t, c.conn, func(tx pgx.Tx) {
		actAs(t, tx, "anon", "{\"role\":\"anon\"}")
		var n int64
		err := tx.QueryRow(context.Background(), "SELECT count(*) FROM "+c.table.ident()).Scan(&n)
		var pgErr *pgconn.PgError
		switch {
		case errors.As(err, &pgErr) && pgErr.Code == "42501":
			t.Logf("anon is refused: %s", pgErr.Message)
		case err != nil:
			t.Fatalf("%s: reading as anon: %v", c.table, err)
		case n > 0:
			t.Errorf("%s: anon sees %d rows", c.table, n)
		}
	})
}

// checkUntouched checks that each table has no orgColumn and no
// trigger or policy of warden's.
func checkUntouched(t *testing.T, tables []table) {
	conn := connect(t)
	names := []string{orgAccessPolicy, fillTrigger, immutableTrigger}
	for _, p := range restrictivePolicies {
		names = append(names, p.Name)
	}
	for _, tb := range tables {
		ident := pgx.Identifier{tb.Schema, tb.Name}.Sanitize()
		t.Run(tb.Schema+"."+tb.Name, func(t *testing.T) {
			t.Run("no_org_id", func(t *testing.T) {
				var n int64
				queryRow(t, conn, "SELECT count(*) FROM pg_catalog.pg_attribute WHERE attrelid = $1::regclass AND attname = $2 AND NOT attisdropped", []any{ident, orgColumn}, &n)
				if n > 0 {
					t.Errorf("%s has a column %s", tb.Schema+"."+tb.Name, orgColumn)
				}
			})
			t.Run("no_warden_objects", func(t *testing.T) {
				const sql = `SELECT ARRAY(
  SELECT 'trigger ' || tgname FROM pg_catalog.pg_trigger WHERE tgrelid = $1::regclass AND tgname = ANY($2)
  UNION ALL
  SELECT 'policy ' || polname FROM pg_catalog.pg_policy WHERE polrelid = $1::regclass AND polname = ANY($2)
  ORDER BY 1)`
				var found []string
				queryRow(t, conn, sql, []any{ident, names}, &found)
				if len(found) > 0 {
					t.Errorf("%s has %s", tb.Schema+"."+tb.Name, strings.Join(found, ", "))
				}
			})
		})
	}
}

// connect opens the database named by databaseURLEnv for the test, or skips
// the test when the variable is unset.
func connect(t *testing.T) *pgx.Conn {
	t.Helper()
	url := os.Getenv(databaseURLEnv)
	if url == "" {
		t.Skip(databaseURLEnv + " is not set: point it at a migrated database to run these checks")
	}
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatalf("connecting to $%s: %v", databaseURLEnv, err)
	}
	t.Cleanup(func() {
		conn.Close(context.Background())
	})
	return conn
}

// rollback runs fn in a transaction that is always rolled back, so the
// checks leave the database as they found it.
func rollback(t *testing.T, conn *pgx.Conn, fn func(tx pgx.Tx)) {
	t.Helper()
	tx, err := conn.Begin(context.Background())
	if err != nil {
		t.Fatalf("begin: %v", err)
	}
	defer tx.Rollback(context.Background())
	fn(tx)
}

// actAs switches the transaction to role with the JWT claims a request
// would carry, as PostgREST does.
func actAs(t *testing.T, tx pgx.Tx, role, claims string) {
	t.Helper()
	prepareRole(t, tx, role)
	if _, err := tx.Exec(context.Background(), "SET LOCAL ROLE "+quote(role)); err != nil {
		t.Fatalf("SET ROLE %s: %v (the row-level security checks act as %s: the user of $%s must be a member of it)", role, err, role, databaseURLEnv)
	}
	exec(t, tx, "SELECT pg_catalog.set_config('request.jwt.claims', $1, true)", claims)
}

// actAsOrg acts as a request of the app in org (none when org is empty),
// the way requestContext carries it: the JWT claims for supabase and jwt,
// the setting orgSetting for session; as actingRole.
func actAsOrg(t *testing.T, tx pgx.Tx, subject, org string) {
	t.Helper()
	actAs(t, tx, actingRole, claims(subject, org))
	if requestContext == "session" {
		exec(t, tx, "SELECT pg_catalog.set_config($1, $2, true)", orgSetting, org)
	}
}

// newOrg adds a throwaway org inside the check's transaction (newOrgSQL)
// and returns its key; the app's own constraints refusing it are a
// missing prerequisite, reported as such.
func newOrg(t *testing.T, tx pgx.Tx) string {
	t.Helper()
	var org string
	if err := tx.QueryRow(context.Background(), newOrgSQL).Scan(&org); err != nil {
		t.Fatalf("prerequisite: a throwaway org cannot be added to %s (%v); give tenant.default_org_values for its required columns\n%s", tenantTable, err, newOrgSQL)
	}
	return org
}

// memberOf returns a user who is a member of org, for a check to act as:
// subject, made a member inside the check's transaction where it is a
// user but no member; else an existing member of org; else any user made
// a member. Outside membership checking (memberSQL empty) it is subject.
// Run it before actAs: the check's own user writes the membership.
func memberOf(t *testing.T, tx pgx.Tx, subject, org string) string {
	t.Helper()
	if memberSQL == "" {
		return subject
	}
	ctx := context.Background()
	try := func(user string) error {
		if queryRow(t, tx, isMemberSQL, []any{user, org}, new(int)) {
			return nil
		}
		exec(t, tx, "SAVEPOINT warden_member")
		_, err := tx.Exec(ctx, memberSQL, user, org)
		if err != nil {
			exec(t, tx, "ROLLBACK TO SAVEPOINT warden_member")
		}
		return err
	}
	first := try(subject)
	if first == nil {
		return subject
	}
	var member string
	if queryRow(t, tx, memberOfSQL, []any{org}, &member) {
		return member
	}
	var user string
	if !queryRow(t, tx, someUserSQL, nil, &user) {
		t.Fatalf("prerequisite: org %s has no member and there is no user to make one (%v)", org, first)
	}
	if err := try(user); err != nil {
		t.Fatalf("prerequisite: no user can be made a member of org %s to act in it: %v (and for %s: %v)\n%s", org, err, subject, first, memberSQL)
	}
	return user
}

// clearOrg makes the transaction carry no org at all.
func clearOrg(t *testing.T, tx pgx.Tx) {
	t.Helper()
	exec(t, tx, "SELECT pg_catalog.set_config('request.jwt.claims', '', true)")
	if requestContext == "session" {
		exec(t, tx, "SELECT pg_catalog.set_config($1, '', true)", orgSetting)
	}
}

// prepareRole makes role able to try the policies, inside the transaction
// the check rolls back: it creates the role if the database lacks it
// (a throwaway role for a context whose policies apply to every role) and
// grants it the use of the scoped tables, so that a missing grant fails
// no check that is about row-level security.
func prepareRole(t *testing.T, tx pgx.Tx, role string) {
	t.Helper()
	var exists bool
	queryRow(t, tx, "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1)", []any{role}, &exists)
	if !exists {
		exec(t, tx, "CREATE ROLE "+quote(role)+" NOLOGIN")
	}
	// Only what is missing: a checking user that may not grant fails here
	// only where the role really lacks the privilege.
	var member bool
	queryRow(t, tx, "SELECT pg_catalog.pg_has_role(current_user, $1, 'MEMBER')", []any{role}, &member)
	if !member {
		exec(t, tx, "GRANT "+quote(role)+" TO CURRENT_USER")
	}
	seen := map[string]bool{}
	for _, st := range scopedTables {
		var usage, rights bool
		queryRow(t, tx, "SELECT pg_catalog.has_schema_privilege($1, $2, 'USAGE'), pg_catalog.has_table_privilege($1, $3, 'SELECT') AND pg_catalog.has_table_privilege($1, $3, 'INSERT') AND pg_catalog.has_table_privilege($1, $3, 'UPDATE') AND pg_catalog.has_table_privilege($1, $3, 'DELETE')",
			[]any{role, st.Schema, st.ident()}, &usage, &rights)
		if !usage && !seen[st.Schema] {
			seen[st.Schema] = true
			exec(t, tx, "GRANT USAGE ON SCHEMA "+quote(st.Schema)+" TO "+quote(role))
		}
		if !rights {
			exec(t, tx, "GRANT SELECT, INSERT, UPDATE, DELETE ON "+st.ident()+" TO "+quote(role))
		}
	}
}

// claims returns the JWT claims of a user, with the org at claimPath
// unless org is empty.
func claims(subject, org string) string {
	c := map[string]any{"sub": subject, "role": actingRole}
	if org != "" && len(claimPath) > 0 {
		at := c
		for _, k := range claimPath[:len(claimPath)-1] {
			next := map[string]any{}
			at[k] = next
			at = next
		}
		at[claimPath[len(claimPath)-1]] = org
	}
	b, err := json.Marshal(c)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// querier is a connection or a transaction.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// queryRow scans the one row of sql into dest and reports whether there
// was one; any other error fails the test.
func queryRow(t *testing.T, q querier, sql string, args []any, dest ...any) bool {
	t.Helper()
	err := q.QueryRow(context.Background(), sql, args...).Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return false
	}
	if err != nil {
		t.Fatalf("%v\n%s", err, sql)
	}
	return true
}

// exec runs sql and fails the test on error.
func exec(t *testing.T, q querier, sql string, args ...any) {
	t.Helper()
	if _, err := q.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%v\n%s", err, sql)
	}
}

// quote quotes an identifier for SQL text.
func quote(name string) string {
	return pgx.Identifier{name}.Sanitize()
}

func strPtr(s string) *string {
	return &s
}

// text returns a nullable text value, "" for NULL.
func text(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// show prints a nullable text value.
func show(s *string) string {
	if s == nil {
		return "NULL"
	}
	return *s
}
