package reliability

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/warden-sql/warden/exampleapp/exampledata"
	"github.com/warden-sql/warden/internal/pgtest"
	"github.com/warden-sql/warden/policy"
)

// appLoad is the old application writing while the migration runs: it
// knows nothing of org_id and never sends a JWT (a service-side worker), so
// every org it gets comes from warden's fill triggers or backfill.
type appLoad struct {
	url   string
	users []string // user ids the app writes for, with and without a membership

	ops atomic.Int64 // committed transactions

	mu       sync.Mutex
	inserted map[string][]string // table → ids of committed inserts
	updates  map[string]int64    // "table/id" → last committed value
	errs     map[string][]string // SQLSTATE → messages of failed app transactions
	slowest  time.Duration
	// before counts the rows of the tables the app inserts into, as the
	// load started.
	before map[string]int64
}

// writer is one app connection. It owns the existing rows in rows (so the
// last value it wrote is the one that must be there at the end).
type writer struct {
	load  *appLoad
	conn  *pgx.Conn
	n     int
	calls []string
	leads []string
}

func (l *appLoad) record(table string, ids ...string) {
	l.mu.Lock()
	l.inserted[table] = append(l.inserted[table], ids...)
	l.mu.Unlock()
}

// tx runs one app transaction, records how long it took and, when it
// fails, its SQLSTATE; on success commit runs (to record what it wrote).
func (w *writer) tx(ctx context.Context, body func(pgx.Tx) error, commit func()) {
	start := time.Now()
	err := pgx.BeginFunc(ctx, w.conn, body)
	took := time.Since(start)
	l := w.load
	l.mu.Lock()
	if took > l.slowest {
		l.slowest = took
	}
	if err != nil {
		code := sqlState(err)
		if code == "" {
			code = "no SQLSTATE"
		}
		l.errs[code] = append(l.errs[code], err.Error())
	}
	l.mu.Unlock()
	if err != nil {
		return
	}
	if commit != nil {
		commit()
	}
	l.ops.Add(1)
}

// step does one of the old app's writes, in turn.
func (w *writer) step(ctx context.Context) {
	w.n++
	user := w.load.users[(w.n*7+len(w.calls))%len(w.load.users)]
	switch w.n % 4 {
	case 0: // place a call and log its events
		var call string
		var logs []string
		w.tx(ctx, func(tx pgx.Tx) error {
			logs = logs[:0]
			if err := tx.QueryRow(ctx, `INSERT INTO public.calls (user_id, to_number, status) VALUES ($1, '+15550100', 'queued') RETURNING id::text`, user).Scan(&call); err != nil {
				return err
			}
			for i := range 1 + w.n%3 {
				var id string
				if err := tx.QueryRow(ctx, `INSERT INTO public.call_logs (call_id, event, message) VALUES ($1, 'state', $2) RETURNING id::text`, call, fmt.Sprint("event ", i)).Scan(&id); err != nil {
					return err
				}
				logs = append(logs, id)
			}
			return nil
		}, func() {
			w.load.record("public.calls", call)
			w.load.record("public.call_logs", logs...)
		})
	case 1: // a new lead
		var id string
		w.tx(ctx, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `INSERT INTO public.leads (user_id, phone, status) VALUES ($1, '+15550199', 'new') RETURNING id::text`, user).Scan(&id)
		}, func() { w.load.record("public.leads", id) })
	case 2: // update rows that existed before the migration
		v := int64(w.n)
		call, lead := w.calls[w.n%len(w.calls)], w.leads[w.n%len(w.leads)]
		w.tx(ctx, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE public.calls SET status = 'completed', duration_seconds = $2 WHERE id = $1`, call, v)
			return err
		}, func() { w.load.setUpdate("public.calls/"+call, v) })
		w.tx(ctx, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE public.leads SET score = $2, updated_at = now() WHERE id = $1`, lead, v)
			return err
		}, func() { w.load.setUpdate("public.leads/"+lead, v) })
	case 3: // a knowledge base down to its embeddings, the deepest chain
		var kb, doc, chunk, emb string
		w.tx(ctx, func(tx pgx.Tx) error {
			if err := tx.QueryRow(ctx, `INSERT INTO public.knowledge_base (user_id, name) VALUES ($1, 'kb') RETURNING id::text`, user).Scan(&kb); err != nil {
				return err
			}
			if err := tx.QueryRow(ctx, `INSERT INTO public.knowledge_base_documents (kb_id, title) VALUES ($1, 'doc') RETURNING id::text`, kb).Scan(&doc); err != nil {
				return err
			}
			if err := tx.QueryRow(ctx, `INSERT INTO public.knowledge_base_chunks (document_id, chunk_index, content) VALUES ($1, 0, 'text') RETURNING id::text`, doc).Scan(&chunk); err != nil {
				return err
			}
			return tx.QueryRow(ctx, `INSERT INTO public.embeddings (chunk_id, embedding) VALUES ($1, '{0.1,0.2}') RETURNING id::text`, chunk).Scan(&emb)
		}, func() {
			w.load.record("public.knowledge_base", kb)
			w.load.record("public.knowledge_base_documents", doc)
			w.load.record("public.knowledge_base_chunks", chunk)
			w.load.record("public.embeddings", emb)
		})
	}
}

func (l *appLoad) setUpdate(key string, v int64) {
	l.mu.Lock()
	l.updates[key] = v
	l.mu.Unlock()
}

// TestConcurrentWrites applies every step while the old application keeps
// inserting and updating calls, call_logs, leads and knowledge-base chains
// without org_id. After each step the runner waits until the app has
// committed more transactions, so writes land in every phase, also between
// the batches of every backfill (small batches with a pause). At the end
// no row lacks an org, every inherited row has its parent's org, every
// row the app inserted is there exactly once with its owner's org, every
// update the app committed is the value in the table, and no app
// transaction failed. The runner retries a step that hit lock_timeout, as
// an operator would; that is the only failure allowed, and only on the
// migration side.
func TestConcurrentWrites(t *testing.T) {
	m := exampleApp(t, exampledata.Options{RowsPerTable: 2000}, func(p *policy.Policy) {
		p.Backfill.BatchSize = 50
		p.Backfill.Pause = time.Millisecond
	})
	ctx := t.Context()
	load, waitForApp, stop := startAppLoad(t, m)
	retries := map[string]int{}
	for _, s := range m.steps {
		for attempt := 1; ; attempt++ {
			err := applyStep(ctx, m.conn, s, false)
			if err == nil {
				break
			}
			// lock_timeout (55P03) is the generated files' way to give up
			// instead of queueing the app behind a strong lock; an
			// operator re-runs the file. Anything else is a failure.
			if sqlState(err) != "55P03" || attempt == 20 {
				t.Fatalf("attempt %d: %v", attempt, err)
			}
			retries[s.Name]++
			if s.DownNoTransaction {
				// A concurrent index build that gave up leaves an INVALID
				// index, which the build's IF NOT EXISTS would keep: drop it
				// first, as index_verify's hint tells the operator.
				if err := applyStep(ctx, m.conn, s, true); err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		waitForApp(s.Name, 4)
	}
	waitForApp("the last step", 40)
	stop()
	t.Logf("app: %d transactions committed, slowest %v; migration retries after lock_timeout: %v", load.ops.Load(), load.slowest, retries)

	load.verify(t, m)
}

// startAppLoad starts the old application's writers on m and returns the
// load, a wait that returns once the app committed n more transactions
// (failing the test when it is blocked for 30 s), and stop, which ends the
// writers between transactions. The test's cleanup stops them too.
func startAppLoad(t *testing.T, m *migration) (load *appLoad, waitForApp func(after string, n int64), stop func()) {
	t.Helper()
	ctx := t.Context()
	load = &appLoad{url: m.url, inserted: map[string][]string{}, updates: map[string]int64{}, errs: map[string][]string{}}

	// Users with a primary membership, with only non-primary ones, and with
	// none (their rows belong to the default org, the policy says).
	rows, err := m.conn.Query(ctx, `SELECT id::text FROM auth.users ORDER BY id LIMIT 40`)
	if err != nil {
		t.Fatal(err)
	}
	if load.users, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		t.Fatal(err)
	}
	if n := m.scalar(t, `SELECT count(*) FROM auth.users u WHERE u.id::text = ANY($1) AND NOT EXISTS (SELECT 1 FROM public.organization_members m WHERE m.user_id = u.id)`, load.users); n == 0 {
		t.Fatal("the load has no user without a membership; pick other users")
	}
	load.before = load.tableCounts(t, m)

	const writers = 4
	// Each writer owns a disjoint slice of existing calls and leads, read
	// before any writer starts: the rows a running writer inserts (random
	// ids) would shift a later OFFSET and make two writers share a row,
	// whose last committed update the test could then not tell.
	owned := map[string][]string{}
	for _, tb := range []string{"calls", "leads"} {
		rows, err := m.conn.Query(ctx, fmt.Sprintf(`SELECT id::text FROM public.%s ORDER BY id LIMIT $1`, tb), writers*25)
		if err != nil {
			t.Fatal(err)
		}
		if owned[tb], err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			t.Fatal(err)
		}
		if len(owned[tb]) < writers*25 {
			t.Fatalf("public.%s has %d rows, want at least %d for the writers", tb, len(owned[tb]), writers*25)
		}
	}
	loadCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i := range writers {
		w := &writer{load: load, conn: pgtest.Connect(t, m.url), n: i,
			calls: owned["calls"][i*25 : (i+1)*25], leads: owned["leads"][i*25 : (i+1)*25]}
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Stopping is checked between transactions only: cancelling
			// one mid-COMMIT could leave a row the server committed and the
			// load never recorded.
			for loadCtx.Err() == nil {
				w.step(ctx)
			}
		}()
	}
	stop = sync.OnceFunc(func() { cancel(); wg.Wait() })
	t.Cleanup(stop)

	// waitForApp returns once the app committed n more transactions: the
	// load is alive between every two steps.
	waitForApp = func(after string, n int64) {
		t.Helper()
		start := load.ops.Load()
		deadline := time.Now().Add(30 * time.Second)
		for load.ops.Load() < start+n {
			if time.Now().After(deadline) {
				t.Fatalf("after %s the app committed %d transactions in 30s: it is blocked", after, load.ops.Load()-start)
			}
			time.Sleep(time.Millisecond)
		}
	}
	waitForApp("start", 20)
	return load, waitForApp, stop
}

// verify checks what the app wrote survived the migration: no app
// transaction failed, no row lacks an org, every inherited row has its
// parent's org, every row the app inserted is there once with its owner's
// org, and every update it committed is the value in the table.
func (load *appLoad) verify(t *testing.T, m *migration) {
	t.Helper()
	before := load.before
	var codes []string
	for code, msgs := range load.errs {
		codes = append(codes, fmt.Sprintf("SQLSTATE %s ×%d, e.g. %s", code, len(msgs), msgs[0]))
	}
	sort.Strings(codes)
	if len(codes) > 0 {
		t.Errorf("app transactions failed:\n  %s", strings.Join(codes, "\n  "))
	}

	m.assertNoNulls(t)
	m.assertInheritedConsistent(t)

	after := load.tableCounts(t, m)
	for tb, ids := range load.inserted {
		if got, want := after[tb], before[tb]+int64(len(ids)); got != want {
			t.Errorf("%s: %d rows, want %d before + %d inserted by the app = %d", tb, got, before[tb], len(ids), want)
		}
		if n := m.scalar(t, fmt.Sprintf(`SELECT count(DISTINCT id) FROM %s WHERE id::text = ANY($1)`, tb), ids); n != int64(len(ids)) {
			t.Errorf("%s: %d of the %d rows the app inserted are there", tb, n, len(ids))
		}
	}
	for _, tb := range []string{"public.calls", "public.leads", "public.knowledge_base"} {
		if len(load.inserted[tb]) == 0 {
			t.Errorf("%s: the app inserted nothing; the load did not run", tb)
		}
		// Old-app rows get their owner's org by the policy's rule: the
		// membership, else the default org.
		if n := m.scalar(t, fmt.Sprintf(`SELECT count(*) FROM %s t WHERE t.id::text = ANY($1)
  AND t.org_id IS DISTINCT FROM coalesce(warden.user_org(t.user_id), 'a0000000-0000-0000-0000-000000000001')`, tb), load.inserted[tb]); n != 0 {
			t.Errorf("%s: %d rows inserted by the app do not have their owner's org", tb, n)
		}
	}
	lost := 0
	for key, v := range load.updates {
		tb, id, _ := strings.Cut(key, "/")
		column := map[string]string{"public.calls": "duration_seconds", "public.leads": "score"}[tb]
		if got := m.scalar(t, fmt.Sprintf(`SELECT %s FROM %s WHERE id = $1`, column, tb), id); got != v {
			lost++
			if lost < 5 {
				t.Errorf("%s %s: %s is %d, the app's last committed update wrote %d", tb, id, column, got, v)
			}
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d updated rows lost the app's last update", lost, len(load.updates))
	}
}

// tableCounts counts the rows of the tables the app inserts into.
func (load *appLoad) tableCounts(t *testing.T, m *migration) map[string]int64 {
	out := map[string]int64{}
	for _, tb := range []string{"public.calls", "public.call_logs", "public.leads", "public.knowledge_base", "public.knowledge_base_documents", "public.knowledge_base_chunks", "public.embeddings"} {
		out[tb] = m.scalar(t, "SELECT count(*) FROM "+tb)
	}
	return out
}
