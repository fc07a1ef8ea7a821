package backfill

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/warden-sql/warden/generator/migrations"
	"github.com/warden-sql/warden/internal/pgtest"
	"github.com/warden-sql/warden/operate/status/statustest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const (
	policyPath = "../../policy.yaml"
	rows       = 200
	// batch is small so that the larger tables take many batches.
	batch = 7
)

// ready keeps what the backfill needs: phase 2 and the phase 3 fill
// triggers and functions, not the backfill CALLs.
func ready(s migrations.Step) bool {
	return s.Phase == migrations.PhaseAdd || strings.HasPrefix(s.Name, "fill_trigger_")
}

// load returns an example database ready for the backfill and its targets.
func load(t *testing.T) (*statustest.Example, []Target) {
	t.Helper()
	e := statustest.Load(t, policyPath, rows)
	e.Apply(t, ready)
	return e, targets(t, e)
}

func targets(t *testing.T, e *statustest.Example) []Target {
	t.Helper()
	db, plan := e.Live(t)
	ts, err := Targets(plan, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// progressRows is warden.backfill_progress without its timestamps.
func progressRows(t *testing.T, e *statustest.Example) map[string]string {
	t.Helper()
	rows, err := e.Conn.Query(context.Background(), `
SELECT table_name, format('rows=%s orphans=%s finished=%s upper=%s', rows_done, orphans, finished_at IS NOT NULL, upper_key)
FROM warden.backfill_progress`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	var k, v string
	if _, err := pgx.ForEachRow(rows, []any{&k, &v}, func() error { out[k] = v; return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func assertNoNulls(t *testing.T, e *statustest.Example) {
	t.Helper()
	for table, n := range e.NullCounts(t) {
		if n != 0 {
			t.Errorf("%s: %d rows without org_id", table, n)
		}
	}
}

// TestTargets: one target per scoped table, parents first, naming the
// functions and files the migration's own CALLs use.
func TestTargets(t *testing.T) {
	e := statustest.Load(t, policyPath, rows)
	ts, err := Targets(e.Plan, e.DB, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != len(e.Plan.Scoped) {
		t.Fatalf("%d targets for %d scoped tables", len(ts), len(e.Plan.Scoped))
	}
	for i, tg := range ts {
		if tg.Table != e.Plan.Scoped[i].Name() {
			t.Errorf("target %d is %s, want %s (plan order)", i, tg.Table, e.Plan.Scoped[i].Name())
		}
		if !strings.HasPrefix(tg.BatchFunc, `"warden".`) || !strings.HasSuffix(tg.UpperFunc, `_backfill_upper"`) ||
			!strings.Contains(tg.File, "_warden_backfill_") || !strings.Contains(tg.FillFile, "_warden_fill_trigger_") ||
			!strings.HasSuffix(tg.SetupFile, "_warden_setup.sql") {
			t.Errorf("target %+v", tg)
		}
	}
	want := Target{Table: `public."LeadScores"`, Key: `"public"."LeadScores"`,
		BatchFunc: `"warden"."LeadScores_backfill_batch"`, UpperFunc: `"warden"."LeadScores_backfill_upper"`}
	for _, tg := range ts {
		if tg.Table == want.Table && (tg.Key != want.Key || tg.BatchFunc != want.BatchFunc || tg.UpperFunc != want.UpperFunc) {
			t.Errorf("got %+v, want %+v", tg, want)
		}
	}
}

// cancelAfter cancels the run after n batches of one table, mid-table.
type cancelAfter struct {
	LogReporter
	table  string
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Batch(e BatchDone) {
	c.LogReporter.Batch(e)
	if e.Table == c.table {
		if c.n--; c.n == 0 {
			c.cancel()
		}
	}
}

// TestInterruptedAndResumed: a backfill cancelled in the middle of a table
// stops after the batch in flight, and a second run finishes with zero
// NULLs and the same org for every row as an uninterrupted run on a twin
// database and as the migration's own backfill files.
func TestInterruptedAndResumed(t *testing.T) {
	const table = "public.call_logs"
	uninterrupted, uts := load(t)
	if _, err := Run(context.Background(), uninterrupted.Conn, uts, Options{BatchSize: batch}); err != nil {
		t.Fatal(err)
	}
	assertNoNulls(t, uninterrupted)

	e, ts := load(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var log bytes.Buffer
	rep := &cancelAfter{LogReporter: LogReporter{W: &log}, table: table, n: 3, cancel: cancel}
	sum, err := Run(ctx, e.Conn, ts, Options{BatchSize: batch, Progress: rep})
	var ie *InterruptedError
	if !errors.As(err, &ie) || !errors.Is(err, context.Canceled) || ie.Table != table {
		t.Fatalf("interrupted run: %v", err)
	}
	last := sum.Tables[len(sum.Tables)-1]
	if last.Table != table || last.Batches != 3 || last.Finished {
		t.Fatalf("interrupted table: %+v", last)
	}
	before := progressRows(t, e)
	if got, want := before[`"public"."call_logs"`], fmt.Sprintf("rows=%d orphans=0 finished=f ", 3*batch); !strings.HasPrefix(got, want) {
		t.Errorf("progress of the interrupted table: %q, want %q...", got, want)
	}
	if n := e.NullCounts(t)[table]; n == 0 {
		t.Errorf("%s has no NULL rows left after the interruption", table)
	}
	if len(before) != ie.Done+1 {
		t.Errorf("%d progress rows, want %d (finished tables and the interrupted one)", len(before), ie.Done+1)
	}
	if !strings.Contains(log.String(), table+": 21/") {
		t.Errorf("log does not show the interrupted table's batches:\n%s", log.String())
	}

	log.Reset()
	if _, err := Run(context.Background(), e.Conn, ts, Options{BatchSize: batch, Progress: &LogReporter{W: &log}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), table+": ") || !strings.Contains(log.String(), "(resuming: 21 rows filled by an earlier run)") {
		t.Errorf("second run does not say it resumes %s:\n%s", table, log.String())
	}
	assertNoNulls(t, e)
	if diff := cmp.Diff(uninterrupted.Checksum(t), e.Checksum(t)); diff != "" {
		t.Errorf("interrupted+resumed differs from uninterrupted (-uninterrupted +resumed):\n%s", diff)
	}
	if diff := cmp.Diff(progressRows(t, uninterrupted), progressRows(t, e)); diff != "" {
		t.Errorf("progress rows differ (-uninterrupted +resumed):\n%s", diff)
	}

	// The migration's own files (CALL warden.backfill per table) give the
	// same orgs: the same SQL runs either way.
	files := statustest.Load(t, policyPath, rows)
	files.Apply(t, statustest.Through(migrations.PhaseBackfill))
	if diff := cmp.Diff(files.Checksum(t), e.Checksum(t)); diff != "" {
		t.Errorf("warden backfill differs from the backfill files (-files +warden backfill):\n%s", diff)
	}

	// A third run has nothing to do; so do the backfill files after it.
	log.Reset()
	sum, err = Run(context.Background(), e.Conn, ts, Options{BatchSize: batch, Progress: &LogReporter{W: &log}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range sum.Tables {
		if !r.AlreadyDone || r.Batches != 0 {
			t.Errorf("third run: %+v", r)
		}
	}
	e.Apply(t, func(s migrations.Step) bool { return s.Phase == migrations.PhaseBackfill })
}

// TestPlainOutputAndAudit: the log lines hold no control characters, and
// the audit log has one JSON line per committed batch, chained by key.
func TestPlainOutputAndAudit(t *testing.T) {
	e, ts := load(t)
	var log, audit bytes.Buffer
	sum, err := Run(context.Background(), e.Conn, ts, Options{BatchSize: 50, Progress: &LogReporter{W: &log}, Audit: &audit})
	if err != nil {
		t.Fatal(err)
	}
	assertNoNulls(t, e)
	for i, c := range log.Bytes() {
		if (c < 0x20 && c != '\n') || c == 0x7f {
			t.Fatalf("control character %#x at byte %d of the log:\n%q", c, i, log.String())
		}
	}
	if !strings.Contains(log.String(), "public.call_logs: 200/200 rows (100.0%)") || !strings.Contains(log.String(), "rows/s, ETA ") {
		t.Errorf("log:\n%s", log.String())
	}

	var batches, rowsDone int64
	for _, r := range sum.Tables {
		batches += int64(r.Batches)
		rowsDone += r.Rows
	}
	var lines, rowsAudited int64
	prev := map[string]string{}
	sc := bufio.NewScanner(&audit)
	for sc.Scan() {
		var rec AuditRecord
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		lines++
		rowsAudited += rec.Rows
		from, ok := prev[rec.Table]
		if !ok {
			from = "null"
		}
		if string(rec.FromKey) != from || rec.Attempts != 1 || rec.Time.IsZero() || rec.DurationMS <= 0 {
			t.Errorf("audit record %s: from_key %s, want %s (the previous batch's to_key)", sc.Text(), rec.FromKey, from)
		}
		prev[rec.Table] = string(rec.ToKey)
	}
	if lines != batches || rowsAudited != rowsDone || rowsDone == 0 {
		t.Errorf("audit: %d lines for %d batches, %d rows for %d", lines, batches, rowsAudited, rowsDone)
	}
}

// TestBarOutput: the terminal display draws bars and finishes every table.
func TestBarOutput(t *testing.T) {
	e, ts := load(t)
	var out bytes.Buffer
	if _, err := Run(context.Background(), e.Conn, ts, Options{BatchSize: 50, Progress: &BarReporter{W: &out}}); err != nil {
		t.Fatal(err)
	}
	assertNoNulls(t, e)
	for _, tg := range ts {
		if !strings.Contains(out.String(), tg.Table+": done, ") {
			t.Errorf("no done line for %s", tg.Table)
		}
	}
	if !strings.Contains(out.String(), "rows/s") || !strings.Contains(out.String(), "\r") {
		t.Errorf("no redrawn bar in:\n%q", out.String())
	}
}

// retrySignal reports retries on a channel as well as in the log.
type retrySignal struct {
	LogReporter
	retried chan RetryEvent
}

func (r *retrySignal) Retry(e RetryEvent) {
	r.LogReporter.Retry(e)
	select {
	case r.retried <- e:
	default:
	}
}

// TestRetryOnLock: a lock held by another session makes a batch time out
// and retry with backoff; once the lock is released the backfill finishes.
func TestRetryOnLock(t *testing.T) {
	for _, lock := range []struct{ name, table, sql string }{
		{"table", "public.calls", `LOCK TABLE public.calls IN ACCESS EXCLUSIVE MODE`},
		{"row", "public.leads", `SELECT 1 FROM public.leads WHERE org_id IS NULL ORDER BY id LIMIT 1 FOR UPDATE`},
	} {
		t.Run(lock.name, func(t *testing.T) {
			e, ts := load(t)
			locker := pgtest.Connect(t, e.URL)
			tx, err := locker.Begin(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(context.Background())
			if _, err := tx.Exec(context.Background(), lock.sql); err != nil {
				t.Fatal(err)
			}
			var log bytes.Buffer
			rep := &retrySignal{LogReporter: LogReporter{W: &log}, retried: make(chan RetryEvent, 1)}
			done := make(chan error, 1)
			var sum *Summary
			go func() {
				var err error
				sum, err = Run(context.Background(), e.Conn, ts, Options{
					LockTimeout: 100 * time.Millisecond, Backoff: 20 * time.Millisecond, Attempts: 100, Progress: rep,
				})
				done <- err
			}()
			select {
			case ev := <-rep.retried:
				if ev.Table != lock.table || ev.Code != "55P03" {
					t.Errorf("retry %+v, want %s lock timeout", ev, lock.table)
				}
			case err := <-done:
				t.Fatalf("backfill ended without a retry: %v\n%s", err, log.String())
			case <-time.After(60 * time.Second):
				t.Fatal("no retry within 60s")
			}
			time.Sleep(150 * time.Millisecond) // a few more retries while the lock is held
			if err := tx.Rollback(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Fatalf("backfill after the lock was released: %v\n%s", err, log.String())
			}
			assertNoNulls(t, e)
			if !strings.Contains(log.String(), lock.table+": batch hit lock timeout (SQLSTATE 55P03); retry 2 of 100 in 20ms") {
				t.Errorf("log does not show the retry:\n%s", log.String())
			}
			for _, r := range sum.Tables {
				if (r.Retries > 0) != (r.Table == lock.table) {
					t.Errorf("%s: %d retries", r.Table, r.Retries)
				}
			}
		})
	}
}

// TestRetriesBounded: a lock that is never released ends the backfill with
// a clear error after the allowed attempts.
func TestRetriesBounded(t *testing.T) {
	e, ts := load(t)
	locker := pgtest.Connect(t, e.URL)
	tx, err := locker.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(context.Background(), `LOCK TABLE public.calls IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), e.Conn, ts, Options{LockTimeout: 50 * time.Millisecond, Backoff: 5 * time.Millisecond, Attempts: 3})
	if err == nil || !strings.Contains(err.Error(), "backfill public.calls") || !strings.Contains(err.Error(), "lock timeout (SQLSTATE 55P03) after 3 attempts") {
		t.Fatalf("got %v", err)
	}
}

// TestNotReady: without the setup or the fill-trigger files, the error
// names the file to apply first.
func TestNotReady(t *testing.T) {
	e := statustest.Load(t, policyPath, rows)
	ts := targets(t, e)
	_, err := Run(context.Background(), e.Conn, ts, Options{})
	var me *MissingError
	if !errors.As(err, &me) || !strings.Contains(err.Error(), "warden.backfill_progress does not exist: apply supabase/migrations/20250110000000_warden_setup.sql (phase 2 setup) first") {
		t.Fatalf("got %v", err)
	}
	e.Apply(t, statustest.Through(migrations.PhaseAdd))
	_, err = Run(context.Background(), e.Conn, ts, Options{})
	if !errors.As(err, &me) || len(me.What) != len(ts) ||
		!strings.Contains(err.Error(), `public.calls: "warden"."calls_backfill_batch" does not exist: apply supabase/migrations/`) ||
		!regexp.MustCompile(`public.calls: .*_warden_fill_trigger_[a-z_0-9+]+\.sql \(phase 3 fill trigger\) first`).MatchString(err.Error()) {
		t.Fatalf("got %v", err)
	}
}

// TestOneAtATime: a second backfill on the same database is refused.
func TestOneAtATime(t *testing.T) {
	e, ts := load(t)
	other := pgtest.Connect(t, e.URL)
	pgtest.Exec(t, other, "SELECT pg_advisory_lock(hashtext('warden backfill'))")
	if _, err := Run(context.Background(), e.Conn, ts, Options{}); err == nil || !strings.Contains(err.Error(), "another warden backfill is running") {
		t.Fatalf("got %v", err)
	}
}

func TestFormatting(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{Group(0), "0"}, {Group(999), "999"}, {Group(1000), "1,000"}, {Group(-1234567), "-1,234,567"},
		{Rate(500, time.Second), "500 rows/s"}, {ETA(50, 100, 10*time.Second), "10s"}, {ETA(0, 100, time.Second), "unknown"},
		{ETA(100, 100, time.Second), "0s"}, {Printable("a\x1b[2Kb\rc"), "a?[2Kb?c"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
