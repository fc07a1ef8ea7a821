package classify

import (
	"fmt"
	"sort"
	"strings"

	"github.com/warden-sql/warden/internal/ident"
	"github.com/warden-sql/warden/introspect"
	"github.com/warden-sql/warden/policy"
)

// SourceKind is where a row's org comes from.
type SourceKind int

// The kinds of org source, in the order they are preferred when their
// paths are alike (see cost).
const (
	// FromTenantKey: a column of the row already holds the tenant key (a
	// foreign key to the tenant table, under any name).
	FromTenantKey SourceKind = iota + 1
	// FromParent: a foreign-key parent whose org is known (a scoped table,
	// or one that already carries the tenant column).
	FromParent
	// FromOwner: an ownership column; the org is the owner's.
	FromOwner
)

// Source is one place a row can take its org from. A table has a list of
// them (TablePlan.Sources): each row takes the first that gives an org.
type Source struct {
	Kind SourceKind
	// Column is the tenant-key or ownership column; nil for a parent.
	Column *introspect.Column
	// FK is the foreign key read: the column's to the tenant or users
	// table (nil for an ownership column that is not one), or the one to
	// Parent.
	FK     *introspect.ForeignKey
	Parent *TablePlan
	// Nullable: a row may have NULL there, so the next source is tried.
	Nullable bool
}

// Columns are the row's columns the source reads: its own column, or the
// foreign-key columns to the parent.
func (s Source) Columns() []string {
	if s.Column != nil {
		return []string{s.Column.Name}
	}
	return s.FK.Columns
}

// String describes the source for plans and reports, e.g.
// "column account_id → public.accounts (the tenant key)".
func (s Source) String() string {
	null := ""
	if s.Nullable {
		null = ", nullable"
	}
	switch s.Kind {
	case FromTenantKey:
		return fmt.Sprintf("column %s → %s (the tenant key%s)", ident.QuoteIfNeeded(s.Column.Name), ident2(s.FK.RefSchema, s.FK.RefTable), null)
	case FromParent:
		return fmt.Sprintf("parent %s via %s (its org%s)", s.Parent.Name(), strings.Join(quoteAll(s.FK.Columns), ", "), null)
	default:
		ref := s.Column.Type + ", no foreign key"
		if s.FK != nil {
			ref = "→ " + ident2(s.FK.RefSchema, s.FK.RefTable)
		}
		return fmt.Sprintf("owner %s %s (the owner's org%s)", ident.QuoteIfNeeded(s.Column.Name), ref, null)
	}
}

func quoteAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = ident.QuoteIfNeeded(n)
	}
	return out
}

// cost orders the ways a table can get its org. First a source every row
// has (no nullable hop) beats one some rows lack; then an org that some row
// already holds (a tenant-key column, at the end of any path) beats one
// guessed from a user, who may belong to several orgs; then fewer hops.
//
// The second rule is why a parent's org beats the row's own owner only when
// the parent's org is itself real: the org of a team's document is the
// team's, not its author's oldest; but a parent whose org was derived from
// its own creator is no better evidence than the row's own author, who is
// nearer.
type cost struct {
	nullable bool
	guessed  bool
	depth    int
}

func (a cost) less(b cost) bool {
	if a.nullable != b.nullable {
		return !a.nullable
	}
	if a.guessed != b.guessed {
		return !a.guessed
	}
	return a.depth < b.depth
}

// candidate is a source a table could use, before the chain is chosen.
type candidate struct {
	src Source
	// pinned: named by the policy (org_from or via); the chain is then
	// exactly the pinned candidates in the policy's order.
	pinned bool
}

// costOf is what a table's rows get from src, given the best costs found
// so far for parents; false when src is a parent with no known org yet.
func (c *classifier) costOf(src Source, best map[*TablePlan]cost) (cost, bool) {
	switch src.Kind {
	case FromTenantKey:
		return cost{nullable: src.Nullable}, true
	case FromOwner:
		return cost{nullable: src.Nullable, guessed: true}, true
	}
	pc, ok := best[src.Parent]
	if !ok {
		return cost{}, false
	}
	return cost{nullable: pc.nullable || src.Nullable, guessed: pc.guessed, depth: pc.depth + 1}, true
}

// resolveSources finds, for every table without a class yet, where its
// rows get their org: a list of sources, best first, that the backfill and
// the fill trigger try in turn. Parents pass their org on only when they
// are scoped or already carry the tenant column. Best costs are relaxed
// until nothing improves (a Bellman-Ford over at most len(tables) rounds);
// every hop adds to the depth, so a best path never visits a table twice.
// A fallback parent must rank strictly before the table (cost, then name),
// so the chains form no cycle and parents can be filled first.
func (c *classifier) resolveSources() {
	tenant := c.lookup(c.pol.Tenant.Table)
	best := map[*TablePlan]cost{}
	open := []*TablePlan{}
	for _, tp := range c.plan.Tables {
		if tp.Class != "" {
			continue
		}
		if c.scope[tp] == nil {
			if col := tp.Table.Column(c.pol.Tenant.Column); col != nil {
				tp.Class = AlreadyScoped
				tp.Reason = fmt.Sprintf("already has %s; not in scope", c.pol.Tenant.Column)
				best[tp] = cost{nullable: !col.NotNull}
				continue
			}
		}
		c.findOwner(tp)
		open = append(open, tp)
	}
	usable := func(p *TablePlan) bool { return p.Class == AlreadyScoped || (p.Class == "" && c.scope[p] != nil) }

	cands := map[*TablePlan][]candidate{}
	for _, tp := range open {
		cands[tp] = c.candidates(tp, tenant)
	}
	// Own columns first, then parents, round after round.
	for round := 0; round <= len(c.plan.Tables); round++ {
		changed := false
		for _, tp := range open {
			list := cands[tp]
			pinned := len(list) > 0 && list[0].pinned
			for _, cd := range list {
				if cd.src.Kind == FromParent && !usable(cd.src.Parent) {
					continue
				}
				nc, ok := c.costOf(cd.src, best)
				if !ok {
					continue
				}
				if cur, ok := best[tp]; !ok || nc.less(cur) {
					best[tp] = nc
					changed = true
				}
				if pinned {
					// A pinned table is as good as its first usable
					// named source.
					break
				}
			}
		}
		if !changed {
			break
		}
	}
	// before is the strict order fallbacks must respect.
	before := func(a, b *TablePlan) bool {
		ca, cb := best[a], best[b]
		if ca != cb {
			return ca.less(cb)
		}
		return a.Name() < b.Name()
	}
	for _, tp := range open {
		bc, ok := best[tp]
		if !ok {
			continue
		}
		c.chain(tp, cands[tp], bc, best, usable, before)
	}
	// Depth: one more than the deepest parent in the chain, computed in
	// rank order so every parent's depth is known first.
	ranked := append([]*TablePlan(nil), open...)
	sort.SliceStable(ranked, func(i, j int) bool {
		_, oi := best[ranked[i]]
		_, oj := best[ranked[j]]
		if oi != oj {
			return oi
		}
		return before(ranked[i], ranked[j])
	})
	for _, tp := range ranked {
		srcs := tp.Sources
		if c.scope[tp] == nil && len(srcs) > 1 {
			srcs = srcs[:1] // an undecided table is never filled
		}
		for _, s := range srcs {
			if s.Kind == FromParent && s.Parent.Depth+1 > tp.Depth {
				tp.Depth = s.Parent.Depth + 1
			}
		}
		// A nullable hop anywhere on the primary path leaves some rows
		// with no parent to inherit from.
		if tp.Parent != nil {
			tp.NullablePath = anyNullable(tp.Table, tp.ParentFK.Columns) || tp.Parent.NullablePath
		}
	}
}

// candidates lists the sources tp could use: every column referencing the
// tenant table, its ownership column, every foreign-key parent; or, where
// the policy pins them, exactly the named ones in order.
func (c *classifier) candidates(tp *TablePlan, tenant *TablePlan) []candidate {
	t := tp.Table
	tenantKey := func(fk *introspect.ForeignKey) bool {
		// The tenant column itself is what is being filled (a database
		// with phase 2 applied has it), never a source.
		return tenant != nil && fk.RefSchema == tenant.Table.Schema && fk.RefTable == tenant.Table.Name &&
			len(fk.Columns) == 1 && fk.RefColumns[0] == c.pol.Tenant.Key && fk.Columns[0] != c.pol.Tenant.Column
	}
	parentOf := func(fk *introspect.ForeignKey) *TablePlan {
		p := c.byKey[key(fk.RefSchema, fk.RefTable)]
		// The tenant is a tenant-key source; the users and membership
		// tables hold no org to pass on (a users FK is an owner).
		if p == nil || p == tp || p.Class == TenantRoot {
			return nil
		}
		return p
	}
	var all []candidate
	for _, fk := range t.ForeignKeys {
		if tenantKey(fk) {
			all = append(all, candidate{src: Source{Kind: FromTenantKey, Column: t.Column(fk.Columns[0]), FK: fk, Nullable: anyNullable(t, fk.Columns)}})
		}
	}
	if tp.Owner != nil {
		all = append(all, candidate{src: Source{Kind: FromOwner, Column: tp.Owner, FK: tp.OwnerFK, Nullable: !tp.Owner.NotNull}})
	}
	for _, fk := range t.ForeignKeys {
		if p := parentOf(fk); p != nil {
			all = append(all, candidate{src: Source{Kind: FromParent, FK: fk, Parent: p, Nullable: anyNullable(t, fk.Columns)}})
		}
	}

	o, _ := c.override(tp)
	switch {
	case len(o.OrgFrom) > 0:
		return c.pinned(tp, o, all, tenantKey, parentOf)
	case o.Via != nil:
		var out []candidate
		for _, cd := range all {
			if cd.src.Kind == FromParent && cd.src.Parent.Table.Schema == o.Via.Schema && cd.src.Parent.Table.Name == o.Via.Name {
				out = append(out, cd)
			}
		}
		if tp.Owner != nil {
			tp.Notes = append(tp.Notes, fmt.Sprintf("has ownership column %s, but the policy makes it inherit its org from a parent", tp.Owner.Name))
		}
		return out
	case o.Class == policy.ClassInherited:
		var out []candidate
		for _, cd := range all {
			if cd.src.Kind == FromParent {
				out = append(out, cd)
			}
		}
		if tp.Owner != nil {
			tp.Notes = append(tp.Notes, fmt.Sprintf("has ownership column %s, but the policy makes it inherit its org from a parent", tp.Owner.Name))
		}
		return out
	case o.Class == policy.ClassDirect:
		var out []candidate
		for _, cd := range all {
			if cd.src.Kind != FromParent {
				out = append(out, cd)
			}
		}
		return out
	}
	return all
}

// pinned resolves tables.<t>.org_from: each name is a column of the table
// (a tenant-key column, or any column holding a user id: naming it is the
// decision require_fk asks for) or one of its foreign-key parents.
func (c *classifier) pinned(tp *TablePlan, o policy.Override, all []candidate,
	tenantKey func(*introspect.ForeignKey) bool, parentOf func(*introspect.ForeignKey) *TablePlan) []candidate {
	t := tp.Table
	var out []candidate
	for _, ref := range o.OrgFrom {
		if col := t.Column(ref.Name); col != nil && !strings.Contains(ref.Name, ".") {
			if bad := c.notASource(tp, col); bad != "" {
				c.pinFailed[tp] = true
				c.plan.Problems = append(c.plan.Problems, Problem{Table: tp.Name(), Config: true,
					Msg: (&policy.Error{Pos: ref.Pos, Key: ref.Key, Value: ref.Name, Msg: bad}).Error()})
				continue
			}
			var src *Source
			for _, fk := range t.ForeignKeys {
				if len(fk.Columns) == 1 && fk.Columns[0] == col.Name && tenantKey(fk) {
					src = &Source{Kind: FromTenantKey, Column: col, FK: fk, Nullable: !col.NotNull}
				}
			}
			if src == nil {
				var ofk *introspect.ForeignKey
				u := c.pol.Users
				for _, fk := range t.ForeignKeys {
					if len(fk.Columns) == 1 && fk.Columns[0] == col.Name && fk.RefSchema == u.Table.Schema && fk.RefTable == u.Table.Name {
						ofk = fk
					}
				}
				src = &Source{Kind: FromOwner, Column: col, FK: ofk, Nullable: !col.NotNull}
			}
			out = append(out, candidate{src: *src, pinned: true})
			continue
		}
		var found *candidate
		for i, cd := range all {
			p := cd.src.Parent
			if cd.src.Kind == FromParent && p.Table.Schema == ref.Table.Schema && p.Table.Name == ref.Table.Name {
				// Two foreign keys to one parent: the narrower, then the
				// first by name, as for an automatic choice.
				if found == nil || len(cd.src.FK.Columns) < len(found.src.FK.Columns) {
					found = &all[i]
				}
			}
		}
		if found == nil {
			c.pinFailed[tp] = true
			c.plan.Problems = append(c.plan.Problems, Problem{Table: tp.Name(), Config: true, Msg: (&policy.Error{Pos: ref.Pos, Key: ref.Key, Value: ref.Name,
				Msg: fmt.Sprintf("org_from: %s is neither a column of %s nor one of its foreign-key parents (columns referencing the tenant or users table: %s; parents: %s)",
					ref.Name, tp.Name(), sourceColumns(t, c.pol), fkParents(t))}).Error()})
			continue
		}
		cd := *found
		cd.pinned = true
		out = append(out, cd)
	}
	for _, cd := range all {
		named := false
		for _, o := range out {
			named = named || (o.src.Kind == cd.src.Kind && o.src.FK == cd.src.FK && o.src.Column == cd.src.Column)
		}
		if !named {
			tp.Rejected = append(tp.Rejected, fmt.Sprintf("%s: not named in org_from (%s)", cd.src, o.OrgFrom[0].Pos))
		}
	}
	return out
}

// notASource says why column col of tp cannot be named in org_from, or "":
// the tenant column is what is filled, and a column referencing another
// table than the tenant or users table holds that table's key, not an org
// or a user (its table is the parent to name).
func (c *classifier) notASource(tp *TablePlan, col *introspect.Column) string {
	if col.Name == c.pol.Tenant.Column {
		return fmt.Sprintf("org_from names %s, the tenant column itself, which is what the migration fills; name the column or parent its org comes from", ident.QuoteIfNeeded(col.Name))
	}
	for _, fk := range tp.Table.ForeignKeys {
		if len(fk.Columns) != 1 || fk.Columns[0] != col.Name {
			continue
		}
		tn, u := c.pol.Tenant.Table, c.pol.Users.Table
		if (fk.RefSchema == tn.Schema && fk.RefTable == tn.Name) || (fk.RefSchema == u.Schema && fk.RefTable == u.Name) {
			return ""
		}
		return fmt.Sprintf("org_from names %s, which references %s, neither the tenant nor the users table; to take that row's org, name the parent %s",
			ident.QuoteIfNeeded(col.Name), ident2(fk.RefSchema, fk.RefTable), ident2(fk.RefSchema, fk.RefTable))
	}
	return ""
}

// sourceColumns lists the columns of t that reference the tenant or the
// users table, for messages.
func sourceColumns(t *introspect.Table, pol *policy.Policy) string {
	var names []string
	for _, fk := range t.ForeignKeys {
		if len(fk.Columns) != 1 {
			continue
		}
		if (fk.RefSchema == pol.Tenant.Table.Schema && fk.RefTable == pol.Tenant.Table.Name) ||
			(fk.RefSchema == pol.Users.Table.Schema && fk.RefTable == pol.Users.Table.Name) {
			names = append(names, ident.QuoteIfNeeded(fk.Columns[0]))
		}
	}
	if len(names) == 0 {
		return "none"
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// chain picks tp's sources from its candidates: the best, then the next
// best while the ones chosen may be NULL for a row. Candidates the table
// does not use are kept in Rejected with the reason.
func (c *classifier) chain(tp *TablePlan, cands []candidate, bc cost, best map[*TablePlan]cost,
	usable func(*TablePlan) bool, before func(a, b *TablePlan) bool) {
	type ranked struct {
		candidate
		cost cost
	}
	var list []ranked
	for _, cd := range cands {
		if cd.src.Kind == FromParent && !usable(cd.src.Parent) {
			what := "not in scope"
			if cd.src.Parent.Class != "" {
				what = string(cd.src.Parent.Class)
			}
			tp.Rejected = append(tp.Rejected, fmt.Sprintf("%s: %s is %s, so it has no org to pass on", cd.src, cd.src.Parent.Name(), what))
			continue
		}
		cc, ok := c.costOf(cd.src, best)
		if !ok {
			tp.Rejected = append(tp.Rejected, fmt.Sprintf("%s: %s has no org source of its own", cd.src, cd.src.Parent.Name()))
			continue
		}
		list = append(list, ranked{cd, cc})
	}
	pinned := len(list) > 0 && list[0].pinned
	if !pinned {
		sort.SliceStable(list, func(i, j int) bool {
			a, b := list[i], list[j]
			if a.cost != b.cost {
				return a.cost.less(b.cost)
			}
			if a.src.Kind != b.src.Kind {
				return a.src.Kind < b.src.Kind
			}
			an, bn := sourceTable(a.src), sourceTable(b.src)
			if an != bn {
				return an < bn
			}
			if len(a.src.FK.Columns) != len(b.src.FK.Columns) {
				return len(a.src.FK.Columns) < len(b.src.FK.Columns)
			}
			return a.src.FK.Name < b.src.FK.Name
		})
		// Two different tables (or tenant-key columns) that give every row
		// an org equally well may give different orgs: the policy decides.
		var ties []string
		seen := map[string]bool{}
		for _, r := range list {
			if r.cost != bc || r.src.Kind == FromOwner {
				continue
			}
			name := sourceTable(r.src)
			if r.src.Kind == FromTenantKey {
				name = r.src.Column.Name
			}
			if !seen[name] {
				seen[name] = true
				if r.src.Kind == FromParent {
					ties = append(ties, fmt.Sprintf("%s (%s)", r.src.Parent.Name(), strings.Join(r.src.FK.Columns, ", ")))
				} else {
					ties = append(ties, "column "+ident.QuoteIfNeeded(r.src.Column.Name))
				}
			}
		}
		if len(ties) > 1 {
			c.ambiguous[tp] = ties
			tp.Notes = append(tp.Notes, "ambiguous sources: "+strings.Join(ties, ", "))
		}
	}
	done := false
	for _, r := range list {
		switch {
		case done && pinned:
			tp.Rejected = append(tp.Rejected, fmt.Sprintf("%s: after %s, which every row has", r.src, tp.Sources[len(tp.Sources)-1]))
			continue
		case done:
			tp.Rejected = append(tp.Rejected, fmt.Sprintf("%s: ranks after %s, which every row has", r.src, tp.Sources[len(tp.Sources)-1]))
			continue
		case r.src.Kind == FromParent && !before(r.src.Parent, tp):
			// The parent may itself fall back on this table: filling
			// either first would read the other's NULL.
			tp.Rejected = append(tp.Rejected, fmt.Sprintf("%s: %s ranks after this table, so it cannot be filled first", r.src, r.src.Parent.Name()))
			if pinned {
				c.problem(tp, "org_from names %s, which takes its org after this table does (its own sources run through this table, or a longer path): it cannot be filled first; name another source or drop it from org_from", r.src.Parent.Name())
			}
			continue
		}
		tp.Sources = append(tp.Sources, r.src)
		if !r.src.Nullable {
			done = true
		}
	}
	if len(tp.Sources) == 0 {
		return
	}
	switch s := tp.Sources[0]; s.Kind {
	case FromParent:
		tp.Parent, tp.ParentFK = s.Parent, s.FK
		tp.Owner, tp.OwnerFK = nil, nil
	case FromTenantKey:
		tp.TenantKey, tp.TenantKeyFK = s.Column, s.FK
		tp.Owner, tp.OwnerFK = nil, nil
	case FromOwner:
		tp.Owner, tp.OwnerFK = s.Column, s.FK
	}
}

// sourceTable names the table a source reads: the parent, or the table
// its column references.
func sourceTable(s Source) string {
	if s.Kind == FromParent {
		return s.Parent.Name()
	}
	if s.FK != nil {
		return ident2(s.FK.RefSchema, s.FK.RefTable)
	}
	return ""
}

// alreadyScoped reads what each table that already carries the tenant
// column has of the end state, and refuses the ones whose column is not
// the tenant key: finishing them would add a foreign key their values
// cannot satisfy, or compare orgs of another type.
func (c *classifier) alreadyScoped() {
	tn := c.pol.Tenant
	for _, tp := range c.plan.Tables {
		if tp.Class != AlreadyScoped {
			continue
		}
		t := tp.Table
		col := t.Column(tn.Column)
		if typ, ok := policy.TenantTypeOf(col.Type); !ok || typ != tn.Type {
			c.problem(tp, "already has %s, but of type %s where the tenant key is %s (tenant.type); list it under global or exclude, or change the column", ident.QuoteIfNeeded(tn.Column), col.Type, tn.Type)
			continue
		}
		for _, fk := range t.ForeignKeys {
			if len(fk.Columns) != 1 || fk.Columns[0] != col.Name {
				continue
			}
			if fk.RefSchema == tn.Table.Schema && fk.RefTable == tn.Table.Name && fk.RefColumns[0] == tn.Key {
				tp.TenantFK = fk
				continue
			}
			c.problem(tp, "already has %s, but it references %s(%s), not the tenant table %s(%s); list it under global or exclude, or point the foreign key at the tenant",
				ident.QuoteIfNeeded(tn.Column), ident2(fk.RefSchema, fk.RefTable), strings.Join(fk.RefColumns, ", "), tn.Table, tn.Key)
		}
		for _, ix := range t.Indexes {
			if ix.Valid && ix.Predicate == "" && len(ix.Columns) > 0 && (ix.Columns[0] == col.Name || ix.Columns[0] == ident.Quote(col.Name)) {
				tp.TenantIndex = ix
				break
			}
		}
		if t.Partitioned {
			c.problem(tp, "already has %s and is partitioned: finishing a partitioned table that already carries the column is not supported yet; list it under global or exclude", ident.QuoteIfNeeded(tn.Column))
		}
		tp.Reason = fmt.Sprintf("already has %s; not in scope: finished as is", tn.Column)
		var todo []string
		if tp.TenantFK == nil {
			todo = append(todo, "foreign key to "+tn.Table.String()+" added")
		}
		if tp.TenantIndex == nil {
			todo = append(todo, "index added")
		}
		if !col.NotNull {
			todo = append(todo, "NOT NULL")
		}
		if len(todo) > 0 {
			tp.Reason += " (" + strings.Join(todo, ", ") + ")"
		}
	}
}

// ViewPlan is a view or materialized view that reads org-owned or
// user-owned rows: a scoped, already scoped or excluded table, directly or
// through other views. A view that runs with its owner's rights shows those
// rows to whoever may read it, past every row-level security policy.
type ViewPlan struct {
	View *introspect.View
	// Reads are the tables of those classes it reads, by name.
	Reads []*TablePlan
}

// Name is the view's display name.
func (v *ViewPlan) Name() string { return v.View.QualifiedName() }

// views finds the views over protected tables, following views that read
// views (a cycle cannot occur in PostgreSQL, but is guarded anyway).
func (c *classifier) views() {
	byName := map[string]*introspect.View{}
	for _, v := range c.db.Views {
		byName[key(v.Schema, v.Name)] = v
	}
	protected := func(tp *TablePlan) bool {
		return tp.Class.Scoped() || tp.Class == AlreadyScoped || tp.Class == Excluded || tp.Class == TenantRoot
	}
	// A view may read a partition by name: its rows are the partitioned
	// table's, and row-level security on a partition read directly is the
	// partition's own, so the partition counts as its root.
	partOf := map[string]*TablePlan{}
	for _, tp := range c.plan.Tables {
		for _, p := range tp.Table.Partitions {
			partOf[key(p.Schema, p.Name)] = tp
		}
	}
	for _, v := range c.db.Views {
		if !c.pol.InSchemas(v.Schema) {
			continue
		}
		seen := map[string]bool{}
		found := map[*TablePlan]bool{}
		var walk func(v *introspect.View)
		walk = func(v *introspect.View) {
			for _, r := range v.Reads {
				k := key(r.Schema, r.Name)
				if seen[k] {
					continue
				}
				seen[k] = true
				tp := c.byKey[k]
				if tp == nil {
					tp = partOf[k]
				}
				if tp != nil && protected(tp) {
					found[tp] = true
				} else if inner := byName[k]; inner != nil {
					walk(inner)
				}
			}
		}
		walk(v)
		if len(found) == 0 {
			continue
		}
		vp := &ViewPlan{View: v}
		for tp := range found {
			vp.Reads = append(vp.Reads, tp)
		}
		sort.Slice(vp.Reads, func(i, j int) bool { return vp.Reads[i].Name() < vp.Reads[j].Name() })
		c.plan.Views = append(c.plan.Views, vp)
	}
}

// excludedOwners finds the ownership column of every excluded table: its
// row-level security lets each user reach only their own rows.
func (c *classifier) excludedOwners() {
	for _, tp := range c.plan.Tables {
		if tp.Class == Excluded && tp.Owner == nil {
			c.findOwner(tp)
		}
	}
}
