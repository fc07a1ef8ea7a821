package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/warden-sql/warden/bench"
	"github.com/warden-sql/warden/exampleapp/exampledata"
	"github.com/warden-sql/warden/generator/migrations"
	"github.com/warden-sql/warden/policy"
)

// Phase is one window of a B2 run: a migration phase, or the load alone
// before and after it.
type Phase struct {
	Name     string        `json:"name"`
	From     time.Duration `json:"from_ns"`
	To       time.Duration `json:"to_ns"`
	Steps    int           `json:"steps"`
	Retries  int           `json:"retries"`
	Latency  bench.Summary `json:"latency"`
	AppWaits int           `json:"app_lock_waits"`       // "still waiting" lines of app sessions
	MigWaits int           `json:"migration_lock_waits"` // ... of the migration's session
	Waits    []string      `json:"wait_examples,omitempty"`
	Errors   []string      `json:"error_examples,omitempty"`
	logFrom  int64
	logTo    int64
}

// B2Run is one migration under load.
type B2Run struct {
	Name         string         `json:"name"`
	Phases       []Phase        `json:"phases"`
	Total        bench.Summary  `json:"total"`
	Migration    time.Duration  `json:"migration_ns"`
	BackfillRows int64          `json:"backfill_rows"`
	BackfillTime time.Duration  `json:"backfill_ns"`
	RowsPerSec   float64        `json:"backfill_rows_per_s"`
	Slowest      []StepTime     `json:"slowest_steps"`
	LoadAvg      string         `json:"load_avg_1m_at_end"`
	Records      []bench.Record `json:"-"`
}

// StepTime is one step's wall time.
type StepTime struct {
	Phase   string        `json:"phase"`
	Name    string        `json:"name"`
	Time    time.Duration `json:"ns"`
	Rows    int64         `json:"rows,omitempty"`
	Retries int           `json:"retries,omitempty"`
}

// B2Result is the whole online-migration benchmark.
type B2Result struct {
	Rows          int           `json:"rows_per_table"`
	CalRows       int           `json:"calibration_rows"`
	CalFill       time.Duration `json:"calibration_fill_ns"`
	Fill          time.Duration `json:"fill_ns"`
	ScopedRows    int64         `json:"scoped_rows"`
	Largest       []TableRows   `json:"largest"`
	Rate          float64       `json:"rate"`
	Workers       int           `json:"workers"`
	Warden        B2Run         `json:"warden"`
	Naive         B2Run         `json:"naive"`
	Alternatives  []B2Run       `json:"warden_alternatives,omitempty"`
	OrphanInsert  string        `json:"orphan_insert_after_migration"`
	StatementTime time.Duration `json:"app_statement_timeout_ns"`
}

// TableRows is a table's row count.
type TableRows struct {
	Table string `json:"table"`
	Rows  int64  `json:"rows"`
}

// appStatementTimeout is the load's statement_timeout: Supabase's default
// for the authenticated role. A write blocked longer than this fails, as it
// would in production.
const appStatementTimeout = 8 * time.Second

func (e *env) b2(ctx context.Context) error {
	fmt.Println("== B2 online migration under write load: warden vs naive, twin databases")
	cfg := e.cfg
	pol, err := policy.Load(filepath.Join(cfg.repo, "policy.yaml"))
	if err != nil {
		return err
	}
	res := &B2Result{Rows: cfg.b2Rows, CalRows: cfg.b2CalRows, Rate: cfg.b2Rate, Workers: cfg.b2Workers, StatementTime: appStatementTimeout}

	fill := func(db string, rows int) (time.Duration, error) {
		if err := e.srv.CreateDatabase(ctx, db, "template0"); err != nil {
			return 0, err
		}
		conn, err := e.connect(ctx, db)
		if err != nil {
			return 0, err
		}
		defer conn.Close(ctx)
		start := time.Now()
		if err := bench.LoadExample(ctx, conn, pol, rows); err != nil {
			return 0, err
		}
		return time.Since(start), nil
	}
	if cfg.b2CalRows > 0 {
		if res.CalFill, err = fill("b2_cal", cfg.b2CalRows); err != nil {
			return err
		}
		sizes := exampledata.Sizes(exampledata.Options{RowsPerTable: cfg.b2Rows})
		fmt.Printf("  fill at %d rows per table: %s; extrapolated to %d: %s (largest table call_logs %d rows)\n",
			cfg.b2CalRows, Secs(res.CalFill), cfg.b2Rows,
			Secs(time.Duration(float64(res.CalFill)*float64(cfg.b2Rows)/float64(cfg.b2CalRows))), sizes["call_logs"])
		if err := e.srv.DropDatabase(ctx, "b2_cal"); err != nil {
			return err
		}
	}
	if res.Fill, err = fill("b2_src", cfg.b2Rows); err != nil {
		return err
	}
	src, err := e.connect(ctx, "b2_src")
	if err != nil {
		return err
	}
	// VACUUM once on the source: both twins start with the same visibility
	// map and hint bits.
	if _, err := src.Exec(ctx, "VACUUM ANALYZE"); err != nil {
		src.Close(ctx)
		return err
	}
	m, err := bench.PlanMigration(ctx, src, pol)
	if err != nil {
		src.Close(ctx)
		return err
	}
	for _, tp := range m.Plan.Scoped {
		var n int64
		if err := src.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{tp.Table.Schema, tp.Table.Name}.Sanitize()).Scan(&n); err != nil {
			src.Close(ctx)
			return err
		}
		res.ScopedRows += n
		res.Largest = append(res.Largest, TableRows{tp.Name(), n})
	}
	sort.Slice(res.Largest, func(i, j int) bool { return res.Largest[i].Rows > res.Largest[j].Rows })
	res.Largest = res.Largest[:min(5, len(res.Largest))]
	// The same migration with other policy settings, each on its own twin.
	var alts []*bench.Migration
	for _, a := range cfg.b2Alt {
		altPol := *pol
		altPol.Backfill.BatchSize = a.batch
		if a.indexAfter {
			altPol.Backfill.OrgIndex = policy.OrgIndexAfterBackfill
		}
		alt, err := bench.PlanMigration(ctx, src, &altPol)
		if err != nil {
			src.Close(ctx)
			return err
		}
		alts = append(alts, alt)
	}
	sample, err := bench.SampleExample(ctx, src, 20000)
	src.Close(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("  filled in %s: %d rows in %d scoped tables (largest %s %d)\n", Secs(res.Fill), res.ScopedRows, len(m.Plan.Scoped), res.Largest[0].Table, res.Largest[0].Rows)
	twins := []string{"b2_warden", "b2_naive"}
	for i := range alts {
		twins = append(twins, fmt.Sprintf("b2_warden_alt%d", i))
	}
	for _, db := range twins {
		if err := e.srv.CreateDatabase(ctx, db, "b2_src"); err != nil {
			return err
		}
	}
	if err := e.srv.DropDatabase(ctx, "b2_src"); err != nil {
		return err
	}

	// warden's steps, applied as generated: each file's Up as one
	// simple-protocol batch, as the Supabase CLI and psql -f send it.
	wardenRun := func(name, db string, m *bench.Migration, session string) (B2Run, error) {
		var steps []runStep
		for _, s := range m.Steps {
			steps = append(steps, runStep{phase: string(s.Phase), name: s.Name, sql: s.Up, backfill: isBackfill(s)})
		}
		run, err := e.migrateUnderLoad(ctx, name, db, steps, sample, session)
		if err != nil {
			return run, err
		}
		conn, err := e.connect(ctx, db)
		if err != nil {
			return run, err
		}
		defer conn.Close(ctx)
		// The CALLs report no row count: the backfill's own bookkeeping does.
		if err := conn.QueryRow(ctx, "SELECT coalesce(sum(rows_done), 0) FROM warden.backfill_progress").Scan(&run.BackfillRows); err != nil {
			return run, err
		}
		run.RowsPerSec = float64(run.BackfillRows) / run.BackfillTime.Seconds()
		return run, nil
	}
	if res.Warden, err = wardenRun("warden", "b2_warden", m, ""); err != nil {
		return err
	}
	wconn, err := e.connect(ctx, "b2_warden")
	if err != nil {
		return err
	}
	res.OrphanInsert = orphanInsert(ctx, wconn)
	wconn.Close(ctx)
	e.b2Migrated = "b2_warden"

	var steps []runStep
	for _, s := range bench.NaiveSteps(m.Plan) {
		steps = append(steps, runStep{phase: s.Phase, name: s.Phase + " " + s.Table, sql: s.SQL, backfill: s.Phase == bench.NaiveUpdate})
	}
	if res.Naive, err = e.migrateUnderLoad(ctx, "naive", "b2_naive", steps, sample, ""); err != nil {
		return err
	}
	res.Naive.RowsPerSec = float64(res.Naive.BackfillRows) / res.Naive.BackfillTime.Seconds()
	if err := e.srv.DropDatabase(ctx, "b2_naive"); err != nil {
		return err
	}
	for i, alt := range alts {
		session := ""
		if cfg.b2Alt[i].custom {
			session = "SET plan_cache_mode = force_custom_plan"
		}
		db := fmt.Sprintf("b2_warden_alt%d", i)
		run, err := wardenRun("warden, "+cfg.b2Alt[i].String(), db, alt, session)
		if err != nil {
			return err
		}
		res.Alternatives = append(res.Alternatives, run)
		if err := e.srv.DropDatabase(ctx, db); err != nil {
			return err
		}
	}

	e.printB2(res)
	if cfg.svg != "" {
		f, err := os.Create(cfg.svg)
		if err != nil {
			return err
		}
		title := fmt.Sprintf("Write latency of the old app at %.0f tx/s during the org migration (%d rows, %d scoped tables)",
			cfg.b2Rate, res.ScopedRows, len(m.Plan.Scoped))
		runs := []bench.Run{
			{Title: fmt.Sprintf("warden (generated phases 2–6 and RLS, backfill.batch_size %d)", pol.Backfill.BatchSize), Records: res.Warden.Records, Bands: bands(res.Warden.Phases)},
			{Title: "naive (ADD COLUMN, one UPDATE per table, SET NOT NULL, CREATE INDEX, validated FK)", Records: res.Naive.Records, Bands: bands(res.Naive.Phases)},
		}
		for _, alt := range res.Alternatives {
			runs = append(runs, bench.Run{Title: alt.Name, Records: alt.Records, Bands: bands(alt.Phases)})
		}
		err = bench.LatencySVG(f, title, runs)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		fmt.Printf("chart: %s\n", cfg.svg)
	}
	return e.save("b2.json", res)
}

func isBackfill(s migrations.Step) bool {
	return s.Phase == migrations.PhaseBackfill && strings.HasPrefix(s.Name, "backfill_") && s.Name != "backfill_check"
}

func bands(ps []Phase) []bench.Band {
	var out []bench.Band
	for _, p := range ps {
		if p.Name == "before" || p.Name == "after" {
			continue
		}
		out = append(out, bench.Band{Label: p.Name, From: p.From, To: p.To})
	}
	return out
}

type runStep struct {
	phase, name, sql string
	backfill         bool
}

// stillWaiting matches log_lock_waits' line for a wait past deadlock_timeout.
var stillWaiting = regexp.MustCompile(`\[(\d+)\] .*LOG:  process (\d+) still waiting for (.*)`)

// migrateUnderLoad runs the load on db, applies steps one after another on
// one session while it runs, and measures every phase.
//
// session, when set, is run first on the migration's session (a setting
// the operator would give the migration runner).
func (e *env) migrateUnderLoad(ctx context.Context, name, db string, steps []runStep, sample *bench.LoadSample, session string) (B2Run, error) {
	run := B2Run{Name: name}
	conn, err := e.connect(ctx, db)
	if err != nil {
		return run, err
	}
	defer conn.Close(ctx)
	if session != "" {
		if _, err := conn.Exec(ctx, session); err != nil {
			return run, err
		}
	}
	if _, err := conn.Exec(ctx, "CHECKPOINT"); err != nil {
		return run, err
	}
	var pid int
	if err := conn.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		return run, err
	}
	load, err := bench.StartLoad(ctx, bench.LoadOptions{
		URL: e.srv.URL(db), Rate: e.cfg.b2Rate, Workers: e.cfg.b2Workers, StatementTimeout: appStatementTimeout, Seed: 8,
	}, sample)
	if err != nil {
		return run, err
	}
	open := func(name string) {
		run.Phases = append(run.Phases, Phase{Name: name, From: load.Since(), logFrom: e.logOffset()})
	}
	closeLast := func() {
		p := &run.Phases[len(run.Phases)-1]
		p.To = load.Since()
		p.logTo = e.logOffset()
	}
	open("before")
	time.Sleep(e.cfg.b2Warmup)
	closeLast()
	migStart := time.Now()
	var times []StepTime
	fmt.Printf("  %s: %d steps under %.0f tx/s ", name, len(steps), e.cfg.b2Rate)
	for _, s := range steps {
		if last := run.Phases[len(run.Phases)-1]; last.Name != s.phase {
			closeLast()
			open(s.phase)
			fmt.Print(".")
		}
		st := StepTime{Phase: s.phase, Name: s.name}
		start := time.Now()
		for {
			tag, err := conn.Exec(ctx, s.sql)
			if err == nil {
				st.Rows = tag.RowsAffected()
				break
			}
			// A step that gives up on its lock_timeout is run again, as an
			// operator (or a migration runner's retry) would; anything
			// else stops the benchmark.
			var pe *pgconn.PgError
			if errors.As(err, &pe) && pe.Code == "55P03" && st.Retries < 20 {
				st.Retries++
				time.Sleep(time.Second)
				continue
			}
			load.Stop()
			return run, fmt.Errorf("%s step %s: %w", name, s.name, err)
		}
		st.Time = time.Since(start)
		run.Phases[len(run.Phases)-1].Steps++
		run.Phases[len(run.Phases)-1].Retries += st.Retries
		if s.backfill {
			run.BackfillTime += st.Time
			run.BackfillRows += st.Rows
		}
		times = append(times, st)
	}
	closeLast()
	run.Migration = time.Since(migStart)
	open("after")
	time.Sleep(e.cfg.b2Cooldown)
	recs := load.Stop()
	closeLast()
	run.LoadAvg = loadAvg()
	fmt.Printf(" %s\n", Secs(run.Migration))
	time.Sleep(300 * time.Millisecond) // the last log lines

	run.Records = recs
	var all []time.Duration
	failedAll := 0
	for i := range run.Phases {
		p := &run.Phases[i]
		if i == len(run.Phases)-1 {
			p.logTo = e.logOffset()
		}
		var ls []time.Duration
		failed := 0
		errs := map[string]bool{}
		for _, r := range recs {
			if r.Sched >= p.From && (r.Sched < p.To || i == len(run.Phases)-1) {
				ls = append(ls, r.Latency)
				if r.Err != "" {
					failed++
					if len(errs) < 5 && !errs[r.Err] {
						errs[r.Err] = true
						p.Errors = append(p.Errors, r.Kind+": "+r.Err)
					}
				}
			}
		}
		p.Latency = bench.Summarize(ls, failed)
		all = append(all, ls...)
		failedAll += failed
		for _, line := range strings.Split(e.logBetween(p.logFrom, p.logTo), "\n") {
			m := stillWaiting.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			if waiter, _ := strconv.Atoi(m[2]); waiter == pid {
				p.MigWaits++
			} else {
				p.AppWaits++
			}
			if len(p.Waits) < 3 {
				p.Waits = append(p.Waits, strings.TrimSpace(line[strings.Index(line, "LOG:"):]))
			}
		}
	}
	run.Total = bench.Summarize(all, failedAll)
	sort.SliceStable(times, func(i, j int) bool { return times[i].Time > times[j].Time })
	run.Slowest = times[:min(8, len(times))]
	return run, nil
}

// orphanInsert tries the old app's insert for a user with no membership
// on the migrated database, and says what happens.
func orphanInsert(ctx context.Context, conn *pgx.Conn) string {
	var user string
	err := conn.QueryRow(ctx, `SELECT u.id::text FROM auth.users u
WHERE NOT EXISTS (SELECT 1 FROM public.organization_members m WHERE m.user_id = u.id) ORDER BY u.id LIMIT 1`).Scan(&user)
	if err != nil {
		return "no user without membership: " + err.Error()
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err.Error()
	}
	defer tx.Rollback(ctx)
	_, err = tx.Exec(ctx, `INSERT INTO public.leads (user_id, first_name, phone) VALUES ($1, 'Orphan', '+15550000000')`, user)
	if err == nil {
		return "accepted"
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return "rejected: " + pe.Code + " " + pe.Message
	}
	return "rejected: " + err.Error()
}

func (e *env) printB2(r *B2Result) {
	fmt.Printf("\nB2: %d rows in scoped tables (RowsPerTable %d), load %.0f tx/s on %d connections, app statement_timeout %s\n",
		r.ScopedRows, r.Rows, r.Rate, r.Workers, r.StatementTime)
	all := append([]B2Run{r.Warden, r.Naive}, r.Alternatives...)
	for _, run := range all {
		var rows [][]string
		for _, p := range run.Phases {
			rows = append(rows, []string{p.Name, Secs(p.To - p.From), fmt.Sprint(p.Steps), fmt.Sprint(p.Latency.Count),
				bench.Ms(p.Latency.P50), bench.Ms(p.Latency.P99), bench.Ms(p.Latency.Max), fmt.Sprint(p.Latency.Failed),
				fmt.Sprintf("%d / %d", p.AppWaits, p.MigWaits), fmt.Sprint(p.Retries)})
		}
		rows = append(rows, []string{"all", Secs(run.Migration), "", fmt.Sprint(run.Total.Count), bench.Ms(run.Total.P50), bench.Ms(run.Total.P99),
			bench.Ms(run.Total.Max), fmt.Sprint(run.Total.Failed), "", ""})
		fmt.Printf("\n%s: migration %s; backfill %d rows in %s = %.0f rows/s (load average at the end %s)\n", run.Name, Secs(run.Migration), run.BackfillRows, Secs(run.BackfillTime), run.RowsPerSec, run.LoadAvg)
		bench.Table(os.Stdout, e.cfg.md, []string{"phase", "wall", "steps", "app tx", "p50", "p99", "max", "failed", "lock waits app / migration", "retries"}, rows)
		for _, p := range run.Phases {
			for _, w := range p.Waits {
				fmt.Printf("  wait (%s): %s\n", p.Name, w)
			}
			for _, er := range p.Errors {
				fmt.Printf("  failed (%s): %s\n", p.Name, er)
			}
		}
		fmt.Print("  slowest steps:")
		for _, s := range run.Slowest {
			fmt.Printf(" %s %s;", s.Name, Secs(s.Time))
		}
		fmt.Println()
	}
	fmt.Printf("\nbackfill rate warden/naive: %.2f× (target ≥ 0.8×)", r.Warden.RowsPerSec/r.Naive.RowsPerSec)
	for _, alt := range r.Alternatives {
		fmt.Printf("; %s: %.2f×", alt.Name, alt.RowsPerSec/r.Naive.RowsPerSec)
	}
	fmt.Println()
	fmt.Printf("old-app insert for a user without membership, after warden's migration: %s\n\n", r.OrphanInsert)
}
