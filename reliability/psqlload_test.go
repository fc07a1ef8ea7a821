package reliability

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/warden-sql/warden/exampleapp/exampledata"
	"github.com/warden-sql/warden/generator/migrations"
	"github.com/warden-sql/warden/internal/fileset"
	"github.com/warden-sql/warden/internal/pgtest"
	"github.com/warden-sql/warden/policy"
)

// heldPastLockTimeout is how long the reporting transaction stays open
// after the first concurrent index build starts waiting for it: longer than
// the generated files' lock_timeout (2 s), so a build that inherited that
// setting from an earlier file of the same psql session would be cancelled.
const heldPastLockTimeout = 3 * time.Second

// TestPsqlUnderLoad applies the example's psql output the way its header
// says, psql -X -v ON_ERROR_STOP=1 -f psql/up.psql, one session across
// every file, while the old app writes (4 writers, no JWT), a reporting
// transaction holds a snapshot open and another reads calls for 3 s. The first concurrent index build must
// wait for that transaction, past lock_timeout, and succeed: every file
// sets what it needs with SET LOCAL, so nothing an earlier file set reaches
// the build. A run that stops on lock_timeout (a strong lock queued behind
// the app) is run again, as the script's header tells the operator; any
// other error fails. At the end: no deadlock anywhere, no index build
// failed, no INVALID index, and every app write is there with its org.
func TestPsqlUnderLoad(t *testing.T) {
	m := exampleApp(t, exampledata.Options{RowsPerTable: 500}, func(p *policy.Policy) {
		p.Backfill.BatchSize = 100
		p.Backfill.Pause = time.Millisecond
	})
	ctx := t.Context()
	dir, builds := writePsql(t, m)

	load, waitForApp, stop := startAppLoad(t, m)
	waited := holdSnapshot(t, m.url, heldPastLockTimeout)
	// A second report reads calls for 3 s from the start: a file that
	// needs a strong lock on calls meanwhile gives up at lock_timeout
	// instead of queueing the app behind it, and psql is run again.
	report := pgtest.Connect(t, m.url)
	if _, err := report.Exec(ctx, `BEGIN; SELECT count(*) FROM public.calls`); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(heldPastLockTimeout)
		report.Exec(context.WithoutCancel(ctx), "COMMIT")
	}()

	var runs []string
	for attempt := 1; ; attempt++ {
		out, err := psqlScript(ctx, m.url, filepath.Join(dir, "psql", "up.psql"))
		runs = append(runs, out)
		if strings.Contains(out, "deadlock detected") {
			t.Fatalf("attempt %d: deadlock:\n%s", attempt, out)
		}
		if file := failedIn(out); file != "" && builds[filepath.Base(file)] {
			t.Fatalf("attempt %d: the concurrent index build %s failed (an INVALID index is left):\n%s", attempt, file, out)
		}
		if err == nil {
			break
		}
		if !strings.Contains(out, "canceling statement due to lock timeout") || attempt == 10 {
			t.Fatalf("attempt %d: %v\n%s", attempt, err, out)
		}
		t.Logf("attempt %d stopped on lock_timeout; running up.psql again:\n%s", attempt, lastLines(out, 3))
	}
	waitForApp("up.psql", 40)
	stop()

	w := <-waited
	if w.err != nil {
		t.Fatal(w.err)
	}
	if w.wait < heldPastLockTimeout {
		t.Errorf("the first index build waited %v for the open transaction, want at least %v: the scenario did not hold it past lock_timeout", w.wait, heldPastLockTimeout)
	}
	if n := m.scalar(t, `SELECT count(*) FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE NOT i.indisvalid AND n.nspname = ANY($1)`, m.schemas); n != 0 {
		t.Errorf("%d INVALID indexes left", n)
	}
	t.Logf("up.psql ran %d time(s); the first index build waited %v for the reporting transaction; app: %d transactions, slowest %v",
		len(runs), w.wait.Round(time.Millisecond), load.ops.Load(), load.slowest)
	load.verify(t, m)
}

// TestPsqlLeakedLockTimeout is the negative case of TestPsqlUnderLoad: the
// same open transaction, and the build run after a session-wide SET
// lock_timeout, as the psql output did before every file used SET LOCAL.
// The build is cancelled and leaves an INVALID index, which
// TestPsqlUnderLoad would report; without the SET it waits and succeeds.
func TestPsqlLeakedLockTimeout(t *testing.T) {
	m := exampleApp(t, exampledata.Options{RowsPerTable: 50}, nil)
	ctx := t.Context()
	dir, builds := writePsql(t, m)
	var first string
	for _, s := range m.steps {
		if s.Kind == migrations.KindIndexBuild {
			break
		}
		if err := applyStep(ctx, m.conn, s, false); err != nil {
			t.Fatal(err)
		}
	}
	for name := range builds {
		if first == "" || name < first {
			first = name
		}
	}
	build, index := filepath.Join(dir, "psql", first), indexOf(t, m, first)
	for _, leak := range []bool{true, false} {
		waited := holdSnapshot(t, m.url, heldPastLockTimeout)
		script := filepath.Join(t.TempDir(), "build.psql")
		head := ""
		if leak {
			head = "SET lock_timeout = '2s';\n"
		}
		if err := os.WriteFile(script, []byte(head+"\\i "+build+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := psqlScript(ctx, m.url, script)
		<-waited
		invalid := m.scalar(t, `SELECT count(*) FROM pg_catalog.pg_index WHERE indexrelid = pg_catalog.to_regclass($1) AND NOT indisvalid`, index)
		switch {
		case leak && (err == nil || !strings.Contains(out, "lock timeout") || invalid != 1):
			t.Errorf("with a session lock_timeout the build should fail behind the open transaction and leave 1 INVALID index; err %v, %d INVALID:\n%s", err, invalid, out)
		case !leak && (err != nil || invalid != 0):
			t.Errorf("without it the build should wait and succeed; err %v, %d INVALID:\n%s", err, invalid, out)
		}
		if leak {
			// The repair path index_verify names: drop it, build again.
			pgtest.Exec(t, m.conn, "DROP INDEX CONCURRENTLY IF EXISTS "+index)
		}
	}
}

// writePsql lays the steps out in the psql format under a new directory
// and returns it with the set of the index build files' base names.
func writePsql(t *testing.T, m *migration) (string, map[string]bool) {
	t.Helper()
	laid, err := migrations.Layout(m.steps, policy.FormatPsql, m.pol.Migrations.Version)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := fileset.Write(dir, laid.Set); err != nil {
		t.Fatal(err)
	}
	builds := map[string]bool{}
	for _, s := range m.steps {
		if s.Kind == migrations.KindIndexBuild {
			builds[filepath.Base(laid.Up[s.Name])] = true
		}
	}
	if len(builds) == 0 {
		t.Fatal("no index build file")
	}
	return dir, builds
}

// indexOf names the index the build file builds, from its statement.
func indexOf(t *testing.T, m *migration, file string) string {
	t.Helper()
	for _, s := range m.steps {
		if s.Kind == migrations.KindIndexBuild && strings.HasSuffix(file, "_"+s.Name+".sql") {
			return strings.TrimSuffix(strings.TrimSpace(s.Down[strings.LastIndex(s.Down, "IF EXISTS")+len("IF EXISTS"):]), ";")
		}
	}
	t.Fatalf("no index build step for %s", file)
	return ""
}

// psqlScript runs a script with the psql binary, one session, stopping at
// the first error, and returns what psql printed.
func psqlScript(ctx context.Context, url, script string) (string, error) {
	cmd := exec.CommandContext(ctx, "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", script, url)
	cmd.Dir = filepath.Dir(script)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// psqlError is where psql reports an error: "psql:<file>:<line>: ERROR: ...".
var psqlError = regexp.MustCompile(`(?m)^psql:([^:]+):\d+: ERROR:`)

// failedIn returns the file psql's error came from, or "".
func failedIn(out string) string {
	if m := psqlError.FindStringSubmatch(out); m != nil {
		return m[1]
	}
	return ""
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// snapshotWait is how long the first concurrent index build waited for
// the open transaction.
type snapshotWait struct {
	wait time.Duration
	err  error
}

// holdSnapshot opens a REPEATABLE READ transaction that reads the users
// table (a reporting query: it takes no lock any migration file waits for,
// only a snapshot every concurrent index build must wait out). It keeps it
// open until a CREATE INDEX CONCURRENTLY has waited hold for it, or for 2
// minutes, then commits, and sends how long the build waited.
func holdSnapshot(t *testing.T, url string, hold time.Duration) <-chan snapshotWait {
	t.Helper()
	ctx := t.Context()
	reader, watcher := pgtest.Connect(t, url), pgtest.Connect(t, url)
	tx, err := reader.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM auth.users`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	// The builds wait on this transaction's virtual xid; waits on the
	// app's short transactions are not the ones to time.
	var vxid string
	if err := tx.QueryRow(ctx, `SELECT virtualxid FROM pg_catalog.pg_locks
WHERE locktype = 'virtualxid' AND pid = pg_catalog.pg_backend_pid()`).Scan(&vxid); err != nil {
		t.Fatal(err)
	}
	done := make(chan snapshotWait, 1)
	go func() {
		defer tx.Rollback(context.WithoutCancel(ctx))
		var res snapshotWait
		deadline := time.Now().Add(2 * time.Minute)
		var since time.Time
		for time.Now().Before(deadline) && ctx.Err() == nil {
			var waiting bool
			err := watcher.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_catalog.pg_locks l
JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'virtualxid' AND l.virtualxid = $1 AND NOT l.granted AND a.query ~* 'CREATE INDEX CONCURRENTLY')`, vxid).Scan(&waiting)
			if err != nil {
				res.err = fmt.Errorf("watching the index build: %w", err)
				break
			}
			switch {
			case waiting && since.IsZero():
				since = time.Now()
			case !waiting && !since.IsZero():
				// The build stopped waiting while the transaction is open:
				// it was cancelled.
				res.wait = time.Since(since)
				done <- res
				return
			}
			if !since.IsZero() && time.Since(since) >= hold {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if !since.IsZero() {
			res.wait = time.Since(since)
		} else if res.err == nil {
			res.err = fmt.Errorf("no CREATE INDEX CONCURRENTLY waited for the open transaction within 2 minutes")
		}
		done <- res
	}()
	return done
}
