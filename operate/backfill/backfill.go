// Package backfill runs the migration's phase 3 backfill from Go, batch by
// batch, with progress, throttling, retries and an audit log.
//
// It runs the same SQL as the generated migration: the per-table batch and
// upper-bound functions that the phase 3 fill-trigger files create, called
// with the arguments the backfill files' CALL passes, and the bookkeeping of
// the warden.backfill procedure (00_setup) on warden.backfill_progress. So
// the two are interchangeable and resume each other: a backfill started by
// the migration files and killed can be finished by `warden backfill`, and
// the backfill files are no-ops ("already done") after it.
//
// What Go adds over the procedure: a progress display, a retry with backoff
// when a batch meets a lock (lock_timeout, deadlock, serialization failure)
// instead of failing the whole migration, a clean stop on Ctrl-C after the
// batch in flight has committed, and a JSON-lines audit log of every batch.
package backfill

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/warden-sql/warden/generator/classify"
	"github.com/warden-sql/warden/generator/migrations"
	"github.com/warden-sql/warden/internal/ident"
	"github.com/warden-sql/warden/introspect"
	"github.com/warden-sql/warden/operate/status"
)

// Defaults for Options fields left zero.
const (
	DefaultBatchSize   = 5000
	DefaultLockTimeout = 2 * time.Second
	DefaultAttempts    = 8
	DefaultBackoff     = 250 * time.Millisecond
	// MaxBackoff caps the doubling wait between attempts of one batch.
	MaxBackoff = 30 * time.Second
)

// Target is one scoped table's backfill: the arguments the migration's
// CALL warden.backfill(...) passes for it, and the files that create what
// it needs.
type Target struct {
	// Table is the display name, e.g. public.calls.
	Table string
	// Key is the table's row key in warden.backfill_progress (the CALL's
	// first argument: the quoted, qualified name).
	Key string
	// BatchFunc and UpperFunc are the quoted, qualified functions the CALL
	// names.
	BatchFunc, UpperFunc string
	// File is the backfill file with the CALL, FillFile the phase 3 file
	// creating the functions, SetupFile the phase 2 setup file creating
	// warden.backfill_progress (paths as `warden generate` writes them).
	File, FillFile, SetupFile string
	// Column is the quoted tenant column and Relation the quoted, qualified
	// table, for the NULL count.
	Column, Relation string
	// Causes counts the table's rows in the default org by why their
	// sources gave none, said when a run leaves orphans.
	Causes *migrations.CauseQuery
}

// Targets returns the backfill of every scoped table of plan, parents
// first (plan.Scoped order). The function names and progress keys are the
// backfill steps' own (migrations.Step.Backfill), so they are the
// migration's by construction.
//
// paths maps step names to their files in the output directory (see
// status.Options.Paths); nil for the first generation's layout.
func Targets(plan *classify.Plan, db *introspect.Database, paths map[string]string) ([]Target, error) {
	steps, err := migrations.Steps(plan, db)
	if err != nil {
		return nil, err
	}
	files := paths
	if files == nil {
		files = status.Files(plan, steps)
	}
	fill := map[string]string{}
	setup := ""
	for _, s := range steps {
		switch s.Kind {
		case migrations.KindSetup:
			setup = files[s.Name]
		case migrations.KindFillTrigger:
			fill[s.Table] = files[s.Name]
		}
	}
	col := ident.Quote(plan.Policy.Tenant.Column)
	var out []Target
	for _, s := range steps {
		if s.Kind != migrations.KindBackfill {
			continue
		}
		if s.Backfill == nil || s.TablePlan == nil {
			return nil, fmt.Errorf("backfill: step %s has no backfill call or table", s.Name)
		}
		t := s.TablePlan.Table
		out = append(out, Target{
			Table: s.Table, Key: s.Backfill.Key, BatchFunc: s.Backfill.BatchFunc, UpperFunc: s.Backfill.UpperFunc,
			File: files[s.Name], FillFile: fill[s.Table], SetupFile: setup,
			Column: col, Relation: ident.Qualified(t.Schema, t.Name), Causes: s.Backfill.Causes,
		})
	}
	if len(out) != len(plan.Scoped) {
		return nil, fmt.Errorf("backfill: %d backfill steps for %d scoped tables", len(out), len(plan.Scoped))
	}
	return out, nil
}

// Options tune Run.
type Options struct {
	// BatchSize is the rows per batch (one transaction each);
	// DefaultBatchSize when zero.
	BatchSize int
	// Pause is slept between batches, to leave the server breathing room.
	Pause time.Duration
	// LockTimeout bounds each batch's lock waits; DefaultLockTimeout when
	// zero.
	LockTimeout time.Duration
	// Attempts bounds the tries of one batch that meets a lock timeout, a
	// deadlock or a serialization failure; DefaultAttempts when zero.
	Attempts int
	// Backoff is the wait before the second try, doubled for each further
	// one up to MaxBackoff; DefaultBackoff when zero.
	Backoff time.Duration
	// Progress receives progress events; nil for none.
	Progress Reporter
	// Audit receives one JSON line per committed batch (see AuditRecord);
	// nil for none.
	Audit io.Writer
}

func (o Options) withDefaults() Options {
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = DefaultLockTimeout
	}
	if o.Attempts <= 0 {
		o.Attempts = DefaultAttempts
	}
	if o.Backoff <= 0 {
		o.Backoff = DefaultBackoff
	}
	if o.Progress == nil {
		o.Progress = nopReporter{}
	}
	return o
}

// AuditRecord is one line of the audit log: a committed batch.
type AuditRecord struct {
	Time  time.Time `json:"time"`
	Table string    `json:"table"`
	// FromKey is the key the batch started after (null for the first
	// batch), ToKey the last key it covered: primary-key values, or a
	// block number for a table without a primary key.
	FromKey json.RawMessage `json:"from_key"`
	ToKey   json.RawMessage `json:"to_key"`
	// Rows were given the tenant column, Orphans of them the default org.
	Rows       int64   `json:"rows"`
	Orphans    int64   `json:"orphans"`
	DurationMS float64 `json:"duration_ms"`
	// Attempts is 1 unless the batch was retried.
	Attempts int `json:"attempts"`
}

// TableResult is what Run did to one table.
type TableResult struct {
	Table string
	// AlreadyDone is true when the progress row said finished: nothing ran.
	AlreadyDone bool
	// Total is the NULL count when the table's run started.
	Total int64
	// Rows and Orphans were filled by this run; RowsAllRuns and
	// OrphansAllRuns come from the progress row (earlier runs included).
	Rows, Orphans               int64
	RowsAllRuns, OrphansAllRuns int64
	Batches, Retries            int
	Duration                    time.Duration
	Finished                    bool
	// DefaultOrg is, when the run gave rows the default org, the table's
	// rows there and why each source gave them none.
	DefaultOrg *status.DefaultOrgRows
}

// Summary is what Run did.
type Summary struct {
	Tables []TableResult
}

// InterruptedError is returned when the context was cancelled: the batch
// in flight was committed (or never started) and Run stopped. Running again
// resumes after the last committed batch.
type InterruptedError struct {
	// Table is the table being filled when the stop came, "" between tables.
	Table string
	// Done counts the tables finished, of Total.
	Done, Total int
	Err         error
}

func (e *InterruptedError) Error() string {
	where := "between tables"
	if e.Table != "" {
		where = "in " + e.Table + " after its last committed batch"
	}
	// The cause is an interrupt (Ctrl-C, SIGTERM) or a deadline; Go's
	// "context canceled" would say nothing more to an operator.
	cause := "interrupted"
	if errors.Is(e.Err, context.DeadlineExceeded) {
		cause = "deadline reached"
	}
	return fmt.Sprintf("backfill stopped %s (%d of %d tables done): %s", where, e.Done, e.Total, cause)
}

// Unwrap returns the context's error.
func (e *InterruptedError) Unwrap() error { return e.Err }

// MissingError says what the database lacks for the backfill and which
// migration file to apply first.
type MissingError struct {
	What []string // one line per missing object, naming its file
}

func (e *MissingError) Error() string {
	return "backfill: the database is not ready:\n" + strings.Join(e.What, "\n")
}

// Check verifies that the phase 2 setup and every table's phase 3
// fill-trigger file have been applied: the progress table and the batch and
// upper-bound functions exist. One query.
func Check(ctx context.Context, conn *pgx.Conn, targets []Target) error {
	var batch, upper []string
	for _, t := range targets {
		batch = append(batch, t.BatchFunc+"(jsonb, jsonb, integer)")
		upper = append(upper, t.UpperFunc+"()")
	}
	var progress bool
	var okBatch, okUpper []bool
	err := conn.QueryRow(ctx, checkQuery, batch, upper).Scan(&progress, &okBatch, &okUpper)
	if err != nil {
		return fmt.Errorf("backfill: checking the backfill functions: %w", err)
	}
	var missing []string
	if !progress {
		file := ""
		if len(targets) > 0 {
			file = targets[0].SetupFile
		}
		missing = append(missing, fmt.Sprintf("warden.backfill_progress does not exist: apply %s (phase 2 setup) first", file))
	}
	for i, t := range targets {
		if !okBatch[i] || !okUpper[i] {
			missing = append(missing, fmt.Sprintf("%s: %s does not exist: apply %s (phase 3 fill trigger) first", t.Table, t.BatchFunc, t.FillFile))
		}
	}
	if len(missing) > 0 {
		return &MissingError{What: missing}
	}
	return nil
}

// Run backfills every target in order, resuming each from its progress
// row. When ctx is cancelled it lets the batch in flight commit, stops, and
// returns an *InterruptedError; run again to resume.
func Run(ctx context.Context, conn *pgx.Conn, targets []Target, opts Options) (*Summary, error) {
	opts = opts.withDefaults()
	if err := Check(ctx, conn, targets); err != nil {
		return nil, err
	}
	// One warden backfill per database at a time: two would race for the
	// same batches and double-count the progress rows. A session lock goes
	// away with the connection, so a killed run never leaves it behind.
	var got bool
	if err := conn.QueryRow(ctx, "SELECT pg_catalog.pg_try_advisory_lock(pg_catalog.hashtext('warden backfill'))").Scan(&got); err != nil {
		return nil, fmt.Errorf("backfill: %w", err)
	}
	if !got {
		return nil, errors.New("backfill: another warden backfill is running on this database; wait for it or stop it")
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_catalog.pg_advisory_unlock(pg_catalog.hashtext('warden backfill'))")

	r := &runner{conn: conn, opts: opts}
	sum := &Summary{}
	for i, t := range targets {
		if ctx.Err() != nil {
			return sum, &InterruptedError{Done: i, Total: len(targets), Err: ctx.Err()}
		}
		res, err := r.table(ctx, t)
		sum.Tables = append(sum.Tables, res)
		if err != nil {
			if ctx.Err() != nil && !res.Finished {
				return sum, &InterruptedError{Table: t.Table, Done: i, Total: len(targets), Err: ctx.Err()}
			}
			return sum, err
		}
	}
	return sum, nil
}

type runner struct {
	conn *pgx.Conn
	opts Options
}

// progressRow is a table's row of warden.backfill_progress.
type progressRow struct {
	upper, last       *string // jsonb text
	rowsDone, orphans int64
	finished          bool
}

// table runs one table's backfill, as the warden.backfill procedure does.
func (r *runner) table(ctx context.Context, t Target) (TableResult, error) {
	res := TableResult{Table: t.Table}
	start := time.Now()
	// Work that must not be cut short by Ctrl-C (a batch in flight) runs on
	// work; ctx is checked between batches.
	work := context.WithoutCancel(ctx)

	var p progressRow
	err := r.retry(ctx, t, &res, func(tx pgx.Tx) error {
		err := tx.QueryRow(work, selectProgress, t.Key).Scan(&p.upper, &p.last, &p.rowsDone, &p.orphans, &p.finished)
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		// First run for this table: freeze the upper bound. Rows added
		// later get the tenant column from the fill trigger, so the
		// backfill never chases a moving end.
		p = progressRow{}
		if _, err := tx.Exec(work, insertProgress, t.Key); err != nil {
			return err
		}
		if err := tx.QueryRow(work, fmt.Sprintf("SELECT %s()::text", t.UpperFunc)).Scan(&p.upper); err != nil {
			return err
		}
		_, err = tx.Exec(work, setUpper, t.Key, p.upper)
		return err
	})
	if err != nil {
		return res, fmt.Errorf("backfill %s: reading its progress row: %w", t.Table, err)
	}
	res.RowsAllRuns, res.OrphansAllRuns = p.rowsDone, p.orphans
	if p.finished {
		res.AlreadyDone, res.Finished = true, true
		r.opts.Progress.TableDone(res)
		return res, nil
	}
	err = r.retry(ctx, t, &res, func(tx pgx.Tx) error {
		return tx.QueryRow(work, fmt.Sprintf("SELECT count(*) FROM %s WHERE %s IS NULL", t.Relation, t.Column)).Scan(&res.Total)
	})
	if err != nil {
		return res, fmt.Errorf("backfill %s: counting rows without the tenant column: %w", t.Table, err)
	}
	r.opts.Progress.TableStart(TableStart{Table: t.Table, Total: res.Total, Resumed: p.last != nil, RowsBefore: p.rowsDone})

	last := p.last
	for p.upper != nil {
		if ctx.Err() != nil {
			res.Duration = time.Since(start)
			return res, ctx.Err()
		}
		var next *string
		var rows, orphans int64
		batchStart := time.Now()
		attempts := 0
		err := r.retry(ctx, t, &res, func(tx pgx.Tx) error {
			attempts++
			next, rows, orphans = nil, 0, 0
			if _, err := tx.Exec(work, batchSettings); err != nil {
				return err
			}
			// Past the upper bound a ctid-range batch returns all NULLs;
			// the procedure stops on the NULL key alone, and so do we.
			q := fmt.Sprintf("SELECT last_key::text, coalesce(updated, 0), coalesce(orphans, 0) FROM %s($1::jsonb, $2::jsonb, $3)", t.BatchFunc)
			if err := tx.QueryRow(work, q, last, p.upper, r.opts.BatchSize).Scan(&next, &rows, &orphans); err != nil {
				return err
			}
			if next == nil {
				return nil // past the upper bound: nothing was changed
			}
			_, err := tx.Exec(work, advanceProgress, t.Key, next, rows, orphans)
			return err
		})
		if err != nil {
			res.Duration = time.Since(start)
			return res, fmt.Errorf("backfill %s: batch after key %s: %w", t.Table, keyText(last), err)
		}
		if next == nil {
			break
		}
		res.Batches++
		res.Rows += rows
		res.Orphans += orphans
		res.RowsAllRuns += rows
		res.OrphansAllRuns += orphans
		if err := r.audit(AuditRecord{
			Time: time.Now().UTC(), Table: t.Table, FromKey: raw(last), ToKey: raw(next),
			Rows: rows, Orphans: orphans, DurationMS: float64(time.Since(batchStart).Microseconds()) / 1000, Attempts: attempts,
		}); err != nil {
			return res, err
		}
		last = next
		r.opts.Progress.Batch(BatchDone{Table: t.Table, Rows: rows, Orphans: orphans, Done: res.Rows, Total: res.Total, Elapsed: time.Since(start)})
		if r.opts.Pause > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(r.opts.Pause):
			}
		}
	}
	err = r.retry(ctx, t, &res, func(tx pgx.Tx) error {
		return tx.QueryRow(work, finishProgress, t.Key).Scan(&res.RowsAllRuns, &res.OrphansAllRuns)
	})
	if err != nil {
		return res, fmt.Errorf("backfill %s: marking it finished: %w", t.Table, err)
	}
	res.Finished = true
	res.Duration = time.Since(start)
	if res.Orphans > 0 && t.Causes != nil {
		// Said now, while the operator still looks: which rows went to
		// the default org for lack of an owner, an owner the users table
		// does not know, or an owner in no org.
		var counts []int64
		err := r.retry(ctx, t, &res, func(tx pgx.Tx) error { return tx.QueryRow(work, t.Causes.SQL).Scan(&counts) })
		if err != nil {
			return res, fmt.Errorf("backfill %s: counting the rows in the default org by cause: %w", t.Table, err)
		}
		res.DefaultOrg = status.CountCauses(t.Causes, counts)
	}
	r.opts.Progress.TableDone(res)
	return res, nil
}

// retry runs fn in a transaction of its own and commits it. A transaction
// that fails on a lock (lock_timeout, deadlock, serialization failure) is
// rolled back and tried again after a doubling wait, up to opts.Attempts
// tries; a cancelled ctx ends the waiting, never a transaction in flight.
func (r *runner) retry(ctx context.Context, t Target, res *TableResult, fn func(pgx.Tx) error) error {
	work := context.WithoutCancel(ctx)
	wait := r.opts.Backoff
	for attempt := 1; ; attempt++ {
		err := pgx.BeginFunc(work, r.conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(work, "SELECT pg_catalog.set_config('lock_timeout', $1, true)", fmt.Sprintf("%dms", r.opts.LockTimeout.Milliseconds())); err != nil {
				return err
			}
			return fn(tx)
		})
		if err == nil {
			return nil
		}
		code := retryable(err)
		if code == "" {
			return err
		}
		if attempt >= r.opts.Attempts {
			return fmt.Errorf("%s after %d attempts (another session holds a lock on the table or its rows; retry later, or with a longer --lock-timeout): %w", codeText(code), attempt, err)
		}
		res.Retries++
		r.opts.Progress.Retry(RetryEvent{Table: t.Table, Attempt: attempt, Attempts: r.opts.Attempts, Wait: wait, Code: code, Reason: codeText(code)})
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(wait*2, MaxBackoff)
	}
}

// retryable returns the SQLSTATE of an error worth retrying, else "".
func retryable(err error) string {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch pg.Code {
		case "55P03", "40P01", "40001":
			return pg.Code
		}
	}
	return ""
}

func codeText(code string) string {
	switch code {
	case "55P03":
		return "lock timeout (SQLSTATE 55P03)"
	case "40P01":
		return "deadlock (SQLSTATE 40P01)"
	case "40001":
		return "serialization failure (SQLSTATE 40001)"
	}
	return "SQLSTATE " + code
}

func (r *runner) audit(rec AuditRecord) error {
	if r.opts.Audit == nil {
		return nil
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if _, err := r.opts.Audit.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("backfill: writing the audit log: %w", err)
	}
	return nil
}

func raw(key *string) json.RawMessage {
	if key == nil {
		return json.RawMessage("null")
	}
	return json.RawMessage(*key)
}

func keyText(key *string) string {
	if key == nil {
		return "(start)"
	}
	return *key
}

// The statements of the warden.backfill procedure (templates/00_setup),
// one transaction at a time from Go.
const (
	checkQuery = `
SELECT pg_catalog.to_regclass('warden.backfill_progress') IS NOT NULL,
       (SELECT coalesce(array_agg(pg_catalog.to_regprocedure(f) IS NOT NULL ORDER BY i), '{}') FROM unnest($1::text[]) WITH ORDINALITY AS b(f, i)),
       (SELECT coalesce(array_agg(pg_catalog.to_regprocedure(f) IS NOT NULL ORDER BY i), '{}') FROM unnest($2::text[]) WITH ORDINALITY AS u(f, i))`

	selectProgress = `
SELECT upper_key::text, last_key::text, rows_done, orphans, finished_at IS NOT NULL
FROM warden.backfill_progress WHERE table_name = $1`

	insertProgress = `INSERT INTO warden.backfill_progress (table_name, upper_key) VALUES ($1, NULL)`

	setUpper = `UPDATE warden.backfill_progress SET upper_key = $2::jsonb WHERE table_name = $1`

	// As the procedure does: the backfill's updates should not look like
	// app writes, so with the replica role the app's own triggers stay
	// quiet; roles not allowed to set it backfill with them firing.
	batchSettings = `
DO $do$
BEGIN
  PERFORM pg_catalog.set_config('session_replication_role', 'replica', true);
EXCEPTION WHEN insufficient_privilege THEN
  NULL;
END
$do$`

	advanceProgress = `
UPDATE warden.backfill_progress
   SET last_key = $2::jsonb, rows_done = rows_done + $3, orphans = orphans + $4
 WHERE table_name = $1`

	finishProgress = `
UPDATE warden.backfill_progress SET finished_at = pg_catalog.now()
 WHERE table_name = $1
RETURNING rows_done, orphans`
)
