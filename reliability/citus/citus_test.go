// Package citus tests the Citus distribution (policy distribute:) on a
// real cluster. It is a package of its own so that the cluster's few
// minutes have their own test timeout and run beside the other packages.
package citus

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/warden-sql/warden/exampleapp/exampledb"
	"github.com/warden-sql/warden/generator/classify"
	"github.com/warden-sql/warden/generator/migrations"
	"github.com/warden-sql/warden/generator/verify"
	"github.com/warden-sql/warden/internal/citustest"
	"github.com/warden-sql/warden/internal/pgtest"
	"github.com/warden-sql/warden/internal/verifyrun"
	"github.com/warden-sql/warden/operate/status"
	"github.com/warden-sql/warden/operate/status/statustest"
	"github.com/warden-sql/warden/policy"
)

// load starts a cluster, loads the example with rows rows in its largest
// tables into the coordinator, and generates the steps with distribute:
// citus, the excluded tables sharded by their user (the placement with the
// most to prove: their own keys, colocation group and policies).
func load(t testing.TB, rows int) *statustest.Example {
	t.Helper()
	cluster := citustest.Start(t)
	ctx := context.Background()
	pol, err := policy.Load("../../policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	pol.Distribute = &policy.Distribute{Target: policy.DistributeCitus, Excluded: policy.ExcludedUser}
	conn := pgtest.Connect(t, cluster.URL())
	if err := exampledb.Load(ctx, conn, pol, exampledb.Rows(rows)); err != nil {
		t.Fatal(err)
	}
	return statustest.FromConn(t, cluster.URL(), conn, pol)
}

// TestCitusCluster migrates the example app on a real Citus cluster (a
// coordinator and two workers) with distribute: citus, then proves the
// distribution: every org-owned table sharded by org and colocated, the
// rows those of the single-node migration, an org's query routed to one
// shard, and row-level security still isolating orgs as the API role.
func TestCitusCluster(t *testing.T) {
	e := load(t, 300)
	pol, plan, conn := e.Policy, e.Plan, e.Conn
	ctx := context.Background()
	// The org migration first, as on one node: its end state is the
	// single-node run's.
	e.Apply(t, func(s migrations.Step) bool { return s.Phase != migrations.PhaseDistribute })
	single := checksums(t, e)
	// The generated verification tests, with the checks that hold on the
	// cluster: on the single node they must fail (the negative control),
	// after the distribution pass.
	files, err := verify.Files(plan, "")
	if err != nil {
		t.Fatal(err)
	}
	verifyBin := verifyrun.Build(t, "testdata", files)
	out, code := verifyrun.Run(t, verifyBin, e.URL)
	res := verifyrun.Results(out)
	if code != 1 {
		t.Errorf("verification tests before the distribution: exit %d, want 1 (failed)", code)
	}
	for _, tp := range plan.Scoped {
		if name := "TestScopedTables/" + tp.Table.Schema + "." + tp.Table.Name + "/distributed_by_org"; res[name] != "FAIL" {
			t.Errorf("before the distribution %s is %q, want FAIL", name, res[name])
		}
	}
	if want := "public.calls is not a Citus table: the distribution (phase 8) is missing"; !strings.Contains(out, want) {
		t.Errorf("the failures before the distribution do not say %q:\n%s", want, verifyrun.Failures(out))
	}
	if rep := measure(t, e); rep.Complete {
		t.Errorf("status before the distribution: complete (%d of %d phases), want phase 8 not done", rep.PhasesDone, len(rep.Phases))
	}
	// Then the distribution, twice: every file applies again unchanged.
	for range 2 {
		e.Apply(t, func(s migrations.Step) bool { return s.Phase == migrations.PhaseDistribute })
	}
	// Only the tables of the single-node run: a table distributed without
	// blocking writes leaves its old local copy (name_<shard>) until
	// Citus's cleanup drops it.
	distributed := checksums(t, e)
	for k := range distributed {
		if _, ok := single[k]; !ok {
			delete(distributed, k)
		}
	}
	if diff := cmp.Diff(single, distributed); diff != "" {
		t.Errorf("rows changed by the distribution (-single node +distributed):\n%s", diff)
	}

	// Citus recreated the materialized view on calls with the schema's
	// default privileges; phase 8 must have put its own back (phase 7
	// closed it to the API roles: it holds every org's rows).
	for _, role := range []string{"anon", "authenticated"} {
		if n := e.Scalar(t, `SELECT count(*) FROM (SELECT 1 WHERE has_table_privilege($1, 'public.daily_call_stats', 'SELECT')) x`, role); n != 0 {
			t.Errorf("after the distribution %s may read public.daily_call_stats (every org's rows)", role)
		}
	}
	// status reads the distribution's steps from Citus's catalog: all done.
	rep := measure(t, e)
	if !rep.Complete {
		t.Errorf("status after the distribution: %d of %d phases done, next: %s", rep.PhasesDone, len(rep.Phases), rep.Next)
	}
	var probes int
	for name, done := range rep.Probes {
		if strings.HasPrefix(name, "dist_") {
			probes++
			if !done {
				t.Errorf("status after the distribution: step %s not done", name)
			}
		}
	}
	if probes == 0 {
		t.Error("status after the distribution probed no dist_ step")
	}
	out, code = verifyrun.Run(t, verifyBin, e.URL)
	res = verifyrun.Results(out)
	if code != 0 || strings.Contains(out, "--- SKIP") {
		t.Errorf("verification tests on the distributed cluster: exit %d, want 0 with nothing skipped:\n%s", code, verifyrun.Failures(out))
	}
	for _, tp := range plan.Scoped {
		for _, check := range citusChecks {
			if name := "TestScopedTables/" + tp.Table.Schema + "." + tp.Table.Name + "/" + check; res[name] != "PASS" {
				t.Errorf("%s: %q, want PASS", name, res[name])
			}
		}
	}
	for _, name := range []string{"TestBeginRequest/with_org", "TestBeginRequest/without_org", "TestBeginRequest/claim_without_membership",
		"TestAuthOrgID/with_org", "TestExcludedTables/public.customers/no_warden_objects", "TestUsersHaveOrgClaim"} {
		if res[name] != "PASS" {
			t.Errorf("%s: %q, want PASS", name, res[name])
		}
	}

	owned := append(append([]*classify.TablePlan(nil), plan.Scoped...), plan.Finished...)
	var colocation int64 = -1
	for _, tp := range owned {
		var method string
		var group int64
		err := conn.QueryRow(ctx, `SELECT partmethod::text, colocationid FROM pg_dist_partition WHERE logicalrelid = $1::regclass`, statustest.Quoted(tp)).Scan(&method, &group)
		if err != nil || method != "h" {
			t.Errorf("%s: not hash-distributed (%q, %v)", statustest.Quoted(tp), method, err)
			continue
		}
		if colocation == -1 {
			colocation = group
		} else if group != colocation {
			t.Errorf("%s: colocation group %d, want %d (the first table's)", statustest.Quoted(tp), group, colocation)
		}
	}
	// The excluded tables, sharded by their user in a colocation group of
	// their own.
	var userGroup int64 = -1
	for _, name := range byUser {
		var method, column string
		var group int64
		err := conn.QueryRow(ctx, `SELECT partmethod::text, column_to_column_name(logicalrelid, partkey), colocationid FROM pg_dist_partition WHERE logicalrelid = $1::regclass`, name).Scan(&method, &column, &group)
		if err != nil || method != "h" || column != "user_id" {
			t.Errorf("%s: not hash-distributed by user_id (%q by %q, %v)", name, method, column, err)
			continue
		}
		if group == colocation {
			t.Errorf("%s is in the org-owned tables' colocation group %d", name, group)
		}
		if userGroup == -1 {
			userGroup = group
		} else if group != userGroup {
			t.Errorf("%s: colocation group %d, want %d (%s's)", name, group, userGroup, byUser[0])
		}
	}
	for _, ref := range []string{"auth.users", "public.organizations", "public.organization_members"} {
		if n := e.Scalar(t, `SELECT count(*) FROM pg_dist_partition WHERE logicalrelid = $1::regclass AND repmodel = 't'`, ref); n != 1 {
			t.Errorf("%s is not a reference table", ref)
		}
	}

	// A member of an org with rows in calls, acting through the API.
	var user, org string
	err = conn.QueryRow(ctx, `SELECT org_id::text FROM public.calls WHERE org_id <> $1 GROUP BY org_id ORDER BY count(*) DESC, org_id LIMIT 1`,
		pol.Tenant.DefaultOrg).Scan(&org)
	if err != nil {
		t.Fatal(err)
	}
	err = conn.QueryRow(ctx, `SELECT user_id::text FROM public.organization_members WHERE org_id = $1 AND is_primary ORDER BY user_id LIMIT 1`, org).Scan(&user)
	if err != nil {
		t.Fatal(err)
	}
	asMember := func(t *testing.T, begin bool, fn func(tx pgx.Tx)) {
		t.Helper()
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		claims := fmt.Sprintf(`{"sub":%q,"role":"authenticated"}`, user)
		if _, err := tx.Exec(ctx, `SET LOCAL ROLE authenticated`); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, `SELECT set_config('request.jwt.claims', $1, true)`, claims); err != nil {
			t.Fatal(err)
		}
		if begin {
			var got string
			if err := tx.QueryRow(ctx, `SELECT warden.begin_request()::text`).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != org {
				t.Fatalf("begin_request() = %s, want the member's org %s", got, org)
			}
		}
		fn(tx)
	}
	t.Run("single shard", func(t *testing.T) {
		asMember(t, true, func(tx pgx.Tx) {
			rows, err := tx.Query(ctx, `EXPLAIN (COSTS OFF) SELECT * FROM public.calls c JOIN public.call_logs l ON l.org_id = c.org_id AND l.call_id = c.id WHERE c.org_id = $1`, org)
			if err != nil {
				t.Fatal(err)
			}
			lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				t.Fatal(err)
			}
			plan := strings.Join(lines, "\n")
			if !strings.Contains(plan, "Task Count: 1\n") {
				t.Errorf("an org's join of calls and call_logs is not one task:\n%s", plan)
			}
		})
	})
	t.Run("isolation", func(t *testing.T) {
		asMember(t, true, func(tx pgx.Tx) {
			for _, tp := range owned {
				var visible, foreign int64
				q := fmt.Sprintf(`SELECT count(*), count(*) FILTER (WHERE org_id <> $1) FROM %s`, statustest.Quoted(tp))
				if err := tx.QueryRow(ctx, q, org).Scan(&visible, &foreign); err != nil {
					t.Fatalf("%s: %v", statustest.Quoted(tp), err)
				}
				want := e.Scalar(t, fmt.Sprintf(`SELECT count(*) FROM %s WHERE org_id = $1`, statustest.Quoted(tp)), org)
				if visible != want || foreign != 0 {
					t.Errorf("%s as a member: %d rows (%d of other orgs), want the org's %d", statustest.Quoted(tp), visible, foreign, want)
				}
			}
		})
	})
	t.Run("tables sharded by user", func(t *testing.T) {
		// A user's own rows of a table sharded by user, through the app's
		// own policy (auth.uid(), from the claims begin_request() passed
		// to the workers), on one shard.
		var owner string
		if err := conn.QueryRow(ctx, `SELECT user_id::text FROM public.customers GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`).Scan(&owner); err != nil {
			t.Fatal(err)
		}
		want := e.Scalar(t, `SELECT count(*) FROM public.customers WHERE user_id = $1`, owner)
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		for _, q := range []string{`SET LOCAL ROLE authenticated`, `SELECT set_config('request.jwt.claims', $1, true)`, `SELECT warden.begin_request()`} {
			var args []any
			if strings.Contains(q, "$1") {
				args = append(args, fmt.Sprintf(`{"sub":%q,"role":"authenticated"}`, owner))
			}
			if _, err := tx.Exec(ctx, q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		var visible, foreign int64
		if err := tx.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE user_id <> $1) FROM public.customers`, owner).Scan(&visible, &foreign); err != nil {
			t.Fatal(err)
		}
		if visible != want || foreign != 0 || want == 0 {
			t.Errorf("public.customers as its user %s: %d rows (%d of other users), want the user's %d (> 0)", owner, visible, foreign, want)
		}
		rows, err := tx.Query(ctx, `EXPLAIN (COSTS OFF) SELECT * FROM public.customers WHERE user_id = $1`, owner)
		if err != nil {
			t.Fatal(err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		if plan := strings.Join(lines, "\n"); !strings.Contains(plan, "Task Count: 1\n") {
			t.Errorf("a user's read of public.customers is not one task:\n%s", plan)
		}
	})
	t.Run("insert without org", func(t *testing.T) {
		asMember(t, true, func(tx pgx.Tx) {
			var got string
			err := tx.QueryRow(ctx, `INSERT INTO public.leads (user_id, first_name, phone) VALUES ($1, 'x', '+15550000000') RETURNING org_id::text`, user).Scan(&got)
			if err != nil {
				t.Fatalf("the old app's insert (no org_id) fails on the distributed table: %v", err)
			}
			if got != org {
				t.Errorf("insert landed in org %s, want the request's %s", got, org)
			}
		})
	})
	t.Run("without begin_request", func(t *testing.T) {
		// The negative case: a request that never settled its org must not
		// read its org's rows through the workers' copies of the policies
		// (set_config() claims do not reach the workers): nothing, or an
		// error, but never rows.
		asMember(t, false, func(tx pgx.Tx) {
			var n int64
			_ = tx.QueryRow(ctx, `SELECT count(*) FROM public.calls`).Scan(&n)
			if n != 0 {
				t.Errorf("a request without begin_request() read %d calls rows", n)
			}
		})
	})
}

// measure runs warden status on the cluster's coordinator.
func measure(t *testing.T, e *statustest.Example) *status.Report {
	t.Helper()
	rep, err := status.Measure(context.Background(), e.Conn, e.Plan, status.Options{})
	if err != nil {
		t.Fatalf("status on the cluster: %v", err)
	}
	return rep
}

// byUser are the example's excluded tables, which load shards by user.
var byUser = []string{"public.customers", "public.user_credits", "public.user_subscriptions"}

// citusChecks are the subtests every scoped table must have on the
// cluster, as kit/citus.go names them: spelled out here so that a check
// dropped from the kit fails this test instead of passing by absence.
var citusChecks = []string{
	"column_type", "not_null", "foreign_key", "index", "no_null_rows",
	"distributed_by_org", "org_default", "insert_without_org_fails",
	"org_change_fails", "org_change_fails_as_replica", "normal_update_succeeds",
	"rls_policies", "rls_isolation", "rls_no_org_claim", "rls_anon",
}

// checksums are, per table of public and auth, a row count and a
// checksum of every column but the tenant column and the JWT claim.
func checksums(t testing.TB, e *statustest.Example) map[string]string {
	t.Helper()
	ctx := context.Background()
	rows, err := e.Conn.Query(ctx, `SELECT format('%I.%I', schemaname, tablename) FROM pg_tables WHERE schemaname IN ('public', 'auth') ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, tb := range tables {
		var count int64
		var sum string
		q := fmt.Sprintf(`SELECT count(*), coalesce(md5(string_agg(h, '' ORDER BY h)), '')
FROM (SELECT md5(((to_jsonb(t) - 'org_id') #- '{raw_app_meta_data,org_id}')::text) AS h FROM %s t) s`, tb)
		if err := e.Conn.QueryRow(ctx, q).Scan(&count, &sum); err != nil {
			t.Fatal(err)
		}
		out[tb] = fmt.Sprintf("%d rows %s", count, sum)
	}
	return out
}

// BenchmarkSingleOrgQuery measures one org's queries as the API role on
// the migrated example, first on one node (the coordinator before phase
// 8), then distributed on Citus, side by side in one run, with the tasks
// each query runs as a metric. Run it with
//
//	go test -run '^$' -bench SingleOrg -benchtime 2000x ./reliability/citus
func BenchmarkSingleOrgQuery(b *testing.B) {
	e := load(b, 5000)
	pol := e.Policy
	ctx := context.Background()
	e.Apply(b, func(s migrations.Step) bool { return s.Phase != migrations.PhaseDistribute })
	var org, user string
	if err := e.Conn.QueryRow(ctx, `SELECT org_id::text FROM public.call_logs WHERE org_id <> $1 GROUP BY org_id ORDER BY count(*) DESC, org_id LIMIT 1`, pol.Tenant.DefaultOrg).Scan(&org); err != nil {
		b.Fatal(err)
	}
	if err := e.Conn.QueryRow(ctx, `SELECT user_id::text FROM public.organization_members WHERE org_id = $1 AND is_primary ORDER BY user_id LIMIT 1`, org).Scan(&user); err != nil {
		b.Fatal(err)
	}
	queries := []struct{ name, sql string }{
		{"count", `SELECT count(*) FROM public.call_logs WHERE org_id = $1`},
		{"page", `SELECT count(*) FROM (SELECT * FROM public.calls WHERE org_id = $1 ORDER BY id LIMIT 50) p`},
		{"join", `SELECT count(*) FROM public.calls c JOIN public.call_logs l ON l.org_id = c.org_id AND l.call_id = c.id WHERE c.org_id = $1`},
	}
	run := func(b *testing.B, where string, begin bool) {
		for _, q := range queries {
			b.Run(where+"/"+q.name, func(b *testing.B) {
				tx, err := e.Conn.Begin(ctx)
				if err != nil {
					b.Fatal(err)
				}
				defer tx.Rollback(ctx)
				claims := fmt.Sprintf(`{"sub":%q,"role":"authenticated"}`, user)
				if _, err := tx.Exec(ctx, `SET LOCAL ROLE authenticated`); err != nil {
					b.Fatal(err)
				}
				if _, err := tx.Exec(ctx, `SELECT set_config('request.jwt.claims', $1, true)`, claims); err != nil {
					b.Fatal(err)
				}
				if begin {
					if _, err := tx.Exec(ctx, `SELECT warden.begin_request()`); err != nil {
						b.Fatal(err)
					}
				}
				rows, err := tx.Query(ctx, "EXPLAIN (COSTS OFF) "+q.sql, org)
				if err != nil {
					b.Fatal(err)
				}
				lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
				if err != nil {
					b.Fatal(err)
				}
				tasks := 0.0
				for _, l := range lines {
					if n, ok := strings.CutPrefix(strings.TrimSpace(l), "Task Count: "); ok {
						fmt.Sscan(n, &tasks)
					}
				}
				var n int64
				b.ResetTimer()
				for range b.N {
					if err := tx.QueryRow(ctx, q.sql, org).Scan(&n); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				if n == 0 {
					b.Fatalf("%s read no rows of org %s", q.name, org)
				}
				b.ReportMetric(tasks, "tasks/op")
			})
		}
	}
	run(b, "single-node", false)
	e.Apply(b, func(s migrations.Step) bool { return s.Phase == migrations.PhaseDistribute })
	if _, err := e.Conn.Exec(ctx, "ANALYZE"); err != nil {
		b.Fatal(err)
	}
	run(b, "citus", true)
}
