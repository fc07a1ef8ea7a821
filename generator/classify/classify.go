// Package generator turns an introspected schema and a policy into a Plan
// (every table's class and how it gets its tenant column) and renders the
// plan into migration files, Go verification tests and a report.
//
// The data path is one line: introspect.Database + policy.Policy → Classify
// → Plan → Render → files. Nothing here talks to a database.
package classify

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/warden-sql/warden/internal/ident"
	"github.com/warden-sql/warden/introspect"
	"github.com/warden-sql/warden/policy"
)

// Class is what warden does with a table.
type Class string

// The classes of a table. Every table of the governed schemas gets one.
const (
	// TenantRoot is the tenant table itself, the membership table and,
	// when it lives in a governed schema, the users table: the tables the
	// user → org mapping reads. They are never scoped themselves.
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
	// Tables holds every table of the governed schemas, sorted by schema
	// then name (the introspected order).
	Tables []*TablePlan
	// Scoped holds the direct and inherited tables, parents before children
	// (the backfill order), ties broken by name.
	Scoped []*TablePlan
	// Finished holds the tables that already carry the tenant column (class
	// already scoped), by name: nothing is filled, but they get the same
	// end state as a migrated table (foreign key to the tenant validated,
	// an index led by the column, NOT NULL, immutability, row-level
	// security).
	Finished []*TablePlan
	// Views are the views and materialized views that read scoped,
	// already scoped or excluded tables, by name.
	Views []*ViewPlan
	// Problems are the reasons generation cannot proceed (unclassified
	// tables, ambiguous parents, policy references to missing tables),
	// sorted. Warnings do not stop it: unclassified tables under
	// `unclassified: warn`, and tables treated as global although an
	// ownership-named column was rejected.
	Problems []Problem
	Warnings []Problem
}

// Problem is a classification error (or warning) tied to a table, and,
// where the fix belongs in policy.yaml, to the line to change (the position
// is then part of Msg).
type Problem struct {
	Table string // display name; empty for policy-level problems
	Msg   string
	// Config marks a policy that contradicts the database (it names a
	// table that does not exist): bad configuration, exit code 2, where
	// the other problems are decisions the policy has yet to make (1).
	Config bool `json:"-"`
	// Decide marks a question about a scoped table's org source that only
	// the policy can answer (sources that tie, rows whose every source can
	// be NULL); warden init lists them as open questions.
	Decide bool `json:"-"`
}

// Error formats the problem as "table: message".
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

	// Sources are where the table's rows get their org, best first: the
	// backfill and the fill trigger take the first that gives one for a
	// row, the default org after the last (when the policy allows it).
	// The fields below describe Sources[0], the primary source.
	Sources []Source
	// Rejected are the candidate sources not used, each with the reason.
	Rejected []string
	// WhenNullDefault: the last source can be NULL and the policy gives
	// such rows the default org (tables.<t>.when_null).
	WhenNullDefault bool

	// Owner is the ownership column of a direct table whose primary
	// source is its owner.
	Owner *introspect.Column
	// OwnerFK is the owner column's FK to the users table, when it has one.
	OwnerFK *introspect.ForeignKey
	// TenantFK and TenantIndex are what an already scoped table has of its
	// end state: its tenant column's foreign key to the tenant table and a
	// valid index led by the column, each nil when missing (the migration
	// adds it).
	TenantFK    *introspect.ForeignKey
	TenantIndex *introspect.Index

	// TenantKey is the column of a direct table that already holds the
	// tenant key (a foreign key to the tenant table, TenantKeyFK), when it
	// is the primary source.
	TenantKey   *introspect.Column
	TenantKeyFK *introspect.ForeignKey

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

	// Decision is the policy entry that decided the class: the tenant,
	// membership or users table reference, the exclude, global or tables
	// entry, or the scope entry of a scoped table. It is nil when the class
	// follows from the schema alone (implicit global, already scoped,
	// unclassified). Its Pos names the policy file as given to policy.Load.
	Decision *policy.TableRef
	// Via is the policy's choice of parent (tables.<name>.via), if any.
	Via *policy.TableRef
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
		case p.TenantKey != nil:
			parts = append(parts, fmt.Sprintf("%s(%s)", p.Name(), p.TenantKey.Name))
		default:
			parts = append(parts, p.Name())
		}
	}
	return strings.Join(parts, " → ")
}

// Classify assigns every table of db's governed schemas a class. It never
// fails: problems are collected in Plan.Problems so that `plan` can show
// the whole picture at once.
//
// Decisions are taken in this order, each only for tables still open:
//
//  1. Tenant roots: the tenant, membership and users tables, by their role.
//  2. The policy's explicit word: exclude, global, tables.<t>.class.
//  3. Already scoped: not in scope and already carrying the tenant column;
//     such a table is a parent others can inherit from, and is finished by
//     the migration (see alreadyScoped).
//  4. Sources (see resolveSources): for every other table, where its rows
//     get their org, best first: a column holding the tenant key, a parent
//     whose org is known, the ownership column. A table in scope whose
//     first source is one of its own columns is direct, one whose first
//     source is a parent inherited; the policy can pin the sources with
//     org_from (or via, or class).
//  5. What is left: in scope with no source (a problem), a source but no
//     decision (unclassified: a problem, or a warning under
//     `unclassified: warn`), or nothing at all (global).
func Classify(db *introspect.Database, pol *policy.Policy) *Plan {
	c := &classifier{
		db:        db,
		pol:       pol,
		decisions: pol.Decisions(),
		plan:      &Plan{Policy: pol},
		byKey:     map[string]*TablePlan{},
		scope:     map[*TablePlan]*policy.TableRef{},
		ambiguous: map[*TablePlan][]string{},
		pinFailed: map[*TablePlan]bool{},
	}
	c.run()
	return c.plan
}

type classifier struct {
	db  *introspect.Database
	pol *policy.Policy
	// decisions finds the policy's entry for a table without a scan.
	decisions *policy.Decisions
	plan      *Plan
	byKey     map[string]*TablePlan // schema + "\x00" + name
	// scope maps each table the policy moves to org ownership to the
	// policy entry that put it there.
	scope map[*TablePlan]*policy.TableRef
	// ambiguous holds, for tables whose best path is reached through
	// several parent tables, the candidates as "parent (fk columns)".
	ambiguous map[*TablePlan][]string
	// pinFailed marks tables whose org_from names something the table
	// does not have (already a problem at the policy's line).
	pinFailed map[*TablePlan]bool
}

func key(schema, name string) string { return schema + "\x00" + name }

func (c *classifier) lookup(ref policy.TableRef) *TablePlan {
	return c.byKey[key(ref.Schema, ref.Name)]
}

func (c *classifier) problem(t *TablePlan, format string, args ...any) {
	c.plan.Problems = append(c.plan.Problems, Problem{Table: t.Name(), Msg: fmt.Sprintf(format, args...)})
}

// decide records a problem only the policy can settle (Problem.Decide).
func (c *classifier) decide(t *TablePlan, format string, args ...any) {
	c.plan.Problems = append(c.plan.Problems, Problem{Table: t.Name(), Msg: fmt.Sprintf(format, args...), Decide: true})
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
	c.checkTenant()
	c.checkColumnNames()
	c.markScope()
	c.fixed()
	c.resolveSources()
	c.finish()
	c.alreadyScoped()
	c.excludedOwners()
	c.views()
	c.order()
}

func refOf(tp *TablePlan) policy.TableRef {
	return policy.TableRef{Schema: tp.Table.Schema, Name: tp.Table.Name}
}

// fixed settles the classes that do not depend on the schema's shape: the
// tenant roots, and exclude and global decisions.
func (c *classifier) fixed() {
	for _, tp := range c.plan.Tables {
		ref := refOf(tp)
		root := func(r policy.TableRef, reason string) {
			tp.Class, tp.Reason, tp.Decision = TenantRoot, reason, &r
		}
		switch {
		case ref.SameTable(c.pol.Tenant.Table):
			root(c.pol.Tenant.Table, "the tenant table (policy tenant.table)")
		case c.pol.Membership != nil && ref.SameTable(c.pol.Membership.Table):
			root(c.pol.Membership.Table, "the membership table (policy membership.table)")
		case ref.SameTable(c.pol.Users.Table):
			// Ownership columns point at it and the mapping reads it; giving
			// it an org would make users org-owned, which is not the move.
			root(c.pol.Users.Table, "the users table (policy users.table)")
		default:
			if o, ok := c.override(tp); ok && (o.Class == policy.ClassExcluded || o.Class == policy.ClassGlobal) {
				r := o.Table
				tp.Class = Class(o.Class)
				tp.Reason = fmt.Sprintf("listed as %s in the policy (%s)", o.Class, r.Pos)
				tp.Decision = &r
			}
		}
	}
}

func ident2(schema, name string) string {
	return (&introspect.Table{Schema: schema, Name: name}).QualifiedName()
}

// checkReferences reports policy entries naming tables that do not exist,
// at the entry's position so that the fix is one jump away.
func (c *classifier) checkReferences() {
	check := func(ref policy.TableRef, what string) {
		if c.lookup(ref) == nil {
			c.plan.Problems = append(c.plan.Problems, Problem{
				Config: true,
				Msg:    ref.Errorf("%s %s does not exist in the database (schemas %s)", what, ref, strings.Join(c.pol.Schemas, ", ")).Error(),
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
	// The users table, where the schema read has it (an app's own users
	// table in a governed schema): phase 5 keeps the org claim in its
	// ClaimColumn, so a users table without one would fail there, after the
	// claim triggers are in and every insert of a user fails with them.
	if u := c.pol.Users; c.lookup(u.Table) != nil && c.pol.Context.KeepsClaim() {
		t := c.lookup(u.Table).Table
		var missing []string
		for _, col := range []string{u.Key, ClaimColumn} {
			if t.Column(col) == nil {
				missing = append(missing, ident.QuoteIfNeeded(col))
			}
		}
		if len(missing) > 0 {
			c.plan.Problems = append(c.plan.Problems, Problem{
				Config: true,
				Msg: u.Table.Errorf("users table %s has no column %s, which the migration reads (users.key) or keeps the JWT org claim in (%s, as Supabase's auth.users has it); name the right users table, add the column, or choose another request_context (jwt or session) that keeps no claim in the users table",
					u.Table, strings.Join(missing, ", "), ClaimColumn).Error(),
			})
		}
	}
}

// ClaimColumn is the users table's jsonb column the JWT org claim is kept in
// (app metadata), as Supabase's auth.users has it.
const ClaimColumn = "raw_app_meta_data"

// markScope records the tables the policy moves to org ownership (the
// scope list plus tables given a via or a direct/inherited class) and the
// critical flags.
func (c *classifier) markScope() {
	for _, r := range c.pol.Scope {
		if tp := c.lookup(r); tp != nil {
			r := r
			c.scope[tp] = &r
		}
	}
	for _, o := range c.pol.Tables {
		if tp := c.lookup(o.Table); tp != nil && c.scope[tp] == nil &&
			(o.Via != nil || len(o.OrgFrom) > 0 || o.Class == policy.ClassDirect || o.Class == policy.ClassInherited) {
			r := o.Table
			c.scope[tp] = &r
		}
	}
	for _, r := range c.pol.Critical {
		if tp := c.lookup(r); tp != nil {
			tp.Critical = true
		}
	}
}

func (c *classifier) override(tp *TablePlan) (policy.Override, bool) {
	return c.decisions.Override(refOf(tp))
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
		requireFK := oc.RequireFK
		if o, ok := c.override(tp); ok && o.RequireFK != nil {
			// The table's own decision wins over the column name's.
			requireFK = *o.RequireFK
		}
		if fk == nil && requireFK {
			tp.Notes = append(tp.Notes, fmt.Sprintf("column %s matches an ownership name but is not a foreign key to %s(%s); "+
				"not used (if it really holds a user id here, set tables: {%s: {require_fk: false}} in the policy)", col.Name, users.Table, users.Key, tp.Name()))
			continue
		}
		tp.Owner, tp.OwnerFK = col, fk
		return
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
func (c *classifier) finish() {
	for _, tp := range c.plan.Tables {
		scope := c.scope[tp]
		if tp.Class != "" {
			if tp.Class != Direct && scope != nil {
				c.problem(tp, "listed in scope (%s) but also classified %s by the policy (%s); keep one", scope.Pos, tp.Class, tp.Reason)
			}
			continue
		}
		switch {
		case scope != nil && len(tp.Sources) > 0:
			c.scoped(tp, scope)
		case scope != nil:
			tp.Class = Unclassified
			tp.Reason = "in scope but no ownership column and no foreign-key path to a scoped table"
			if !c.pinFailed[tp] {
				c.problem(tp, "%s", c.noOrgMessage(tp, scope))
			}
		case len(tp.Sources) > 0:
			tp.Class = Unclassified
			switch s := tp.Sources[0]; s.Kind {
			case FromOwner:
				tp.Reason = fmt.Sprintf("has ownership column %s but no decision in the policy", tp.Owner.Name)
			case FromTenantKey:
				tp.Reason = fmt.Sprintf("has column %s referencing the tenant table but no decision in the policy", tp.TenantKey.Name)
			default:
				tp.Reason = "has a foreign-key path " + tp.PathString() + " but no decision in the policy"
			}
			p := Problem{Table: tp.Name(), Msg: tp.Reason + ": add it to scope (moves to org ownership), exclude (stays user-owned) or global (shared, no owner) in " + c.file()}
			if c.pol.Unclassified == policy.UnclassifiedWarn {
				c.plan.Warnings = append(c.plan.Warnings, p)
			} else {
				c.plan.Problems = append(c.plan.Problems, p)
			}
		default:
			tp.Class = Global
			tp.Reason = "no ownership column and no foreign-key path to a scoped table (not listed; treated as global)"
			if len(tp.Notes) > 0 {
				// A rejected ownership-named column is the one case where
				// "no owner" may be wrong; make the reviewer decide.
				c.plan.Warnings = append(c.plan.Warnings, Problem{Table: tp.Name(), Msg: "treated as global, but " + tp.Notes[0] +
					"; list it under global or exclude, or scope it, to make the decision explicit"})
			}
		}
	}
	for _, list := range [][]Problem{c.plan.Problems, c.plan.Warnings} {
		sort.SliceStable(list, func(i, j int) bool { return list[i].Error() < list[j].Error() })
	}
}

// scoped settles an in-scope table that has sources: direct when the
// primary source is one of its own columns, inherited when it is a parent.
// Rows whose every source is NULL, and sources that tie, are decisions for
// the policy.
func (c *classifier) scoped(tp *TablePlan, scope *policy.TableRef) {
	tp.Decision, tp.Via = scope, c.via(tp)
	switch s := tp.Sources[0]; s.Kind {
	case FromParent:
		tp.Class = Inherited
		tp.Reason = "foreign-key path " + tp.PathString()
		if tp.NullablePath {
			tp.Reason += " (nullable: rows with a NULL foreign key get the default org)"
		}
	case FromTenantKey:
		tp.Class = Direct
		tp.Reason = fmt.Sprintf("column %s → %s holds the tenant key", s.Column.Name, ident2(s.FK.RefSchema, s.FK.RefTable))
	default:
		tp.Class = Direct
		tp.Reason = "ownership column " + tp.Owner.Name
		if tp.OwnerFK != nil {
			tp.Reason += " → " + ident2(tp.OwnerFK.RefSchema, tp.OwnerFK.RefTable)
		} else {
			tp.Reason += fmt.Sprintf(" (%s, not a foreign key: require_fk is false)", tp.Owner.Type)
		}
	}
	// A row whose every source is NULL has nothing to take its org from:
	// it would go to the default org, every org's such rows together.
	// That is a decision, not a note.
	if last := tp.Sources[len(tp.Sources)-1]; last.Nullable {
		o, ok := c.decisions.Override(refOf(tp))
		tp.WhenNullDefault = ok && o.NullParent == policy.NullParentDefaultOrg
		if !tp.WhenNullDefault {
			var srcs []string
			for _, s := range tp.Sources {
				srcs = append(srcs, s.String())
			}
			c.decide(tp, "its org comes only from nullable sources (%s): rows with NULL in each have no org to take and would all go to the default org. Decide in %s: make a column NOT NULL, name a source every row has with tables: {%s: {org_from: <column or parent>}}, or accept the default org for them with tables: {%s: {when_null: default_org}}",
				strings.Join(srcs, "; then "), c.file(), tp.Name(), tp.Name())
		}
	}
	if names := c.ambiguous[tp]; len(names) > 0 {
		c.decide(tp, "%d sources qualify equally: %s; choose in %s with tables: {%s: {org_from: <column or parent>}}",
			len(names), strings.Join(names, ", "), c.file(), tp.Name())
	}
}

// noOrgMessage says why an in-scope table has no way to get an org, and
// what the policy should say instead.
func (c *classifier) noOrgMessage(tp *TablePlan, scope *policy.TableRef) string {
	if c.forced(tp) == policy.ClassDirect {
		msg := fmt.Sprintf("class: direct (%s) but has no ownership column (%s)", scope.Pos, ownershipNames(c.pol))
		if len(tp.Notes) > 0 {
			msg += "; " + strings.Join(tp.Notes, "; ")
		}
		return msg + "; use via, or another class"
	}
	if c.forced(tp) == policy.ClassInherited {
		return fmt.Sprintf("class: inherited (%s) but no foreign-key path reaches a scoped table with an ownership column "+
			"(its foreign-key parents: %s); scope a parent, or use another class", scope.Pos, fkParents(tp.Table))
	}
	if v := c.via(tp); v != nil {
		parent := c.lookup(*v)
		switch {
		case parent == nil:
			return fmt.Sprintf("via %s (%s) is not a table of the database", v, v.Pos)
		case !hasFKTo(tp.Table, parent.Table):
			return fmt.Sprintf("via %s (%s): %s has no foreign key to %s; name one of its foreign-key parents (%s)",
				v, v.Pos, tp.Name(), v, fkParents(tp.Table))
		case c.scope[parent] == nil:
			return fmt.Sprintf("via %s (%s): %s is not in scope, so its rows have no org to pass on; scope it or choose another parent", v, v.Pos, v)
		default:
			return fmt.Sprintf("via %s (%s): %s has no ownership column and no path of its own", v, v.Pos, v)
		}
	}
	msg := fmt.Sprintf("listed in scope (%s) but has no ownership column (%s) and no foreign-key path to a scoped table", scope.Pos, ownershipNames(c.pol))
	if len(tp.Notes) > 0 {
		msg += "; " + strings.Join(tp.Notes, "; ")
	}
	return msg + "; add a via, or list it under global or exclude instead"
}

func hasFKTo(t, parent *introspect.Table) bool {
	for _, fk := range t.ForeignKeys {
		if fk.RefSchema == parent.Schema && fk.RefTable == parent.Name {
			return true
		}
	}
	return false
}

// fkParents lists the distinct tables t references, for messages.
func fkParents(t *introspect.Table) string {
	var names []string
	seen := map[string]bool{}
	for _, fk := range t.ForeignKeys {
		n := ident2(fk.RefSchema, fk.RefTable)
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return "it has none"
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// file is the policy's base name for messages that say where the fix goes
// (the full path is in the positions).
func (c *classifier) file() string {
	if c.pol.File == "" {
		return "policy.yaml"
	}
	return filepath.Base(c.pol.File)
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
		if tp.Class == AlreadyScoped {
			c.plan.Finished = append(c.plan.Finished, tp)
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

// ConfigErr returns the problems that are configuration errors (the
// policy names tables the database does not have) as one error, or nil.
func (p *Plan) ConfigErr() error {
	var config []Problem
	for _, pr := range p.Problems {
		if pr.Config {
			config = append(config, pr)
		}
	}
	if len(config) == 0 {
		return nil
	}
	return &ProblemsError{Problems: config, config: true}
}

// Err returns the plan's problems as one error, or nil. Each Problem is
// reachable with errors.As.
func (p *Plan) Err() error {
	if len(p.Problems) == 0 {
		return nil
	}
	return &ProblemsError{Problems: p.Problems}
}

// ProblemsError is a plan's problems as one error: the problems, joined.
type ProblemsError struct {
	Problems []Problem
	config   bool // only configuration errors, worded as policy errors
}

// Error lists the problems, one per line.
func (e *ProblemsError) Error() string {
	if e.config {
		if len(e.Problems) == 1 {
			return e.Problems[0].Error()
		}
		var msgs []string
		for _, pr := range e.Problems {
			msgs = append(msgs, pr.Error())
		}
		return fmt.Sprintf("%d errors in the policy:\n  %s", len(msgs), strings.Join(msgs, "\n  "))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d problem(s) in the classification:", len(e.Problems))
	for _, pr := range e.Problems {
		b.WriteString("\n  " + pr.Error())
	}
	return b.String()
}

// Unwrap returns the problems, so errors.Is and errors.As see each one
// (the multi-error form errors.Join uses).
func (e *ProblemsError) Unwrap() []error {
	errs := make([]error, len(e.Problems))
	for i, pr := range e.Problems {
		errs[i] = pr
	}
	return errs
}
