package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// The old application's write transactions: what the app does before it
// knows about org_id, so none of them names the column.
const (
	TxNewCall    = "new call"    // INSERT calls + two call_logs rows for it
	TxNewLead    = "new lead"    // INSERT leads
	TxLeadStatus = "lead status" // UPDATE leads SET status, updated_at
	TxEndCall    = "end call"    // UPDATE calls SET status, ended_at, duration_seconds
	TxCallLog    = "call log"    // INSERT call_logs for an existing call
)

// txMix is the share of each transaction, in percent.
var txMix = []struct {
	kind string
	pct  int
}{
	{TxNewCall, 20},
	{TxNewLead, 20},
	{TxLeadStatus, 30},
	{TxEndCall, 20},
	{TxCallLog, 10},
}

// LoadSample holds existing rows the load writes to or references. Its
// users are members of an org, so that the naive baseline's fill triggers,
// which know only the membership rule, can give every new row an org too;
// what warden does with the rows of a user without a membership is
// checked separately (orphanInsert in wardenbench).
type LoadSample struct {
	Users []pgtype.UUID
	// LeadOwners[i] owns Leads[i]; new calls are placed on one of them.
	Leads      []pgtype.UUID
	LeadOwners []pgtype.UUID
	Calls      []pgtype.UUID
}

// SampleExample reads a LoadSample from a database holding the example
// application with data (exampleapp/exampledata), deterministically.
func SampleExample(ctx context.Context, conn *pgx.Conn, n int) (*LoadSample, error) {
	s := &LoadSample{}
	rows, err := conn.Query(ctx, `SELECT DISTINCT user_id FROM public.organization_members ORDER BY 1`)
	if err != nil {
		return nil, err
	}
	if s.Users, err = pgx.CollectRows(rows, pgx.RowTo[pgtype.UUID]); err != nil {
		return nil, err
	}
	rows, err = conn.Query(ctx, `
SELECT l.id, l.user_id FROM public.leads l
WHERE EXISTS (SELECT 1 FROM public.organization_members m WHERE m.user_id = l.user_id)
ORDER BY md5(l.id::text) LIMIT $1`, n)
	if err != nil {
		return nil, err
	}
	var id, owner pgtype.UUID
	if _, err := pgx.ForEachRow(rows, []any{&id, &owner}, func() error {
		s.Leads = append(s.Leads, id)
		s.LeadOwners = append(s.LeadOwners, owner)
		return nil
	}); err != nil {
		return nil, err
	}
	rows, err = conn.Query(ctx, `SELECT id FROM public.calls ORDER BY md5(id::text) LIMIT $1`, n)
	if err != nil {
		return nil, err
	}
	if s.Calls, err = pgx.CollectRows(rows, pgx.RowTo[pgtype.UUID]); err != nil {
		return nil, err
	}
	if len(s.Users) == 0 || len(s.Leads) == 0 || len(s.Calls) == 0 {
		return nil, errors.New("bench: the example database has no members, leads or calls to sample")
	}
	return s, nil
}

// LoadOptions configure a fixed-arrival-rate load.
type LoadOptions struct {
	URL     string
	Rate    float64 // transactions per second
	Workers int     // connections; a transaction waits for a free one
	// StatementTimeout is set on every connection, as an app or API
	// gateway would (Supabase's default for authenticated is 8s); zero
	// leaves the server default.
	StatementTimeout time.Duration
	Seed             uint64
}

// Record is one transaction of the load.
type Record struct {
	// Sched is the scheduled start, since the load started. Latency counts
	// from it, not from when a connection was free to send: a transaction
	// queued behind blocked ones waited too.
	Sched   time.Duration `json:"sched_ns"`
	Latency time.Duration `json:"latency_ns"`
	Kind    string        `json:"kind"`
	Err     string        `json:"err,omitempty"`
}

// Load runs the old application's writes at a fixed arrival rate until
// Stop.
type Load struct {
	opts   LoadOptions
	sample *LoadSample
	start  time.Time
	jobs   chan job
	stop   chan struct{}
	sched  sync.WaitGroup
	work   sync.WaitGroup
	mu     sync.Mutex
	recs   []Record
	conns  []*pgx.Conn
}

type job struct {
	n  uint64
	at time.Time
}

// StartLoad connects the workers and starts the schedule.
func StartLoad(ctx context.Context, opts LoadOptions, sample *LoadSample) (*Load, error) {
	if opts.Rate <= 0 || opts.Workers <= 0 {
		return nil, fmt.Errorf("bench: load needs a positive rate and worker count")
	}
	cfg, err := pgx.ParseConfig(opts.URL)
	if err != nil {
		return nil, err
	}
	cfg.RuntimeParams["application_name"] = "bench-load"
	if opts.StatementTimeout > 0 {
		cfg.RuntimeParams["statement_timeout"] = fmt.Sprint(opts.StatementTimeout.Milliseconds())
	}
	l := &Load{opts: opts, sample: sample, jobs: make(chan job, 1<<20), stop: make(chan struct{})}
	for range opts.Workers {
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			l.closeConns()
			return nil, err
		}
		l.conns = append(l.conns, conn)
	}
	l.start = time.Now()
	for _, conn := range l.conns {
		l.work.Add(1)
		go l.worker(conn)
	}
	l.sched.Add(1)
	go l.schedule()
	return l, nil
}

// Since is the time since the load started, on the clock of Record.Sched.
func (l *Load) Since() time.Duration { return time.Since(l.start) }

// Start is when the load started.
func (l *Load) Start() time.Time { return l.start }

func (l *Load) schedule() {
	defer l.sched.Done()
	defer close(l.jobs)
	period := time.Duration(float64(time.Second) / l.opts.Rate)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for n := uint64(0); ; n++ {
		at := l.start.Add(time.Duration(n) * period)
		if d := time.Until(at); d > 0 {
			timer.Reset(d)
			select {
			case <-l.stop:
				return
			case <-timer.C:
			}
		} else {
			select {
			case <-l.stop:
				return
			default:
			}
		}
		l.jobs <- job{n: n, at: at}
	}
}

func (l *Load) worker(conn *pgx.Conn) {
	defer l.work.Done()
	ctx := context.Background()
	for j := range l.jobs {
		rng := rand.New(rand.NewPCG(l.opts.Seed, j.n))
		kind := pickKind(rng)
		err := l.run(ctx, conn, kind, rng)
		rec := Record{Sched: j.at.Sub(l.start), Latency: time.Since(j.at), Kind: kind}
		if err != nil {
			rec.Err = errText(err)
			if conn.IsClosed() {
				// A broken connection would fail every later job: reconnect.
				if c, cerr := pgx.ConnectConfig(ctx, conn.Config()); cerr == nil {
					conn = c
				}
			}
		}
		l.mu.Lock()
		l.recs = append(l.recs, rec)
		l.mu.Unlock()
	}
	conn.Close(ctx)
}

func pickKind(rng *rand.Rand) string {
	r := rng.IntN(100)
	for _, m := range txMix {
		if r < m.pct {
			return m.kind
		}
		r -= m.pct
	}
	return txMix[len(txMix)-1].kind
}

var leadStatuses = []string{"new", "contacted", "qualified", "converted", "lost"}

func (l *Load) run(ctx context.Context, conn *pgx.Conn, kind string, rng *rand.Rand) error {
	s := l.sample
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		switch kind {
		case TxNewCall:
			i := rng.IntN(len(s.Leads))
			var id pgtype.UUID
			if err := tx.QueryRow(ctx, `INSERT INTO public.calls (user_id, lead_id, direction, to_number, status, started_at)
VALUES ($1, $2, 'outbound', $3, 'ringing', now()) RETURNING id`,
				s.LeadOwners[i], s.Leads[i], fmt.Sprintf("+1202%07d", rng.IntN(10000000))).Scan(&id); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO public.call_logs (call_id, event, message) VALUES ($1, 'initiated', 'load'), ($1, 'ringing', 'load')`, id)
			return err
		case TxNewLead:
			_, err := tx.Exec(ctx, `INSERT INTO public.leads (user_id, first_name, phone, status, source) VALUES ($1, 'Load', $2, 'new', 'api')`,
				s.Users[rng.IntN(len(s.Users))], fmt.Sprintf("+1303%07d", rng.IntN(10000000)))
			return err
		case TxLeadStatus:
			_, err := tx.Exec(ctx, `UPDATE public.leads SET status = $1, updated_at = now() WHERE id = $2`,
				leadStatuses[rng.IntN(len(leadStatuses))], s.Leads[rng.IntN(len(s.Leads))])
			return err
		case TxEndCall:
			_, err := tx.Exec(ctx, `UPDATE public.calls SET status = 'completed', ended_at = now(), duration_seconds = $1 WHERE id = $2`,
				1+rng.IntN(600), s.Calls[rng.IntN(len(s.Calls))])
			return err
		case TxCallLog:
			_, err := tx.Exec(ctx, `INSERT INTO public.call_logs (call_id, event, level, message) VALUES ($1, 'transcript', 'info', 'load')`,
				s.Calls[rng.IntN(len(s.Calls))])
			return err
		}
		return fmt.Errorf("bench: unknown transaction %q", kind)
	})
}

func errText(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code + " " + pe.Message
	}
	return err.Error()
}

// Stop ends the schedule, waits for every scheduled transaction to finish
// and returns the records, ordered by scheduled start.
func (l *Load) Stop() []Record {
	close(l.stop)
	l.sched.Wait()
	l.work.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	recs := l.recs
	sortRecords(recs)
	return recs
}

func (l *Load) closeConns() {
	for _, c := range l.conns {
		c.Close(context.Background())
	}
}

func sortRecords(recs []Record) {
	sort.Slice(recs, func(i, j int) bool { return recs[i].Sched < recs[j].Sched })
}
