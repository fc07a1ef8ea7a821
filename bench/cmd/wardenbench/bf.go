package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/warden-sql/warden/bench"
	"github.com/warden-sql/warden/generator/migrations"
	"github.com/warden-sql/warden/policy"
)

// BFVariant is one way of running one table's backfill.
type BFVariant struct {
	Name       string          `json:"name"`
	Rows       int64           `json:"rows"`
	Time       time.Duration   `json:"ns"`
	RowsPerSec float64         `json:"rows_per_s"`
	Ratio      float64         `json:"ratio_to_naive"`
	Batches    []time.Duration `json:"batch_ns,omitempty"`
}

// BFResult is the backfill diagnosis.
type BFResult struct {
	Table     string      `json:"table"`
	LoadRate  float64     `json:"load_rate"`
	Rows      int         `json:"rows_per_table"`
	BatchSize int         `json:"batch_size"`
	Variants  []BFVariant `json:"variants"`
	// GenericPlan is auto_explain's plan of a batch half way through,
	// with the default plan cache: what PostgreSQL runs by then.
	GenericPlan string `json:"plan_mid_backfill"`
}

// callBackfill reads the table and function names out of a generated
// backfill step: CALL "warden".backfill('<table>', '<batch fn>', '<upper fn>').
var callBackfill = regexp.MustCompile(`CALL "warden"\.backfill\('((?:[^']|'')*)', '((?:[^']|'')*)', '((?:[^']|'')*)'\)`)

// bf diagnoses the backfill rate of one table without load: warden's
// batches (driven from here one by one, as warden.backfill drives them,
// each in its own transaction under session_replication_role = replica)
// with the default plan cache, with custom plans forced, and with custom
// plans and no org_id index, against the naive one-statement UPDATE, each
// on its own twin of the same database.
func (e *env) bf(ctx context.Context) error {
	table := e.cfg.bfTable
	if e.cfg.bfRate > 0 {
		fmt.Printf("== backfill diagnosis: public.%s, under the old app's load at %.0f tx/s\n", table, e.cfg.bfRate)
	} else {
		fmt.Printf("== backfill diagnosis: public.%s, no load\n", table)
	}
	pol, err := policy.Load(filepath.Join(e.cfg.repo, "policy.yaml"))
	if err != nil {
		return err
	}
	res := BFResult{Table: "public." + table, Rows: e.cfg.b2Rows, BatchSize: pol.Backfill.BatchSize, LoadRate: e.cfg.bfRate}
	if err := e.srv.CreateDatabase(ctx, "bf_src", "template0"); err != nil {
		return err
	}
	conn, err := e.connect(ctx, "bf_src")
	if err != nil {
		return err
	}
	if err := bench.LoadExample(ctx, conn, pol, e.cfg.b2Rows); err != nil {
		conn.Close(ctx)
		return err
	}
	m, err := bench.PlanMigration(ctx, conn, pol)
	if err != nil {
		conn.Close(ctx)
		return err
	}
	// What is in place when warden's backfill runs: phase 2 and the fill
	// triggers; and the naive migration's helper and column.
	var batchFn, upperFn, naiveSQL, callSQL string
	for _, s := range m.Steps {
		if s.Phase == migrations.PhaseAdd || strings.HasPrefix(s.Name, "fill_trigger_") {
			if _, err := conn.Exec(ctx, s.Up); err != nil {
				conn.Close(ctx)
				return fmt.Errorf("%s: %w", s.Name, err)
			}
		}
		if s.Name == "backfill_"+table {
			mm := callBackfill.FindStringSubmatch(s.Up)
			if mm == nil {
				conn.Close(ctx)
				return fmt.Errorf("cannot read the backfill call of %s:\n%s", table, s.Up)
			}
			batchFn, upperFn = strings.ReplaceAll(mm[2], "''", "'"), strings.ReplaceAll(mm[3], "''", "'")
			callSQL = s.Up
		}
	}
	for _, s := range bench.NaiveSteps(m.Plan) {
		if s.Phase == bench.NaiveAddColumn && s.Table == "" {
			if _, err := conn.Exec(ctx, s.SQL); err != nil {
				conn.Close(ctx)
				return err
			}
		}
		if s.Phase == bench.NaiveUpdate && s.Table == "public."+table {
			naiveSQL = s.SQL
		}
	}
	if batchFn == "" || naiveSQL == "" {
		conn.Close(ctx)
		return fmt.Errorf("no scoped table public.%s", table)
	}
	_, err = conn.Exec(ctx, "VACUUM ANALYZE")
	var sample *bench.LoadSample
	if err == nil && e.cfg.bfRate > 0 {
		sample, err = bench.SampleExample(ctx, conn, 20000)
	}
	conn.Close(ctx)
	if err != nil {
		return err
	}
	variants := []string{"naive UPDATE", "warden batches, default plan cache", "warden batches, force_custom_plan",
		"warden batches, force_custom_plan, no org_id index", "warden CALL as generated (warden.backfill procedure)"}
	for i, name := range variants {
		db := fmt.Sprintf("bf_%d", i)
		if err := e.srv.CreateDatabase(ctx, db, "bf_src"); err != nil {
			return err
		}
		c, err := e.connect(ctx, db)
		if err != nil {
			return err
		}
		v := BFVariant{Name: name}
		if _, err := c.Exec(ctx, "CHECKPOINT"); err != nil {
			c.Close(ctx)
			return err
		}
		var load *bench.Load
		if sample != nil {
			// The old app's writes, as in b2, for the whole variant.
			if load, err = bench.StartLoad(ctx, bench.LoadOptions{URL: e.srv.URL(db), Rate: e.cfg.bfRate, Workers: e.cfg.b2Workers,
				StatementTimeout: appStatementTimeout, Seed: 8}, sample); err != nil {
				c.Close(ctx)
				return err
			}
		}
		if i == 4 {
			// The generated step, as b2 applies it: the procedure drives
			// the same batch function, committing after each batch.
			start := time.Now()
			if _, err := c.Exec(ctx, callSQL); err != nil {
				c.Close(ctx)
				return err
			}
			v.Time = time.Since(start)
			if err := c.QueryRow(ctx, "SELECT coalesce(sum(rows_done), 0) FROM warden.backfill_progress").Scan(&v.Rows); err != nil {
				c.Close(ctx)
				return err
			}
		} else if i == 0 {
			start := time.Now()
			tag, err := c.Exec(ctx, naiveSQL)
			if err != nil {
				c.Close(ctx)
				return err
			}
			v.Time, v.Rows = time.Since(start), tag.RowsAffected()
		} else {
			if i >= 2 {
				if _, err := c.Exec(ctx, "SET plan_cache_mode = force_custom_plan"); err != nil {
					c.Close(ctx)
					return err
				}
			}
			if i == 3 {
				idx := pgx.Identifier{"public", migrations.Names(m.Plan, m.Plan.Scoped[indexOf(m, table)]).Index}.Sanitize()
				if _, err := c.Exec(ctx, "DROP INDEX "+idx); err != nil {
					c.Close(ctx)
					return err
				}
			}
			explainAt := -1
			if i == 1 {
				var rows int64
				if err := c.QueryRow(ctx, fmt.Sprintf("SELECT reltuples::bigint FROM pg_class WHERE oid = 'public.%s'::regclass", table)).Scan(&rows); err != nil {
					c.Close(ctx)
					return err
				}
				explainAt = int(rows) / pol.Backfill.BatchSize / 2
			}
			plan, err := e.batches(ctx, c, batchFn, upperFn, pol.Backfill.BatchSize, explainAt, &v)
			if err != nil {
				c.Close(ctx)
				return err
			}
			if i == 1 {
				res.GenericPlan = plan
			}
		}
		if load != nil {
			load.Stop()
		}
		c.Close(ctx)
		v.RowsPerSec = float64(v.Rows) / v.Time.Seconds()
		res.Variants = append(res.Variants, v)
		if err := e.srv.DropDatabase(ctx, db); err != nil {
			return err
		}
	}
	if err := e.srv.DropDatabase(ctx, "bf_src"); err != nil {
		return err
	}
	var rows [][]string
	for i := range res.Variants {
		v := &res.Variants[i]
		v.Ratio = v.RowsPerSec / res.Variants[0].RowsPerSec
		first, mid, last := "", "", ""
		if n := len(v.Batches); n > 0 {
			first, mid, last = bench.Ms(bench.Median(v.Batches[:min(5, n)])), bench.Ms(bench.Median(v.Batches[n/2:min(n, n/2+5)])), bench.Ms(bench.Median(v.Batches[max(0, n-6):max(1, n-1)]))
		}
		rows = append(rows, []string{v.Name, fmt.Sprint(v.Rows), Secs(v.Time), fmt.Sprintf("%.0f", v.RowsPerSec), fmt.Sprintf("%.2f×", v.Ratio), first, mid, last})
	}
	fmt.Printf("public.%s: %d rows updated per variant, batch_size %d\n", table, res.Variants[0].Rows, res.BatchSize)
	bench.Table(os.Stdout, e.cfg.md, []string{"variant", "rows", "time", "rows/s", "vs naive", "batch: first", "middle", "last"}, rows)
	fmt.Printf("\nthe batch query half way through, default plan cache (auto_explain):\n%s\n\n", res.GenericPlan)
	return e.save("bf.json", res)
}

func indexOf(m *bench.Migration, table string) int {
	for i, tp := range m.Plan.Scoped {
		if tp.Table.Schema == "public" && tp.Table.Name == table {
			return i
		}
	}
	return 0
}

// batches runs the backfill batch function until it reports the end, one
// transaction per batch, timing each. When explainAt >= 0, that batch is
// logged by auto_explain and its plan returned.
func (e *env) batches(ctx context.Context, c *pgx.Conn, batchFn, upperFn string, size, explainAt int, v *BFVariant) (string, error) {
	var upper string
	if err := c.QueryRow(ctx, fmt.Sprintf("SELECT %s()::text", upperFn)).Scan(&upper); err != nil {
		return "", err
	}
	var last *string
	var logFrom int64
	start := time.Now()
	for i := 0; ; i++ {
		tx, err := c.Begin(ctx)
		if err != nil {
			return "", err
		}
		if _, err := tx.Exec(ctx, "SET LOCAL session_replication_role = replica"); err != nil {
			tx.Rollback(ctx)
			return "", err
		}
		if i == explainAt {
			if _, err := tx.Exec(ctx, "LOAD 'auto_explain'; SET LOCAL auto_explain.log_min_duration = 0; SET LOCAL auto_explain.log_analyze = on; SET LOCAL auto_explain.log_nested_statements = on"); err != nil {
				tx.Rollback(ctx)
				return "", err
			}
			logFrom = e.logOffset()
		}
		bstart := time.Now()
		var next *string
		var n, orphans int64
		if err := tx.QueryRow(ctx, fmt.Sprintf("SELECT last_key::text, updated, orphans FROM %s($1::jsonb, $2::jsonb, $3)", batchFn), last, upper, size).Scan(&next, &n, &orphans); err != nil {
			tx.Rollback(ctx)
			return "", err
		}
		if err := tx.Commit(ctx); err != nil {
			return "", err
		}
		if next == nil {
			break
		}
		v.Batches = append(v.Batches, time.Since(bstart))
		v.Rows += n
		last = next
	}
	v.Time = time.Since(start)
	if explainAt < 0 {
		return "", nil
	}
	time.Sleep(200 * time.Millisecond)
	log := e.logBetween(logFrom, e.logOffset())
	i := strings.Index(log, "WITH batch AS")
	if i < 0 {
		return "(no plan logged)", nil
	}
	j := strings.LastIndex(log[:i], "LOG:  duration")
	var keep []string
	for _, l := range strings.Split(log[j:], "\n") {
		t := strings.TrimSpace(l)
		if strings.Contains(t, "CONTEXT:") {
			break
		}
		if strings.HasPrefix(t, "LOG:") || strings.Contains(t, "Index Scan using") || strings.Contains(t, "Index Cond") ||
			strings.Contains(t, "Filter:") || strings.Contains(t, "Rows Removed") || strings.Contains(t, "Update on") || strings.HasPrefix(t, "->  Limit") {
			keep = append(keep, "  "+t)
		}
	}
	return strings.Join(keep, "\n"), nil
}
