package classify

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/warden-sql/warden/internal/ident"
	"github.com/warden-sql/warden/introspect"
	"github.com/warden-sql/warden/policy"
)

// configProblem records a policy setting that contradicts the database at
// pos: exit code 2, every one listed, each naming the key to change.
func (c *classifier) configProblem(pos policy.Pos, key, format string, args ...any) {
	e := &policy.Error{Pos: pos, Key: key, Msg: fmt.Sprintf(format, args...)}
	c.plan.Problems = append(c.plan.Problems, Problem{Config: true, Msg: e.Error()})
}

// requestDefault matches a column default that depends on the request
// (Supabase's auth.uid(), a setting, the JWT claims): outside a request it
// yields NULL, so it gives the default org row nothing.
var requestDefault = regexp.MustCompile(`(?i)\bauth\.(uid|jwt|role|email)\s*\(|current_setting\s*\(|request\.jwt`)

// checkTenant checks the tenant settings against the tenant table: the
// key exists with the policy's type, the default org row can be inserted
// (every NOT NULL column without a usable default has a value in
// default_org_values), and the values name real columns. The membership
// table's org column must have the key's type too.
func (c *classifier) checkTenant() {
	tn := c.pol.Tenant
	tp := c.lookup(tn.Table)
	if tp == nil {
		return // reported by checkReferences
	}
	t := tp.Table
	key := t.Column(tn.Key)
	if key == nil {
		c.configProblem(tn.Pos, "tenant.key", "%s has no column %s%s", t.QualifiedName(), ident.QuoteIfNeeded(tn.Key), didYouMean(tn.Key, t))
		return
	}
	if !sameKeyType(key.Type, tn.Type) {
		c.configProblem(tn.Pos, "tenant.type", "%s.%s is %s but tenant.type is %s; set tenant.type: %s (and default_org to a value of that type)",
			t.QualifiedName(), ident.QuoteIfNeeded(tn.Key), key.Type, tn.Type, suggestType(key.Type))
	}
	if m := c.pol.Membership; m != nil {
		if mp := c.lookup(m.Table); mp != nil {
			if col := mp.Table.Column(m.OrgColumn); col != nil && !sameKeyType(col.Type, tn.Type) {
				c.configProblem(m.Table.Pos, "membership.org_column", "%s.%s is %s, but the tenant key %s.%s is %s; name the membership column that holds the org key",
					mp.Name(), ident.QuoteIfNeeded(m.OrgColumn), col.Type, t.QualifiedName(), ident.QuoteIfNeeded(tn.Key), key.Type)
			}
		}
	}
	for _, v := range tn.DefaultOrgValues {
		if t.Column(v.Column) == nil {
			c.configProblem(v.Pos, "tenant.default_org_values."+v.Column, "%s has no column %s%s", t.QualifiedName(), ident.QuoteIfNeeded(v.Column), didYouMean(v.Column, t))
		}
	}
	c.checkPersonalOrgs(t, key)
	if tn.DefaultOrgExists {
		return
	}
	if missing := missingTenantValues(t, tn); len(missing) > 0 {
		c.configProblem(tn.Pos, "tenant.default_org_values", "the default org row cannot be inserted into %s: NOT NULL column%s %s need%s a value; give %s in tenant.default_org_values, or set tenant.default_org_exists: true and create the row yourself",
			t.QualifiedName(), plural(len(missing)), strings.Join(missing, ", "), verbS(len(missing)), pronoun(len(missing)))
	}
}

// checkPersonalOrgs checks that membership.personal_orgs can create an
// org and a membership per user: the tenant key makes its own value (a
// uuid or text key gets a random one, an integer key needs a default or
// identity), the tenant table's required columns have values
// (default_org_values, which personal orgs share), and the membership
// table's have member_values.
func (c *classifier) checkPersonalOrgs(t *introspect.Table, key *introspect.Column) {
	m := c.pol.Membership
	if m == nil || !m.PersonalOrgs {
		return
	}
	tn := c.pol.Tenant
	if (tn.Type == "bigint" || tn.Type == "integer") && key.Default == "" && key.Identity == "" {
		c.configProblem(m.PersonalOrgsPos, "membership.personal_orgs", "%s.%s has no default or identity, so a personal org gets no key; give the column a sequence default, or drop personal_orgs",
			t.QualifiedName(), ident.QuoteIfNeeded(tn.Key))
	}
	// Without default_org_exists, the default org's own check reports
	// the same columns.
	if missing := missingTenantValues(t, tn); len(missing) > 0 && tn.DefaultOrgExists {
		c.configProblem(m.PersonalOrgsPos, "membership.personal_orgs", "a personal org cannot be inserted into %s: NOT NULL column%s %s need%s a value; give %s in tenant.default_org_values (text values get the user's id appended, for unique columns)",
			t.QualifiedName(), plural(len(missing)), strings.Join(missing, ", "), verbS(len(missing)), pronoun(len(missing)))
	}
	mp := c.lookup(m.Table)
	if mp == nil {
		return
	}
	has := map[string]bool{}
	for _, v := range m.MemberValues {
		has[v.Column] = true
		if mp.Table.Column(v.Column) == nil {
			c.configProblem(v.Pos, "membership.member_values."+v.Column, "%s has no column %s%s", mp.Name(), ident.QuoteIfNeeded(v.Column), didYouMean(v.Column, mp.Table))
		}
	}
	var missing []string
	for _, col := range mp.Table.Columns {
		if col.Name == m.UserColumn || col.Name == m.OrgColumn || col.Name == m.PrimaryColumn || has[col.Name] {
			continue
		}
		if col.NotNull && col.Identity == "" && !col.Generated && (col.Default == "" || requestDefault.MatchString(col.Default)) {
			missing = append(missing, ident.QuoteIfNeeded(col.Name)+" ("+col.Type+", no usable default)")
		}
	}
	if len(missing) > 0 {
		c.configProblem(m.PersonalOrgsPos, "membership.member_values", "a personal org's membership cannot be inserted into %s: NOT NULL column%s %s need%s a value; give %s in membership.member_values",
			mp.Name(), plural(len(missing)), strings.Join(missing, ", "), verbS(len(missing)), pronoun(len(missing)))
	}
}

// missingTenantValues lists the tenant table's columns that an org row
// inserted with tenant.default_org_values would leave without a value,
// each with why.
func missingTenantValues(t *introspect.Table, tn policy.Tenant) []string {
	var missing []string
	for _, col := range t.Columns {
		if why := NeedsDefaultOrgValue(col, tn.Key); why != "" && !tn.HasValue(col.Name) {
			missing = append(missing, ident.QuoteIfNeeded(col.Name)+" ("+why+")")
		}
	}
	return missing
}

// NeedsDefaultOrgValue says why the default org row needs a value for col
// of the tenant table keyed by key, "" when it does not: a NOT NULL column
// with no default, or with one that reads the request. The key, identity
// and generated columns fill themselves, and warden writes
// default_org_name into "name".
func NeedsDefaultOrgValue(col *introspect.Column, key string) string {
	if !col.NotNull || col.Name == key || col.Name == "name" || col.Identity != "" || col.Generated {
		return ""
	}
	switch {
	case col.Default == "":
		return col.Type + ", no default"
	case requestDefault.MatchString(col.Default):
		return fmt.Sprintf("default %s is NULL outside a request", col.Default)
	}
	return ""
}

// sameKeyType reports whether a catalog type is the policy's tenant type.
func sameKeyType(catalog, typ string) bool {
	got, ok := policy.TenantTypeOf(catalog)
	return ok && got == typ
}

// suggestType is the tenant.type to write for a catalog type.
func suggestType(catalog string) string {
	if typ, ok := policy.TenantTypeOf(catalog); ok {
		return typ
	}
	return catalog + " (not supported: use a uuid, text, bigint or integer key)"
}

// checkColumnNames reports policy column names that match no column where
// one is expected: an ownership column on no governed table, a membership
// column the table lacks. A name that differs only in case ("userId" read
// as userid) gets a did-you-mean.
func (c *classifier) checkColumnNames() {
	if m := c.pol.Membership; m != nil {
		if mp := c.lookup(m.Table); mp != nil {
			for _, col := range []struct{ key, name string }{
				{"membership.user_column", m.UserColumn}, {"membership.org_column", m.OrgColumn},
				{"membership.primary_column", m.PrimaryColumn}, {"membership.order_column", m.OrderColumn},
			} {
				if col.name != "" && mp.Table.Column(col.name) == nil {
					c.configProblem(m.Table.Pos, col.key, "%s has no column %s%s", mp.Name(), ident.QuoteIfNeeded(col.name), didYouMean(col.name, mp.Table))
				}
			}
		}
	}
	names := map[string]bool{}
	var all []string
	for _, t := range c.db.Tables {
		if !c.pol.InSchemas(t.Schema) {
			continue
		}
		for _, col := range t.Columns {
			if !names[col.Name] {
				names[col.Name] = true
				all = append(all, col.Name)
			}
		}
	}
	for i, o := range c.pol.Ownership {
		if names[o.Column] || o.Implied {
			continue
		}
		hint := "; remove it, or name a column that holds the owning user"
		if s := policy.Closest(o.Column, all); s != "" {
			hint = fmt.Sprintf(" (did you mean %s?)", ident.QuoteIfNeeded(s))
		}
		c.configProblem(o.Pos, fmt.Sprintf("ownership[%d].column", i), "no table of schemas %s has a column %s%s", strings.Join(c.pol.Schemas, ", "), ident.QuoteIfNeeded(o.Column), hint)
	}
}

// didYouMean suggests the column of t that name most likely misspells.
func didYouMean(name string, t *introspect.Table) string {
	var cols []string
	for _, col := range t.Columns {
		cols = append(cols, col.Name)
	}
	if s := policy.Closest(name, cols); s != "" {
		return fmt.Sprintf(" (did you mean %s?)", ident.QuoteIfNeeded(s))
	}
	return ""
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func verbS(n int) string {
	if n == 1 {
		return "s"
	}
	return ""
}

func pronoun(n int) string {
	if n == 1 {
		return "it a value"
	}
	return "each a value"
}
