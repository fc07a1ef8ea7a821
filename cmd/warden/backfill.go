package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/warden-sql/warden/operate/backfill"
)

// defaultAuditLog is where warden backfill appends its audit log unless
// --audit-log says otherwise: the working directory, where the operator
// runs it and will look, and appended so a resumed run adds to the record
// of the run it resumes.
const defaultAuditLog = "warden-backfill.jsonl"

func backfillCommand() *cli.Command {
	return &cli.Command{
		Name:      "backfill",
		Usage:     "run the phase 3 backfill batch by batch, with progress, throttle, retries and resume",
		UsageText: "warden backfill [--batch-size N] [--pause DURATION] [--lock-timeout DURATION] [--attempts N] [--audit-log FILE] [--format FORMAT] [--database-url URL]",
		Description: "Fills the tenant column of every scoped table of a live database (--database-url, DATABASE_URL\n" +
			"or the PG* variables), parents before children, by calling the batch functions the phase 3\n" +
			"fill-trigger files created: the same SQL as the backfill migration files, one transaction per\n" +
			"batch, with the same warden.backfill_progress bookkeeping, so either can resume the other.\n\n" +
			"Shows rows done / total, rate and ETA per table: a live bar on a terminal, plain log lines\n" +
			"otherwise. A batch that meets a lock (lock_timeout, deadlock, serialization failure) is retried\n" +
			"with a doubling wait, up to --attempts tries. Ctrl-C lets the batch in flight commit, then stops;\n" +
			"run warden backfill again to resume after the last committed batch.\n\n" +
			"Every committed batch is appended to the audit log as one JSON line: time, table, from_key,\n" +
			"to_key, rows, orphans (rows given the default org), duration_ms, attempts. The default file is\n" +
			defaultAuditLog + " in the working directory; --audit-log \"\" writes none.\n\n" +
			"Needs the phase 2 files and the phase 3 fill-trigger files applied first; says which is missing.",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "batch-size", Usage: "rows per batch", DefaultText: "the policy's backfill.batch_size"},
			&cli.DurationFlag{Name: "pause", Usage: "pause between batches, e.g. 100ms", DefaultText: "the policy's backfill.pause"},
			&cli.DurationFlag{Name: "lock-timeout", Usage: "lock wait per statement before a batch is retried", DefaultText: "the policy's migrations.lock_timeout"},
			&cli.IntFlag{Name: "attempts", Value: backfill.DefaultAttempts, Usage: "tries per batch that meets a lock"},
			&cli.StringFlag{Name: "audit-log", Value: defaultAuditLog, Usage: "append one JSON line per committed batch to `FILE` (\"\" for none)"},
			formatFlag(),
		},
		Action: runBackfill,
	}
}

func runBackfill(c *cli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	pol, err := loadLivePolicy(c)
	if err != nil {
		return err
	}
	opts := backfill.Options{
		BatchSize:   pol.Backfill.BatchSize,
		Pause:       pol.Backfill.Pause,
		LockTimeout: pol.Migrations.LockTimeout,
		Attempts:    c.Int("attempts"),
	}
	if c.IsSet("batch-size") {
		opts.BatchSize = c.Int("batch-size")
	}
	if c.IsSet("pause") {
		opts.Pause = c.Duration("pause")
	}
	if c.IsSet("lock-timeout") {
		opts.LockTimeout = c.Duration("lock-timeout")
	}
	switch {
	case opts.BatchSize < 1:
		return usageErrorf("--batch-size %d: must be at least 1", opts.BatchSize)
	case opts.Pause < 0:
		return usageErrorf("--pause %s: must not be negative", opts.Pause)
	case c.IsSet("lock-timeout") && opts.LockTimeout < time.Millisecond:
		return usageErrorf("--lock-timeout %s: must be at least 1ms", opts.LockTimeout)
	case opts.Attempts < 1:
		return usageErrorf("--attempts %d: must be at least 1", opts.Attempts)
	}
	if path := c.String("audit-log"); path != "" {
		if err := checkOutputDir("audit-log", path); err != nil {
			return err
		}
	}

	conn, db, plan, err := livePlan(c, pol)
	if err != nil {
		return err
	}
	defer conn.Close(c.Context)
	targets, err := backfill.Targets(plan, db, stepPaths(c, pol, plan, db))
	if err != nil {
		return err
	}
	// Check before opening the audit log, so a database that is not ready
	// leaves no empty file behind.
	if err := backfill.Check(c.Context, conn.Conn, targets); err != nil {
		return err
	}
	auditPath := c.String("audit-log")
	if auditPath != "" {
		f, err := os.OpenFile(auditPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("opening the audit log: %w", err)
		}
		defer f.Close()
		opts.Audit = f
	}

	out := c.App.Writer
	if isTerminal(out) {
		opts.Progress = &backfill.BarReporter{W: out}
	} else {
		// Logs: one line per table when it is done, and a progress line
		// every 10 s only for a table still running, so neither empty
		// tables nor a million-row table flood them.
		opts.Progress = &backfill.LogReporter{W: out, Every: 10 * time.Second, Compact: true}
	}
	audit := auditPath
	if audit == "" {
		audit = "none"
	}
	fmt.Fprintf(out, "warden backfill: %d tables of %s, batches of %s rows, pause %s, lock_timeout %s, audit log %s\n",
		len(targets), conn.Source, backfill.Group(int64(opts.BatchSize)), opts.Pause, opts.LockTimeout, audit)

	sum, err := backfill.Run(c.Context, conn.Conn, targets, opts)
	var ie *backfill.InterruptedError
	if errors.As(err, &ie) {
		// run reports the interruption itself (exit 130); say here how to
		// go on, since nothing was lost.
		fmt.Fprintf(c.App.ErrWriter, "warden: %s\n", ie.Error())
		fmt.Fprintf(c.App.ErrWriter, "warden: every committed batch is recorded in warden.backfill_progress: run warden backfill again to resume\n")
		return err
	}
	if err != nil {
		return err
	}
	var rows, orphans int64
	var retries, skipped int
	for _, t := range sum.Tables {
		rows += t.Rows
		orphans += t.Orphans
		retries += t.Retries
		if t.AlreadyDone {
			skipped++
		}
	}
	fmt.Fprintf(out, "backfill complete: %s rows filled in %d tables (%d already done before), %s orphans given the default org, %d retries\n",
		backfill.Group(rows), len(sum.Tables)-skipped, skipped, backfill.Group(orphans), retries)
	fmt.Fprintf(out, "next: apply the rest of phase 3 (its backfill files now find every table done, and its check confirms no NULL is left), then phase 4; warden status shows where you are\n")
	return nil
}

// isTerminal reports whether w is a terminal, where a redrawn progress bar
// makes sense.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
