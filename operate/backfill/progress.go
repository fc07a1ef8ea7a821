package backfill

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/warden-sql/warden/operate/status"
)

// Reporter receives Run's progress events, in order, from one goroutine.
type Reporter interface {
	// TableStart: a table's batches are about to run.
	TableStart(TableStart)
	// Batch: a batch committed.
	Batch(BatchDone)
	// Retry: a batch met a lock and will be tried again after a wait.
	Retry(RetryEvent)
	// TableDone: a table is finished (or was already, AlreadyDone).
	TableDone(TableResult)
}

// TableStart describes a table about to be filled.
type TableStart struct {
	Table string
	// Total is its rows without the tenant column now.
	Total int64
	// Resumed is true when an earlier run committed batches of it, which
	// filled RowsBefore rows.
	Resumed    bool
	RowsBefore int64
}

// BatchDone describes a committed batch.
type BatchDone struct {
	Table         string
	Rows, Orphans int64
	// Done of Total rows this run; Elapsed since the table started.
	Done, Total int64
	Elapsed     time.Duration
}

// RetryEvent describes a batch that will be tried again.
type RetryEvent struct {
	Table string
	// Attempt failed, of at most Attempts; the next starts after Wait.
	Attempt, Attempts int
	Wait              time.Duration
	Code              string // SQLSTATE
	Reason            string // e.g. "lock timeout (SQLSTATE 55P03)"
}

type nopReporter struct{}

func (nopReporter) TableStart(TableStart) {}
func (nopReporter) Batch(BatchDone)       {}
func (nopReporter) Retry(RetryEvent)      {}
func (nopReporter) TableDone(TableResult) {}

// LogReporter writes plain lines, one per event: for logs and CI, where a
// redrawn bar would be a mess of carriage returns and escape codes. Its
// output holds printable characters and newlines only.
type LogReporter struct {
	W io.Writer
	// Every throttles batch lines: at most one per interval per table
	// (the table's last batch is always followed by its done line). Zero
	// prints every batch.
	Every time.Duration
	// Compact prints one line per table, when it is done (an empty table:
	// "nothing to fill"), and batch lines only for a table still running
	// after Every: for logs that a person reads afterwards.
	Compact bool

	last, started time.Time
	resumed       string
}

// TableStart prints the table's work.
func (l *LogReporter) TableStart(e TableStart) {
	l.last, l.started, l.resumed = time.Time{}, time.Now(), ""
	resumed := ""
	if e.Resumed {
		resumed = fmt.Sprintf(" (resuming: %s filled by an earlier run)", plural(e.RowsBefore, "row", "rows"))
		l.resumed = resumed
	}
	if l.Compact {
		return
	}
	l.printf("%s: %s rows without the tenant column%s", e.Table, Group(e.Total), resumed)
}

// Batch prints rows done of total, rate and ETA.
func (l *LogReporter) Batch(e BatchDone) {
	now := time.Now()
	if l.Compact && now.Sub(l.started) < l.Every {
		return // a table done within Every gets its done line only
	}
	if l.Every > 0 && !l.last.IsZero() && now.Sub(l.last) < l.Every {
		return
	}
	l.last = now
	pct := 100.0
	if e.Total > 0 {
		pct = float64(e.Done) * 100 / float64(e.Total)
	}
	l.printf("%s: %s/%s rows (%.1f%%), %s, ETA %s", e.Table, Group(e.Done), Group(e.Total), pct, Rate(e.Done, e.Elapsed), ETA(e.Done, e.Total, e.Elapsed))
}

// Retry prints the lock met and the wait.
func (l *LogReporter) Retry(e RetryEvent) {
	l.printf("%s: batch hit %s; retry %d of %d in %s", e.Table, e.Reason, e.Attempt+1, e.Attempts, e.Wait)
}

// TableDone prints the table's totals.
func (l *LogReporter) TableDone(r TableResult) {
	if r.AlreadyDone {
		l.printf("%s: already done (%s rows, %s orphans)", r.Table, Group(r.RowsAllRuns), Group(r.OrphansAllRuns))
		return
	}
	if l.Compact && r.Rows == 0 && r.Total == 0 {
		l.printf("%s: nothing to fill", r.Table)
		return
	}
	l.printf("%s: done, %s rows in %s in %s (%s given the default org%s%s)%s",
		r.Table, Group(r.Rows), plural(int64(r.Batches), "batch", "batches"), r.Duration.Round(time.Millisecond),
		plural(r.Orphans, "orphan", "orphans"), causes(r), retries(r.Retries), l.resumed)
}

// causes words why the default org's rows of a finished table got it, as
// "; 5 rows there: user_id: 5 owner without membership", or "" when the run
// gave none the default org.
func causes(r TableResult) string {
	d := r.DefaultOrg
	if d == nil || d.Rows == 0 {
		return ""
	}
	why := status.CauseText(d.Causes)
	if why == "" {
		why = "every source gave an org"
	}
	return fmt.Sprintf("; %s there: %s", plural(d.Rows, "row", "rows"), why)
}

func (l *LogReporter) printf(format string, args ...any) {
	fmt.Fprintf(l.W, "%s\n", Printable(fmt.Sprintf(format, args...)))
}

// plural writes "1 batch", "2 batches".
func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return Group(n) + " " + many
}

func retries(n int) string {
	switch n {
	case 0:
		return ""
	case 1:
		return ", 1 retry"
	}
	return fmt.Sprintf(", %d retries", n)
}

// BarReporter draws a live progress bar per table on a terminal (rows
// done / total, rate, ETA), with github.com/schollz/progressbar.
type BarReporter struct {
	W   io.Writer
	bar *progressbar.ProgressBar
}

// TableStart opens the table's bar.
func (b *BarReporter) TableStart(e TableStart) {
	if e.Total == 0 {
		b.bar = nil // nothing to fill: no bar, one line when done
		return
	}
	desc := e.Table
	if e.Resumed {
		desc += " (resumed)"
	}
	b.bar = progressbar.NewOptions64(e.Total,
		progressbar.OptionSetWriter(b.W),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("rows"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetRenderBlankState(true),
	)
}

// Batch advances the bar.
func (b *BarReporter) Batch(e BatchDone) {
	if b.bar != nil {
		_ = b.bar.Add64(e.Rows)
	}
}

// Retry prints the retry on its own line and redraws the bar below it.
func (b *BarReporter) Retry(e RetryEvent) {
	if b.bar != nil {
		_ = b.bar.Clear()
	}
	fmt.Fprintf(b.W, "\r%s: batch hit %s; retry %d of %d in %s\n", e.Table, e.Reason, e.Attempt+1, e.Attempts, e.Wait)
	if b.bar != nil {
		_ = b.bar.RenderBlank()
	}
}

// TableDone completes the bar and prints the table's totals.
func (b *BarReporter) TableDone(r TableResult) {
	if b.bar != nil {
		_ = b.bar.Finish()
		b.bar = nil
		fmt.Fprintln(b.W)
	}
	if r.AlreadyDone {
		fmt.Fprintf(b.W, "%s: already done (%s rows, %s orphans)\n", r.Table, Group(r.RowsAllRuns), Group(r.OrphansAllRuns))
		return
	}
	if r.Rows == 0 && r.Total == 0 {
		fmt.Fprintf(b.W, "%s: nothing to fill\n", r.Table)
		return
	}
	fmt.Fprintf(b.W, "%s: done, %s rows in %s (%s%s%s)\n", r.Table, Group(r.Rows), r.Duration.Round(time.Millisecond),
		plural(r.Orphans, "orphan", "orphans"), Printable(causes(r)), retries(r.Retries))
}

// Rate formats rows per second.
func Rate(done int64, elapsed time.Duration) string {
	if elapsed <= 0 {
		return "- rows/s"
	}
	return Group(int64(float64(done)/elapsed.Seconds())) + " rows/s"
}

// ETA estimates the time left at the rate so far.
func ETA(done, total int64, elapsed time.Duration) string {
	if done >= total {
		return "0s"
	}
	if done <= 0 || elapsed <= 0 {
		return "unknown"
	}
	left := time.Duration(float64(elapsed) * float64(total-done) / float64(done))
	return left.Round(time.Second).String()
}

// Group writes n with thousands separators: 1234567 → 1,234,567.
func Group(n int64) string {
	s := strconv.FormatInt(n, 10)
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return sign + b.String()
}

// Printable replaces control characters (a table name may hold any) with
// '?', so a log line is one line of text.
func Printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '?'
		}
		return r
	}, s)
}
