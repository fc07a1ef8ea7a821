package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/warden-sql/warden/bench"
	"github.com/warden-sql/warden/generator/classify"
	"github.com/warden-sql/warden/generator/output"
	"github.com/warden-sql/warden/internal/fileset"
	"github.com/warden-sql/warden/introspect"
	"github.com/warden-sql/warden/policy"
)

// Run is one timed subprocess.
type Run struct {
	Wall   time.Duration `json:"wall_ns"`
	MaxRSS int64         `json:"max_rss_kib"`
	Exit   int           `json:"exit"`
}

// Command is a subprocess's runs and what the server saw of it.
type Command struct {
	Name       string        `json:"name"`
	Runs       []Run         `json:"runs"`
	Median     time.Duration `json:"median_ns"`
	MaxRSS     int64         `json:"max_rss_kib"`
	Statements int           `json:"statements"`
	// ServerTime is the sum of the statements' durations as the server
	// logged them (log_min_duration_statement = 0), Slowest the costliest.
	ServerTime time.Duration `json:"server_ns"`
	Slowest    []string      `json:"slowest_statements,omitempty"`
}

// B1Size is the catalog-scale result for one synthetic schema.
type B1Size struct {
	Families   int           `json:"families"`
	Tables     int           `json:"tables"`
	Scoped     int           `json:"scoped"`
	DDL        time.Duration `json:"ddl_ns"`
	Files      int           `json:"files"`
	Plan       Command       `json:"plan"`
	Generate   Command       `json:"generate"`
	PgDump     Command       `json:"pg_dump"`
	InProcess  Breakdown     `json:"in_process"`
	QueryCount int           `json:"introspect_query_count"`
}

// Breakdown times warden generate's stages in this process.
type Breakdown struct {
	Inspect  time.Duration `json:"inspect_ns"`
	Policy   time.Duration `json:"policy_ns"`
	Classify time.Duration `json:"classify_ns"`
	Render   time.Duration `json:"render_ns"`
	Write    time.Duration `json:"write_ns"`
}

// timed runs a command and measures its wall time and peak memory.
func timed(ctx context.Context, dir string, name string, args ...string) (Run, string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	r := Run{Wall: time.Since(start)}
	if cmd.ProcessState != nil {
		r.Exit = cmd.ProcessState.ExitCode()
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			r.MaxRSS = ru.Maxrss // KiB on Linux
		}
	}
	if err != nil && cmd.ProcessState == nil {
		return r, stderr.String(), err
	}
	return r, stderr.String(), nil
}

func (c *Command) finish() {
	var ws []time.Duration
	for _, r := range c.Runs {
		ws = append(ws, r.Wall)
		c.MaxRSS = max(c.MaxRSS, r.MaxRSS)
	}
	c.Median = bench.Median(ws)
}

// durationLine matches log_min_duration_statement's line for a statement
// run by the simple protocol or executed by the extended one (parse and
// bind lines are not statements).
var durationLine = regexp.MustCompile(`LOG:  duration: ([0-9.]+) ms  (?:statement: |execute [^:]*: )(.*)`)

// statements counts the statements role ran in a log segment and sums
// their server-side durations; it returns the three slowest, shortened.
func statements(log, role string) (n int, total time.Duration, slowest []string) {
	type st struct {
		d   time.Duration
		sql string
	}
	var all []st
	lines := strings.Split(log, "\n")
	for i, l := range lines {
		if !strings.Contains(l, " "+role+"@") {
			continue
		}
		m := durationLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		ms, _ := strconv.ParseFloat(m[1], 64)
		d := time.Duration(ms * float64(time.Millisecond))
		sql := strings.TrimSpace(m[2])
		// Multi-line statements continue on lines without the prefix.
		for j := i + 1; j < len(lines) && len(sql) < 200 && !strings.Contains(lines[j], " "+role+"@") && !logPrefix.MatchString(lines[j]); j++ {
			sql += " " + strings.TrimSpace(lines[j])
		}
		n++
		total += d
		all = append(all, st{d, sql})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].d > all[j].d })
	for _, s := range all[:min(3, len(all))] {
		sql := strings.Join(strings.Fields(s.sql), " ")
		if len(sql) > 110 {
			sql = sql[:110] + "…"
		}
		slowest = append(slowest, fmt.Sprintf("%s: %s", bench.Ms(s.d), sql))
	}
	return n, total, slowest
}

// logPrefix matches the start of a log line (log_line_prefix begins with %m).
var logPrefix = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d`)

func (e *env) b1(ctx context.Context) error {
	fmt.Println("== B1 catalog scale: warden plan / generate vs pg_dump --schema-only")
	admin, err := e.connect(ctx, "postgres")
	if err != nil {
		return err
	}
	defer admin.Close(ctx)
	// wb runs the timed commands; wb_count the same commands once more
	// with every statement logged with its duration, to count them and see
	// where the server's time goes (logging costs time, so it stays out of
	// the timed runs). Both superusers: pg_dump locks
	// every table.
	if _, err := admin.Exec(ctx, `
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'wb') THEN CREATE ROLE wb LOGIN SUPERUSER; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'wb_count') THEN CREATE ROLE wb_count LOGIN SUPERUSER; END IF;
END $$;
ALTER ROLE wb_count SET log_min_duration_statement = 0;`); err != nil {
		return err
	}
	pgDump := e.pgDump
	var results []B1Size
	for _, fam := range e.cfg.b1Families {
		s := bench.Synthetic{Families: fam}
		res := B1Size{Families: fam, Tables: s.Tables(), Scoped: s.ScopedTables(), QueryCount: introspect.QueryCount}
		db := fmt.Sprintf("b1_%d", fam)
		if err := e.srv.CreateDatabase(ctx, db, "template0"); err != nil {
			return err
		}
		conn, err := e.connect(ctx, db)
		if err != nil {
			return err
		}
		start := time.Now()
		for _, chunk := range s.SQL() {
			if _, err := conn.Exec(ctx, chunk); err != nil {
				conn.Close(ctx)
				return fmt.Errorf("loading the synthetic schema: %w", err)
			}
		}
		if _, err := conn.Exec(ctx, "ANALYZE"); err != nil {
			conn.Close(ctx)
			return err
		}
		res.DDL = time.Since(start)
		conn.Close(ctx)
		fmt.Printf("  %d tables (%d scoped) created in %s\n", res.Tables, res.Scoped, Secs(res.DDL))

		dir := filepath.Join(e.tmp, db)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		pol := filepath.Join(dir, "policy.yaml")
		if err := os.WriteFile(pol, s.Policy(), 0o644); err != nil {
			return err
		}
		res.Plan.Name, res.Generate.Name, res.PgDump.Name = "warden plan", "warden generate", "pg_dump --schema-only"
		run := func(c *Command, role string, rep int) error {
			url := e.url(role, db)
			var r Run
			var stderr string
			var err error
			switch c {
			case &res.Plan:
				r, stderr, err = timed(ctx, dir, e.warden, "plan", "--policy", pol, "--database-url", url)
			case &res.Generate:
				out := filepath.Join(dir, fmt.Sprintf("out-%s-%d", role, rep))
				r, stderr, err = timed(ctx, dir, e.warden, "generate", "--policy", pol, "--database-url", url, "--out", out)
				if err == nil && r.Exit == 0 && res.Files == 0 {
					res.Files = countFiles(out)
				}
				os.RemoveAll(out)
			case &res.PgDump:
				out := filepath.Join(dir, "dump.sql")
				r, stderr, err = timed(ctx, dir, pgDump, "--schema-only", "--dbname", url, "--file", out)
				os.Remove(out)
			}
			if err != nil {
				return err
			}
			if r.Exit != 0 {
				return fmt.Errorf("%s exited %d: %s", c.Name, r.Exit, stderr)
			}
			if role == "wb" {
				c.Runs = append(c.Runs, r)
			}
			return nil
		}
		cmds := []*Command{&res.Plan, &res.Generate, &res.PgDump}
		for rep := 0; rep < e.cfg.b1Reps; rep++ {
			// Rotate the order so no command always runs on a warm or
			// cold cache.
			for i := range cmds {
				c := cmds[(i+rep)%len(cmds)]
				if err := run(c, "wb", rep); err != nil {
					return err
				}
			}
		}
		for _, c := range cmds {
			from := e.logOffset()
			if err := run(c, "wb_count", 0); err != nil {
				return err
			}
			time.Sleep(200 * time.Millisecond) // let the log catch up
			c.Statements, c.ServerTime, c.Slowest = statements(e.logBetween(from, e.logOffset()), "wb_count")
			c.finish()
		}
		if res.InProcess, err = e.breakdown(ctx, db, pol); err != nil {
			return err
		}
		results = append(results, res)
		fmt.Printf("  plan %s, generate %s (%d files), pg_dump %s\n\n", Secs(res.Plan.Median), Secs(res.Generate.Median), res.Files, Secs(res.PgDump.Median))
		if err := e.srv.DropDatabase(ctx, db); err != nil {
			return err
		}
	}
	e.printB1(results)
	return e.save("b1.json", results)
}

// breakdown runs generate's stages in this process, to say where its
// time goes: introspection over the socket, policy parsing,
// classification, rendering and writing the files.
func (e *env) breakdown(ctx context.Context, db, polPath string) (Breakdown, error) {
	var b Breakdown
	conn, err := e.connect(ctx, db)
	if err != nil {
		return b, err
	}
	defer conn.Close(ctx)
	start := time.Now()
	pol, err := policy.Load(polPath)
	if err != nil {
		return b, err
	}
	b.Policy = time.Since(start)
	start = time.Now()
	model, err := introspect.Inspect(ctx, conn, pol.Schemas)
	if err != nil {
		return b, err
	}
	b.Inspect = time.Since(start)
	start = time.Now()
	plan := classify.Classify(model, pol)
	b.Classify = time.Since(start)
	start = time.Now()
	files, err := output.Render(plan, model)
	if err != nil {
		return b, err
	}
	b.Render = time.Since(start)
	out := filepath.Join(e.tmp, db+"-inproc")
	start = time.Now()
	if _, err := fileset.Write(out, files); err != nil {
		return b, err
	}
	b.Write = time.Since(start)
	os.RemoveAll(out)
	return b, nil
}

func countFiles(dir string) int {
	n := 0
	filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

func (e *env) printB1(rs []B1Size) {
	var rows [][]string
	for _, r := range rs {
		rows = append(rows, []string{
			fmt.Sprint(r.Tables),
			Secs(r.Plan.Median), Secs(r.Generate.Median), Secs(r.PgDump.Median),
			fmt.Sprintf("%.2f×", r.Plan.Median.Seconds()/r.PgDump.Median.Seconds()),
			fmt.Sprintf("%.2f×", r.Generate.Median.Seconds()/r.PgDump.Median.Seconds()),
			fmt.Sprintf("%d / %d / %d", r.Plan.Statements, r.Generate.Statements, r.PgDump.Statements),
			fmt.Sprintf("%s / %s / %s", mib(r.Plan.MaxRSS), mib(r.Generate.MaxRSS), mib(r.PgDump.MaxRSS)),
			fmt.Sprint(r.Files),
		})
	}
	fmt.Printf("B1 (median of %d runs; statements as the server logged them)\n", e.cfg.b1Reps)
	bench.Table(os.Stdout, e.cfg.md, []string{"tables", "warden plan", "warden generate", "pg_dump -s", "plan/pg_dump", "generate/pg_dump",
		"statements plan/gen/dump", "max RSS plan/gen/dump", "files"}, rows)
	fmt.Println()
	rows = nil
	for _, r := range rs {
		for _, c := range []Command{r.Plan, r.Generate, r.PgDump} {
			rows = append(rows, []string{fmt.Sprint(r.Tables), c.Name, fmt.Sprint(c.Statements), Secs(c.ServerTime), strings.Join(c.Slowest, " | ")})
		}
	}
	fmt.Println("B1 server side (one logged run): statements, their total duration, the slowest")
	bench.Table(os.Stdout, e.cfg.md, []string{"tables", "command", "statements", "server time", "slowest"}, rows)
	fmt.Println()
	rows = nil
	for _, r := range rs {
		rows = append(rows, []string{fmt.Sprint(r.Tables), Secs(r.InProcess.Policy), Secs(r.InProcess.Inspect), Secs(r.InProcess.Classify),
			Secs(r.InProcess.Render), Secs(r.InProcess.Write), fmt.Sprint(r.QueryCount)})
	}
	fmt.Println("B1 generate, stage by stage in one process")
	bench.Table(os.Stdout, e.cfg.md, []string{"tables", "policy parse", "inspect", "classify", "render", "write files", "introspect.QueryCount"}, rows)
	if len(rs) >= 2 {
		a, b := rs[0], rs[len(rs)-1]
		k := float64(b.Tables) / float64(a.Tables)
		fmt.Printf("\nscaling %d → %d tables (×%.1f): plan ×%.1f, generate ×%.1f, pg_dump ×%.1f; statements plan %d → %d, generate %d → %d\n",
			a.Tables, b.Tables, k, b.Plan.Median.Seconds()/a.Plan.Median.Seconds(), b.Generate.Median.Seconds()/a.Generate.Median.Seconds(),
			b.PgDump.Median.Seconds()/a.PgDump.Median.Seconds(), a.Plan.Statements, b.Plan.Statements, a.Generate.Statements, b.Generate.Statements)
	}
	fmt.Println()
}

func mib(kib int64) string { return fmt.Sprintf("%.0f MiB", float64(kib)/1024) }

// Secs formats seconds for the tables.
func Secs(d time.Duration) string { return bench.Secs(d) }
