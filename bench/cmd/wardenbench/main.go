// Command wardenbench runs warden's benchmarks (issue 8) against a
// throwaway PostgreSQL server and prints their tables:
//
//	b1  catalog scale: warden plan / generate vs pg_dump --schema-only on
//	    synthetic schemas (default 512 and 5,093 tables)
//	b2  online migration: warden's phases 2–6 and RLS vs a naive migration
//	    on a twin database, under a fixed-rate write load of the old app
//	b3  RLS overhead: an org-scoped query as authenticated under the
//	    generated policies vs a role that bypasses RLS (needs b2's
//	    database, so it runs after b2; alone it migrates a fresh copy)
//	b4  warden check wall time on the example app (embedded default);
//	    the in-memory generation benchmark is a Go benchmark:
//	    go test -run '^$' -bench . -benchmem ./bench
//	bf  backfill diagnosis: one table's backfill without load, batch by
//	    batch, with the default plan cache, with custom plans forced and
//	    without the org_id index, against the naive UPDATE
//
// Usage, from the repository root (bench/run.sh does this):
//
//	go run ./bench/cmd/wardenbench [flags] all|b1|b2|b3|b4|bf ...
//
// Results go to -out as JSON (one file per benchmark) beside the printed
// tables; b2 draws its latency chart to -svg.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/warden-sql/warden/internal/pgtemp"
)

type config struct {
	repo       string
	out        string
	svg        string
	md         bool
	b1Families []int
	b1Reps     int
	b2Rows     int
	b2CalRows  int
	b2Rate     float64
	b2Workers  int
	b2Warmup   time.Duration
	b2Cooldown time.Duration
	b2Alt      []altRun
	b3Rounds   int
	bfTable    string
	bfRate     float64
	autovacuum bool
}

// altRun is a further warden run of b2: another backfill batch size, and
// optionally custom plans forced for the migration session or the org
// index built after the backfill (backfill.org_index: after_backfill).
type altRun struct {
	batch      int
	custom     bool
	indexAfter bool
}

func (a altRun) String() string {
	s := fmt.Sprintf("batch_size %d", a.batch)
	if a.custom {
		s += ", plan_cache_mode = force_custom_plan"
	}
	if a.indexAfter {
		s += ", org_index after_backfill"
	}
	return s
}

// env is what every benchmark shares: the server, the warden binary, the
// output directory.
type env struct {
	cfg    config
	srv    *pgtemp.Server
	binDir string
	pgDump string // pg_dump of the server's version
	warden string // built binary
	tmp    string
	// b2 leaves its migrated database for b3.
	b2Migrated string
}

// serverSettings are the settings of the benchmark server, on top of
// pgtemp's (fsync, synchronous_commit and full_page_writes off: a scratch
// server, the same for every run compared).
var serverSettings = map[string]string{
	"log_lock_waits":            "on",
	"deadlock_timeout":          "100ms",
	"log_line_prefix":           "%m [%p] %u@%d ",
	"shared_buffers":            "1GB",
	"max_wal_size":              "8GB",
	"checkpoint_timeout":        "30min",
	"maintenance_work_mem":      "256MB",
	"max_locks_per_transaction": "256",
}

func main() {
	var cfg config
	var families string
	flag.StringVar(&cfg.repo, "repo", ".", "repository root (policy.yaml, cmd/warden)")
	flag.StringVar(&cfg.out, "out", "bench/results/latest", "directory for the JSON results")
	flag.StringVar(&cfg.svg, "svg", "docs/bench-b2-latency.svg", "b2: write-latency chart")
	flag.BoolVar(&cfg.md, "md", false, "print tables as markdown")
	flag.StringVar(&families, "b1-families", "100,1000", "b1: synthetic sizes in families of five scoped tables")
	flag.IntVar(&cfg.b1Reps, "b1-reps", 3, "b1: timed runs per command (the median is reported)")
	flag.IntVar(&cfg.b2Rows, "b2-rows", 1000000, "b2: exampledata RowsPerTable (rows of the largest table)")
	flag.IntVar(&cfg.b2CalRows, "b2-calibrate-rows", 200000, "b2: RowsPerTable of the timed fill used to extrapolate (0: skip)")
	flag.Float64Var(&cfg.b2Rate, "b2-rate", 200, "b2: write transactions per second")
	flag.IntVar(&cfg.b2Workers, "b2-workers", 32, "b2: load connections")
	flag.DurationVar(&cfg.b2Warmup, "b2-warmup", 10*time.Second, "b2: load before the migration starts")
	flag.DurationVar(&cfg.b2Cooldown, "b2-cooldown", 10*time.Second, "b2: load after the migration ends")
	var alts string
	flag.StringVar(&alts, "b2-alt", "1000,1000+custom", "b2: further warden runs, each on its own twin: backfill.batch_size, "+
		"+custom for plan_cache_mode = force_custom_plan in the migration session, +after for backfill.org_index: after_backfill (empty: none)")
	flag.IntVar(&cfg.b3Rounds, "b3-rounds", 10, "b3: interleaved rounds per variant")
	flag.StringVar(&cfg.bfTable, "bf-table", "calls", "bf: the example table whose backfill is diagnosed (public schema)")
	flag.BoolVar(&cfg.autovacuum, "autovacuum", true, "run the server with autovacuum (off: to see its share of b2's backfill time)")
	flag.Float64Var(&cfg.bfRate, "bf-rate", 0, "bf: run the old app's write load at this rate during each variant (0: none)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: wardenbench [flags] all|b1|b2|b3|b4|bf ...\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	for _, f := range strings.Split(families, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fatalf("bad -b1-families %q", families)
		}
		cfg.b1Families = append(cfg.b1Families, n)
	}
	for _, a := range strings.Split(alts, ",") {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		var alt altRun
		n, opts, _ := strings.Cut(a, "+")
		for _, o := range strings.Split(opts, "+") {
			switch o {
			case "":
			case "custom":
				alt.custom = true
			case "after":
				alt.indexAfter = true
			default:
				fatalf("bad -b2-alt %q: unknown option +%s", alts, o)
			}
		}
		var err error
		if alt.batch, err = strconv.Atoi(n); err != nil || alt.batch < 1 {
			fatalf("bad -b2-alt %q", alts)
		}
		cfg.b2Alt = append(cfg.b2Alt, alt)
	}
	which := flag.Args()
	if len(which) == 0 {
		flag.Usage()
		os.Exit(2)
	}
	if len(which) == 1 && which[0] == "all" {
		which = []string{"b1", "b2", "b3", "b4", "bf"}
	}
	for _, w := range which {
		switch w {
		case "b1", "b2", "b3", "b4", "bf":
		default:
			fatalf("unknown benchmark %q", w)
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	e, err := setup(ctx, cfg)
	if err != nil {
		fatalf("%v", err)
	}
	finished := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			fmt.Fprintln(os.Stderr, "wardenbench: interrupted; stopping the server")
			e.close()
			os.Exit(130)
		case <-finished:
		}
	}()
	if err := e.machine(ctx); err != nil {
		fatalf("%v", err)
	}
	for _, w := range which {
		var err error
		start := time.Now()
		loadStart := loadAvg()
		switch w {
		case "b1":
			err = e.b1(ctx)
		case "b2":
			err = e.b2(ctx)
		case "b3":
			err = e.b3(ctx)
		case "b4":
			err = e.b4(ctx)
		case "bf":
			err = e.bf(ctx)
		}
		if err != nil {
			e.close()
			fatalf("%s: %v", w, err)
		}
		fmt.Printf("(%s took %s; load average before %s, after %s)\n\n", w, time.Since(start).Round(time.Second), loadStart, loadAvg())
	}
	close(finished)
	stop()
	e.close()
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "wardenbench: "+format+"\n", args...)
	os.Exit(1)
}

func setup(ctx context.Context, cfg config) (*env, error) {
	if err := os.MkdirAll(cfg.out, 0o755); err != nil {
		return nil, err
	}
	binDir, err := pgtemp.FindBinDir()
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "wardenbench-")
	if err != nil {
		return nil, err
	}
	e := &env{cfg: cfg, binDir: binDir, tmp: tmp}
	e.pgDump = findPgDump(binDir)
	e.warden = filepath.Join(tmp, "warden")
	build := exec.CommandContext(ctx, "go", "build", "-o", e.warden, "./cmd/warden")
	build.Dir = cfg.repo
	if out, err := build.CombinedOutput(); err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("building warden: %v\n%s", err, out)
	}
	// The server runs as an unprivileged user when we are root; it must be
	// able to reach nothing of ours but its own directory.
	settings := map[string]string{}
	for k, v := range serverSettings {
		settings[k] = v
	}
	if !cfg.autovacuum {
		settings["autovacuum"] = "off"
	}
	if e.srv, err = pgtemp.Start(ctx, pgtemp.Options{BinDir: binDir, Settings: settings}); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	return e, nil
}

func (e *env) close() {
	if e.srv != nil {
		e.srv.Stop()
	}
	os.RemoveAll(e.tmp)
}

// url is a connection URL for database db as role user.
func (e *env) url(user, db string) string {
	return fmt.Sprintf("postgres://%s@/%s?host=%s&port=%d&sslmode=disable", user, db, e.srv.Dir(), e.srv.Port())
}

func (e *env) connect(ctx context.Context, db string) (*pgx.Conn, error) {
	return pgx.Connect(ctx, e.srv.URL(db))
}

// logPath is the server log, where lock waits and statements are counted.
func (e *env) logPath() string { return filepath.Join(e.srv.Dir(), "server.log") }

func (e *env) logOffset() int64 {
	st, err := os.Stat(e.logPath())
	if err != nil {
		return 0
	}
	return st.Size()
}

// logSince returns the server log between two offsets.
func (e *env) logBetween(from, to int64) string {
	f, err := os.Open(e.logPath())
	if err != nil {
		return ""
	}
	defer f.Close()
	if to <= from {
		return ""
	}
	buf := make([]byte, to-from)
	n, _ := f.ReadAt(buf, from)
	return string(buf[:n])
}

func (e *env) save(name string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(e.cfg.out, name), append(data, '\n'), 0o644)
}

// Machine describes where the numbers were measured.
type Machine struct {
	CPUs       int    `json:"cpus"`
	CPUModel   string `json:"cpu_model"`
	MemoryGiB  string `json:"memory_gib"`
	Kernel     string `json:"kernel"`
	Go         string `json:"go"`
	PostgreSQL string `json:"postgresql"`
	PgDump     string `json:"pg_dump"`
	Settings   string `json:"settings"`
	When       string `json:"when"`
}

func (e *env) machine(ctx context.Context) error {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version(), When: time.Now().UTC().Format(time.RFC3339)}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				m.CPUModel = strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb float64
		fmt.Sscanf(strings.TrimPrefix(strings.SplitN(string(b), "\n", 2)[0], "MemTotal:"), "%f", &kb)
		m.MemoryGiB = fmt.Sprintf("%.1f", kb/1024/1024)
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	conn, err := e.connect(ctx, "postgres")
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, "SELECT version()").Scan(&m.PostgreSQL); err != nil {
		return err
	}
	if out, err := exec.Command(e.pgDump, "--version").Output(); err == nil {
		m.PgDump = strings.TrimSpace(string(out))
	}
	var set []string
	for _, k := range []string{"fsync", "synchronous_commit", "full_page_writes", "shared_buffers", "max_wal_size", "maintenance_work_mem", "work_mem", "log_lock_waits", "deadlock_timeout", "autovacuum"} {
		var v string
		if err := conn.QueryRow(ctx, "SELECT current_setting($1)", k).Scan(&v); err != nil {
			return err
		}
		set = append(set, k+"="+v)
	}
	m.Settings = strings.Join(set, " ")
	fmt.Printf("machine: %d CPUs (%s), %s GiB, Linux %s, %s\n%s\n%s\nserver settings: %s\n\n",
		m.CPUs, m.CPUModel, m.MemoryGiB, m.Kernel, m.Go, m.PostgreSQL, m.PgDump, m.Settings)
	return e.save("machine.json", m)
}

// findPgDump returns the pg_dump beside the server binaries (following a
// symlinked initdb to its real directory), else the one on PATH.
func findPgDump(binDir string) string {
	for _, dir := range []string{binDir, realDir(filepath.Join(binDir, "initdb"))} {
		p := filepath.Join(dir, "pg_dump")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	if p, err := exec.LookPath("pg_dump"); err == nil {
		return p
	}
	return "pg_dump"
}

func realDir(path string) string {
	p, err := filepath.EvalSymlinks(path)
	if err != nil {
		return filepath.Dir(path)
	}
	return filepath.Dir(p)
}

// loadAvg is the 1-minute load average: other work on the machine skews
// timings, so each benchmark prints it.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}
