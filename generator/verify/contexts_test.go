package verify

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/warden-sql/warden/generator/classify"
	"github.com/warden-sql/warden/generator/migrations"
	"github.com/warden-sql/warden/generator/report"
	"github.com/warden-sql/warden/internal/ident"
	"github.com/warden-sql/warden/internal/pgtest"
	"github.com/warden-sql/warden/internal/verifyrun"
	"github.com/warden-sql/warden/introspect"
	"github.com/warden-sql/warden/policy"
)

// contextCase is an app beyond Supabase in testdata/contexts: its own users
// table, its own org table with a key that is not a uuid, and a request
// context other than Supabase's. orgA and orgB are two of its orgs; the
// app's writes (app.sql) act in orgB.
type contextCase struct {
	dir        string
	orgA, orgB string
	// userB is the app's user in orgB, a member of it: the request's user
	// (request_context.user_setting, or the JWT's sub) whenever a request
	// acts in orgB; "" to leave the request without one.
	userB string
}

var contextCases = []contextCase{
	{dir: "rails_session", orgA: "1", orgB: "2"},
	{dir: "prisma_jwt", orgA: "clorgacme0001", orgB: "clorgglobex002"},
	{dir: "org_teams", orgA: "1", orgB: "2"},
	{dir: "accounts_jwt", orgA: "acc00000-0000-4000-8000-00000000000a", orgB: "acc00000-0000-4000-8000-00000000000b", userB: "00000000-0000-4000-8000-0000000000b2"},
	{dir: "already_tenanted", orgA: "a1111111-1111-4111-8111-111111111111", orgB: "b2222222-2222-4222-8222-222222222222"},
	{dir: "django_personal", orgA: "1", orgB: "2", userB: "3"},
}

// TestRequestContexts migrates each app of testdata/contexts end to end
// with psql as the runner, one file per step, while the app keeps writing:
// after every step app.sql runs as the app's role in its request context
// and must succeed (no migration step may leave the app unable to write).
// Then every row has the org the policy's rule gives it (expect.sql); a
// request of one org reads, changes and deletes nothing of the other, and a
// request with no org sees nothing and writes nothing; the generated
// verification tests pass; down undoes it all and up applies again.
func TestRequestContexts(t *testing.T) {
	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Fatalf("psql is the runner these cases apply the files with: %v", err)
	}
	for _, cc := range contextCases {
		t.Run(cc.dir, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join("testdata", "contexts", cc.dir)
			pol, err := policy.Load(filepath.Join(dir, "policy.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			url := pgtest.NewDB(t)
			conn := pgtest.Connect(t, url)
			for _, f := range pol.SchemaFiles {
				pgtest.Exec(t, conn, readFile(t, f.Path))
			}
			db, err := introspect.Inspect(t.Context(), conn, pol.Schemas)
			if err != nil {
				t.Fatal(err)
			}
			plan := classify.Classify(db, pol)
			if err := plan.Err(); err != nil {
				t.Fatalf("plan: %v", err)
			}
			steps, err := migrations.Steps(plan, db)
			if err != nil {
				t.Fatal(err)
			}
			// Every renderer takes the plan: REPORT.md and the plan output.
			if _, err := report.Render(plan); err != nil {
				t.Fatalf("REPORT.md: %v", err)
			}
			if _, err := classify.PlanJSON(plan, nil); err != nil {
				t.Fatalf("plan JSON: %v", err)
			}
			if err := classify.WritePlanText(io.Discard, plan, nil); err != nil {
				t.Fatalf("plan text: %v", err)
			}
			for _, s := range steps {
				if s.Kind == migrations.KindJWTClaims || s.Kind == migrations.KindJWTBackfill {
					t.Errorf("step %s: the %s context keeps no claim in the users table", s.Name, pol.Context.Kind)
				}
			}
			app := readFile(t, filepath.Join(dir, "app.sql"))
			r := contextRun{t: t, conn: conn, pol: pol, psql: psql, url: url, tmp: t.TempDir(), userB: cc.userB, orgB: cc.orgB}

			before := r.tablesWithColumn()
			r.appWrites(app, cc.orgB) // before anything changes
			for _, s := range steps {
				r.apply(s.Name, s.Up, s.NoTransaction)
				r.appWrites(app, cc.orgB)
			}
			expect := readFile(t, filepath.Join(dir, "expect.sql"))
			pgtest.Exec(t, conn, expect)
			r.expectCanFail(filepath.Join(dir, "misplace.sql"), expect)
			r.assertIsolated(plan, cc)
			r.assertOrgCallInlined(cc)
			if err := r.inOrg("", func(tx pgx.Tx) error { _, err := tx.Exec(t.Context(), app); return err }); sqlState(err) != "42501" {
				t.Errorf("the app's writes with no org set: %v, want a row-level security violation (42501)", err)
			}

			files, err := Files(plan, "")
			if err != nil {
				t.Fatal(err)
			}
			if out, code := verifyrun.Run(t, buildTests(t, files), url); code != 0 {
				t.Errorf("the generated verification tests failed (exit %d):\n%s", code, verifyrun.Failures(out))
			}

			for i := len(steps) - 1; i >= 0; i-- {
				if s := steps[i]; s.Down != "" {
					r.apply(s.Name+" down", s.Down, s.DownNoTransaction)
				}
			}
			r.appWrites(app, cc.orgB)
			if left := r.tablesWithColumn(); left != before {
				t.Errorf("after down, %d tables have a column %s, want the %d that had it before", left, pol.Tenant.Column, before)
			}
			for _, s := range steps {
				r.apply(s.Name+" (again)", s.Up, s.NoTransaction)
			}
			r.appWrites(app, cc.orgB)
		})
	}
}

// contextRun applies one case's files and acts as its app.
type contextRun struct {
	t         *testing.T
	conn      *pgx.Conn
	pol       *policy.Policy
	psql, url string
	tmp       string
	n         int
	// userB is set as the request's user whenever a request acts in orgB
	// (where the context names a user).
	userB, orgB string
}

// expectCanFail shows expect.sql is no empty promise: with the rows of
// misplace.sql (a row in another org than its rule gives it; every case
// has one), it must fail. Both run in a transaction that is rolled back.
func (r *contextRun) expectCanFail(misplace, expect string) {
	r.t.Helper()
	ctx := r.t.Context()
	tx, err := r.conn.Begin(ctx)
	if err != nil {
		r.t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	body := readFile(r.t, misplace)
	// Written as the app would, the parent-org trigger refuses the row.
	if _, err := tx.Exec(ctx, "SAVEPOINT plain"); err != nil {
		r.t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, strings.Replace(body, "SET LOCAL session_replication_role = replica;", "", 1)); sqlState(err) != migrations.ParentOrgSQLState {
		r.t.Errorf("misplace.sql without replica: %v, want the parent-org check's SQLSTATE %s", err, migrations.ParentOrgSQLState)
	}
	if _, err := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT plain"); err != nil {
		r.t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, body); err != nil {
		r.t.Fatalf("misplace.sql: %v", err)
	}
	if _, err := tx.Exec(ctx, expect); err == nil {
		r.t.Errorf("expect.sql passed with the misplaced rows of %s", misplace)
	}
}

// assertOrgCallInlined checks that the planner inlines public.auth_org_id()
// for the app's role: a SQL function it cannot inline (one with SET
// search_path, say) is planned anew in every statement that calls it,
// which is most of what the org policies add to a small query. The same
// check on the function pinned again (rolled back) must see the call, so
// the check can fail.
func (r *contextRun) assertOrgCallInlined(cc contextCase) {
	r.t.Helper()
	plannedCall := func(tx pgx.Tx) (string, error) {
		rows, err := tx.Query(r.t.Context(), `EXPLAIN (VERBOSE, COSTS OFF) SELECT public.auth_org_id()`)
		if err != nil {
			return "", err
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		return strings.Join(lines, "\n"), err
	}
	err := r.inOrg(cc.orgB, func(tx pgx.Tx) error {
		plan, err := plannedCall(tx)
		if err == nil && strings.Contains(plan, "auth_org_id(") {
			r.t.Errorf("public.auth_org_id() is not inlined:\n%s", plan)
		}
		return err
	})
	if err != nil {
		r.t.Fatal(err)
	}
	err = r.inOrg(cc.orgB, func(tx pgx.Tx) error {
		if _, err := tx.Exec(r.t.Context(), `RESET ROLE; ALTER FUNCTION public.auth_org_id() SET search_path = ''; SET LOCAL ROLE `+ident.Quote(r.pol.Context.Roles[0])); err != nil {
			return err
		}
		plan, err := plannedCall(tx)
		if err == nil && !strings.Contains(plan, "auth_org_id(") {
			r.t.Errorf("negative control: a pinned public.auth_org_id() was inlined too:\n%s", plan)
		}
		return errors.New("rolled back") // leave the function as it was
	})
	if err == nil || err.Error() != "rolled back" {
		r.t.Fatalf("negative control: %v", err)
	}
}

// tablesWithColumn counts the tables of public that have the tenant column.
func (r *contextRun) tablesWithColumn() int64 {
	r.t.Helper()
	var n int64
	if err := r.conn.QueryRow(r.t.Context(), `SELECT count(*) FROM pg_catalog.pg_attribute WHERE attname = $1 AND attnum > 0 AND NOT attisdropped
		AND attrelid IN (SELECT oid FROM pg_catalog.pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p'))`,
		r.pol.Tenant.Column).Scan(&n); err != nil {
		r.t.Fatal(err)
	}
	return n
}

// apply runs sql as psql runs a migration file: in one transaction, or
// statement by statement where the step must not run in one.
func (r *contextRun) apply(name, sql string, noTx bool) {
	r.t.Helper()
	r.n++
	path := filepath.Join(r.tmp, fmt.Sprintf("%03d.sql", r.n))
	if err := os.WriteFile(path, []byte(sql), 0o644); err != nil {
		r.t.Fatal(err)
	}
	args := []string{"-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", r.url, "-f", path}
	if !noTx {
		args = append(args, "--single-transaction")
	}
	if out, err := exec.Command(r.psql, args...).CombinedOutput(); err != nil {
		r.t.Fatalf("psql, step %s: %v\n%s", name, err, out)
	}
}

// inOrg runs fn in a transaction acting as the app's role, in org (none
// when org is empty) the way the policy's request context carries it, and
// rolls back only when fn fails.
func (r *contextRun) inOrg(org string, fn func(tx pgx.Tx) error) error {
	ctx := r.t.Context()
	tx, err := r.conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	rc := r.pol.Context
	if _, err := tx.Exec(ctx, "SET LOCAL ROLE "+ident.Quote(rc.Roles[0])); err != nil {
		return err
	}
	switch rc.Kind {
	case policy.ContextSession:
		_, err = tx.Exec(ctx, "SELECT pg_catalog.set_config($1, $2, true)", rc.Setting, org)
		if err == nil && rc.UserSetting != "" && r.userB != "" && org == r.orgB {
			_, err = tx.Exec(ctx, "SELECT pg_catalog.set_config($1, $2, true)", rc.UserSetting, r.userB)
		}
	default:
		claims := map[string]any{"role": rc.Roles[0]}
		if r.userB != "" && org == r.orgB {
			// The token's subject, whose membership of orgB
			// public.auth_org_id() checks.
			claims["sub"] = r.userB
		}
		if org != "" {
			at := claims
			for _, k := range rc.Claim[:len(rc.Claim)-1] {
				next := map[string]any{}
				at[k] = next
				at = next
			}
			at[rc.Claim[len(rc.Claim)-1]] = org
		}
		b, _ := json.Marshal(claims)
		_, err = tx.Exec(ctx, "SELECT pg_catalog.set_config('request.jwt.claims', $1, true)", string(b))
	}
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// appWrites runs the app's writes in org; they must succeed whatever step
// the migration is at.
func (r *contextRun) appWrites(app, org string) {
	r.t.Helper()
	if err := r.inOrg(org, func(tx pgx.Tx) error { _, err := tx.Exec(r.t.Context(), app); return err }); err != nil {
		r.t.Fatalf("after %d files, the app's writes failed: %v", r.n, err)
	}
}

// assertIsolated checks every scoped table as a request of orgA: it sees
// its own rows and none of orgB's, and changes and deletes none of them;
// with no org it sees nothing.
func (r *contextRun) assertIsolated(plan *classify.Plan, cc contextCase) {
	t := r.t
	col := ident.Quote(r.pol.Tenant.Column)
	for _, tp := range append(append([]*classify.TablePlan(nil), plan.Scoped...), plan.Finished...) {
		table := ident.Qualified(tp.Table.Schema, tp.Table.Name)
		var ownA, ofB int64
		if err := r.conn.QueryRow(t.Context(), fmt.Sprintf("SELECT count(*) FILTER (WHERE %s::text = $1), count(*) FILTER (WHERE %s::text = $2) FROM %s", col, col, table),
			cc.orgA, cc.orgB).Scan(&ownA, &ofB); err != nil {
			t.Fatal(err)
		}
		if ownA == 0 || ofB == 0 {
			t.Fatalf("%s: %d rows of org %s and %d of org %s; the case needs both", tp.Name(), ownA, cc.orgA, ofB, cc.orgB)
		}
		errTest := errors.New("rolled back")
		err := r.inOrg(cc.orgA, func(tx pgx.Tx) error {
			var seen, foreign int64
			if err := tx.QueryRow(t.Context(), fmt.Sprintf("SELECT count(*), count(*) FILTER (WHERE %s::text <> $1) FROM %s", col, table), cc.orgA).Scan(&seen, &foreign); err != nil {
				return err
			}
			if seen != ownA || foreign != 0 {
				t.Errorf("%s: a request of org %s sees %d rows (%d of other orgs), want its %d", tp.Name(), cc.orgA, seen, foreign, ownA)
			}
			for _, sql := range []string{
				fmt.Sprintf("UPDATE %s SET %s = %s WHERE %s::text = $1", table, col, col, col),
				fmt.Sprintf("DELETE FROM %s WHERE %s::text = $1", table, col),
			} {
				tag, err := tx.Exec(t.Context(), sql, cc.orgB)
				if err != nil {
					return err
				}
				if tag.RowsAffected() != 0 {
					t.Errorf("%s: a request of org %s changed %d rows of org %s: %s", tp.Name(), cc.orgA, tag.RowsAffected(), cc.orgB, sql)
				}
			}
			return errTest
		})
		if !errors.Is(err, errTest) {
			t.Fatalf("%s: %v", tp.Name(), err)
		}
		err = r.inOrg("", func(tx pgx.Tx) error {
			var seen int64
			if err := tx.QueryRow(t.Context(), "SELECT count(*) FROM "+table).Scan(&seen); err != nil {
				return err
			}
			if seen != 0 {
				t.Errorf("%s: a request with no org sees %d rows", tp.Name(), seen)
			}
			return errTest
		})
		if !errors.Is(err, errTest) {
			t.Fatalf("%s: %v", tp.Name(), err)
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}
