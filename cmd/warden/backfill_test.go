package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warden-sql/warden/generator/migrations"
	"github.com/warden-sql/warden/operate/status/statustest"
)

// TestBackfillCommand runs warden backfill on an example database ready for
// it: plain output without control characters (stdout is not a terminal),
// an audit log, zero NULLs, and warden status then reporting phase 3 done.
func TestBackfillCommand(t *testing.T) {
	cleanEnv(t)
	e := statustest.Load(t, repoPolicy, exampleRows)

	// Not ready: the error names the file to apply first, and no audit log
	// is left behind.
	dir := t.TempDir()
	audit := filepath.Join(dir, "audit.jsonl")
	r := warden(t, "backfill", "--policy", repoPolicy, "--database-url", e.URL, "--audit-log", audit)
	if r.code != exitUsage || !strings.Contains(r.stderr, "warden.backfill_progress does not exist: apply supabase/migrations/20250110000000_warden_setup.sql") {
		t.Errorf("backfill before phase 2: exit %d\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(audit); !os.IsNotExist(err) {
		t.Errorf("audit log written for a failed start: %v", err)
	}

	e.Apply(t, func(s migrations.Step) bool {
		return s.Phase == migrations.PhaseAdd || strings.HasPrefix(s.Name, "fill_trigger_")
	})
	r = warden(t, "backfill", "--policy", repoPolicy, "--database-url", e.URL, "--batch-size", "30", "--pause", "1ms", "--audit-log", audit)
	if r.code != exitOK {
		t.Fatalf("backfill: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for i, c := range []byte(r.stdout) {
		if (c < 0x20 && c != '\n') || c == 0x7f {
			t.Fatalf("control character %#x at byte %d of the output:\n%q", c, i, r.stdout)
		}
	}
	for _, want := range []string{
		"warden backfill: 43 tables of ", "batches of 30 rows, pause 1ms, lock_timeout 2s, audit log " + audit,
		"public.call_logs: done, 200 rows in 7 batches",
		"backfill complete: ",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	// Off a terminal: one line per table (these finish within seconds),
	// the header, the summary and the next step.
	if lines := strings.Count(r.stdout, "\n"); lines != 43+3 {
		t.Errorf("%d lines for 43 tables, want one each plus 3:\n%s", lines, r.stdout)
	}
	for table, n := range e.NullCounts(t) {
		if n != 0 {
			t.Errorf("%s: %d NULL rows after warden backfill", table, n)
		}
	}
	f, err := os.Open(audit)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lines := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		for _, k := range []string{"time", "table", "from_key", "to_key", "rows", "orphans", "duration_ms", "attempts"} {
			if _, ok := rec[k]; !ok {
				t.Errorf("audit line %s lacks %s", sc.Text(), k)
			}
		}
		lines++
	}
	if lines < 43 {
		t.Errorf("%d audit lines, want one per batch (at least one per table)", lines)
	}

	// Phase 3 is done (its check file would find nothing left) and status
	// moves on to phase 4.
	r = warden(t, "status", "--json", "--policy", repoPolicy, "--database-url", e.URL)
	if r.code != exitOK {
		t.Fatalf("status: exit %d\n%s", r.code, r.stderr)
	}
	var doc struct {
		Phases []struct {
			Phase string `json:"phase"`
			Done  int    `json:"done"`
			Next  string `json:"next_action"`
		} `json:"phases"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	if p := doc.Phases[1]; p.Done != 43 || p.Next != "" {
		t.Errorf("phase 3 after warden backfill: %+v", p)
	}
	if p := doc.Phases[2]; !strings.Contains(p.Next, "_warden_not_null_check_") {
		t.Errorf("phase 4 after warden backfill: %+v", p)
	}

	// Again: nothing to do, and the audit log only grows.
	r = warden(t, "backfill", "--policy", repoPolicy, "--database-url", e.URL, "--audit-log", "")
	if r.code != exitOK || !strings.Contains(r.stdout, "public.calls: already done") || !strings.Contains(r.stdout, "rows filled in 0 tables (43 already done before)") {
		t.Errorf("second backfill: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestBackfillUsage: bad flag values and a missing database exit 2.
func TestBackfillUsage(t *testing.T) {
	cleanEnv(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"backfill", "--policy", repoPolicy}, "backfill needs a live database"},
		{[]string{"backfill", "--policy", repoPolicy, "--database-url", "postgres://x/y", "--batch-size", "0"}, "--batch-size 0: must be at least 1"},
		{[]string{"backfill", "--policy", repoPolicy, "--database-url", "postgres://x/y", "--attempts", "0"}, "--attempts 0: must be at least 1"},
		{[]string{"backfill", "--policy", repoPolicy, "--database-url", "postgres://x/y", "--audit-log", "/nonexistent/dir/a.jsonl"}, "directory /nonexistent/dir does not exist"},
	} {
		r := warden(t, c.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, c.want) {
			t.Errorf("warden %s: exit %d, stderr %q; want 2 and %q", strings.Join(c.args, " "), r.code, r.stderr, c.want)
		}
	}
}

// TestBackfillInterrupted: Ctrl-C (a cancelled context) stops warden
// backfill after the batch in flight with exit 130 and says how to resume;
// running it again finishes the job.
func TestBackfillInterrupted(t *testing.T) {
	cleanEnv(t)
	e := statustest.Load(t, repoPolicy, exampleRows)
	e.Apply(t, func(s migrations.Step) bool {
		return s.Phase == migrations.PhaseAdd || strings.HasPrefix(s.Name, "fill_trigger_")
	})
	// Ctrl-C after the first batch of public.calls, in batches of one row
	// with a pause: it cannot finish before the cancel lands.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Off a terminal warden prints a line per finished table: cancel a
	// moment after the table before public.calls is done.
	out := &cancelOn{text: "public.call_lists: done", cancel: cancel, after: 300 * time.Millisecond}
	var errb bytes.Buffer
	code := run(ctx, []string{"backfill", "--policy", repoPolicy, "--database-url", e.URL, "--batch-size", "1", "--pause", "20ms", "--audit-log", ""},
		strings.NewReader(""), out, &errb)
	if code != exitInterrupted || !strings.Contains(errb.String(), "backfill stopped in public.calls after its last committed batch") || strings.Contains(errb.String(), "context canceled") ||
		!strings.Contains(errb.String(), "run warden backfill again to resume") {
		t.Fatalf("interrupted backfill: exit %d\n%s", code, errb.String())
	}
	r := warden(t, "backfill", "--policy", repoPolicy, "--database-url", e.URL, "--audit-log", "")
	if r.code != exitOK || !regexp.MustCompile(`public\.calls: done, \d+ rows in .*\(resuming: \d+ rows? filled by an earlier run\)`).MatchString(r.stdout) {
		t.Fatalf("resumed backfill: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for table, n := range e.NullCounts(t) {
		if n != 0 {
			t.Errorf("%s: %d NULL rows after the resumed backfill", table, n)
		}
	}
}

// cancelOn is an output that cancels a context once text has been written
// to it: Ctrl-C at a chosen point of a command's progress.
type cancelOn struct {
	bytes.Buffer
	text   string
	cancel context.CancelFunc
	// after delays the cancel, so it lands inside the next table.
	after time.Duration
	once  sync.Once
}

func (c *cancelOn) Write(p []byte) (int, error) {
	n, err := c.Buffer.Write(p)
	if strings.Contains(c.String(), c.text) {
		c.once.Do(func() { time.AfterFunc(c.after, c.cancel) })
	}
	return n, err
}
