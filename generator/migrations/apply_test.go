package migrations

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/warden-sql/warden/exampleapp/exampledb"
	"github.com/warden-sql/warden/generator/classify"
	"github.com/warden-sql/warden/internal/pgtest"
	"github.com/warden-sql/warden/introspect"
	"github.com/warden-sql/warden/policy"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// example is one test's copy of the example application.
type example struct {
	url   string
	conn  *pgx.Conn
	pol   *policy.Policy
	plan  *classify.Plan
	steps []Step
}

// loadExample returns a fresh database with the example schema and rows
// rows in its largest tables, and the plan and steps generated for it.
func loadExample(t testing.TB, rows int) *example {
	t.Helper()
	return loadExampleWith(t, rows, nil)
}

// loadExampleWith is loadExample with the policy changed by tune (when not
// nil) before the steps are generated.
func loadExampleWith(t testing.TB, rows int, tune func(*policy.Policy)) *example {
	t.Helper()
	pol, err := policy.Load("../../policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	url := exampledb.New(t, pol, exampledb.Rows(rows))
	if tune != nil {
		tune(pol)
	}
	conn := pgtest.Connect(t, url)
	db, err := introspect.Inspect(context.Background(), conn, pol.Schemas)
	if err != nil {
		t.Fatal(err)
	}
	plan := classify.Classify(db, pol)
	steps, err := Steps(plan, db)
	if err != nil {
		t.Fatal(err)
	}
	return &example{url: url, conn: conn, pol: pol, plan: plan, steps: steps}
}

// applyStep runs one script as one simple-protocol batch: the way the
// Supabase CLI and psql -f send a file (an implicit transaction).
func applyStep(t testing.TB, conn *pgx.Conn, s Step, down bool) {
	t.Helper()
	sql, dir := s.Up, "up"
	if down {
		sql, dir = s.Down, "down"
	}
	if sql == "" {
		return
	}
	if _, err := conn.Exec(context.Background(), sql); err != nil {
		t.Fatalf("step %s (%s): %v\n%s", s.Name, dir, err, sql)
	}
}

// upTo applies the up scripts of every step for which keep returns true.
func (e *example) up(t testing.TB, keep func(Step) bool) {
	t.Helper()
	for _, s := range e.steps {
		if keep == nil || keep(s) {
			applyStep(t, e.conn, s, false)
		}
	}
}

func (e *example) down(t testing.TB) {
	t.Helper()
	for i := len(e.steps) - 1; i >= 0; i-- {
		applyStep(t, e.conn, e.steps[i], true)
	}
}

func (e *example) scalar(t testing.TB, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := e.conn.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%v\n%s", err, sql)
	}
	return n
}

// checksums returns, per table of the schema, a row count and a checksum
// of every column but the tenant column: what the migration must not
// change.
func (e *example) checksums(t testing.TB) map[string]string {
	t.Helper()
	rows, err := e.conn.Query(context.Background(), `
SELECT format('%I.%I', schemaname, tablename) FROM pg_tables
WHERE schemaname IN ('public', 'auth') ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, tb := range tables {
		var count int64
		var sum string
		// auth.users gains the org claim in raw_app_meta_data (phase 5):
		// compare it without that key; organizations gains the default org
		// row (documented residue): compare it without that row.
		q := fmt.Sprintf(`SELECT count(*), coalesce(md5(string_agg(h, '' ORDER BY h)), '')
FROM (SELECT md5(((to_jsonb(t) - 'org_id') #- '{raw_app_meta_data,org_id}')::text) AS h FROM %s t
      WHERE to_jsonb(t) ->> 'id' IS DISTINCT FROM 'a0000000-0000-0000-0000-000000000001') s`, tb)
		if err := e.conn.QueryRow(context.Background(), q).Scan(&count, &sum); err != nil {
			t.Fatal(err)
		}
		out[tb] = fmt.Sprintf("%d rows %s", count, sum)
	}
	return out
}

// schemaDump is pg_dump --schema-only of the test database, the catalog
// as a reviewer would compare it.
func (e *example) schemaDump(t testing.TB) string {
	t.Helper()
	cmd := exec.Command("pg_dump", "--schema-only", "--no-owner", "--no-privileges", "--dbname", e.url)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pg_dump: %v\n%s", err, out)
	}
	// pg_dump 15.14+ brackets its output with \restrict lines carrying a
	// random key: not part of the catalog.
	var keep []string
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(line, `\restrict `) && !strings.HasPrefix(line, `\unrestrict `) {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n")
}

func (e *example) nullCounts(t testing.TB) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, tp := range e.plan.Scoped {
		out[tp.Name()] = e.scalar(t, fmt.Sprintf(`SELECT count(*) FROM %s WHERE "org_id" IS NULL`, quoted(tp)))
	}
	return out
}

// defaultOrgLit is the example's default org as a literal. A row of it may
// leave it once, so the immutability checks change rows of real orgs.
const defaultOrgLit = `'a0000000-0000-0000-0000-000000000001'`

func quoted(tp *classify.TablePlan) string {
	return pgx.Identifier{tp.Table.Schema, tp.Table.Name}.Sanitize()
}

// TestMigrateEndToEnd is Phase 3's acceptance on ≥100k rows:
// every scoped row gets org_id, nothing else changes, every file can be
// applied twice without changing the catalog, and down restores it.
func TestMigrateEndToEnd(t *testing.T) {
	e := loadExample(t, 100000)
	baseline := e.schemaDump(t)
	before := e.checksums(t)
	var total int64
	for _, tp := range e.plan.Scoped {
		total += e.scalar(t, fmt.Sprintf("SELECT count(*) FROM %s", quoted(tp)))
	}
	if total < 100000 {
		t.Fatalf("example data too small: %d rows in scoped tables, want at least 100k", total)
	}
	t.Logf("%d rows in %d scoped tables", total, len(e.plan.Scoped))

	e.up(t, nil)
	for table, n := range e.nullCounts(t) {
		if n != 0 {
			t.Errorf("%s: %d rows without org_id", table, n)
		}
	}
	if diff := cmp.Diff(before, e.checksums(t)); diff != "" {
		t.Errorf("row counts or other columns changed (-before +after):\n%s", diff)
	}
	for _, tp := range e.plan.Tables {
		if tp.Class == classify.Excluded && tp.Table.Column("org_id") == nil {
			if n := e.scalar(t, `SELECT count(*) FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 AND column_name = 'org_id'`, tp.Table.Schema, tp.Table.Name); n != 0 {
				t.Errorf("excluded table %s gained org_id", tp.Name())
			}
		}
	}
	orphans := e.scalar(t, `SELECT sum(orphans) FROM warden.backfill_progress`)
	if orphans == 0 {
		t.Error("the example data has orphans (NULL owners, users without membership); the backfill counted none")
	}

	migrated := e.schemaDump(t)
	e.up(t, nil) // every file a second time
	if diff := cmp.Diff(migrated, e.schemaDump(t)); diff != "" {
		t.Errorf("applying every file again changed the catalog (-first +second):\n%s", diff)
	}

	e.down(t)
	if diff := cmp.Diff(baseline, e.schemaDump(t)); diff != "" {
		t.Errorf("down did not restore the catalog (-baseline +after down):\n%s", diff)
	}
	e.down(t) // down twice is a no-op too
	if diff := cmp.Diff(baseline, e.schemaDump(t)); diff != "" {
		t.Errorf("second down changed the catalog:\n%s", diff)
	}
}

// collectNotices connects with a notice handler, for the server's DEBUG
// and NOTICE messages.
func collectNotices(t testing.TB, url string) (*pgx.Conn, func() []string) {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var notices []string
	cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
		mu.Lock()
		notices = append(notices, n.Message)
		mu.Unlock()
	}
	conn, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), notices...)
	}
}

// TestSetNotNullSkipsTheScan: with the validated check in place, SET NOT
// NULL must not scan the table under its ACCESS EXCLUSIVE lock. PostgreSQL
// says so at DEBUG1; the assertion fails if any table would be scanned.
func TestSetNotNullSkipsTheScan(t *testing.T) {
	e := loadExample(t, 2000)
	e.up(t, func(s Step) bool { return !strings.HasPrefix(s.Name, "set_not_null_") && s.Phase <= PhaseNotNull })
	conn, notices := collectNotices(t, e.url)
	pgtest.Exec(t, conn, "SET client_min_messages = debug1")
	for _, s := range e.steps {
		if strings.HasPrefix(s.Name, "set_not_null_") {
			applyStep(t, conn, s, false)
		}
	}
	got := strings.Join(notices(), "\n")
	for _, tp := range e.plan.Scoped {
		tables := []string{tp.Table.Name}
		for _, p := range tp.Table.Partitions {
			tables = append(tables, p.Name)
		}
		for _, name := range tables {
			want := fmt.Sprintf(`existing constraints on column "%s.org_id" are sufficient to prove that it does not contain nulls`, name)
			if !strings.Contains(got, want) {
				t.Errorf("%s: SET NOT NULL did not report that existing constraints prove no NULLs (it scanned)", name)
			}
		}
	}
}

// TestSeedAcceptance checks the migration's acceptance criteria on a migrated
// database: NOT NULL with a clear error, immutability (also under
// replication role replica), normal updates, JWT claims and auth_org_id().
func TestSeedAcceptance(t *testing.T) {
	e := loadExample(t, 2000)
	e.up(t, nil)
	ctx := context.Background()

	expectErr := func(t *testing.T, code, contains string, sql string, args ...any) {
		t.Helper()
		tx, err := e.conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		_, err = tx.Exec(ctx, sql, args...)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != code || !strings.Contains(pe.Message, contains) {
			t.Fatalf("got %v, want SQLSTATE %s containing %q\n%s", err, code, contains, sql)
		}
	}

	t.Run("insert without a derivable org fails", func(t *testing.T) {
		// An owner who is no user of the app, and no JWT: nothing to derive
		// the org from, and no policy decision to give it the default org.
		expectErr(t, "23502", `"org_id"`, `INSERT INTO public.onboarding_events (user_id, step) VALUES (gen_random_uuid(), 'x')`)
	})
	t.Run("insert without a source takes the default org where the policy says so", func(t *testing.T) {
		// voicemail_audit_log inherits from calls through a nullable FK, and
		// the policy gives rows with no call the default org (when_null):
		// the fill trigger does as the backfill does.
		var org string
		if err := e.conn.QueryRow(ctx, `INSERT INTO public.voicemail_audit_log (call_id, action) VALUES (NULL, 'deleted') RETURNING org_id::text`).Scan(&org); err != nil {
			t.Fatal(err)
		}
		if org != e.pol.Tenant.DefaultOrg {
			t.Errorf("a voicemail log with no call got org %s, want the default org %s", org, e.pol.Tenant.DefaultOrg)
		}
	})
	t.Run("insert with a derivable org gets it", func(t *testing.T) {
		tx, err := e.conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		var want, got string
		if err := tx.QueryRow(ctx, `SELECT id::text || ' ' || org_id::text FROM public.calls LIMIT 1`).Scan(&want); err != nil {
			t.Fatal(err)
		}
		callID, org, _ := strings.Cut(want, " ")
		if err := tx.QueryRow(ctx, `INSERT INTO public.call_logs (call_id, event) VALUES ($1, 'test') RETURNING org_id::text`, callID).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != org {
			t.Fatalf("call_logs row got org %s, its call has %s", got, org)
		}
	})
	for _, replica := range []bool{false, true} {
		t.Run(fmt.Sprintf("changing org_id fails (replica=%v)", replica), func(t *testing.T) {
			for _, tp := range e.plan.Scoped {
				tx, err := e.conn.Begin(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if replica {
					if _, err := tx.Exec(ctx, "SET LOCAL session_replication_role = replica"); err != nil {
						t.Fatal(err)
					}
				}
				if _, err := tx.Exec(ctx, `INSERT INTO public.organizations (id, name) VALUES ('b0000000-0000-0000-0000-00000000000b', 'other') ON CONFLICT DO NOTHING`); err != nil {
					t.Fatal(err)
				}
				tag, err := tx.Exec(ctx, fmt.Sprintf(`UPDATE %s SET org_id = 'b0000000-0000-0000-0000-00000000000b' WHERE ctid = (SELECT ctid FROM %s WHERE org_id <> %s LIMIT 1)`, quoted(tp), quoted(tp), defaultOrgLit))
				var pe *pgconn.PgError
				switch {
				case err == nil && tag.RowsAffected() == 0:
					// an empty table has nothing to change
				case !errors.As(err, &pe) || pe.Code != ImmutableSQLState:
					t.Errorf("%s: got %v, want SQLSTATE %s", tp.Name(), err, ImmutableSQLState)
				case !strings.Contains(pe.Message, tp.Table.Name) || !strings.Contains(pe.Message, "org_id") || !strings.Contains(pe.Detail, "b0000000"):
					t.Errorf("%s: message %q / detail %q should name the table, the column and the values", tp.Name(), pe.Message, pe.Detail)
				}
				tx.Rollback(ctx)
			}
		})
	}
	t.Run("normal updates succeed", func(t *testing.T) {
		for _, tp := range e.plan.Scoped {
			tx, err := e.conn.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			// A no-op update of org_id and of the whole row fires every
			// trigger without changing the tenant column.
			if _, err := tx.Exec(ctx, fmt.Sprintf(`UPDATE %s SET org_id = org_id WHERE ctid = (SELECT ctid FROM %s WHERE org_id <> %s LIMIT 1)`, quoted(tp), quoted(tp), defaultOrgLit)); err != nil {
				t.Errorf("%s: %v", tp.Name(), err)
			}
			tx.Rollback(ctx)
		}
		if _, err := e.conn.Exec(ctx, `UPDATE public.calls SET status = 'completed' WHERE id = (SELECT id FROM public.calls LIMIT 1)`); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("every user has the org claim", func(t *testing.T) {
		if n := e.scalar(t, `SELECT count(*) FROM auth.users WHERE raw_app_meta_data ->> 'org_id' IS NULL`); n != 0 {
			t.Fatalf("%d users without app_metadata.org_id", n)
		}
		// The claim follows the membership rule: primary, else oldest.
		if n := e.scalar(t, `SELECT count(*) FROM auth.users u WHERE (u.raw_app_meta_data ->> 'org_id')::uuid IS DISTINCT FROM coalesce(warden.user_org(u.id), 'a0000000-0000-0000-0000-000000000001')`); n != 0 {
			t.Fatalf("%d users whose claim is not their org", n)
		}
		// A new user gets one at once.
		var claim string
		if err := e.conn.QueryRow(ctx, `INSERT INTO auth.users (email) VALUES ('new@example.com') RETURNING raw_app_meta_data ->> 'org_id'`).Scan(&claim); err != nil {
			t.Fatal(err)
		}
		if claim != "a0000000-0000-0000-0000-000000000001" {
			t.Fatalf("new user without membership got claim %q, want the default org", claim)
		}
	})
	t.Run("auth_org_id reads the JWT", func(t *testing.T) {
		tx, err := e.conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		var got *string
		if err := tx.QueryRow(ctx, `SELECT public.auth_org_id()::text`).Scan(&got); err != nil || got != nil {
			t.Fatalf("without a JWT: %v %v, want NULL", got, err)
		}
		if _, err := tx.Exec(ctx, `SELECT set_config('request.jwt.claims', '{"sub":"x","app_metadata":{"org_id":"a0000000-0000-0000-0000-000000000001"}}', true)`); err != nil {
			t.Fatal(err)
		}
		if err := tx.QueryRow(ctx, `SELECT public.auth_org_id()::text`).Scan(&got); err != nil || got == nil || *got != "a0000000-0000-0000-0000-000000000001" {
			t.Fatalf("with a JWT: %v %v", got, err)
		}
	})
}

// TestBackfillResumesAfterKill terminates a backfill's backend mid-table
// and runs the same file again: it resumes after the last committed batch
// and ends with every row filled.
func TestBackfillResumesAfterKill(t *testing.T) {
	e := loadExample(t, 20000)
	e.up(t, func(s Step) bool { return s.Phase == PhaseAdd || strings.HasPrefix(s.Name, "fill_trigger_") })
	ctx := context.Background()
	worker := pgtest.Connect(t, e.url)
	var pid int
	if err := worker.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	// Small batches with a pause make the backfill slow enough to kill.
	done := make(chan error, 1)
	go func() {
		_, err := worker.Exec(ctx, `CALL warden.backfill('"public"."calls"', '"warden"."calls_backfill_batch"', '"warden"."calls_backfill_upper"', 500, '20 milliseconds')`)
		done <- err
	}()
	deadline := time.Now().Add(30 * time.Second)
	for e.scalar(t, `SELECT coalesce((SELECT rows_done FROM warden.backfill_progress WHERE table_name = '"public"."calls"'), 0)`) < 2000 {
		if time.Now().After(deadline) {
			t.Fatal("backfill made no progress")
		}
		time.Sleep(10 * time.Millisecond)
	}
	pgtest.Exec(t, e.conn, fmt.Sprintf("SELECT pg_terminate_backend(%d)", pid))
	if err := <-done; err == nil {
		t.Fatal("the killed backfill reported success")
	}
	partial := e.scalar(t, `SELECT rows_done FROM warden.backfill_progress WHERE table_name = '"public"."calls"'`)
	remaining := e.scalar(t, `SELECT count(*) FROM public.calls WHERE org_id IS NULL`)
	if remaining == 0 || partial == 0 {
		t.Fatalf("kill came too late or too early: %d done, %d left", partial, remaining)
	}
	// Run the generated steps as a migration runner would after the failure.
	e.up(t, func(s Step) bool { return s.Phase == PhaseBackfill })
	for table, n := range e.nullCounts(t) {
		if n != 0 {
			t.Errorf("%s: %d rows without org_id after the resumed backfill", table, n)
		}
	}
	total := e.scalar(t, `SELECT rows_done FROM warden.backfill_progress WHERE table_name = '"public"."calls"'`)
	calls := e.scalar(t, `SELECT count(*) FROM public.calls`)
	if total != calls {
		t.Errorf("progress counts %d rows updated for %d calls: a batch was lost or counted twice", total, calls)
	}
}
