package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/warden-sql/warden/bench"
	"github.com/warden-sql/warden/policy"
)

// B3 measures on this table: the example app's largest (RowsPerTable
// rows), inherited through calls, indexed on (org_id, call_id) by warden.
const b3Table = "public.call_logs"

// b3Queries are the org-scoped queries, as an API sends them. $1 is the
// org; "rls only" leaves the org to the policies, as a PostgREST request
// without a filter does.
var b3Queries = []struct{ name, sql string }{
	{"count an org's rows", `SELECT count(*) FROM public.call_logs WHERE org_id = $1`},
	{"page of 50", `SELECT id, call_id, event, logged_at FROM public.call_logs WHERE org_id = $1 ORDER BY call_id LIMIT 50`},
	{"count, RLS filter only", `SELECT count(*) FROM public.call_logs WHERE $1::uuid IS NOT NULL`},
	// An org's calls with their logs, as a PostgREST embedding asks: the
	// logs are read through the call_id index per call, so the policy on
	// call_logs is checked row by row.
	{"calls ⋈ logs", `SELECT count(*) FROM public.calls c JOIN public.call_logs l ON l.call_id = c.id WHERE c.org_id = $1`},
}

// b3Tables are the tables the queries read; the control rewrites their
// policies.
var b3Tables = []string{"public.call_logs", "public.calls"}

// b3Variants are the roles and policies compared.
var b3Variants = []struct{ name, role string }{
	{"bypass RLS (service_role)", "service_role"},
	{"authenticated, generated policies", "authenticated"},
	{"authenticated, auth_org_id() unwrapped", "authenticated"},
}

const (
	unwrapped = 2 // index of the control variant in b3Variants
	rlsOnly   = 2 // index of the query that relies on the policies alone
)

// B3Cell is one query under one variant.
type B3Cell struct {
	Query    string        `json:"query"`
	Variant  string        `json:"variant"`
	Client   time.Duration `json:"client_median_ns"` // round trip as the app sees it
	Server   time.Duration `json:"server_median_ns"` // EXPLAIN ANALYZE execution time
	Rows     int64         `json:"rows"`
	RatioCli float64       `json:"ratio_client"`
	RatioSrv float64       `json:"ratio_server"`
	client   []time.Duration
	server   []time.Duration
}

// B3Result is the RLS overhead benchmark.
type B3Result struct {
	Table     string   `json:"table"`
	TableRows int64    `json:"table_rows"`
	Orgs      int      `json:"orgs_sampled"`
	OrgRows   int64    `json:"median_rows_per_org"`
	Cells     []B3Cell `json:"cells"`
	// Seq are the counts with index scans off, where every row meets the
	// policy: what the (SELECT ...) wrapping is for.
	Seq        []B3Cell `json:"seq_scan"`
	Plans      []string `json:"plans"`
	PolicyText []string `json:"policies"`
}

func (e *env) b3(ctx context.Context) error {
	fmt.Println("== B3 RLS overhead: org-scoped queries on", b3Table)
	db := e.b2Migrated
	if db == "" {
		// Alone: migrate a fresh copy of the example app without load.
		db = "b3"
		pol, err := policy.Load(filepath.Join(e.cfg.repo, "policy.yaml"))
		if err != nil {
			return err
		}
		if err := e.srv.CreateDatabase(ctx, db, "template0"); err != nil {
			return err
		}
		conn, err := e.connect(ctx, db)
		if err != nil {
			return err
		}
		err = bench.LoadExample(ctx, conn, pol, e.cfg.b2Rows)
		var m *bench.Migration
		if err == nil {
			m, err = bench.PlanMigration(ctx, conn, pol)
		}
		for _, s := range stepsOf(m, err) {
			if _, err = conn.Exec(ctx, s); err != nil {
				break
			}
		}
		conn.Close(ctx)
		if err != nil {
			return err
		}
	}
	conn, err := e.connect(ctx, db)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "VACUUM ANALYZE "+strings.Join(b3Tables, ", ")); err != nil {
		return err
	}
	res := B3Result{Table: b3Table}
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+b3Table).Scan(&res.TableRows); err != nil {
		return err
	}
	// Orgs of typical size: the middle of the distribution (the default
	// org, holding every orphan, is far larger than the rest).
	rows, err := conn.Query(ctx, `
WITH c AS (SELECT org_id, count(*) AS n FROM public.call_logs GROUP BY org_id),
     r AS (SELECT org_id, n, row_number() OVER (ORDER BY n, org_id) AS i, count(*) OVER () AS k FROM c)
SELECT org_id, n FROM r WHERE i BETWEEN k / 2 - 10 AND k / 2 + 9 ORDER BY i`)
	if err != nil {
		return err
	}
	type org struct {
		id     pgtype.UUID
		n      int64
		claims string
	}
	var orgs []org
	var o org
	if _, err := pgx.ForEachRow(rows, []any{&o.id, &o.n}, func() error {
		orgs = append(orgs, o)
		return nil
	}); err != nil {
		return err
	}
	if len(orgs) == 0 {
		return fmt.Errorf("no orgs in %s", b3Table)
	}
	res.Orgs = len(orgs)
	res.OrgRows = orgs[len(orgs)/2].n
	for i := range orgs {
		// The JWT PostgREST would put in request.jwt.claims for a member.
		var user string
		if err := conn.QueryRow(ctx, `SELECT coalesce((SELECT user_id::text FROM public.organization_members WHERE org_id = $1 ORDER BY user_id LIMIT 1), '')`, orgs[i].id).Scan(&user); err != nil {
			return err
		}
		id, _ := orgs[i].id.Value()
		claims, _ := json.Marshal(map[string]any{"sub": user, "role": "authenticated", "app_metadata": map[string]any{"org_id": id}})
		orgs[i].claims = string(claims)
	}
	var unwrap []string
	for _, table := range b3Tables {
		prows, err := conn.Query(ctx, `SELECT polname, polcmd::text, polpermissive, coalesce(pg_get_expr(polqual, polrelid), '')
FROM pg_policy WHERE polrelid = $1::regclass ORDER BY polname`, table)
		if err != nil {
			return err
		}
		var name, cmd, qual string
		var permissive bool
		if _, err := pgx.ForEachRow(prows, []any{&name, &cmd, &permissive, &qual}, func() error {
			kind := "restrictive"
			if permissive {
				kind = "permissive"
			}
			if cmd == "r" || cmd == "*" {
				res.PolicyText = append(res.PolicyText, fmt.Sprintf("%s %s (%s, %s): USING %s", table, name, kind, cmd, qual))
			}
			if (cmd == "r" || cmd == "*") && strings.Contains(qual, "auth_org_id") {
				unwrap = append(unwrap, fmt.Sprintf("ALTER POLICY %s ON %s USING (org_id = public.auth_org_id())", pgx.Identifier{name}.Sanitize(), table))
			}
			return nil
		}); err != nil {
			return err
		}
	}
	if len(unwrap) == 0 {
		return fmt.Errorf("%s has no policy reading auth_org_id(): is RLS applied?", b3Table)
	}

	cells := make([][]B3Cell, len(b3Queries))
	for qi, q := range b3Queries {
		for _, v := range b3Variants {
			cells[qi] = append(cells[qi], B3Cell{Query: q.name, Variant: v.name})
		}
	}
	// One transaction per org and variant, as PostgREST runs a request:
	// SET LOCAL ROLE, the claims, the query. Variants interleave round by
	// round so that drift (autovacuum, caches) hits them alike.
	const reps = 5
	for round := 0; round < e.cfg.b3Rounds; round++ {
		for vi, v := range b3Variants {
			for _, o := range orgs {
				tx, err := conn.Begin(ctx)
				if err != nil {
					return err
				}
				if vi == unwrapped {
					for _, sql := range unwrap {
						if _, err := tx.Exec(ctx, sql); err != nil {
							tx.Rollback(ctx)
							return err
						}
					}
				}
				if _, err := tx.Exec(ctx, "SELECT set_config('role', $1, true), set_config('request.jwt.claims', $2, true)", v.role, o.claims); err != nil {
					tx.Rollback(ctx)
					return err
				}
				for qi, q := range b3Queries {
					if qi == rlsOnly && vi == 0 {
						continue // without RLS it counts every org: compared with the filtered count instead
					}
					c := &cells[qi][vi]
					for r := 0; r < reps; r++ {
						start := time.Now()
						rs, err := tx.Query(ctx, q.sql, o.id)
						if err != nil {
							tx.Rollback(ctx)
							return err
						}
						var n int64
						for rs.Next() {
							n++
						}
						rs.Close()
						if err := rs.Err(); err != nil {
							tx.Rollback(ctx)
							return fmt.Errorf("%s as %s: %w", q.name, v.name, err)
						}
						c.client = append(c.client, time.Since(start))
					}
					if round == 0 {
						var js []byte
						if err := tx.QueryRow(ctx, "EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) "+q.sql, o.id).Scan(&js); err != nil {
							tx.Rollback(ctx)
							return err
						}
						var plan []struct {
							Plan struct {
								ActualRows int64 `json:"Actual Rows"`
							} `json:"Plan"`
							ExecutionTime float64 `json:"Execution Time"`
						}
						if err := json.Unmarshal(js, &plan); err != nil || len(plan) == 0 {
							tx.Rollback(ctx)
							return fmt.Errorf("reading EXPLAIN: %v", err)
						}
						c.server = append(c.server, time.Duration(plan[0].ExecutionTime*float64(time.Millisecond)))
						if qi != 1 { // the counts: the rows counted
							var cnt int64
							if err := tx.QueryRow(ctx, q.sql, o.id).Scan(&cnt); err != nil {
								tx.Rollback(ctx)
								return err
							}
							c.Rows += cnt
						} else {
							c.Rows += plan[0].Plan.ActualRows
						}
					}
				}
				if vi == unwrapped {
					err = tx.Rollback(ctx)
				} else {
					err = tx.Commit(ctx)
				}
				if err != nil {
					return err
				}
			}
		}
	}
	// With index scans off, the policy is a filter on every row of the
	// table: the wrapped call is evaluated once (an InitPlan), the
	// unwrapped one per row. The bypassing role counts with the explicit
	// filter, the others through the policies alone.
	seqOrgs := orgs[:min(5, len(orgs))]
	seq := make([]B3Cell, len(b3Variants))
	for vi, v := range b3Variants {
		seq[vi] = B3Cell{Query: "count, sequential scan", Variant: v.name}
	}
	seqSQL := func(vi int) string {
		if vi == 0 {
			return b3Queries[0].sql
		}
		return b3Queries[rlsOnly].sql
	}
	for round := 0; round < 2; round++ {
		for vi, v := range b3Variants {
			for oi, o := range seqOrgs {
				if vi == unwrapped && (round > 0 || oi > 0) {
					// Per row, the unwrapped call (the membership lookup
					// behind it) takes minutes over the whole table: one run
					// shows it.
					continue
				}
				tx, err := conn.Begin(ctx)
				if err != nil {
					return err
				}
				if vi == unwrapped {
					for _, sql := range unwrap {
						if _, err := tx.Exec(ctx, sql); err != nil {
							tx.Rollback(ctx)
							return err
						}
					}
				}
				if _, err := tx.Exec(ctx, `SELECT set_config('role', $1, true), set_config('request.jwt.claims', $2, true),
  set_config('enable_indexscan', 'off', true), set_config('enable_indexonlyscan', 'off', true), set_config('enable_bitmapscan', 'off', true)`, v.role, o.claims); err != nil {
					tx.Rollback(ctx)
					return err
				}
				var n int64
				start := time.Now()
				if err := tx.QueryRow(ctx, seqSQL(vi), o.id).Scan(&n); err != nil {
					tx.Rollback(ctx)
					return err
				}
				seq[vi].client = append(seq[vi].client, time.Since(start))
				if round == 0 {
					seq[vi].Rows += n
					if oi == 0 {
						rows, err := tx.Query(ctx, "EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF) "+seqSQL(vi), o.id)
						if err != nil {
							tx.Rollback(ctx)
							return err
						}
						lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
						if err != nil {
							tx.Rollback(ctx)
							return err
						}
						res.Plans = append(res.Plans, fmt.Sprintf("-- count, sequential scan, %s\n%s", v.name, strings.Join(lines, "\n")))
					}
				}
				tx.Rollback(ctx)
			}
		}
	}
	for vi := range seq {
		seq[vi].Client = bench.Median(seq[vi].client)
		seq[vi].RatioCli = seq[vi].Client.Seconds() / seq[0].Client.Seconds()
		seq[vi].Rows /= int64(len(seqOrgs))
	}
	res.Seq = seq

	// The plans of the first query, for the record.
	for vi, v := range b3Variants {
		tx, err := conn.Begin(ctx)
		if err != nil {
			return err
		}
		if vi == unwrapped {
			for _, sql := range unwrap {
				if _, err := tx.Exec(ctx, sql); err != nil {
					tx.Rollback(ctx)
					return err
				}
			}
		}
		if _, err := tx.Exec(ctx, "SELECT set_config('role', $1, true), set_config('request.jwt.claims', $2, true)", v.role, orgs[0].claims); err != nil {
			tx.Rollback(ctx)
			return err
		}
		for _, q := range []int{0, rlsOnly, 3} {
			if q == rlsOnly && vi == 0 {
				continue
			}
			rows, err := tx.Query(ctx, "EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF) "+b3Queries[q].sql, orgs[0].id)
			if err != nil {
				tx.Rollback(ctx)
				return err
			}
			lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				tx.Rollback(ctx)
				return err
			}
			res.Plans = append(res.Plans, fmt.Sprintf("-- %s, %s\n%s", b3Queries[q].name, v.name, strings.Join(lines, "\n")))
		}
		tx.Rollback(ctx)
	}

	for qi := range cells {
		for vi := range cells[qi] {
			c := &cells[qi][vi]
			c.Client, c.Server = bench.Median(c.client), bench.Median(c.server)
		}
	}
	for qi := range cells {
		// The RLS-only query is compared with the explicitly filtered
		// count as the bypassing role runs it: the same rows.
		base := cells[qi][0]
		if qi == rlsOnly {
			base = cells[0][0]
		}
		for vi := range cells[qi] {
			if qi == rlsOnly && vi == 0 {
				continue
			}
			c := &cells[qi][vi]
			c.Client, c.Server = bench.Median(c.client), bench.Median(c.server)
			c.RatioCli = c.Client.Seconds() / base.Client.Seconds()
			c.RatioSrv = c.Server.Seconds() / base.Server.Seconds()
			res.Cells = append(res.Cells, *c)
		}
	}
	var trows [][]string
	for _, c := range res.Cells {
		trows = append(trows, []string{c.Query, c.Variant, fmt.Sprint(c.Rows / int64(res.Orgs)), bench.Ms(c.Client), fmt.Sprintf("%.2f×", c.RatioCli),
			bench.Ms(c.Server), fmt.Sprintf("%.2f×", c.RatioSrv)})
	}
	fmt.Printf("%s: %d rows; %d orgs of median size (%d rows each); %d rounds × %d runs per org; medians\n",
		b3Table, res.TableRows, res.Orgs, res.OrgRows, e.cfg.b3Rounds, reps)
	bench.Table(os.Stdout, e.cfg.md, []string{"query", "variant", "rows", "client", "ratio", "server (EXPLAIN)", "ratio"}, trows)
	fmt.Println("with index scans off (every row meets the policy):")
	trows = nil
	for _, c := range res.Seq {
		trows = append(trows, []string{c.Query, c.Variant, fmt.Sprint(c.Rows), bench.Ms(c.Client), fmt.Sprintf("%.2f×", c.RatioCli)})
	}
	bench.Table(os.Stdout, e.cfg.md, []string{"query", "variant", "rows", "client", "ratio"}, trows)
	fmt.Println("policies:")
	for _, p := range res.PolicyText {
		fmt.Println("  " + p)
	}
	fmt.Println()
	for _, p := range res.Plans {
		fmt.Println(p)
		fmt.Println()
	}
	return e.save("b3.json", res)
}

func stepsOf(m *bench.Migration, err error) []string {
	if err != nil || m == nil {
		return nil
	}
	var out []string
	for _, s := range m.Steps {
		out = append(out, s.Up)
	}
	return out
}
