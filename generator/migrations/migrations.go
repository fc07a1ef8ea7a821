// Package migrations renders a classify.Plan into the ordered SQL steps of
// the org migration (phases 2–6 and row-level security), each with an up and
// a down script, from the text/templates in the templates package.
//
// The steps are safe on large live tables: a step that takes a strong lock
// touches one table, sets a short lock_timeout and never scans under that
// lock; scans (VALIDATE, backfill) run under locks that let reads and writes
// go on; statements that cannot run in a transaction block (CREATE INDEX
// CONCURRENTLY, a CALL that COMMITs) are alone in their step. Every step can
// be applied twice with no error and no change.
package migrations

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"text/template"

	"github.com/warden-sql/warden/generator/classify"
	"github.com/warden-sql/warden/internal/ident"
	"github.com/warden-sql/warden/introspect"
	"github.com/warden-sql/warden/policy"
	"github.com/warden-sql/warden/templates"
)

// Phase names a step's phase, numbered as a hand-run migration report numbers them (phase 1 is discovery, which `warden plan` does).
type Phase string

// The phases, in the order they run.
const (
	PhaseAdd       Phase = "2-add"
	PhaseBackfill  Phase = "3-backfill"
	PhaseNotNull   Phase = "4-not-null"
	PhaseJWT       Phase = "5-jwt"
	PhaseImmutable Phase = "6-immutable"
	PhaseRLS       Phase = "7-rls"
	// PhaseDistribute shards the org-owned tables by org on Citus; only
	// with the policy's distribute section.
	PhaseDistribute Phase = "8-distribute"
)

var tmpl = map[string]*template.Template{}

func init() {
	entries, err := templates.FS.ReadDir(".")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		t := template.New(e.Name()).Option("missingkey=error").Funcs(template.FuncMap{
			"userOrg": func(ref string) string { return "" },
			"comment": ident.Comment,
			"literal": ident.Literal,
			"tag":     func(string) string { return "" },
		})
		src, err := templates.FS.ReadFile(e.Name())
		if err != nil {
			panic(err)
		}
		tmpl[strings.TrimSuffix(e.Name(), ".sql.tmpl")] = template.Must(t.Parse(string(src)))
	}
}

// renderer executes templates into buffers it keeps between steps, so that
// rendering thousands of steps does not grow a fresh buffer for each one.
// A renderer is used by one goroutine at a time.
type renderer struct{ up, down bytes.Buffer }

// render executes the up and down templates of a template file and
// returns their text trimmed (up with one final newline), with insert
// placed after the first occurrence of after, when both are given.
func (r *renderer) render(t *template.Template, name string, data any, after, insert string) (up, down string, err error) {
	r.up.Reset()
	r.down.Reset()
	if err := t.ExecuteTemplate(&r.up, "up", data); err != nil {
		return "", "", fmt.Errorf("migrations: rendering %s: %w", name, err)
	}
	if t.Lookup("down") != nil {
		if err := t.ExecuteTemplate(&r.down, "down", data); err != nil {
			return "", "", fmt.Errorf("migrations: rendering %s down: %w", name, err)
		}
	}
	return finishScript(r.up.Bytes(), after, insert, "\n"), finishScript(r.down.Bytes(), after, insert, ""), nil
}

// finishScript is the one string copy of a rendered script: b trimmed,
// insert after the first after (when after is not empty and occurs), then
// end.
func finishScript(b []byte, after, insert, end string) string {
	b = bytes.TrimSpace(b)
	at := -1
	if after != "" {
		if i := bytes.Index(b, []byte(after)); i >= 0 {
			at = i + len(after)
		}
	}
	var sb strings.Builder
	if at < 0 {
		sb.Grow(len(b) + len(end))
		sb.Write(b)
	} else {
		sb.Grow(len(b) + len(insert) + len(end))
		sb.Write(b[:at])
		sb.WriteString(insert)
		sb.Write(b[at:])
	}
	sb.WriteString(end)
	return sb.String()
}

// template returns the template name with the builder's functions, cloned
// once per Steps call (a clone per step cost more than the rendering).
func (b *stepBuilder) template(name string) (*template.Template, error) {
	if t, ok := b.tmpls[name]; ok {
		return t, nil
	}
	t := tmpl[name]
	if t == nil {
		return nil, fmt.Errorf("migrations: no template %s", name)
	}
	if b.funcs != nil {
		var err error
		if t, err = t.Clone(); err != nil {
			return nil, err
		}
		t.Funcs(b.funcs)
	}
	if b.tmpls == nil {
		b.tmpls = map[string]*template.Template{}
	}
	b.tmpls[name] = t
	return t, nil
}

// fields is fieldMap(data), made once per table: a table's data is
// rendered by a score of templates.
func (b *stepBuilder) fields(data any) any {
	d, ok := data.(*tableData)
	if !ok {
		return fieldMap(data)
	}
	if m, ok := b.maps[d]; ok {
		return m
	}
	m := fieldMap(d)
	if b.maps == nil {
		b.maps = map[*tableData]any{}
	}
	b.maps[d] = m
	return m
}

// fieldMap turns a struct (or a pointer to one) into a map of its exported
// fields, promoted ones included, for the templates: text/template looks a
// struct's field up by name on every use, and a field promoted from an
// embedded struct (tableData's common) takes reflect's slow path, which
// dominated rendering at thousands of tables. A map lookup gives the same
// value. Anything else is returned as it is.
func fieldMap(data any) any {
	v := reflect.ValueOf(data)
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return data
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return data
	}
	fields := visibleFields(v.Type())
	out := make(map[string]any, len(fields))
	for _, f := range fields {
		out[f.Name] = v.FieldByIndex(f.Index).Interface()
	}
	return out
}

// visibleFields are the exported fields a template can name on t, promoted
// ones included, by type (computed once).
var visibleFields = func() func(reflect.Type) []reflect.StructField {
	var mu sync.Mutex
	cache := map[reflect.Type][]reflect.StructField{}
	return func(t reflect.Type) []reflect.StructField {
		mu.Lock()
		defer mu.Unlock()
		if fs, ok := cache[t]; ok {
			return fs
		}
		var fs []reflect.StructField
		for _, f := range reflect.VisibleFields(t) {
			if f.IsExported() && !f.Anonymous {
				fs = append(fs, f)
			}
		}
		cache[t] = fs
		return fs
	}
}()

// indexBuild is what the index build template needs for one index (of a
// table, or of one partition of a partitioned table).
type indexBuild struct {
	ColName    string
	IndexPhase int
	Target     string // display name of the table or partition
	On         string // quoted, qualified table or partition
	IndexName  string // quoted bare name
	Index      string // quoted qualified name
	IndexCols  string
	rawName    string // the index name, unquoted
}

// Steps plans and renders every step of the migration for plan, in the
// order to run them: the rows of stepTable, each for the whole migration,
// every scoped table (parents first), every index build or every tenant
// root. The plan must have no problems.
func Steps(plan *classify.Plan, db *introspect.Database) ([]Step, error) {
	if err := plan.Err(); err != nil {
		return nil, err
	}
	c, err := newCommon(plan, db)
	if err != nil {
		return nil, err
	}
	tags, err := dollarTags(plan, db)
	if err != nil {
		return nil, err
	}
	funcs := template.FuncMap{
		"userOrg": func(ref string) string { return strings.ReplaceAll(c.UserOrg, "$USER", ref) },
		"tag":     func(base string) string { return tags[base] },
	}
	var tables []*tableData
	rels := relationsOf(db)
	for _, tp := range plan.Scoped {
		d, err := newTableData(c, tp, plan.Policy)
		if err != nil {
			return nil, err
		}
		if err := nameClash(rels, tp, c.ColName); err != nil {
			return nil, err
		}
		tables = append(tables, d)
	}
	uniqueFuncs(tables)
	var finished []*tableData
	for _, tp := range plan.Finished {
		d, err := newTableData(c, tp, plan.Policy)
		if err != nil {
			return nil, err
		}
		finished = append(finished, d)
	}
	all := append(append([]*tableData(nil), tables...), finished...)
	protected := map[relKey]bool{}
	for _, d := range all {
		protected[relKey{d.schema, d.name}] = true
	}
	for _, d := range all {
		d.parentChecks(protected)
	}
	var roots []*tenantRootData
	for _, tp := range plan.Tables {
		if tp.Class != classify.TenantRoot || !plan.Policy.InSchemas(tp.Table.Schema) {
			continue
		}
		if r := rootData(c, plan, tp); r != nil {
			roots = append(roots, r)
		}
	}

	var dist *citusData
	if citusOn(plan.Policy) {
		if dist, err = planDistribution(c, plan, db, all); err != nil {
			return nil, err
		}
	}

	exposed := exposedSteps(c, plan)
	// About a dozen steps per table: growing the slice of (large) steps
	// from empty copied them over and over at thousands of tables.
	b := stepBuilder{c: c, funcs: funcs, plan: plan, dist: dist, steps: make([]Step, 0, 16*(len(tables)+len(finished))+32)}
	b.jobs = make([]renderJob, 0, cap(b.steps))
	order := runOrder(plan.Policy)
	requires := requirements(plan) // read by several once-steps, the same for each
	for i := 0; i < len(order); {
		row := order[i]
		switch row.Scope {
		case Once:
			if row.Citus {
				if dist != nil {
					b.distOnce(row)
				}
				i++
				continue
			}
			if row.ClaimSync && !c.ClaimSync || row.PersonalOrgs && c.PersonalOrg == nil || row.MembershipOnly && c.Membership == "" {
				i++
				continue
			}
			b.once(row, globalData{common: c, Tables: tables, Requires: requires})
			i++
		case PerReference:
			if dist != nil {
				for _, r := range dist.References {
					b.reference(row, r)
				}
			}
			i++
		case PerRoot:
			for _, r := range roots {
				b.root(row, r)
			}
			i++
		case PerExposed:
			for _, d := range exposed[row.Kind] {
				check := d.check
				var objects Objects
				if check.Policy != "" {
					objects.Policies = []string{check.Policy}
				}
				b.add(row, Step{Name: row.stepName(b.c.ColName, d.slug), Table: d.Display, TablePlan: d.tp, Partition: -1, Probe: &check, Objects: objects}, d)
			}
			i++
		default:
			// A group of per-table rows runs table by table.
			j := i + 1
			for row.Group != "" && j < len(order) && order[j].Group == row.Group {
				j++
			}
			for _, d := range tables {
				for _, r := range order[i:j] {
					if r.PartitionedOnly && !d.Partitioned || r.Kind == KindParentOrg && len(d.ParentChecks) == 0 || !d.distributes(r) {
						continue
					}
					b.table(r, d)
				}
			}
			// Then the tables that already carry the column, where the
			// row has work for them.
			for _, d := range finished {
				for _, r := range order[i:j] {
					if r.Finish == "" || !d.finishes(r.Kind) || !d.distributes(r) {
						continue
					}
					r.Template = r.Finish
					if r.FinishName != "" {
						r.Name = r.FinishName
					}
					b.table(r, d)
				}
			}
			// Then the excluded tables the distribution shards by user.
			if dist != nil {
				for _, d := range dist.ByUser {
					for _, r := range order[i:j] {
						if r.Citus && d.distributes(r) {
							b.table(r, d)
						}
					}
				}
			}
			i = j
		}
		if b.err != nil {
			return nil, b.err
		}
	}
	if err := b.renderAll(); err != nil {
		return nil, err
	}
	uniqueNames(b.steps)
	return b.steps, nil
}

// dollarTags chooses the dollar-quote tags of the templates' DO blocks and
// function bodies ("do", "fn"): $do$ and $fn$, unless a name or value of the
// schema or the policy holds one, which would end a body early wherever it
// is written into it; then a variant no string holds. The schema model and
// the policy as JSON hold every string that can reach a template (JSON
// leaves dollar signs alone).
func dollarTags(plan *classify.Plan, db *introspect.Database) (map[string]string, error) {
	model, err := json.Marshal(db)
	if err != nil {
		return nil, err
	}
	pol, err := json.Marshal(plan.Policy)
	if err != nil {
		return nil, err
	}
	payload := []string{string(model), string(pol)}
	return map[string]string{"do": ident.DollarTag("do", payload), "fn": ident.DollarTag("fn", payload)}, nil
}

// globalData is what the templates of once-steps see: the policy, the
// scoped tables for the steps that check them all, and what the setup's
// preflight requires.
type globalData struct {
	common
	Tables   []*tableData
	Requires []requirement
}

// requirement is a column the generated files rely on, as literals for the
// setup's preflight: the relation (regclass text), the column, and what to
// say when it is missing.
type requirement struct{ Rel, Col, What string }

// requirements lists every column the migration's files read or write
// outside the tenant column they add: the tenant key, the users key and
// claim column, the membership columns, and each scoped table's owner
// column or foreign-key columns and its parent's key columns.
func requirements(plan *classify.Plan) []requirement {
	pol := plan.Policy
	var out []requirement
	seen := map[[2]string]bool{}
	add := func(schema, table, col, why string) {
		k := [2]string{ident.Qualified(schema, table), col}
		if col == "" || seen[k] {
			return
		}
		seen[k] = true
		what := fmt.Sprintf("%s.%s (%s)", ident.Display(schema, table), ident.QuoteIfNeeded(col), why)
		out = append(out, requirement{Rel: ident.Literal(k[0]), Col: ident.Literal(col), What: ident.Literal(what)})
	}
	tn := pol.Tenant
	add(tn.Table.Schema, tn.Table.Name, tn.Key, "tenant.key")
	u := pol.Users
	add(u.Table.Schema, u.Table.Name, u.Key, "users.key")
	if pol.Context.KeepsClaim() {
		add(u.Table.Schema, u.Table.Name, metaColumn, "the JWT claim column the phase 5 triggers write")
	}
	if m := pol.Membership; m != nil {
		add(m.Table.Schema, m.Table.Name, m.UserColumn, "membership.user_column")
		add(m.Table.Schema, m.Table.Name, m.OrgColumn, "membership.org_column")
		add(m.Table.Schema, m.Table.Name, m.PrimaryColumn, "membership.primary_column")
		add(m.Table.Schema, m.Table.Name, m.OrderColumn, "membership.order_column")
	}
	for _, tp := range plan.Scoped {
		t := tp.Table
		for _, src := range tp.Sources {
			switch src.Kind {
			case classify.FromOwner:
				add(t.Schema, t.Name, src.Column.Name, "its ownership column")
			case classify.FromTenantKey:
				add(t.Schema, t.Name, src.Column.Name, "its column holding the tenant key")
			case classify.FromParent:
				for i, col := range src.FK.Columns {
					add(t.Schema, t.Name, col, "its foreign key to "+src.Parent.Name())
					add(src.Parent.Table.Schema, src.Parent.Table.Name, src.FK.RefColumns[i], "the key "+tp.Name()+" references")
				}
			}
		}
	}
	return out
}

// stepBuilder renders the steps of the step table, in order, and keeps the
// first error.
type stepBuilder struct {
	c     common
	funcs template.FuncMap
	tmpls map[string]*template.Template
	maps  map[*tableData]any
	plan  *classify.Plan
	dist  *citusData // nil unless the policy distributes on Citus
	steps []Step
	jobs  []renderJob // one per step, rendered by renderAll
	err   error
}

// add appends the step s of row, to be rendered with data by renderAll:
// its transaction needs are filled in now, its scripts after every step is
// planned.
func (b *stepBuilder) add(row StepKind, s Step, data any) {
	if b.err != nil {
		return
	}
	t, err := b.template(row.Template)
	if err != nil {
		b.err = err
		return
	}
	s.Kind, s.Phase = row.Kind, row.Phase
	s.NoTransaction, s.DownNoTransaction = row.NoTxUp, row.NoTxDown
	b.steps = append(b.steps, s)
	// The field map is made here, in order, so that the workers only read.
	b.jobs = append(b.jobs, renderJob{t: t, name: row.Template, data: b.fields(data), bounded: !row.Unbounded})
}

// renderJob is the rendering left to do for the step of the same index.
type renderJob struct {
	t       *template.Template
	name    string
	data    any
	bounded bool // gets the statement_timeout (see renderStep)
}

// renderAll renders every step's scripts on all CPUs: executing the
// templates is most of Steps' time at thousands of tables, and each step's
// text depends on its own data only. A text/template may run in parallel.
// The error returned is the first step's in order, so it does not depend
// on scheduling.
func (b *stepBuilder) renderAll() error {
	errs := make([]error, len(b.jobs))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(b.jobs)) {
		wg.Go(func() {
			var r renderer
			for i := int(next.Add(1)) - 1; i < len(b.jobs); i = int(next.Add(1)) - 1 {
				errs[i] = b.renderStep(&r, i)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// renderStep fills in the scripts of step i from its job.
func (b *stepBuilder) renderStep(r *renderer, i int) error {
	j := b.jobs[i]
	// statement_timeout bounds the files that take strong locks, so a
	// statement that unexpectedly runs long cannot hold them; the
	// scanning steps (validate) and the backfill are left unbounded.
	var after, insert string
	if b.c.StatementTimeout != "" && j.bounded {
		after = "SET LOCAL lock_timeout = " + b.c.LockTimeout + ";"
		insert = "\nSET LOCAL statement_timeout = " + b.c.StatementTimeout + ";"
	}
	up, down, err := r.render(j.t, j.name, j.data, after, insert)
	if err != nil {
		return err
	}
	b.steps[i].Up, b.steps[i].Down = up, down
	return nil
}

func (b *stepBuilder) once(row StepKind, data globalData) {
	s := Step{Name: row.stepName(b.c.ColName, ""), Partition: -1, Objects: onceObjects(row.Kind)}
	switch row.Kind {
	case KindPersonalOrgs:
		s.Probe = &Probe{Relation: b.c.Users, Trigger: PersonalOrgTrigger}
	case KindJWTMemberSync:
		s.Probe = &Probe{Relation: b.c.Membership, Trigger: MemberClaimTrigger}
	}
	b.add(row, s, data)
}

func (b *stepBuilder) root(row StepKind, r *tenantRootData) {
	name := row.stepName(b.c.ColName, sanitize(r.tp.Table.Name))
	b.add(row, Step{Name: name, Table: r.Display, TablePlan: r.tp, Partition: -1,
		Objects: Objects{Policies: rootPolicies(r)}}, r)
}

func (b *stepBuilder) table(row StepKind, d *tableData) {
	n := Names(b.plan, d.tp)
	if row.Kind == KindDistKeyIndex {
		for _, k := range distKeys(d) {
			b.add(row, Step{Name: row.stepName(b.c.ColName, sanitize(k.rawName)), Table: d.Display, TablePlan: d.tp,
				Partition: -1, Objects: Objects{Indexes: []string{k.rawName}}, Probe: distProbe(row.Kind, d, &k)}, k)
		}
		return
	}
	if row.Scope == PerIndex {
		for i, ib := range indexBuilds(d) {
			part := i
			if !d.Partitioned {
				part = -1
			}
			b.add(row, Step{Name: row.stepName(b.c.ColName, sanitize(ib.rawName)), Table: d.Display, TablePlan: d.tp,
				Partition: part, Objects: Objects{Indexes: []string{ib.rawName}}}, ib)
		}
		return
	}
	s := Step{Name: row.stepName(b.c.ColName, fileSlug(d)), Table: d.Display, TablePlan: d.tp, Partition: -1,
		Objects: tableObjects(row.Kind, d, n)}
	if row.Kind == KindParentOrg {
		s.Probe = &Probe{Relation: d.T, Trigger: parentTriggerName}
	}
	if row.Citus {
		s.Probe = distProbe(row.Kind, d, nil)
	}
	if row.Kind == KindBackfill {
		s.Backfill = &BackfillCall{Key: ident.Qualified(d.schema, d.name), BatchFunc: d.BackfillFunc, UpperFunc: d.UpperFunc, Causes: d.causes(d.tp)}
	}
	b.add(row, s, d)
}

// indexBuilds are the concurrent index builds of d: one on the table, or
// one per partition of a partitioned table (the parent's index is then
// attached from them by the index-verify step).
func indexBuilds(d *tableData) []indexBuild {
	if !d.Partitioned {
		return []indexBuild{{ColName: d.ColName, IndexPhase: d.IndexPhase, Target: d.Display, On: d.T, IndexName: d.IndexName, Index: d.Index, IndexCols: d.IndexCols, rawName: d.indexRaw}}
	}
	var out []indexBuild
	for _, p := range d.Partitions {
		out = append(out, indexBuild{ColName: d.ColName, IndexPhase: d.IndexPhase, Target: p.Display, On: p.T, IndexName: p.IndexName, Index: p.Index, IndexCols: d.IndexCols, rawName: p.indexRaw})
	}
	return out
}

// uniqueNames keeps Step.Name unique, as file names and the status report
// need: sanitising and truncating can map two tables to one slug
// ("MixedCase" and "mixedcase", two long names sharing their first 48
// bytes). Only the names that clash change: they get a short hash of the
// table and the script, so they stay deterministic.
func uniqueNames(steps []Step) {
	count := map[string]int{}
	for _, s := range steps {
		count[s.Name]++
	}
	for i, s := range steps {
		if count[s.Name] > 1 {
			sum := sha256.Sum256([]byte(s.Table + "\x00" + s.Up))
			steps[i].Name += "_" + hex.EncodeToString(sum[:4])
		}
	}
}

// tenantRootData is what the tenant-root RLS template needs.
type tenantRootData struct {
	common
	Display       string
	T             string
	Lit           string
	Key           string // quoted column holding the org id
	AddPermissive bool
	// IsTenant: the tenant table itself (not the membership table).
	IsTenant bool
	// The policies' conditions. With Supabase the API roles write no
	// tenant root row (the server does, as service_role); in the other
	// contexts the app's own role does, so a request writes its own org's
	// rows, and anyone may create an org.
	InsertCheck, WriteUsing        string
	PermissiveFor, PermissiveCheck string
	tp                             *classify.TablePlan
}

// rootData describes the tenant table (keyed by its org id) or the
// membership table (by its org column); nil for another tenant root (the
// users table, when its schema is governed), which holds no org id.
func rootData(c common, plan *classify.Plan, tp *classify.TablePlan) *tenantRootData {
	pol := plan.Policy
	ref := policy.TableRef{Schema: tp.Table.Schema, Name: tp.Table.Name}
	var key string
	switch {
	case ref.SameTable(pol.Tenant.Table):
		key = pol.Tenant.Key
	case pol.Membership != nil && ref.SameTable(pol.Membership.Table):
		key = pol.Membership.OrgColumn
	default:
		return nil
	}
	q := ident.Qualified(tp.Table.Schema, tp.Table.Name)
	r := &tenantRootData{
		common: c, Display: tp.Name(), T: q, Lit: ident.Literal(ident.Qualified(tp.Table.Schema, tp.Table.Name)), Key: ident.Quote(key),
		AddPermissive: AddsPermissivePolicy(tp), tp: tp, IsTenant: ref.SameTable(pol.Tenant.Table),
		InsertCheck: "false", WriteUsing: "false", PermissiveFor: "SELECT",
	}
	if !c.ClaimSync {
		own := ident.Quote(key) + " = (SELECT public.auth_org_id())"
		r.InsertCheck, r.WriteUsing = own, own
		if r.IsTenant {
			r.InsertCheck = "true"
		}
		r.PermissiveFor, r.PermissiveCheck = "ALL", " WITH CHECK (true)"
	}
	return r
}

// rootPolicies are the policies the RLS step of a tenant root creates.
func rootPolicies(r *tenantRootData) []string {
	var out []string
	for _, cmd := range []string{"select", "insert", "update", "delete"} {
		out = append(out, policyPrefix+cmd)
	}
	if r.AddPermissive {
		out = append(out, policyPrefix+"access")
	}
	return out
}

// fileSlug is a table's name as it appears in file names: lower case ASCII
// letters, digits and underscores, schema-prefixed outside public.
func fileSlug(d *tableData) string {
	name, schema := d.name, d.schema
	if schema != "public" {
		name = schema + "_" + name
	}
	return sanitize(name)
}

func sanitize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
		if b.Len() >= 48 {
			break
		}
	}
	return b.String()
}
