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
	unique := func(list []TableRef) {
		for i, t := range list {
			for _, u := range list[:i] {
				if t.SameTable(u) {
					failRef(t, "%s is listed twice (first at %s as %s); remove one", t, posLC(u.Pos), u.Key)
				}
			}
		}
	}
	for _, list := range [][]TableRef{p.Scope, p.Exclude, p.Global, p.Critical} {
		for _, t := range list {
			listed(t)
		}
		unique(list)
	}
	for _, list := range [][]TableRef{p.Scope, p.Exclude, p.Global} {
		for _, t := range list {
			notRoot(t)
		}
	}
	for _, s := range p.Scope {
		for _, list := range [][]TableRef{p.Exclude, p.Global} {
			for _, e := range list {
				if s.SameTable(e) {
					failRef(e, "%s is in scope (%s) and also listed under %s; a table gets one decision", e, at(s), strings.SplitN(e.Key, "[", 2)[0])
				}
			}
		}
	}
	for _, g := range p.Global {
		for _, e := range p.Exclude {
			if g.SameTable(e) {
				failRef(g, "%s is both global and excluded (%s); a table gets one decision", g, at(e))
			}
		}
	}

	// decided returns the exclude or global entry for t, if any.
	decided := func(t TableRef) (TableRef, string, bool) {
		for _, e := range p.Exclude {
			if e.SameTable(t) {
				return e, ClassExcluded, true
			}
		}
		for _, g := range p.Global {
			if g.SameTable(t) {
				return g, ClassGlobal, true
			}
		}
		return TableRef{}, "", false
	}
	for i, o := range p.Tables {
		t := o.Table
		listed(t)
		notRoot(t)
		for _, u := range p.Tables[:i] {
			if t.SameTable(u.Table) {
				failRef(t, "%s already has an override (%s); merge them", t, at(u.Table))
			}
		}
		if e, class, ok := decided(t); ok {
			failRef(t, "%s is already %s (%s); a table gets one decision: remove one of them", t, class, at(e))
		}
	}
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
		if po, ok := p.Override(*v); ok && (po.Class == ClassExcluded || po.Class == ClassGlobal) {
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
