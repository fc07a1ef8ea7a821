package policy

import (
	"fmt"
	"strings"

	"github.com/warden-sql/warden/internal/ident"
)

// validate is phase two: checks across keys, which need the whole file
// (schemas may come after the tables that use them). It qualifies bare table
// names with the first schema, then checks in a fixed order so that the
// reported error does not depend on map iteration.
func validate(p *Policy) {
	def := p.Schemas[0]
	qualify := func(t *TableRef) {
		if t.Schema == "" {
			t.Schema = def
		}
	}
	qualify(&p.Tenant.Table)
	qualify(&p.Users.Table)
	if p.Membership != nil {
		qualify(&p.Membership.Table)
	}
	for _, list := range [][]TableRef{p.Scope, p.Exclude, p.Global, p.Critical} {
		for i := range list {
			qualify(&list[i])
		}
	}
	for i := range p.Tables {
		qualify(&p.Tables[i].Table)
		if p.Tables[i].Via != nil {
			qualify(p.Tables[i].Via)
		}
		for j := range p.Tables[i].OrgFrom {
			qualify(&p.Tables[i].OrgFrom[j].Table)
		}
	}

	// The claim names the tenant column unless the policy gave a path.
	switch {
	case p.Context.Kind == ContextSupabase:
		p.Context.Claim = []string{"app_metadata", p.Tenant.Column}
	case p.Context.Kind == ContextJWT && p.Context.Claim == nil:
		p.Context.Claim = []string{p.Tenant.Column}
	}

	governed := func(t TableRef, what string) {
		if !p.InSchemas(t.Schema) {
			failRef(t, "%s is in schema %s, which is not in schemas [%s]; %s", t, ident.QuoteIfNeeded(t.Schema), schemaList(p.Schemas), what)
		}
	}
	tenant := p.Tenant.Table
	governed(tenant, "the tenant table must be in a governed schema: add its schema to schemas")
	if p.Users.Table.SameTable(tenant) {
		failRef(p.Users.Table, "the users table %s cannot also be the tenant table (%s)", p.Users.Table, at(tenant))
	}
	for i, o := range p.Ownership {
		if o.Column == p.Tenant.Column {
			failAt(o.Pos, fmt.Sprintf("ownership[%d].column", i), o.Column, "%s is the tenant column (tenant.column); an ownership column holds the owning user", ident.QuoteIfNeeded(o.Column))
		}
	}
	if m := p.Membership; m != nil {
		governed(m.Table, "the membership table must be in a governed schema: add its schema to schemas")
		if m.Table.SameTable(tenant) {
			failRef(m.Table, "the membership table cannot be the tenant table (%s)", at(tenant))
		}
		if m.Table.SameTable(p.Users.Table) {
			failRef(m.Table, "the membership table cannot be the users table (%s)", at(p.Users.Table))
		}
	}

	// Roots: tables whose class is fixed by their role, not by a decision.
	notRoot := func(t TableRef) {
		if t.SameTable(tenant) {
			failRef(t, "%s is the tenant table (%s); a tenant root takes no other decision", t, at(tenant))
		}
		if m := p.Membership; m != nil && t.SameTable(m.Table) {
			failRef(t, "%s is the membership table (%s); a tenant root takes no other decision", t, at(m.Table))
		}
	}
	// A table outside schemas is never classified, so a decision about it
	// would be dead text, except about the users table, which can be named
	// without governing its schema.
	listed := func(t TableRef) {
		if !t.SameTable(p.Users.Table) {
			governed(t, "add its schema to schemas or remove the entry")
		}
	}
	// Each check below looks tables up in maps: a policy may list tens of
	// thousands of tables, and pairwise comparisons would be quadratic.
	unique := func(list []TableRef) map[tableKey]TableRef {
		seen := make(map[tableKey]TableRef, len(list))
		for _, t := range list {
			if u, ok := seen[keyOf(t)]; ok {
				failRef(t, "%s is listed twice (first at %s as %s); remove one", t, posLC(u.Pos), u.Key)
			}
			seen[keyOf(t)] = t
		}
		return seen
	}
	var sets []map[tableKey]TableRef
	for _, list := range [][]TableRef{p.Scope, p.Exclude, p.Global, p.Critical} {
		for _, t := range list {
			listed(t)
		}
		sets = append(sets, unique(list))
	}
	exclude, global := sets[1], sets[2]
	for _, list := range [][]TableRef{p.Scope, p.Exclude, p.Global} {
		for _, t := range list {
			notRoot(t)
		}
	}
	// Report in the order the pairwise checks did: the first scope entry
	// that is also excluded or global, in the order of those lists.
	for _, list := range [][]TableRef{p.Exclude, p.Global} {
		for _, e := range list {
			if s, ok := sets[0][keyOf(e)]; ok {
				failRef(e, "%s is in scope (%s) and also listed under %s; a table gets one decision", e, at(s), strings.SplitN(e.Key, "[", 2)[0])
			}
		}
	}
	for _, g := range p.Global {
		if e, ok := exclude[keyOf(g)]; ok {
			failRef(g, "%s is both global and excluded (%s); a table gets one decision", g, at(e))
		}
	}

	// decided returns the exclude or global entry for t, if any.
	decided := func(t TableRef) (TableRef, string, bool) {
		if e, ok := exclude[keyOf(t)]; ok {
			return e, ClassExcluded, true
		}
		if g, ok := global[keyOf(t)]; ok {
			return g, ClassGlobal, true
		}
		return TableRef{}, "", false
	}
	overrides := make(map[tableKey]TableRef, len(p.Tables))
	for _, o := range p.Tables {
		t := o.Table
		listed(t)
		notRoot(t)
		if u, ok := overrides[keyOf(t)]; ok {
			failRef(t, "%s already has an override (%s); merge them", t, at(u))
		}
		overrides[keyOf(t)] = t
		if e, class, ok := decided(t); ok {
			failRef(t, "%s is already %s (%s); a table gets one decision: remove one of them", t, class, at(e))
		}
	}
	decisions := p.Decisions()
	for _, o := range p.Tables {
		v := o.Via
		if v == nil {
			continue
		}
		if v.SameTable(o.Table) {
			failRef(*v, "via names the table itself; name the FK parent %s inherits its org from", o.Table)
		}
		governed(*v, "via must name a scoped parent in a governed schema")
		// A parent that stays unscoped has no tenant column to inherit.
		if e, class, ok := decided(*v); ok {
			failRef(*v, "the parent %s is %s (%s), so it has no %s to inherit; choose a scoped parent", v, class, at(e), ident.QuoteIfNeeded(p.Tenant.Column))
		}
		if po, ok := decisions.Override(*v); ok && (po.Class == ClassExcluded || po.Class == ClassGlobal) {
			failRef(*v, "the parent %s is %s (%s.class), so it has no %s to inherit; choose a scoped parent", v, po.Class, po.Table.Key, ident.QuoteIfNeeded(p.Tenant.Column))
		}
	}
}

func failRef(t TableRef, format string, args ...any) {
	panic(bailout{t.Errorf(format, args...)})
}

// at describes where another reference is written, for errors that name
// two places.
func at(t TableRef) string {
	return t.Key + " at " + posLC(t.Pos)
}

func posLC(p Pos) string {
	return fmt.Sprintf("%d:%d", p.Line, p.Column)
}

func schemaList(s []string) string {
	q := make([]string, len(s))
	for i, x := range s {
		q[i] = ident.QuoteIfNeeded(x)
	}
	return strings.Join(q, ", ")
}
