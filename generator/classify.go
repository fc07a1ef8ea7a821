// Package generator turns an introspected schema and a policy into a Plan
// (every table's class and how it gets its tenant column) and renders the
// plan into migration files, Go verification tests and a report.
//
// The data path is one line: introspect.Database + policy.Policy → Classify
// → Plan → Render → files. Nothing here talks to a database.
package generator

import (
	"fmt"
	"sort"
	"strings"

	"github.com/warden-sql/warden/internal/policy"
	"github.com/warden-sql/warden/introspect"
)

// Class is what warden does with a table.
type Class string

// The classes of SPEC §2. Every table of the governed schemas gets one.
const (
	// TenantRoot is the tenant table itself and the membership table.
	TenantRoot Class = "tenant root"
	// Direct tables have an ownership column; org_id comes from the owner's org.
	Direct Class = "direct"
	// Inherited tables reach a scoped table through foreign keys; org_id
	// comes from the parent row.
	Inherited Class = "inherited"
	// Excluded tables stay user-scoped.
	Excluded Class = "excluded"
	// Global tables are shared reference data with no owner.
	Global Class = "global"
	// AlreadyScoped tables have the tenant column already and are not in
	// scope: nothing is added, they are still verified.
	AlreadyScoped Class = "already scoped"
	// Unclassified tables have an owner (a column or an FK path) but no
	// decision in the policy: generation refuses to run.
	Unclassified Class = "unclassified"
)

// Scoped reports whether warden adds and fills the tenant column.
func (c Class) Scoped() bool { return c == Direct || c == Inherited }

// Plan is the classification of every table plus the order to migrate them.
type Plan struct {
	Policy *policy.Policy
	// Tables holds every table of the governed schemas, sorted by name.
	Tables []*TablePlan
	// Scoped holds the direct and inherited tables, parents before children
	// (the backfill order), ties broken by name.
	Scoped []*TablePlan
	// Problems are the reasons generation cannot proceed (unclassified
	// tables, ambiguous parents, policy references to missing tables).
	// Warnings do not stop it.
	Problems []Problem
	Warnings []string
}

// Problem is a classification error tied to a table, and, where the fix
// belongs in policy.yaml, to the line to change.
type Problem struct {
	Table string // display name; empty for policy-level problems
	Msg   string
}

func (p Problem) Error() string {
	if p.Table == "" {
		return p.Msg
	}
	return p.Table + ": " + p.Msg
}

// TablePlan is one table's classification.
type TablePlan struct {
	Table *introspect.Table
	Class Class
	// Reason says why, in words a reviewer can check against the schema.
	Reason string
	// Critical marks the policy's priority tables.
	Critical bool

	// Owner is the ownership column of a direct table.
	Owner *introspect.Column
	// OwnerFK is the owner column's FK to the users table, when it has one.
	OwnerFK *introspect.ForeignKey

	// Parent and ParentFK are the first hop of an inherited table's path.
	Parent   *TablePlan
	ParentFK *introspect.ForeignKey
	// Depth is 0 for direct tables and 1 + the parent's depth for
	// inherited ones.
	Depth int
	// NullablePath is true when some FK on the path to a direct table is
	// nullable: rows with a NULL there have no derivable org (orphans).
	NullablePath bool
	// Notes are remarks for the report (rejected name-only matches, ...).
	Notes []string
}

// Name is the table's display name (schema.table, quoted where needed).
func (t *TablePlan) Name() string { return t.Table.QualifiedName() }

// Path returns the hops from this table up to its direct ancestor.
func (t *TablePlan) Path() []*TablePlan {
	var out []*TablePlan
	for p := t; p != nil; p = p.Parent {
		out = append(out, p)
	}
	return out
}

// PathString renders the FK path hop by hop, e.g.
// "embeddings.chunk_id → knowledge_base_chunks.document_id → ... (user_id)".
func (t *TablePlan) PathString() string {
	var parts []string
	for p := t; p != nil; p = p.Parent {
		switch {
		case p.ParentFK != nil:
			parts = append(parts, fmt.Sprintf("%s(%s)", p.Name(), strings.Join(p.ParentFK.Columns, ", ")))
		case p.Owner != nil:
			parts = append(parts, fmt.Sprintf("%s(%s)", p.Name(), p.Owner.Name))
		default:
			parts = append(parts, p.Name())
		}
	}
	return strings.Join(parts, " → ")
}

// Classify assigns every table of db's governed schemas a class. It never
// fails: problems are collected in Plan.Problems so that `plan` can show
// the whole picture at once.
func Classify(db *introspect.Database, pol *policy.Policy) *Plan {
	c := &classifier{db: db, pol: pol, plan: &Plan{Policy: pol}, byKey: map[string]*TablePlan{}}
	c.run()
	return c.plan
}

type classifier struct {
	db    *introspect.Database
	pol   *policy.Policy
	plan  *Plan
	byKey map[string]*TablePlan // schema + "\x00" + name
}

func key(schema, name string) string { return schema + "\x00" + name }

func (c *classifier) lookup(ref policy.TableRef) *TablePlan {
	return c.byKey[key(ref.Schema, ref.Name)]
}

func (c *classifier) problem(t *TablePlan, format string, args ...any) {
	name := ""
	if t != nil {
		name = t.Name()
	}
	c.plan.Problems = append(c.plan.Problems, Problem{Table: name, Msg: fmt.Sprintf(format, args...)})
}

func (c *classifier) run() {
	for _, t := range c.db.Tables {
		if !c.pol.InSchemas(t.Schema) {
			continue
		}
		tp := &TablePlan{Table: t}
		c.plan.Tables = append(c.plan.Tables, tp)
		c.byKey[key(t.Schema, t.Name)] = tp
	}
	c.checkReferences()
	inScope := c.scopeSet()

	// Fixed decisions first: tenant root, excluded, global.
	for _, tp := range c.plan.Tables {
		ref := policy.TableRef{Schema: tp.Table.Schema, Name: tp.Table.Name}
		switch {
		case ref.SameTable(c.pol.Tenant.Table):
			tp.Class, tp.Reason = TenantRoot, "the tenant table (policy tenant.table)"
		case c.pol.Membership != nil && ref.SameTable(c.pol.Membership.Table):
			tp.Class, tp.Reason = TenantRoot, "the membership table (policy membership.table)"
		default:
			if o, ok := c.pol.Override(ref); ok && (o.Class == policy.ClassExcluded || o.Class == policy.ClassGlobal) {
				tp.Class = Class(o.Class)
				tp.Reason = fmt.Sprintf("listed as %s in the policy (%s)", o.Class, o.Table.Pos)
			}
		}
	}
	// Direct: an ownership column, unless the policy forces inherited.
	for _, tp := range c.plan.Tables {
		if tp.Class != "" {
			continue
		}
		c.findOwner(tp)
		if tp.Owner != nil && inScope[tp] && c.forced(tp) != policy.ClassInherited && c.via(tp) == nil {
			tp.Class = Direct
			tp.Reason = fmt.Sprintf("ownership column %s", tp.Owner.Name)
			if tp.OwnerFK != nil {
				tp.Reason += fmt.Sprintf(" → %s", ident2(tp.OwnerFK.RefSchema, tp.OwnerFK.RefTable))
			}
		}
	}
	c.resolvePaths(inScope)
	c.finish(inScope)
	c.order()
}

func ident2(schema, name string) string {
	return (&introspect.Table{Schema: schema, Name: name}).QualifiedName()
}

// checkReferences reports policy entries naming tables that do not exist.
func (c *classifier) checkReferences() {
	check := func(ref policy.TableRef, what string) {
		if c.lookup(ref) == nil {
			c.plan.Problems = append(c.plan.Problems, Problem{
				Msg: ref.Errorf("%s %s does not exist in the database (schemas %s)", what, ref, strings.Join(c.pol.Schemas, ", ")).Error(),
			})
		}
	}
	check(c.pol.Tenant.Table, "tenant table")
	if c.pol.Membership != nil {
		check(c.pol.Membership.Table, "membership table")
	}
	for _, r := range c.pol.Scope {
		check(r, "table")
	}
	for _, r := range c.pol.Exclude {
		check(r, "excluded table")
	}
	for _, r := range c.pol.Global {
		check(r, "global table")
	}
	for _, r := range c.pol.Critical {
		check(r, "critical table")
	}
	for _, o := range c.pol.Tables {
		check(o.Table, "table")
		if o.Via != nil {
			check(*o.Via, "via table")
		}
	}
}

// scopeSet is the set of tables the policy moves to org ownership: the
// scope list plus tables given a via or a direct/inherited class.
func (c *classifier) scopeSet() map[*TablePlan]bool {
	set := map[*TablePlan]bool{}
	for _, r := range c.pol.Scope {
		if tp := c.lookup(r); tp != nil {
			set[tp] = true
		}
	}
	for _, o := range c.pol.Tables {
		if tp := c.lookup(o.Table); tp != nil && (o.Via != nil || o.Class == policy.ClassDirect || o.Class == policy.ClassInherited) {
			set[tp] = true
		}
	}
	for _, r := range c.pol.Critical {
		if tp := c.lookup(r); tp != nil {
			tp.Critical = true
		}
	}
	return set
}

func (c *classifier) override(tp *TablePlan) (policy.Override, bool) {
	return c.pol.Override(policy.TableRef{Schema: tp.Table.Schema, Name: tp.Table.Name})
}

func (c *classifier) forced(tp *TablePlan) string {
	if o, ok := c.override(tp); ok {
		return o.Class
	}
	return ""
}

func (c *classifier) via(tp *TablePlan) *policy.TableRef {
	if o, ok := c.override(tp); ok {
		return o.Via
	}
	return nil
}

// findOwner looks for the policy's ownership columns in order. A column
// that must be a FK to the users table but is not (a polymorphic owner_id,
// an external account id) is noted and skipped, never silently used.
func (c *classifier) findOwner(tp *TablePlan) {
	users := c.pol.Users
	for _, oc := range c.pol.Ownership {
		col := tp.Table.Column(oc.Column)
		if col == nil {
			continue
		}
		var fk *introspect.ForeignKey
		for _, f := range tp.Table.ForeignKeys {
			if len(f.Columns) == 1 && f.Columns[0] == col.Name && f.RefSchema == users.Table.Schema &&
				f.RefTable == users.Table.Name && f.RefColumns[0] == users.Key {
				fk = f
				break
			}
		}
		if fk == nil && oc.RequireFK {
			tp.Notes = append(tp.Notes, fmt.Sprintf("column %s matches an ownership name but is not a foreign key to %s(%s); "+
				"not used (set require_fk: false for it in the policy if it really holds a user id)", col.Name, users.Table, users.Key))
			continue
		}
		tp.Owner, tp.OwnerFK = col, fk
		return
	}
}

// edge is a candidate first hop from a table to a scoped parent.
type edge struct {
	fk       *introspect.ForeignKey
	parent   *TablePlan
	nullable bool // some FK column is nullable
}

// cost orders paths: any nullable hop makes a path worse than every
// all-NOT-NULL path (its orphans need the default org); then fewer hops.
type cost struct {
	nullable bool
	depth    int
}

func (a cost) less(b cost) bool {
	if a.nullable != b.nullable {
		return !a.nullable
	}
	return a.depth < b.depth
}

// resolvePaths finds, for every in-scope table without a direct owner, the
// best FK path to a direct table. It relaxes edges until nothing improves
// (a Bellman-Ford over at most len(tables) rounds), so cycles and self
// references can never produce a path: a table only ever inherits from a
// parent whose own path is already known and cheaper.
func (c *classifier) resolvePaths(inScope map[*TablePlan]bool) {
	best := map[*TablePlan]cost{}
	for _, tp := range c.plan.Tables {
		if tp.Class == Direct {
			best[tp] = cost{}
		}
	}
	candidates := map[*TablePlan][]edge{}
	for _, tp := range c.plan.Tables {
		if tp.Class != "" {
			continue
		}
		var via *TablePlan
		if v := c.via(tp); v != nil {
			via = c.lookup(*v)
		}
		for _, fk := range tp.Table.ForeignKeys {
			parent := c.byKey[key(fk.RefSchema, fk.RefTable)]
			if parent == nil || parent == tp || (via != nil && parent != via) {
				continue
			}
			candidates[tp] = append(candidates[tp], edge{fk: fk, parent: parent, nullable: anyNullable(tp.Table, fk.Columns)})
		}
	}
	for round := 0; round <= len(c.plan.Tables); round++ {
		changed := false
		for _, tp := range c.plan.Tables {
			for _, e := range candidates[tp] {
				pc, ok := best[e.parent]
				if !ok || (e.parent.Class != Direct && !inScope[e.parent]) {
					continue
				}
				nc := cost{nullable: pc.nullable || e.nullable, depth: pc.depth + 1}
				if cur, ok := best[tp]; !ok || nc.less(cur) {
					best[tp] = nc
					changed = true
				}
			}
		}
		if !changed {
			break
		}
	}
	for _, tp := range c.plan.Tables {
		if tp.Class != "" {
			continue
		}
		bc, ok := best[tp]
		if !ok {
			if c.via(tp) != nil {
				v := c.via(tp)
				c.problem(tp, "via %s: %s has no foreign key to %s, or %s is not scoped (%s)", v, tp.Name(), v, v, v.Pos)
			}
			continue
		}
		// The parents that achieve the best cost; several distinct parent
		// tables are an ambiguity the policy must settle with via.
		var winners []edge
		for _, e := range candidates[tp] {
			pc, ok := best[e.parent]
			if !ok || (e.parent.Class != Direct && !inScope[e.parent]) {
				continue
			}
			if (cost{nullable: pc.nullable || e.nullable, depth: pc.depth + 1}) == bc {
				winners = append(winners, e)
			}
		}
		sort.SliceStable(winners, func(i, j int) bool {
			a, b := winners[i], winners[j]
			if a.parent != b.parent {
				return a.parent.Name() < b.parent.Name()
			}
			if len(a.fk.Columns) != len(b.fk.Columns) {
				return len(a.fk.Columns) < len(b.fk.Columns)
			}
			return a.fk.Name < b.fk.Name
		})
		parents := map[*TablePlan]bool{}
		var names []string
		for _, w := range winners {
			if !parents[w.parent] {
				parents[w.parent] = true
				names = append(names, fmt.Sprintf("%s (via %s)", w.parent.Name(), strings.Join(w.fk.Columns, ", ")))
			}
		}
		w := winners[0]
		tp.Parent, tp.ParentFK, tp.Depth, tp.NullablePath = w.parent, w.fk, bc.depth, bc.nullable
		if len(parents) > 1 {
			tp.Notes = append(tp.Notes, "ambiguous parents: "+strings.Join(names, ", "))
		}
	}
}

func anyNullable(t *introspect.Table, cols []string) bool {
	for _, name := range cols {
		if col := t.Column(name); col == nil || !col.NotNull {
			return true
		}
	}
	return false
}

// finish settles every table still without a class and reports problems.
func (c *classifier) finish(inScope map[*TablePlan]bool) {
	tenantCol := c.pol.Tenant.Column
	for _, tp := range c.plan.Tables {
		if tp.Class != "" {
			if tp.Class != Direct && inScope[tp] {
				c.problem(tp, "listed in scope but also classified %s by the policy; keep one", tp.Class)
			}
			continue
		}
		ambiguous := tp.Parent != nil && len(tp.Notes) > 0 && strings.HasPrefix(tp.Notes[len(tp.Notes)-1], "ambiguous parents: ")
		switch {
		case inScope[tp] && tp.Parent != nil:
			tp.Class = Inherited
			tp.Reason = "foreign-key path " + tp.PathString()
			if tp.NullablePath {
				tp.Reason += " (nullable: rows with a NULL foreign key get the default org)"
			}
			if ambiguous && c.via(tp) == nil {
				c.problem(tp, "%s; choose one in policy.yaml with tables: {%s: {via: <parent>}}",
					strings.TrimPrefix(tp.Notes[len(tp.Notes)-1], "ambiguous "), tp.Name())
			}
		case inScope[tp]:
			tp.Class = Unclassified
			tp.Reason = "in scope but no ownership column and no foreign-key path to a scoped table"
			c.problem(tp, "listed in scope but has no ownership column (%s) and no foreign-key path to a scoped table; add a via, or list it under global or exclude",
				ownershipNames(c.pol))
		case tp.Table.Column(tenantCol) != nil:
			tp.Class = AlreadyScoped
			tp.Reason = fmt.Sprintf("already has %s; not in scope", tenantCol)
		case tp.Owner != nil || tp.Parent != nil:
			tp.Class = Unclassified
			if tp.Owner != nil {
				tp.Reason = fmt.Sprintf("has ownership column %s but no decision in the policy", tp.Owner.Name)
			} else {
				tp.Reason = "has a foreign-key path " + tp.PathString() + " but no decision in the policy"
			}
			c.problem(tp, "%s: add it to scope, exclude or global in policy.yaml", tp.Reason)
		default:
			tp.Class = Global
			tp.Reason = "no ownership column and no foreign-key path to a scoped table (not listed; treated as global)"
		}
	}
	sort.SliceStable(c.plan.Problems, func(i, j int) bool { return c.plan.Problems[i].Error() < c.plan.Problems[j].Error() })
}

func ownershipNames(p *policy.Policy) string {
	var names []string
	for _, o := range p.Ownership {
		names = append(names, o.Column)
	}
	return strings.Join(names, ", ")
}

// order fills Plan.Scoped: depth first (parents before children), then name.
func (c *classifier) order() {
	for _, tp := range c.plan.Tables {
		if tp.Class.Scoped() {
			c.plan.Scoped = append(c.plan.Scoped, tp)
		}
	}
	sort.SliceStable(c.plan.Scoped, func(i, j int) bool {
		a, b := c.plan.Scoped[i], c.plan.Scoped[j]
		if a.Depth != b.Depth {
			return a.Depth < b.Depth
		}
		return a.Name() < b.Name()
	})
}

// Err returns the plan's problems as one error, or nil.
func (p *Plan) Err() error {
	if len(p.Problems) == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d problem(s) in the classification:", len(p.Problems))
	for _, pr := range p.Problems {
		b.WriteString("\n  " + pr.Error())
	}
	return fmt.Errorf("%s", b.String())
}
