package reliability

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/warden-sql/warden/exampleapp/exampledata"
	"github.com/warden-sql/warden/generator/classify"
	"github.com/warden-sql/warden/generator/migrations"
	"github.com/warden-sql/warden/internal/pgtest"
	"github.com/warden-sql/warden/policy"
)

// killData sizes the example data of the kill tests: a few thousand rows,
// and enough users that the first table (one row per user) takes several
// batches of killBatch.
var killData = exampledata.Options{RowsPerTable: 500, Users: 40}

const killBatch = 10

func smallBatches(p *policy.Policy) { p.Backfill.BatchSize = killBatch }

// killPoint is one place where the operator's session dies.
type killPoint struct {
	name string
	// step is the name of the step whose run is interrupted; the re-run
	// starts with it, since a runner records a file only once it succeeded.
	step func(m *migration) string
	// block, when set, makes the step wait at the intended point: it takes
	// a lock in its own transaction (tx), which is held until the kill.
	block func(t *testing.T, m *migration, tx pgx.Tx)
	// atPoint, when set, checks the database while the step waits, to
	// prove the kill lands where it should (e.g. some batches committed).
	atPoint func(t *testing.T, m *migration)
	// afterKill, when set, checks what the kill left behind.
	afterKill func(t *testing.T, m *migration)
}

// TestBackfillKilled kills the backend applying the migration at five
// points (pg_terminate_backend, as an operator's Ctrl-C on a hung psql or a
// failover does), then re-runs the remaining steps from the interrupted
// one, as a migration runner does. Each run must finish with no NULL left,
// no other column changed, progress counted exactly once, and the very
// same org_id in every row as an uninterrupted migration of the same data.
//
// The kill has to land at a known point, not at a random moment: the test
// makes the worker wait on a lock it holds (a row of the batch to come, a
// table the check or VALIDATE needs) and kills it while it waits there.
// Lock waits are bounded by the generated lock_timeout (2s), well above
// the time the test needs to see the wait and kill.
func TestBackfillKilled(t *testing.T) {
	ref := exampleApp(t, killData, smallBatches)
	ref.up(t, nil)
	want := fullChecksums(t, ref)
	wantProgress := progress(t, ref)

	firstTable := func(m *migration) *classify.TablePlan { return m.plan.Scoped[0] }
	embeddings := func(m *migration) *classify.TablePlan { return scopedTable(t, m, "embeddings") }

	points := []killPoint{
		{
			name: "mid-batch in the first table",
			step: func(m *migration) string { return "backfill_" + firstTable(m).Table.Name },
			block: func(t *testing.T, m *migration, tx pgx.Tx) {
				lockRow(t, tx, firstTable(m), 2*killBatch+killBatch/2)
			},
			atPoint: func(t *testing.T, m *migration) {
				assertProgress(t, m, firstTable(m), 2*killBatch)
			},
			afterKill: func(t *testing.T, m *migration) {
				// The batch in flight rolled back; the two before it stay.
				tp := firstTable(m)
				if n := m.scalar(t, fmt.Sprintf(`SELECT count(*) FROM %s WHERE org_id IS NOT NULL`, quoted(tp))); n != 2*killBatch {
					t.Errorf("%s: %d rows filled after the kill, want the %d of the committed batches", tp.Name(), n, 2*killBatch)
				}
			},
		},
		{
			// The session dies after one table's CALL returned and before
			// the runner recorded it: the re-run calls it again, which must
			// find it done and count nothing twice.
			name: "between tables",
			step: func(m *migration) string { return "backfill_" + firstTable(m).Table.Name },
		},
		{
			name: "mid-batch in a deep inherited table (embeddings)",
			step: func(m *migration) string { return "backfill_embeddings" },
			block: func(t *testing.T, m *migration, tx pgx.Tx) {
				lockRow(t, tx, embeddings(m), 3*killBatch+1)
			},
			atPoint: func(t *testing.T, m *migration) {
				assertProgress(t, m, embeddings(m), 3*killBatch)
			},
		},
		{
			name: "during the final backfill_check",
			step: func(m *migration) string { return "backfill_check" },
			block: func(t *testing.T, m *migration, tx pgx.Tx) {
				// The check counts NULLs table by table; the last table it
				// reads is locked, so it dies with most of its work done.
				last := m.plan.Scoped[len(m.plan.Scoped)-1]
				pgExec(t, tx, fmt.Sprintf(`LOCK TABLE %s IN ACCESS EXCLUSIVE MODE`, quoted(last)))
			},
		},
		{
			// validate_call_logs validates the NOT NULL check, then the FK,
			// which needs a ROW SHARE lock on the tenant table: it is killed
			// after the check's scan, inside the FK's VALIDATE, and both
			// roll back together.
			name: "during a VALIDATE in phase 4",
			step: func(m *migration) string { return "validate_call_logs" },
			block: func(t *testing.T, m *migration, tx pgx.Tx) {
				pgExec(t, tx, `LOCK TABLE public.organizations IN ACCESS EXCLUSIVE MODE`)
			},
			afterKill: func(t *testing.T, m *migration) {
				if n := m.scalar(t, `SELECT count(*) FROM pg_constraint WHERE conrelid = 'public.call_logs'::regclass AND contype IN ('c', 'f') AND NOT convalidated`); n != 2 {
					t.Errorf("call_logs: %d constraints left NOT VALID after the kill, want the check and the FK (2)", n)
				}
			},
		},
	}
	for _, kp := range points {
		t.Run(kp.name, func(t *testing.T) {
			m := exampleApp(t, killData, smallBatches)
			before := m.checksums(t)
			at := m.stepIndex(t, kp.step(m))
			worker := pgtest.Connect(t, m.url)
			for _, s := range m.steps[:at] {
				if err := applyStep(t.Context(), worker, s, false); err != nil {
					t.Fatal(err)
				}
			}
			m.kill(t, worker, m.steps[at], kp)
			if kp.afterKill != nil {
				kp.afterKill(t, m)
			}

			// The runner starts again, on a new session, at the step that
			// was not recorded as applied.
			worker = pgtest.Connect(t, m.url)
			for _, s := range m.steps[at:] {
				if err := applyStep(t.Context(), worker, s, false); err != nil {
					t.Fatal(err)
				}
			}
			m.assertNoNulls(t)
			m.assertInheritedConsistent(t)
			if diff := cmp.Diff(before, m.checksums(t)); diff != "" {
				t.Errorf("row counts or columns other than org_id changed (-before +after):\n%s", diff)
			}
			if diff := cmp.Diff(want, fullChecksums(t, m)); diff != "" {
				t.Errorf("rows differ from an uninterrupted migration, org_id included (-uninterrupted +resumed):\n%s", diff)
			}
			if diff := cmp.Diff(wantProgress, progress(t, m)); diff != "" {
				t.Errorf("backfill progress (rows done, orphans) differs from an uninterrupted migration: a batch was lost or counted twice (-uninterrupted +resumed):\n%s", diff)
			}
		})
	}
}

// kill runs step s on worker and terminates worker's backend at the point
// kp describes: while it waits on kp's lock, or, without one, right after
// the step returned.
func (m *migration) kill(t *testing.T, worker *pgx.Conn, s migrations.Step, kp killPoint) {
	t.Helper()
	ctx := t.Context()
	pid := worker.PgConn().PID()
	if kp.block == nil {
		if err := applyStep(ctx, worker, s, false); err != nil {
			t.Fatal(err)
		}
		terminate(t, m.conn, pid)
		if err := worker.Ping(ctx); err == nil {
			t.Fatal("the worker's session survived pg_terminate_backend")
		}
		return
	}
	blocker := pgtest.Connect(t, m.url)
	tx, err := blocker.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	kp.block(t, m, tx)

	done := make(chan error, 1)
	go func() { done <- applyStep(context.WithoutCancel(ctx), worker, s, false) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var wait *string
		if err := m.conn.QueryRow(ctx, `SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1`, pid).Scan(&wait); err != nil {
			t.Fatal(err)
		}
		if wait != nil && *wait == "Lock" {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("step %s ended (%v) before reaching the kill point", s.Name, err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("step %s never waited on the test's lock", s.Name)
		}
		time.Sleep(2 * time.Millisecond)
	}
	if kp.atPoint != nil {
		kp.atPoint(t, m)
	}
	terminate(t, m.conn, pid)
	err = <-done
	if err == nil {
		t.Fatalf("step %s succeeded although its backend was terminated", s.Name)
	}
	if code := sqlState(err); code != "" && code != "57P01" {
		t.Fatalf("step %s failed with %v, want the termination (57P01): the kill missed its point", s.Name, err)
	}
}

func terminate(t *testing.T, conn *pgx.Conn, pid uint32) {
	t.Helper()
	var ok bool
	if err := conn.QueryRow(t.Context(), `SELECT pg_terminate_backend($1, 10000)`, int(pid)).Scan(&ok); err != nil || !ok {
		t.Fatalf("pg_terminate_backend(%d): %v %v", pid, ok, err)
	}
}

func pgExec(t *testing.T, tx pgx.Tx, sql string, args ...any) {
	t.Helper()
	if _, err := tx.Exec(t.Context(), sql, args...); err != nil {
		t.Fatalf("%v\n%s", err, sql)
	}
}

// lockRow locks, in tx, the row at position n (0-based) of tp in primary
// key order: the backfill's batch containing it waits there.
func lockRow(t *testing.T, tx pgx.Tx, tp *classify.TablePlan, n int) {
	t.Helper()
	var cols []string
	for _, c := range tp.Table.PrimaryKey.Columns {
		cols = append(cols, pgx.Identifier{c}.Sanitize())
	}
	pgExec(t, tx, fmt.Sprintf(`SELECT 1 FROM %[1]s WHERE ctid = (SELECT ctid FROM %[1]s ORDER BY %[2]s OFFSET %[3]d LIMIT 1) FOR UPDATE`,
		quoted(tp), strings.Join(cols, ", "), n))
}

// assertProgress checks that exactly done rows of tp are recorded as
// backfilled: the kill comes after that many committed batches.
func assertProgress(t *testing.T, m *migration, tp *classify.TablePlan, done int64) {
	t.Helper()
	got := m.scalar(t, `SELECT coalesce((SELECT rows_done FROM warden.backfill_progress WHERE table_name = $1), -1)`, quoted(tp))
	if got != done {
		t.Fatalf("%s: %d rows done when the worker waits, want %d (the kill would not land mid-table)", tp.Name(), got, done)
	}
}

func scopedTable(t *testing.T, m *migration, name string) *classify.TablePlan {
	t.Helper()
	for _, tp := range m.plan.Scoped {
		if tp.Table.Name == name {
			return tp
		}
	}
	t.Fatalf("%s is not scoped", name)
	return nil
}

// fullChecksums is checksums with the tenant column included, for the
// scoped tables and the users' claims: a resumed migration must give every
// row the org an uninterrupted one gives it.
func fullChecksums(t *testing.T, m *migration) map[string]string {
	t.Helper()
	out := map[string]string{}
	tables := []string{pgx.Identifier{m.pol.Users.Table.Schema, m.pol.Users.Table.Name}.Sanitize()}
	for _, tp := range m.plan.Scoped {
		tables = append(tables, quoted(tp))
	}
	for _, tb := range tables {
		var count int64
		var sum string
		q := fmt.Sprintf(`SELECT count(*), coalesce(md5(string_agg(md5(to_jsonb(t)::text), '' ORDER BY md5(to_jsonb(t)::text))), '') FROM %s t`, tb)
		if err := m.conn.QueryRow(t.Context(), q).Scan(&count, &sum); err != nil {
			t.Fatalf("%s: %v", tb, err)
		}
		out[tb] = fmt.Sprintf("%d rows %s", count, sum)
	}
	return out
}

// progress is warden.backfill_progress without its timestamps.
func progress(t *testing.T, m *migration) map[string]string {
	t.Helper()
	rows, err := m.conn.Query(t.Context(), `SELECT table_name, rows_done, orphans, finished_at IS NOT NULL FROM warden.backfill_progress`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	var name string
	var done, orphans int64
	var finished bool
	_, err = pgx.ForEachRow(rows, []any{&name, &done, &orphans, &finished}, func() error {
		out[name] = fmt.Sprintf("%d rows, %d orphans, finished %v", done, orphans, finished)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
