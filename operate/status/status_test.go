package status

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/warden-sql/warden/generator/migrations"
	"github.com/warden-sql/warden/internal/golden"
	"github.com/warden-sql/warden/internal/pgtest"
	"github.com/warden-sql/warden/operate/status/statustest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// rows sizes the example data: small enough to load fast, large enough
// that every table has rows and the backfill needs several batches.
const rows = 200

const policyPath = "../../policy.yaml"

// measure classifies the live database and measures it, as warden status
// does.
func measure(t *testing.T, e *statustest.Example, opts Options) *Report {
	t.Helper()
	db, plan := e.Live(t)
	opts.DB = db
	r, err := Measure(context.Background(), e.Conn, plan, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// half keeps the first half of the backfill CALLs: a backfill stopped
// part-way through the tables.
func half(e *statustest.Example) func(migrations.Step) bool {
	var calls []string
	for _, s := range e.Steps {
		if strings.HasPrefix(s.Name, "backfill_") && s.Name != "backfill_check" {
			calls = append(calls, s.Name)
		}
	}
	keep := map[string]bool{}
	for _, n := range calls[:len(calls)/2] {
		keep[n] = true
	}
	return func(s migrations.Step) bool {
		if s.Phase < migrations.PhaseBackfill {
			return true
		}
		return s.Phase == migrations.PhaseBackfill && (strings.HasPrefix(s.Name, "fill_trigger_") || keep[s.Name])
	}
}

// stop is a database stopped after some of the migration's steps, and the
// phase summary status must give for it.
type stop struct {
	name  string
	keep  func(e *statustest.Example) func(migrations.Step) bool
	want  map[migrations.Phase]State
	block map[migrations.Phase]string
	// table checks every scoped table's facts.
	table func(t *testing.T, ts *TableStatus)
}

var (
	p2, p3, p4, p5, p6, pR = migrations.PhaseAdd, migrations.PhaseBackfill, migrations.PhaseNotNull,
		migrations.PhaseJWT, migrations.PhaseImmutable, migrations.PhaseRLS
)

func through(p migrations.Phase) func(*statustest.Example) func(migrations.Step) bool {
	return func(*statustest.Example) func(migrations.Step) bool { return statustest.Through(p) }
}

var stops = []stop{
	{
		name: "none",
		keep: func(*statustest.Example) func(migrations.Step) bool {
			return func(migrations.Step) bool { return false }
		},
		want:  map[migrations.Phase]State{p2: Pending, p3: Blocked, p4: Blocked, p5: Blocked, p6: Blocked, pR: Blocked},
		block: map[migrations.Phase]string{p2: "None", p3: "Phase 2", p4: "Phase 3", p5: "Phase 3", p6: "Phases 2-4", pR: "Phases 4-5"},
		table: func(t *testing.T, ts *TableStatus) {
			if ts.Column.Exists || ts.ForeignKey.Present || ts.Index.Present || ts.NullRows != nil || ts.Rows == nil {
				t.Errorf("%s: %+v", ts.Table, ts)
			}
		},
	},
	{
		name:  "phase2",
		keep:  through(p2),
		want:  map[migrations.Phase]State{p2: Done, p3: Pending, p4: Blocked, p5: Blocked, p6: Blocked, pR: Blocked},
		block: map[migrations.Phase]string{p3: "None", p4: "Phase 3", p6: "Phases 3-4"},
		table: func(t *testing.T, ts *TableStatus) {
			if ts.Column.Type != "uuid" || ts.Column.NotNull || !fkPresent(ts) || fkValidated(ts) ||
				!ts.Index.Valid || ts.FillTrigger.Present || *ts.NullRows != *ts.Rows || ts.Backfill != nil {
				t.Errorf("%s: %+v", ts.Table, ts)
			}
		},
	},
	{
		name:  "phase3-partial",
		keep:  half,
		want:  map[migrations.Phase]State{p2: Done, p3: InProgress, p4: Blocked, p5: Blocked, p6: Blocked, pR: Blocked},
		block: map[migrations.Phase]string{p3: "None", p5: "Phase 3"},
		table: func(t *testing.T, ts *TableStatus) {
			if !ts.FillTrigger.Present || ts.FillTrigger.Enabled != "origin" {
				t.Errorf("%s: fill trigger %+v", ts.Table, ts.FillTrigger)
			}
			if (ts.Backfill != nil) != (*ts.NullRows == 0) {
				t.Errorf("%s: backfill %+v but %d NULL rows", ts.Table, ts.Backfill, *ts.NullRows)
			}
		},
	},
	{
		name: "phase3",
		keep: through(p3),
		want: map[migrations.Phase]State{p2: Done, p3: Done, p4: Pending, p5: Pending, p6: Blocked, pR: Blocked},
		table: func(t *testing.T, ts *TableStatus) {
			if *ts.NullRows != 0 || ts.Backfill == nil || !ts.Backfill.Finished || ts.Column.NotNull {
				t.Errorf("%s: %+v backfill %+v", ts.Table, ts, ts.Backfill)
			}
		},
	},
	{
		name:  "phase4",
		keep:  through(p4),
		want:  map[migrations.Phase]State{p2: Done, p3: Done, p4: Done, p5: Pending, p6: Pending, pR: Blocked},
		block: map[migrations.Phase]string{pR: "Phase 5"},
		table: func(t *testing.T, ts *TableStatus) {
			if !ts.Column.NotNull || !ts.ForeignKey.Present || !ts.ForeignKey.Validated || ts.NotNullCheck.Present {
				t.Errorf("%s: %+v", ts.Table, ts)
			}
		},
	},
	{
		name: "phase5",
		keep: through(p5),
		want: map[migrations.Phase]State{p2: Done, p3: Done, p4: Done, p5: Done, p6: Pending, pR: Pending},
	},
	{
		name: "phase6",
		keep: through(p6),
		want: map[migrations.Phase]State{p2: Done, p3: Done, p4: Done, p5: Done, p6: Done, pR: Pending},
		table: func(t *testing.T, ts *TableStatus) {
			if ts.ImmutableTrigger.Enabled != "always" || len(ts.RLS.Present) > 0 {
				t.Errorf("%s: %+v", ts.Table, ts)
			}
		},
	},
	{
		name: "rls",
		keep: through(pR),
		want: map[migrations.Phase]State{p2: Done, p3: Done, p4: Done, p5: Done, p6: Done, pR: Done},
		table: func(t *testing.T, ts *TableStatus) {
			if !ts.RLS.Enabled || !cmp.Equal(ts.RLS.Present, ts.RLS.Expected) || len(ts.PhasesDone) != 5 {
				t.Errorf("%s: %+v", ts.Table, ts)
			}
		},
	},
}

// TestStatusAfterEachPhase measures example databases stopped after each
// phase (and part-way through the backfill): the per-table facts, the
// phase summary, and the JSON and text against golden files.
func TestStatusAfterEachPhase(t *testing.T) {
	for _, st := range stops {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			e := statustest.Load(t, policyPath, rows)
			e.Apply(t, st.keep(e))
			r := measure(t, e, Options{})
			if len(r.Tables) != len(e.Plan.Scoped) {
				t.Fatalf("%d tables, want %d", len(r.Tables), len(e.Plan.Scoped))
			}
			for _, ts := range r.Tables {
				if !ts.Exists {
					t.Errorf("%s: not found", ts.Table)
				}
				if st.table != nil {
					st.table(t, ts)
				}
			}
			got := map[migrations.Phase]State{}
			for _, p := range r.Phases {
				got[p.Phase] = p.State
				if want, ok := st.block[p.Phase]; ok && p.Blocker() != want {
					t.Errorf("%s blocker %q, want %q", p.Title, p.Blocker(), want)
				}
				if (p.State == Done) != (p.Next == "") {
					t.Errorf("%s: %s with next action %q", p.Title, p.State, p.Next)
				}
			}
			if diff := cmp.Diff(st.want, got); diff != "" {
				t.Errorf("phase states (-want +got):\n%s", diff)
			}
			if len(r.Roots) != 2 {
				t.Errorf("tenant roots: %+v, want the tenant and membership tables", r.Roots)
			}
			for _, rs := range r.Roots {
				if rlsDone(rs.RLS) != (st.name == "rls") {
					t.Errorf("tenant root %s: %+v", rs.Table, rs.RLS)
				}
			}
			if r.Complete != (st.name == "rls") {
				t.Errorf("complete = %v", r.Complete)
			}
			js, err := r.JSON()
			if err != nil {
				t.Fatal(err)
			}
			golden.File(t, filepath.Join("testdata", st.name+".json"), js)
			var text bytes.Buffer
			if err := r.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			golden.File(t, filepath.Join("testdata", st.name+".txt"), text.Bytes())
		})
	}
}

// TestNextActions names the file or command to run at each point.
func TestNextActions(t *testing.T) {
	e := statustest.Load(t, policyPath, rows)
	files := Files(e.Plan, e.Steps)
	check := func(want string) {
		t.Helper()
		r := measure(t, e, Options{})
		if !strings.Contains(r.Next, want) {
			t.Errorf("next action %q, want it to contain %q", r.Next, want)
		}
	}
	check("apply supabase/migrations/20250110000000_warden_setup.sql and ")
	e.Apply(t, func(s migrations.Step) bool { return s.Name == "setup" })
	check("apply " + files["add_org_id_agent_configurations"])
	e.Apply(t, statustest.Through(p2))
	check("apply " + files["fill_trigger_agent_configurations"])
	e.Apply(t, func(s migrations.Step) bool { return strings.HasPrefix(s.Name, "fill_trigger_") })
	check("run `warden backfill`")
}

// TestEveryStepKindHasACheck: status can tell for every kind of step in
// the step table whether a step of it ran, and every generated step has a
// file.
func TestEveryStepKindHasACheck(t *testing.T) {
	for _, k := range migrations.Kinds() {
		if doneChecks[k.Kind] == nil {
			t.Errorf("step kind %s: no check in doneChecks", k.ID)
		}
	}
	if len(doneChecks) != len(migrations.Kinds()) {
		t.Errorf("%d checks for %d step kinds", len(doneChecks), len(migrations.Kinds()))
	}
	e := statustest.Load(t, policyPath, rows)
	files := Files(e.Plan, e.Steps)
	for _, s := range e.Steps {
		if doneChecks[s.Kind] == nil {
			t.Errorf("step %s: kind %v has no check", s.Name, s.Kind)
		}
		if !strings.HasPrefix(files[s.Name], "supabase/migrations/") {
			t.Errorf("step %s: file %q", s.Name, files[s.Name])
		}
	}
}

// TestFilesEveryFormat: next actions name the file of each step in every
// format warden generates.
func TestFilesEveryFormat(t *testing.T) {
	e := statustest.Load(t, policyPath, rows)
	for _, format := range []string{"supabase", "goose", "golang-migrate", "psql"} {
		plan := *e.Plan
		pol := *plan.Policy
		pol.Migrations.Format = format
		plan.Policy = &pol
		laid, err := migrations.LayoutFirst(e.Steps, format, "", pol.Migrations.Version)
		if err != nil {
			t.Fatal(err)
		}
		set := laid.Set
		files := Files(&plan, e.Steps)
		// Each step's file holds that step (the grouped layout puts
		// several in one), and is an up file.
		holds := map[string][]string{}
		for _, u := range migrations.Group(e.Steps, format) {
			members := u.Members
			if len(members) == 0 {
				members = []string{u.Name}
			}
			holds[laid.Up[u.Name]] = members
		}
		for _, s := range e.Steps {
			f := files[s.Name]
			if _, ok := set[f]; !ok || !slices.Contains(holds[f], s.Name) || strings.Contains(f, "undo") || strings.Contains(f, ".down.") {
				t.Errorf("%s: step %s: file %q", format, s.Name, f)
			}
		}
		t.Logf("%s: %s", format, files["setup"])
	}
}

// countingTracer counts the statements a connection sends.
type countingTracer struct{ n atomic.Int64 }

func (c *countingTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}

func (c *countingTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TestConstantQueries: the number of statements does not depend on the
// number of tables, and none of them writes.
func TestConstantQueries(t *testing.T) {
	e := statustest.Load(t, policyPath, rows)
	e.Apply(t, statustest.Through(p3))
	db, plan := e.Live(t)
	cfg, err := pgx.ParseConfig(e.URL)
	if err != nil {
		t.Fatal(err)
	}
	tr := &countingTracer{}
	cfg.Tracer = tr
	conn, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	count := func(n int, estimate bool) int64 {
		small := *plan
		small.Scoped = plan.Scoped[:n]
		before := tr.n.Load()
		if _, err := Measure(context.Background(), conn, &small, Options{DB: db, Estimate: estimate}); err != nil {
			t.Fatal(err)
		}
		return tr.n.Load() - before
	}
	for _, estimate := range []bool{false, true} {
		one, all := count(1, estimate), count(len(plan.Scoped), estimate)
		if one != all {
			t.Errorf("estimate=%v: %d statements for 1 table, %d for %d", estimate, one, all, len(plan.Scoped))
		}
		if all > 16 {
			t.Errorf("estimate=%v: %d statements", estimate, all)
		}
		t.Logf("estimate=%v: %d statements for any number of tables", estimate, all)
	}
}

// TestLocked: status gives up quickly, with a message saying why, on a
// table another session holds ACCESS EXCLUSIVE (a migration step running),
// and leaves its connection out of the transaction.
func TestLocked(t *testing.T) {
	e := statustest.Load(t, policyPath, rows)
	e.Apply(t, statustest.Through(p2))
	db, plan := e.Live(t)
	locker := pgtest.Connect(t, e.URL)
	tx, err := locker.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(context.Background(), `LOCK TABLE public.calls IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	_, err = Measure(context.Background(), e.Conn, plan, Options{DB: db, LockTimeout: 100e6})
	if err == nil || !strings.Contains(err.Error(), "locked by another session") {
		t.Fatalf("Measure with a table locked: %v", err)
	}
	var ro string
	if err := e.Conn.QueryRow(context.Background(), "SHOW transaction_read_only").Scan(&ro); err != nil || ro != "off" {
		t.Errorf("the connection is left in a transaction: read_only=%q, %v", ro, err)
	}
}

// TestEstimate reads NULL counts from the statistics: about the exact
// ones after ANALYZE, and exactly 0 for a NOT NULL column.
func TestEstimate(t *testing.T) {
	e := statustest.Load(t, policyPath, rows)
	e.Apply(t, statustest.Through(p2))
	pgtest.Exec(t, e.Conn, "ANALYZE")
	est := measure(t, e, Options{Estimate: true})
	exact := measure(t, e, Options{})
	if !est.Estimated || exact.Estimated {
		t.Fatal("Estimated flag")
	}
	for i, ts := range est.Tables {
		x := exact.Tables[i]
		if ts.NullRows == nil || ts.Rows == nil {
			t.Errorf("%s: no estimate after ANALYZE", ts.Table)
			continue
		}
		if d := *ts.NullRows - *x.NullRows; d > *x.Rows/10+1 || d < -(*x.Rows/10+1) {
			t.Errorf("%s: estimated %d NULL rows, exact %d", ts.Table, *ts.NullRows, *x.NullRows)
		}
	}
	e.Apply(t, statustest.Through(p3))
	// No ANALYZE: the statistics still say NULL everywhere, but the
	// backfill finished on every table, so phase 3 is done, not "in
	// progress" (a deploy gate with --estimate must not block on it).
	r := measure(t, e, Options{Estimate: true})
	if ph := r.Phase("3-backfill"); ph == nil || ph.State != Done {
		t.Errorf("--estimate after the backfill: phase 3 is %+v, want done", ph)
	}
	for _, ts := range r.Tables {
		if ts.NullRows == nil || *ts.NullRows != 0 {
			t.Errorf("%s: backfilled, estimated %v NULL rows", ts.Table, ts.NullRows)
		}
	}
	e.Apply(t, statustest.Through(p4))
	// No ANALYZE: the statistics still say NULL everywhere, NOT NULL wins.
	for _, ts := range measure(t, e, Options{Estimate: true}).Tables {
		if ts.NullRows == nil || *ts.NullRows != 0 {
			t.Errorf("%s: NOT NULL column, estimated %v NULL rows", ts.Table, ts.NullRows)
		}
	}
}
