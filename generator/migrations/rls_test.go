package migrations

// Row-level security acceptance (issue 6), on the migrated example app and
// as PostgREST runs a request: inside a transaction, SET LOCAL ROLE to the
// API role, then the JWT claims as the transaction-local setting
// request.jwt.claims. The superuser connection (e.conn) is the referee: it
// bypasses RLS and says what each org really has.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/warden-sql/warden/generator"
)

// A user id that owns nothing, for tokens whose subject does not matter.
const nobodySub = "00000000-0000-0000-0000-0000000000aa"

// claims is a Supabase access token's payload. org goes into app_metadata,
// which only the server can write; "" leaves the org claim out.
func claims(sub, role, org string) string {
	app := map[string]any{"provider": "email", "providers": []string{"email"}}
	if org != "" {
		app["org_id"] = org
	}
	b, err := json.Marshal(map[string]any{
		"sub": sub, "role": role, "aud": "authenticated",
		"email": "user@example.com", "app_metadata": app, "user_metadata": map[string]any{},
	})
	if err != nil {
		panic(err)
	}
	return string(b)
}

// asAPI runs fn in a transaction acting as role with the given claims ("" for
// none), after running setup as the superuser, and rolls it back: nothing a
// check does survives it, and one connection serves every check in turn.
func asAPI(t testing.TB, conn *pgx.Conn, role, jwt string, setup []string, fn func(tx pgx.Tx)) {
	t.Helper()
	ctx := context.Background()
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	for _, s := range setup {
		if _, err := tx.Exec(ctx, s); err != nil {
			t.Fatalf("%v\n%s", err, s)
		}
	}
	if _, err := tx.Exec(ctx, "SET LOCAL ROLE "+pgx.Identifier{role}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	if jwt != "" {
		if _, err := tx.Exec(ctx, "SELECT set_config('request.jwt.claims', $1, true)", jwt); err != nil {
			t.Fatal(err)
		}
	}
	fn(tx)
}

// txCount runs a count query; the error is returned, not fatal, because
// some callers expect one.
func txCount(tx pgx.Tx, sql string, args ...any) (int64, error) {
	var n int64
	err := tx.QueryRow(context.Background(), sql, args...).Scan(&n)
	return n, err
}

func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// rlsFixture is one scoped table with the two orgs its checks use: A, the
// org with the most rows (the caller's), and B, the next (the victim's).
type rlsFixture struct {
	tp     *generator.TablePlan
	t      string // quoted, qualified
	a, b   string
	sub    string // token subject: an owner of org A rows where the table has owners
	aRows  int64
	bRows  int64
	ownPol bool // the app has permissive policies of its own on the table
}

func (e *example) rlsFixture(t testing.TB, tp *generator.TablePlan) rlsFixture {
	t.Helper()
	ctx := context.Background()
	f := rlsFixture{tp: tp, t: quoted(tp), sub: nobodySub, ownPol: !AddsPermissivePolicy(tp)}
	rows, err := e.conn.Query(ctx, fmt.Sprintf(`SELECT org_id::text FROM %s GROUP BY org_id ORDER BY count(*) DESC, org_id LIMIT 2`, f.t))
	if err != nil {
		t.Fatal(err)
	}
	orgs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(orgs) == 0 {
		// An empty table would let every isolation check pass vacuously.
		t.Fatalf("%s has no rows in the example data: the isolation checks would prove nothing", tp.Name())
	}
	f.a = orgs[0]
	if len(orgs) > 1 {
		f.b = orgs[1]
	} else {
		tn := e.plan.Policy.Tenant
		tenant := pgx.Identifier{tn.Table.Schema, tn.Table.Name}.Sanitize()
		key := pgx.Identifier{tn.Key}.Sanitize()
		if err := e.conn.QueryRow(ctx, fmt.Sprintf(`SELECT %s::text FROM %s WHERE %s <> $1 ORDER BY 1 LIMIT 1`, key, tenant, key), f.a).Scan(&f.b); err != nil {
			t.Fatal(err)
		}
	}
	if tp.Owner != nil {
		owner := pgx.Identifier{tp.Owner.Name}.Sanitize()
		var sub *string
		if err := e.conn.QueryRow(ctx, fmt.Sprintf(`SELECT %s::text FROM %s WHERE org_id = $1 AND %s IS NOT NULL LIMIT 1`, owner, f.t, owner), f.a).Scan(&sub); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			t.Fatal(err)
		}
		if sub != nil {
			f.sub = *sub
		}
	}
	f.aRows = e.scalar(t, fmt.Sprintf(`SELECT count(*) FROM %s WHERE org_id = $1`, f.t), f.a)
	f.bRows = e.scalar(t, fmt.Sprintf(`SELECT count(*) FROM %s WHERE org_id = $1`, f.t), f.b)
	return f
}

// insertCopySQL copies one org A row visible to the caller back into the
// table with org_id = $1. Every stored column is copied (identity values
// included), so the row is valid in every other respect.
//
// This works generically because of the order in which PostgreSQL checks
// a new row: BEFORE triggers, then the RLS WITH CHECK policies, and only
// then NOT NULL/CHECK constraints, unique indexes and foreign keys. With
// org B the row fails on RLS (42501) although it also duplicates keys;
// with org A (the control) it gets past RLS and fails, if at all, on a
// duplicate key — so 42501 for B is the org check and nothing else.
func (e *example) insertCopySQL(t testing.TB, f rlsFixture) string {
	t.Helper()
	rows, err := e.conn.Query(context.Background(), `
SELECT quote_ident(attname) FROM pg_catalog.pg_attribute
WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = ''
ORDER BY attnum`, f.t)
	if err != nil {
		t.Fatal(err)
	}
	cols, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	var vals []string
	for _, c := range cols {
		if c == "org_id" {
			vals = append(vals, "$1::uuid")
		} else {
			vals = append(vals, "r."+c)
		}
	}
	return fmt.Sprintf(`INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM %s r WHERE r.org_id = $2 LIMIT 1`,
		f.t, strings.Join(cols, ", "), strings.Join(vals, ", "), f.t)
}

// dropWardenRestrictive returns the statements that drop warden's
// restrictive policies on a table, inside a test transaction: what the
// app's own policies alone would let a caller see.
func dropWardenRestrictive(e *example, tp *generator.TablePlan, table string) []string {
	var out []string
	for _, p := range Names(e.plan, tp).Policies {
		out = append(out, fmt.Sprintf("DROP POLICY %s ON %s", pgx.Identifier{p}.Sanitize(), table))
	}
	return out
}

// TestRLSIsolation: for every scoped table, a user of org A reads exactly
// org A's rows, cannot insert a row for org B, cannot update or delete org
// B's rows, and cannot move a row to another org or clear its org.
func TestRLSIsolation(t *testing.T) {
	e := loadExample(t, 1000)
	e.up(t, nil)
	ctx := context.Background()
	for _, tp := range e.plan.Scoped {
		t.Run(tp.Table.Name, func(t *testing.T) {
			f := e.rlsFixture(t, tp)
			jwt := claims(f.sub, "authenticated", f.a)

			t.Run("reads only its org", func(t *testing.T) {
				want := f.aRows
				if f.ownPol {
					// The app's own permissive policies (leads: the user's
					// own rows) still decide within the org: expect what they
					// alone show of org A.
					asAPI(t, e.conn, "authenticated", jwt, dropWardenRestrictive(e, tp, f.t), func(tx pgx.Tx) {
						n, err := txCount(tx, fmt.Sprintf(`SELECT count(*) FROM %s WHERE org_id = $1`, f.t), f.a)
						if err != nil {
							t.Fatal(err)
						}
						want = n
					})
				}
				asAPI(t, e.conn, "authenticated", jwt, nil, func(tx pgx.Tx) {
					got, err := txCount(tx, fmt.Sprintf(`SELECT count(*) FROM %s`, f.t))
					if err != nil {
						t.Fatal(err)
					}
					other, err := txCount(tx, fmt.Sprintf(`SELECT count(*) FROM %s WHERE org_id IS DISTINCT FROM $1`, f.t), f.a)
					if err != nil {
						t.Fatal(err)
					}
					if got != want || other != 0 || got == 0 {
						t.Errorf("org A user sees %d rows (%d of other orgs); want %d, all of org A (%d in the table), and more than 0", got, other, want, f.aRows)
					}
				})
			})

			insert := e.insertCopySQL(t, f)
			t.Run("cannot insert for another org", func(t *testing.T) {
				asAPI(t, e.conn, "authenticated", jwt, nil, func(tx pgx.Tx) {
					if _, err := tx.Exec(ctx, insert, f.b, f.a); sqlState(err) != "42501" {
						t.Errorf("insert with org B: got %v, want SQLSTATE 42501\n%s", err, insert)
					}
				})
				asAPI(t, e.conn, "authenticated", jwt, nil, func(tx pgx.Tx) {
					if _, err := tx.Exec(ctx, insert, f.a, f.a); sqlState(err) == "42501" {
						t.Errorf("control: the same insert with org A is rejected by RLS too (%v), so the org B check proves nothing", err)
					}
				})
			})

			t.Run("cannot update or delete another org's rows", func(t *testing.T) {
				if f.bRows == 0 {
					t.Logf("org B has no rows in %s: only proves nothing is touched", tp.Name())
				}
				asAPI(t, e.conn, "authenticated", jwt, nil, func(tx pgx.Tx) {
					up, err := tx.Exec(ctx, fmt.Sprintf(`UPDATE %s SET org_id = org_id WHERE org_id = $1`, f.t), f.b)
					if err != nil {
						t.Fatal(err)
					}
					del, err := tx.Exec(ctx, fmt.Sprintf(`DELETE FROM %s WHERE org_id = $1`, f.t), f.b)
					if err != nil {
						t.Fatal(err)
					}
					if up.RowsAffected() != 0 || del.RowsAffected() != 0 {
						t.Errorf("org A user updated %d and deleted %d of org B's %d rows", up.RowsAffected(), del.RowsAffected(), f.bRows)
					}
				})
			})

			// One visible org A row, by table and physical position (ctid
			// alone repeats across partitions).
			oneRow := func(param int) string {
				return fmt.Sprintf(`(tableoid, ctid) = (SELECT tableoid, ctid FROM %s WHERE org_id = $%d LIMIT 1)`, f.t, param)
			}
			t.Run("cannot move a row to another org", func(t *testing.T) {
				asAPI(t, e.conn, "authenticated", jwt, nil, func(tx pgx.Tx) {
					tag, err := tx.Exec(ctx, fmt.Sprintf(`UPDATE %s SET org_id = $1 WHERE %s`, f.t, oneRow(2)), f.b, f.a)
					// The immutability trigger (BEFORE UPDATE) fires before
					// the RLS WITH CHECK; either refusal is right.
					if s := sqlState(err); s != ImmutableSQLState && s != "42501" {
						t.Errorf("moving a row to org B: got %v (%d rows), want SQLSTATE %s or 42501", err, tag.RowsAffected(), ImmutableSQLState)
					}
				})
			})
			t.Run("cannot clear the org", func(t *testing.T) {
				asAPI(t, e.conn, "authenticated", jwt, nil, func(tx pgx.Tx) {
					var got string
					err := tx.QueryRow(ctx, fmt.Sprintf(`UPDATE %s SET org_id = NULL WHERE %s RETURNING org_id::text`, f.t, oneRow(1)), f.a).Scan(&got)
					switch {
					case err == nil && got != f.a:
						t.Errorf("org_id set to NULL came back as %s, want the row's org %s", got, f.a)
					case err != nil && !slices.Contains([]string{ImmutableSQLState, "42501", "23502"}, sqlState(err)):
						// The fill trigger refills NULL from the owner or
						// parent: the same org passes, another is refused.
						t.Errorf("org_id set to NULL: %v", err)
					}
				})
			})
		})
	}
}
