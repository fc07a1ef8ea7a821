// Package status measures how far a live database has come through the org
// migration: per scoped table, what each phase's files create (column, FK,
// index, fill trigger, NOT NULL, immutability trigger, row-level security)
// and how many rows still lack the tenant column; then, per phase, how many
// tables are done, what blocks it and the next file or command to run. It is
// the migration's progress report, measured instead of hand-written.
//
// Measure is read-only: it runs in one READ ONLY transaction (one snapshot,
// so counts and catalog facts agree), sets a short lock_timeout first so it
// never queues behind a migration's ACCESS EXCLUSIVE lock for long, and issues
// a fixed number of queries, one per kind of fact for all tables at once.
package status

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/warden-sql/warden/generator/classify"
	"github.com/warden-sql/warden/generator/migrations"
	"github.com/warden-sql/warden/internal/ident"
	"github.com/warden-sql/warden/introspect"
)

// DefaultLockTimeout bounds how long a status query waits for a lock. A
// migration step holding ACCESS EXCLUSIVE on a table makes status fail
// quickly with a clear message instead of hanging.
const DefaultLockTimeout = time.Second

// Options tune Measure.
type Options struct {
	// Estimate reads NULL counts from the planner statistics (pg_stats
	// null_frac × pg_class.reltuples, as of the last ANALYZE) instead of
	// counting: no table scan, for huge tables.
	Estimate bool
	// LockTimeout is set before any query; DefaultLockTimeout when zero.
	LockTimeout time.Duration
	// Paths maps each step's name to its file in the output directory, as
	// the recorded history laid it out (versions after appends); nil: the
	// first generation's layout (Files).
	Paths map[string]string
	// DB is the schema model the plan was classified from. It is used to
	// render the migration steps, so next actions can name their files;
	// when nil, the model is rebuilt from the plan's tables.
	DB *introspect.Database
}

// Names of objects the generated SQL creates outside the per-table names of
// migrations.Names: the phase 5 trigger giving new users their claim and the
// backfill driver of the phase 2 setup (see templates/40_jwt_claims and
// 00_setup). The status tests apply the real steps, so a rename there fails
// them.
const (
	claimTrigger   = migrations.ClaimTrigger
	metaColumn     = "raw_app_meta_data"
	backfillProc   = "warden.backfill(text, text, text, integer, interval)"
	progressTable  = "warden.backfill_progress"
	authOrgIDFunc  = migrations.AuthOrgIDFunc + "()"
	wardenPrefixed = "warden_org_"
)

// Measure reads the migration state of every scoped table of plan from conn
// and summarises it by phase. The plan must have no problems.
func Measure(ctx context.Context, conn *pgx.Conn, plan *classify.Plan, opts Options) (*Report, error) {
	if err := plan.Err(); err != nil {
		return nil, err
	}
	db := opts.DB
	if db == nil {
		db = &introspect.Database{Schemas: plan.Policy.Schemas}
		for _, tp := range plan.Tables {
			db.Tables = append(db.Tables, tp.Table)
		}
	}
	steps, err := migrations.Steps(plan, db)
	if err != nil {
		return nil, fmt.Errorf("status: rendering the migration steps: %w", err)
	}
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = DefaultLockTimeout
	}

	m := newMeasurer(plan, opts, rootsOf(plan, steps))
	m.causes = causesOf(steps)
	m.exposedSteps = exposedOf(steps)
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("status: %w", err)
	}
	// Read-only: nothing to keep, and a rollback releases the locks.
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, "SELECT pg_catalog.set_config('lock_timeout', $1, true)", fmt.Sprintf("%dms", opts.LockTimeout.Milliseconds())); err != nil {
		return nil, fmt.Errorf("status: setting lock_timeout: %w", err)
	}
	for _, q := range []struct {
		what string
		run  func(context.Context, pgx.Tx) error
	}{
		{"tables and columns", m.relations},
		{"constraints", m.constraints},
		{"indexes", m.indexes},
		{"triggers", m.triggers},
		{"policies", m.policies},
		{"global objects", m.globals},
		{"users", m.users},
		{"backfill progress", m.progress},
		{"NULL counts", m.nulls},
		{"rows in the default org", m.defaultOrgRows},
		{"views and other exposed relations", m.exposedState},
	} {
		if err := q.run(ctx, tx); err != nil {
			return nil, explain(ctx, q.what, err, opts.LockTimeout)
		}
	}
	return summarize(plan, steps, m), nil
}

// explain words a failed query for the user.
func explain(ctx context.Context, what string, err error, lockTimeout time.Duration) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) && pg.Code == "55P03" {
		return fmt.Errorf("status: reading %s: a table is locked by another session (a migration step running?) and lock_timeout (%s) was reached; run status again when it is done: %w", what, lockTimeout, err)
	}
	return fmt.Errorf("status: reading %s: %w", what, err)
}

// measurer holds the lookups of one Measure call and collects the facts.
type measurer struct {
	plan   *classify.Plan
	opts   Options
	col    string
	tables []*TableStatus
	// rels are the relations whose facts are read: each scoped table,
	// then its partitions. byRel finds them by quoted, qualified name.
	rels   []relRef
	byRel  map[string]relRef
	global Global
	// roots are the tenant roots the RLS phase protects, by quoted,
	// qualified name in rootByRel.
	roots     []*RootStatus
	rootByRel map[string]*RootStatus
	// exposedSteps are the steps that close relations outside the scoped
	// tables; exposed says per step name whether each is closed.
	exposedSteps []migrations.Step
	exposed      map[string]bool
	// causes are the backfilled tables' queries counting their rows in the
	// default org by cause, by table name.
	causes map[string]*migrations.CauseQuery
}

// causesOf picks each backfill step's cause query, by table name.
func causesOf(steps []migrations.Step) map[string]*migrations.CauseQuery {
	out := map[string]*migrations.CauseQuery{}
	for _, s := range steps {
		if s.Backfill != nil && s.Backfill.Causes != nil {
			out[s.Table] = s.Backfill.Causes
		}
	}
	return out
}

// defaultOrgRows counts, in one statement for every table that has the
// tenant column (and whose parent sources have it), the rows holding the
// default org and why their sources gave them none. Exact mode only: it
// reads the default org's rows (the column's index finds them once phase 2
// built it).
func (m *measurer) defaultOrgRows(ctx context.Context, tx pgx.Tx) error {
	if m.opts.Estimate {
		return nil
	}
	// A table Citus has distributed is left out: its cause query joins
	// it with its parents on their keys, not on the shard column, which
	// Citus refuses; by then every row's org is settled anyway.
	sharded, err := m.distributed(ctx, tx)
	if err != nil {
		return err
	}
	has := map[*classify.TablePlan]bool{}
	for _, ts := range m.tables {
		has[ts.plan] = ts.Exists && ts.Column.Exists && !sharded[ts.Table]
	}
	var parts []string
	for i, ts := range m.tables {
		q := m.causes[ts.Table]
		if q == nil || !has[ts.plan] {
			continue
		}
		ready := true
		for _, p := range q.Parents {
			if p.Class != classify.AlreadyScoped && !has[p] {
				ready = false
			}
		}
		if ready {
			parts = append(parts, fmt.Sprintf("SELECT %d, (%s)", i, q.SQL))
		}
	}
	if len(parts) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, strings.Join(parts, "\nUNION ALL\n"))
	if err != nil {
		return err
	}
	var i int
	var counts []int64
	_, err = pgx.ForEachRow(rows, []any{&i, &counts}, func() error {
		ts := m.tables[i]
		ts.DefaultOrg = CountCauses(m.causes[ts.Table], counts)
		return nil
	})
	return err
}

// distributed returns the scoped tables (by TableStatus.Table) that Citus
// has distributed: none without a distribute policy or the extension.
func (m *measurer) distributed(ctx context.Context, tx pgx.Tx) (map[string]bool, error) {
	out := map[string]bool{}
	if m.plan.Policy.Distribute == nil {
		return out, nil
	}
	var citus bool
	if err := tx.QueryRow(ctx, "SELECT pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL").Scan(&citus); err != nil || !citus {
		return out, err
	}
	byName := map[string]string{} // schema.name -> TableStatus.Table
	var names []string
	for _, ts := range m.tables {
		name := ts.plan.Table.Schema + "." + ts.plan.Table.Name
		byName[name] = ts.Table
		names = append(names, name)
	}
	rows, err := tx.Query(ctx, `SELECT n.nspname || '.' || c.relname
FROM pg_catalog.pg_dist_partition p
JOIN pg_catalog.pg_class c ON c.oid = p.logicalrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname || '.' || c.relname = ANY ($1)`, names)
	if err != nil {
		return nil, err
	}
	done, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	// A set, not a search per table: status runs on catalogs of
	// thousands of tables.
	for _, name := range done {
		out[byName[name]] = true
	}
	return out, nil
}

// CountCauses pairs the counts a cause query returned with its causes,
// keeping the causes that hold a row.
func CountCauses(q *migrations.CauseQuery, counts []int64) *DefaultOrgRows {
	d := &DefaultOrgRows{Causes: []CauseCount{}}
	if len(counts) == 0 {
		return d
	}
	d.Rows = counts[0]
	for k, c := range q.Causes {
		if k+1 < len(counts) && counts[k+1] > 0 {
			d.Causes = append(d.Causes, CauseCount{Source: c.Source, Why: c.Why, Rows: counts[k+1]})
		}
	}
	return d
}

// exposedOf picks the steps that close relations outside the scoped
// tables.
func exposedOf(steps []migrations.Step) []migrations.Step {
	var out []migrations.Step
	for _, s := range steps {
		if s.Probe != nil {
			out = append(out, s)
		}
	}
	return out
}

// exposedState reads, in one statement, whether each exposed relation is
// closed: row-level security on with warden's policy (global and excluded
// tables), security_invoker set (views), no SELECT left for the revoked
// roles (materialized views). A relation that is gone counts as not closed.
func (m *measurer) exposedState(ctx context.Context, tx pgx.Tx) error {
	m.exposed = map[string]bool{}
	if len(m.exposedSteps) == 0 {
		return nil
	}
	// Citus's own catalog is there only with the extension; without it a
	// probe that reads it is not done.
	var citus bool
	for _, s := range m.exposedSteps {
		if s.Probe.Citus {
			if err := tx.QueryRow(ctx, "SELECT pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL").Scan(&citus); err != nil {
				return err
			}
			break
		}
	}
	var exprs []string
	for _, s := range m.exposedSteps {
		rel := "pg_catalog.to_regclass(" + ident.Literal(s.Probe.Relation) + ")"
		switch {
		case s.Probe.Citus && !citus:
			exprs = append(exprs, "false")
		case s.Probe.Done != "":
			exprs = append(exprs, "("+s.Probe.Done+")")
		case s.Probe.Trigger != "":
			exprs = append(exprs, fmt.Sprintf(`EXISTS (SELECT 1 FROM pg_catalog.pg_trigger g WHERE g.tgrelid = %s AND g.tgname = %s AND NOT g.tgisinternal AND g.tgenabled <> 'D')`, rel, ident.Literal(s.Probe.Trigger)))
		case s.Kind == migrations.KindViewInvoker:
			exprs = append(exprs, fmt.Sprintf(`coalesce((SELECT c.reloptions && ARRAY['security_invoker=true', 'security_invoker=on'] FROM pg_catalog.pg_class c WHERE c.oid = %s), false)`, rel))
		case s.Kind == migrations.KindMatviewRevoke:
			var roles []string
			for _, r := range s.Probe.Revoked {
				roles = append(roles, ident.Literal(r))
			}
			exprs = append(exprs, fmt.Sprintf(`(%[1]s IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a
  WHERE c.oid = %[1]s AND a.privilege_type = 'SELECT'
    AND CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(a.grantee)::text END = ANY(ARRAY[%[2]s]::text[])))`, rel, strings.Join(roles, ", ")))
		default:
			exprs = append(exprs, fmt.Sprintf(`(coalesce((SELECT c.relrowsecurity FROM pg_catalog.pg_class c WHERE c.oid = %[1]s), false)
  AND EXISTS (SELECT 1 FROM pg_catalog.pg_policy p WHERE p.polrelid = %[1]s AND p.polname = %[2]s))`, rel, ident.Literal(s.Probe.Policy)))
		}
	}
	var done []bool
	if err := tx.QueryRow(ctx, "SELECT ARRAY["+strings.Join(exprs, ",\n")+"]::boolean[]").Scan(&done); err != nil {
		return err
	}
	for i, s := range m.exposedSteps {
		m.exposed[s.Name] = done[i]
	}
	return nil
}

// relRef is one relation (a scoped table or one of its partitions) and the
// names the migration gives its objects there.
type relRef struct {
	table      int    // index into measurer.tables
	part       int    // -1 for the table itself, else the partition index
	schema     string // raw
	qualified  string // quoted, for to_regclass
	fk         string // FK constraint name on this relation
	index      string // index name on this relation (same schema)
	check      string // NOT NULL check name (the table only)
	fill, immu string // trigger names (the table only)
}

// rootsOf returns the tenant roots that have a step of their own (RLS on
// the tenant and membership tables), in step order.
func rootsOf(plan *classify.Plan, steps []migrations.Step) []*classify.TablePlan {
	var out []*classify.TablePlan
	for _, s := range steps {
		if s.Kind == migrations.KindRLSRoot {
			out = append(out, s.TablePlan)
		}
	}
	return out
}

func newMeasurer(plan *classify.Plan, opts Options, roots []*classify.TablePlan) *measurer {
	m := &measurer{plan: plan, opts: opts, col: plan.Policy.Tenant.Column, byRel: map[string]relRef{}, rootByRel: map[string]*RootStatus{}}
	for _, tp := range roots {
		n := migrations.Names(plan, tp)
		rs := &RootStatus{
			Table:          tp.Name(),
			RLS:            RLSState{Expected: expectedPolicies(tp, n)},
			qualified:      ident.Qualified(tp.Table.Schema, tp.Table.Name),
			permissiveName: n.PermissivePolicy,
		}
		m.roots = append(m.roots, rs)
		m.rootByRel[rs.qualified] = rs
	}
	// The tables that already carried the column are finished by the same
	// steps and measured the same way.
	for i, tp := range append(append([]*classify.TablePlan(nil), plan.Scoped...), plan.Finished...) {
		n := migrations.Names(plan, tp)
		ts := &TableStatus{
			Table:    tp.Name(),
			Class:    string(tp.Class),
			Critical: tp.Critical,
			Column:   ColumnState{Name: n.Column},
			ForeignKey: ConstraintState{
				Name: n.ForeignKey,
			},
			NotNullCheck:     ConstraintState{Name: n.NotNullCheck},
			Index:            IndexState{Name: n.Index, Columns: n.IndexColumns},
			FillTrigger:      TriggerState{Name: n.FillTrigger},
			ImmutableTrigger: TriggerState{Name: n.ImmutableTrigger},
			RLS:              RLSState{Expected: expectedPolicies(tp, n)},
			plan:             tp,
			permissiveName:   n.PermissivePolicy,
		}
		m.tables = append(m.tables, ts)
		t := tp.Table
		m.rels = append(m.rels, relRef{
			table: i, part: -1, schema: t.Schema, qualified: ident.Qualified(t.Schema, t.Name),
			fk: n.ForeignKey, index: n.Index, check: n.NotNullCheck, fill: n.FillTrigger, immu: n.ImmutableTrigger,
		})
		for j, p := range t.Partitions {
			// Derived as generator/migrations derives them: phase 2 gives
			// each partition its own NOT VALID FK and index.
			m.rels = append(m.rels, relRef{
				table: i, part: j, schema: p.Schema, qualified: ident.Qualified(p.Schema, p.Name),
				fk: ident.Derive(p.Name, m.col+"_fkey"), index: ident.Derive(p.Name, m.col+"_idx"),
			})
			ts.Partitions = append(ts.Partitions, PartitionState{
				Name:       ident.Display(p.Schema, p.Name),
				ForeignKey: ConstraintState{Name: ident.Derive(p.Name, m.col+"_fkey")},
				Index:      IndexState{Name: ident.Derive(p.Name, m.col+"_idx"), Columns: n.IndexColumns},
			})
		}
	}
	for _, r := range m.rels {
		m.byRel[r.qualified] = r
	}
	return m
}

// expectedPolicies are warden's policies on a table after the RLS step.
func expectedPolicies(tp *classify.TablePlan, n migrations.ObjectNames) []string {
	out := append([]string(nil), n.Policies...)
	if migrations.AddsPermissivePolicy(tp) {
		out = append(out, n.PermissivePolicy)
	}
	slices.Sort(out) // the order policiesQuery reads them in
	return out
}

func (m *measurer) relNames(f func(relRef) string) (rels, names []string) {
	for _, r := range m.rels {
		if n := f(r); n != "" {
			rels = append(rels, r.qualified)
			names = append(names, n)
		}
	}
	return rels, names
}

func (m *measurer) relations(ctx context.Context, tx pgx.Tx) error {
	var rels []string
	for _, r := range m.rels {
		rels = append(rels, r.qualified)
	}
	for _, rs := range m.roots {
		rels = append(rels, rs.qualified)
	}
	rows, err := tx.Query(ctx, relationsQuery, rels, m.col)
	if err != nil {
		return err
	}
	var i int
	var exists, rls, hasCol, notNull bool
	var typ string
	_, err = pgx.ForEachRow(rows, []any{&i, &exists, &rls, &hasCol, &typ, &notNull}, func() error {
		if i > len(m.rels) {
			rs := m.roots[i-1-len(m.rels)]
			rs.Exists, rs.RLS.Enabled = exists, rls
			return nil
		}
		r := m.rels[i-1]
		if r.part >= 0 {
			return nil // the parent's column and RLS flag are what count
		}
		ts := m.tables[r.table]
		ts.Exists = exists
		ts.Column.Exists, ts.Column.Type, ts.Column.NotNull = hasCol, typ, notNull
		ts.RLS.Enabled = rls
		return nil
	})
	return err
}

func (m *measurer) constraints(ctx context.Context, tx pgx.Tx) error {
	fkRels, fkNames := m.relNames(func(r relRef) string { return r.fk })
	chRels, chNames := m.relNames(func(r relRef) string { return r.check })
	rels := append(fkRels, chRels...)
	names := append(fkNames, chNames...)
	rows, err := tx.Query(ctx, constraintsQuery, rels, names)
	if err != nil {
		return err
	}
	var rel, name, contype string
	var validated bool
	_, err = pgx.ForEachRow(rows, []any{&rel, &name, &contype, &validated}, func() error {
		r, ok := m.byRel[rel]
		if !ok {
			return nil
		}
		ts := m.tables[r.table]
		var c *ConstraintState
		switch {
		case name == r.fk && contype == "f" && r.part < 0:
			c = &ts.ForeignKey
		case name == r.fk && contype == "f":
			c = &ts.Partitions[r.part].ForeignKey
		case name == r.check && contype == "c":
			c = &ts.NotNullCheck
		default:
			return nil
		}
		c.Present, c.Validated = true, validated
		return nil
	})
	return err
}

func (m *measurer) indexes(ctx context.Context, tx pgx.Tx) error {
	var schemas, names []string
	for _, r := range m.rels {
		schemas = append(schemas, r.schema)
		names = append(names, r.index)
	}
	rows, err := tx.Query(ctx, indexesQuery, schemas, names)
	if err != nil {
		return err
	}
	var i int
	var valid bool
	_, err = pgx.ForEachRow(rows, []any{&i, &valid}, func() error {
		r := m.rels[i-1]
		ix := &m.tables[r.table].Index
		if r.part >= 0 {
			ix = &m.tables[r.table].Partitions[r.part].Index
		}
		ix.Present, ix.Valid = true, valid
		return nil
	})
	return err
}

func (m *measurer) triggers(ctx context.Context, tx pgx.Tx) error {
	rels, names := m.relNames(func(r relRef) string { return r.fill })
	r2, n2 := m.relNames(func(r relRef) string { return r.immu })
	rows, err := tx.Query(ctx, triggersQuery, append(rels, r2...), append(names, n2...))
	if err != nil {
		return err
	}
	var rel, name, enabled string
	_, err = pgx.ForEachRow(rows, []any{&rel, &name, &enabled}, func() error {
		r, ok := m.byRel[rel]
		if !ok || r.part >= 0 {
			return nil
		}
		ts := m.tables[r.table]
		tr := &ts.FillTrigger
		if name == r.immu {
			tr = &ts.ImmutableTrigger
		} else if name != r.fill {
			return nil
		}
		tr.Present, tr.Enabled = true, triggerEnabled(enabled)
		return nil
	})
	return err
}

// triggerEnabled spells pg_trigger.tgenabled as ALTER TABLE ... ENABLE
// does.
func triggerEnabled(c string) string {
	switch c {
	case "O":
		return "origin"
	case "A":
		return "always"
	case "R":
		return "replica"
	case "D":
		return "disabled"
	}
	return c
}

func (m *measurer) policies(ctx context.Context, tx pgx.Tx) error {
	var rels []string
	for _, r := range m.rels {
		if r.part < 0 {
			rels = append(rels, r.qualified)
		}
	}
	for _, rs := range m.roots {
		rels = append(rels, rs.qualified)
	}
	rows, err := tx.Query(ctx, policiesQuery, rels, wardenPrefixed)
	if err != nil {
		return err
	}
	var rel, name string
	var permissive bool
	_, err = pgx.ForEachRow(rows, []any{&rel, &name, &permissive}, func() error {
		var st *RLSState
		var permissiveName string
		if rs, ok := m.rootByRel[rel]; ok {
			st, permissiveName = &rs.RLS, rs.permissiveName
		} else if r, ok := m.byRel[rel]; ok && r.part < 0 {
			ts := m.tables[r.table]
			st, permissiveName = &ts.RLS, ts.permissiveName
		} else {
			return nil
		}
		// warden's per-command policies must be RESTRICTIVE: a permissive
		// one of the same name would widen access instead of narrowing it.
		// Only its catch-all org policy is permissive.
		if permissive == (name == permissiveName) {
			st.Present = append(st.Present, name)
		} else {
			st.Wrong = append(st.Wrong, name)
		}
		return nil
	})
	return err
}

func (m *measurer) globals(ctx context.Context, tx pgx.Tx) error {
	pol := m.plan.Policy
	tn := pol.Tenant
	q := fmt.Sprintf(globalQuery,
		ident.Qualified(tn.Table.Schema, tn.Table.Name), ident.Quote(tn.Key))
	users := ident.Qualified(pol.Users.Table.Schema, pol.Users.Table.Name)
	g := &m.global
	return tx.QueryRow(ctx, q, authOrgIDFunc, backfillProc, progressTable, tn.DefaultOrg, users, claimTrigger).
		Scan(&g.AuthOrgID, &g.BackfillProcedure, &g.ProgressTable, &g.DefaultOrg, &g.ClaimTrigger)
}

func (m *measurer) users(ctx context.Context, tx pgx.Tx) error {
	pol := m.plan.Policy
	if !pol.Context.KeepsClaim() {
		// No claim is kept in the users table (jwt, session contexts):
		// there is no phase 5 and nothing to count.
		return nil
	}
	q := fmt.Sprintf(usersQuery, ident.Quote(metaColumn), ident.Qualified(pol.Users.Table.Schema, pol.Users.Table.Name))
	g := &m.global
	if err := tx.QueryRow(ctx, q, m.col).Scan(&g.Users, &g.UsersWithClaim); err != nil {
		return err
	}
	g.UsersWithoutClaim = g.Users - g.UsersWithClaim
	return nil
}

func (m *measurer) progress(ctx context.Context, tx pgx.Tx) error {
	if !m.global.ProgressTable {
		return nil // phase 2 setup not applied yet: no backfill has run
	}
	rows, err := tx.Query(ctx, progressQuery)
	if err != nil {
		return err
	}
	// The progress key is the table as ident.Qualified gives it (the CALL's
	// first argument, templates/21_backfill).
	var key string
	var b Backfill
	_, err = pgx.ForEachRow(rows, []any{&key, &b.RowsDone, &b.Orphans, &b.Started, &b.Finished}, func() error {
		if r, ok := m.byRel[key]; ok && r.part < 0 {
			bb := b
			m.tables[r.table].Backfill = &bb
		}
		return nil
	})
	return err
}

// nulls counts the rows without the tenant column, in one statement for all
// tables that have the column: exactly (a scan of each table, under the
// ACCESS SHARE lock a SELECT takes) or from the planner statistics.
func (m *measurer) nulls(ctx context.Context, tx pgx.Tx) error {
	if m.opts.Estimate {
		return m.estimateNulls(ctx, tx)
	}
	col := ident.Quote(m.col)
	var parts []string
	for i, ts := range m.tables {
		if !ts.Exists {
			continue
		}
		t := ts.plan.Table
		nulls := "NULL::bigint" // no column yet: nothing to count
		if ts.Column.Exists {
			nulls = fmt.Sprintf("count(*) FILTER (WHERE %s IS NULL)", col)
		}
		parts = append(parts, fmt.Sprintf("SELECT %d, count(*), %s FROM %s", i, nulls, ident.Qualified(t.Schema, t.Name)))
	}
	if len(parts) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, strings.Join(parts, "\nUNION ALL\n"))
	if err != nil {
		return err
	}
	var i int
	var n int64
	var nulls *int64
	_, err = pgx.ForEachRow(rows, []any{&i, &n, &nulls}, func() error {
		nn := n
		m.tables[i].Rows, m.tables[i].NullRows = &nn, nulls
		nulls = nil
		return nil
	})
	return err
}

func (m *measurer) estimateNulls(ctx context.Context, tx pgx.Tx) error {
	var rels []string
	for _, ts := range m.tables {
		t := ts.plan.Table
		rels = append(rels, ident.Qualified(t.Schema, t.Name))
	}
	rows, err := tx.Query(ctx, estimateQuery, rels, m.col)
	if err != nil {
		return err
	}
	var i int
	var reltuples *float64
	var nullFrac *float32
	_, err = pgx.ForEachRow(rows, []any{&i, &reltuples, &nullFrac}, func() error {
		ts := m.tables[i-1]
		var zero int64
		// The backfill's own record is newer than the statistics, which
		// may predate it (no ANALYZE since): once it finished, the fill
		// trigger gives new rows their org.
		backfilled := ts.Backfill != nil && ts.Backfill.Finished && ts.FillTrigger.Present
		if reltuples == nil || *reltuples < 0 {
			// Never analysed: the row count is unknown, but NOT NULL or a
			// finished backfill still answer the NULL count.
			if ts.Column.Exists && (ts.Column.NotNull || backfilled) {
				ts.NullRows = &zero
			}
			return nil
		}
		n := int64(*reltuples + 0.5)
		ts.Rows = &n
		if !ts.Column.Exists {
			return nil
		}
		var nulls int64
		switch {
		case ts.Column.NotNull, n == 0, backfilled:
			// Exact (NOT NULL), nothing to be NULL (an empty table), or
			// filled by the backfill whatever the statistics say.
		case nullFrac != nil:
			nulls = int64(float64(*nullFrac)*float64(n) + 0.5)
		default:
			// No statistics on the column since it was added: unknown.
			return nil
		}
		ts.NullRows = &nulls
		return nil
	})
	return err
}

// The queries. Each reads one kind of fact for every relation at once; the
// relations are passed as quoted, qualified names and resolved with
// to_regclass, which gives NULL (not an error) for one that does not exist.
const (
	relationsQuery = `
SELECT r.i::int, c.oid IS NOT NULL, coalesce(c.relrowsecurity, false),
       a.attname IS NOT NULL, coalesce(pg_catalog.format_type(a.atttypid, a.atttypmod), ''),
       coalesce(a.attnotnull, false)
FROM unnest($1::text[]) WITH ORDINALITY AS r(rel, i)
LEFT JOIN pg_catalog.pg_class c ON c.oid = pg_catalog.to_regclass(r.rel)
LEFT JOIN pg_catalog.pg_attribute a
  ON a.attrelid = c.oid AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY r.i`

	constraintsQuery = `
SELECT r.rel, c.conname::text, c.contype::text, c.convalidated
FROM unnest($1::text[], $2::text[]) AS r(rel, name)
JOIN pg_catalog.pg_constraint c
  ON c.conrelid = pg_catalog.to_regclass(r.rel) AND c.conname = r.name
ORDER BY 1, 2`

	indexesQuery = `
SELECT r.i::int, x.indisvalid AND x.indisready
FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS r(nsp, name, i)
JOIN pg_catalog.pg_namespace n ON n.nspname = r.nsp
JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = r.name AND c.relkind IN ('i', 'I')
JOIN pg_catalog.pg_index x ON x.indexrelid = c.oid
ORDER BY r.i`

	triggersQuery = `
SELECT r.rel, t.tgname::text, t.tgenabled::text
FROM unnest($1::text[], $2::text[]) AS r(rel, name)
JOIN pg_catalog.pg_trigger t
  ON t.tgrelid = pg_catalog.to_regclass(r.rel) AND t.tgname = r.name AND NOT t.tgisinternal
ORDER BY 1, 2`

	policiesQuery = `
SELECT r.rel, p.polname::text, p.polpermissive
FROM unnest($1::text[]) AS r(rel)
JOIN pg_catalog.pg_policy p ON p.polrelid = pg_catalog.to_regclass(r.rel)
WHERE starts_with(p.polname::text, $2)
ORDER BY 1, 2`

	// %[1]s is the tenant table, %[2]s its key column.
	globalQuery = `
SELECT pg_catalog.to_regprocedure($1) IS NOT NULL,
       pg_catalog.to_regprocedure($2) IS NOT NULL,
       pg_catalog.to_regclass($3) IS NOT NULL,
       EXISTS (SELECT 1 FROM %[1]s WHERE %[2]s::text = $4),
       EXISTS (SELECT 1 FROM pg_catalog.pg_trigger
               WHERE tgrelid = pg_catalog.to_regclass($5) AND tgname = $6 AND tgenabled <> 'D')`

	// %[1]s is the metadata column, %[2]s the users table; $1 the claim key.
	usersQuery = `
SELECT count(*), count(*) FILTER (WHERE coalesce(u.%[1]s ->> $1, '') <> '')
FROM %[2]s u`

	progressQuery = `
SELECT table_name, rows_done, orphans, last_key IS NOT NULL, finished_at IS NOT NULL
FROM warden.backfill_progress ORDER BY table_name`

	// A partitioned table has no rows of its own: its statistics are the
	// inherited ones, and its row count is its partitions'.
	estimateQuery = `
SELECT r.i::int,
       CASE WHEN c.relkind = 'p' THEN
         (SELECT sum(greatest(pc.reltuples, 0)) FROM pg_catalog.pg_inherits ih
          JOIN pg_catalog.pg_class pc ON pc.oid = ih.inhrelid WHERE ih.inhparent = c.oid)
       ELSE c.reltuples END::float8,
       (SELECT s.null_frac FROM pg_catalog.pg_stats s
        JOIN pg_catalog.pg_namespace n ON n.nspname = s.schemaname
        WHERE n.oid = c.relnamespace AND s.tablename = c.relname AND s.attname = $2
          AND s.inherited = (c.relkind = 'p')
        LIMIT 1)
FROM unnest($1::text[]) WITH ORDINALITY AS r(rel, i)
LEFT JOIN pg_catalog.pg_class c ON c.oid = pg_catalog.to_regclass(r.rel)
ORDER BY r.i`
)
