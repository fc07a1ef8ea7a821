package migrations

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/warden-sql/warden/generator/classify"
	"github.com/warden-sql/warden/internal/ident"
	"github.com/warden-sql/warden/introspect"
	"github.com/warden-sql/warden/policy"
)

// This file plans phase 8, distribution on Citus (policy distribute:),
// from the schema model: which unique keys of the org-owned tables must
// be rebuilt to lead with the tenant column, which foreign keys Citus
// cannot keep and which it keeps as composite keys, and which tables
// become reference tables. What Citus itself refuses is found here, at
// generation, not half-way through a run.

// distKey is one unique key of an org-owned table that does not include
// the tenant column: Citus refuses such a key on a distributed table, so
// an index (tenant column, key...) is built concurrently and swapped in.
type distKey struct {
	// Old is the existing index (quoted, qualified) and OldName its bare
	// quoted name; OldLit the qualified name as a literal.
	Old, OldName, OldLit string
	// New is the index built (bare, quoted), NewQ qualified, NewLit the
	// qualified name as a literal.
	New, NewQ, NewLit string
	// NewRawLit is the bare new name as a literal, for format('%I').
	NewRawLit string
	// On is the relation the index is built on (quoted, qualified): the
	// table, or a partition of a partitioned table.
	On string
	// Cols are the new key's columns, the tenant column first.
	Cols string
	// Where is the old key's predicate ("" for none).
	Where string
	// Primary: the old key is the primary key; Constraint, when not
	// primary, names the unique constraint (bare, quoted) that owns it, or
	// "" for a plain unique index (the swap then checks the catalog).
	Primary bool
	// Target is the relation for comments.
	Target string
	// ByUser: the key is led by the table's user column (an excluded
	// table sharded by user), not the tenant column.
	ByUser  bool
	rawName string
}

// distFK is a foreign key between two org-owned tables, rebuilt as a
// composite key on (tenant column, columns...) so Citus can enforce it
// inside one shard, and so no row can point at another org's parent.
type distFK struct {
	Name, NameLit string // quoted constraint name, its literal
	Cols          string // the new key's columns, the tenant column first
	Parent        string // quoted, qualified
	RefCols       string
	Actions       string // ON DELETE ... ON UPDATE ...
}

// droppedFK is a foreign key the distribution drops: Citus cannot enforce
// a key from a reference or local table into a distributed one.
type droppedFK struct {
	On      string // quoted, qualified table holding it
	Name    string // quoted constraint name
	Display string // table.constraint, for comments and the report
	// Rebuilt: a composite key replaces it after the distribution.
	Rebuilt bool
	// Why says why it is not rebuilt, for comments and the report.
	Why string
}

// distTable is what the phase 8 templates need for one org-owned table.
type distTable struct {
	Keys []distKey
	// Partitioned keys are swapped partition by partition, then the
	// parent's primary key is added over the partitions' ones.
	PartKeys []distKey
	// PrimaryName is the primary key constraint (bare, quoted), PrimaryCols
	// the new primary key's columns; set for a partitioned table with one.
	PrimaryName, PrimaryCols string
	// Dropped are the foreign keys into this table's keys, dropped before
	// its keys change.
	Dropped []droppedFK
	// FKs are the table's own foreign keys to other org-owned tables,
	// added back as composite keys once every table is distributed.
	FKs []distFK
	// Triggers are warden's triggers on the table (quoted bare names):
	// Citus does what they did, and refuses a distributed table with them.
	Triggers []trigName
	// AppTriggers: the app has triggers of its own on the table, which
	// Citus distributes only with citus.enable_unsafe_triggers.
	AppTriggers []string
	// ColocateWith is the table every org-owned table is colocated with
	// (a literal), "" for that first table itself ('none' for the first
	// table distributed by its user: a colocation group of its own).
	ColocateWith string
	// ByUser: an excluded table distributed by its user column
	// (distribute.excluded: user), which is then the table's Col: no
	// default, no warden trigger, colocated with the other user tables.
	ByUser bool
}

// refTable is a table the distribution copies to every node.
type refTable struct {
	common
	T, Lit, Display string
	AppTriggers     []string
	// WardenTriggers are warden's triggers on the table (quoted names),
	// dropped before it is copied: on a worker they would read tables of
	// other nodes, which Citus refuses. slug names the step.
	WardenTriggers []trigName
	slug           string
}

// trigName is a trigger's name quoted (Q) and as a literal (Lit).
type trigName struct{ Q, Lit string }

func trig(name string) trigName { return trigName{Q: ident.Quote(name), Lit: ident.Literal(name)} }

// citusData is what the phase 8 Once steps need.
type citusData struct {
	common
	// References are the reference tables, referenced tables first.
	References []refTable
	// Local are the excluded tables left on the coordinator (literals).
	Local []refTable
	// ByUser are the excluded tables distributed by their user column
	// (distribute.excluded: user), referenced tables first.
	ByUser []*tableData
	// Roles are the API roles that must log in on the workers (Citus opens
	// its connections to them as the current role).
	Roles []string
	// Settings are the request settings begin_request() passes on to the
	// workers (literals): the app's own policies read them there.
	Settings []string
	// BeginOrg is the expression warden.begin_request() settles the
	// request's org with.
	BeginOrg string
	// ViewSchemas are the governed schemas (literals) whose views' and
	// materialized views' privileges dist_setup records: Citus recreates
	// a distributed table's views with default privileges.
	ViewSchemas []string
}

// settingName is a custom setting's name that SET accepts unquoted.
var settingName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$`)

// citusFuncBase turns a table-derived function name base into one that
// needs no quotes: Citus propagates GRANT and REVOKE on a function with
// its name unquoted, so "LeadScores_fill_org_id" would reach the workers
// as leadscores_fill_org_id, a function that does not exist there.
func citusFuncBase(base string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(base) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	s := b.String()
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		s = "t_" + s
	}
	return s
}

// citusOn reports whether the policy distributes on Citus.
func citusOn(p *policy.Policy) bool {
	return p.Distribute != nil && p.Distribute.Target == policy.DistributeCitus
}

// planDistribution fills in d.Dist for every org-owned table and returns
// the data of the Once steps. It refuses, naming the table, what Citus
// would refuse half-way through a run.
func planDistribution(c common, plan *classify.Plan, db *introspect.Database, all []*tableData) (*citusData, error) {
	rels := relationsOf(db)
	owned := map[relKey]*tableData{}
	for _, d := range all {
		owned[relKey{d.schema, d.name}] = d
	}
	cd := &citusData{common: c, BeginOrg: c.AuthOrgCall}
	if c.AuthUserText == "" {
		cd.BeginOrg = c.AuthOrgExpr
	}
	refs := referenceTables(plan, rels, all, owned)
	pol := plan.Policy
	for _, schema := range pol.Schemas {
		cd.ViewSchemas = append(cd.ViewSchemas, ident.Literal(schema))
	}
	if pol.Distribute.Excluded == policy.ExcludedUser {
		var byUser []*introspect.Table
		plans := map[*introspect.Table]*classify.TablePlan{}
		for _, tp := range plan.Tables {
			if tp.Class == classify.Excluded && !slices.Contains(refs, tp.Table) {
				byUser = append(byUser, tp.Table)
				plans[tp.Table] = tp
			}
		}
		for _, t := range referencedFirst(byUser) {
			d, err := byUserData(c, plans[t])
			if err != nil {
				return nil, err
			}
			cd.ByUser = append(cd.ByUser, d)
		}
	}
	// Every distributed table, by org or by user, with its shard column
	// (d.ColName).
	sharded := map[relKey]*tableData{}
	for _, d := range append(append([]*tableData(nil), all...), cd.ByUser...) {
		sharded[relKey{d.schema, d.name}] = d
	}
	// Keys first: the foreign keys into a replaced key are dropped with it.
	replaced := map[relKey][]*introspect.Index{}
	for k, d := range sharded {
		t := d.tp.Table
		for _, ix := range t.Indexes {
			if !ix.Unique || slices.Contains(ix.Columns, d.ColName) {
				continue
			}
			if ix.Method != "btree" {
				return nil, fmt.Errorf("distribute: %s: unique index %s uses %s; Citus needs every unique key of a distributed table to include %s, and warden rebuilds only btree keys", t.QualifiedName(), ix.Name, ix.Method, d.ColName)
			}
			replaced[k] = append(replaced[k], ix)
		}
	}
	refersTo := func(fk *introspect.ForeignKey) bool {
		for _, ix := range replaced[relKey{fk.RefSchema, fk.RefTable}] {
			if sameSet(ix.Columns, fk.RefColumns) {
				return true
			}
		}
		return false
	}
	for i, d := range all {
		colocate := ""
		if i > 0 {
			colocate = ident.Literal(all[0].tp.Table.QualifiedName())
		}
		if err := planKeys(d, replaced[relKey{d.schema, d.name}], colocate, false); err != nil {
			return nil, err
		}
	}
	for i, d := range cd.ByUser {
		colocate := ident.Literal("none")
		if i > 0 {
			colocate = ident.Literal(cd.ByUser[0].tp.Table.QualifiedName())
		}
		if err := planKeys(d, replaced[relKey{d.schema, d.name}], colocate, true); err != nil {
			return nil, err
		}
	}
	// Foreign keys into replaced keys: between tables sharded alike (by
	// org, or by user) they come back composite; from any other table
	// Citus cannot keep them. A key from a table sharded by user to one
	// sharded by org (or the other way) cannot be kept at all: the two
	// are in different colocation groups.
	for _, t := range db.Tables {
		src := sharded[relKey{t.Schema, t.Name}]
		for _, fk := range t.ForeignKeys {
			parent := sharded[relKey{fk.RefSchema, fk.RefTable}]
			if parent == nil {
				continue
			}
			alike := src != nil && src.Dist.ByUser == parent.Dist.ByUser
			if alike && !refersTo(fk) {
				continue
			}
			df := droppedFK{On: ident.Qualified(t.Schema, t.Name), Name: ident.Quote(fk.Name),
				Display: ident.Display(t.Schema, t.Name) + "." + fk.Name, Rebuilt: alike}
			switch {
			case src == nil:
				df.Why = "Citus cannot enforce a key from a reference or local table into a distributed one"
			case !alike:
				df.Why = "Citus cannot enforce a key between a table sharded by org and one sharded by user"
			case nullsOnChange(fk) != "":
				// Citus refuses SET NULL and SET DEFAULT on a key that
				// holds the shard column; NO ACTION instead would make the
				// app's deletes of a parent fail.
				df.Rebuilt = false
				df.Why = "Citus refuses " + nullsOnChange(fk) + " on a key that includes the shard column; the app clears the column itself"
			}
			parent.Dist.Dropped = append(parent.Dist.Dropped, df)
			if !df.Rebuilt {
				continue
			}
			cols, refCols := src.Col, parent.Col
			for i := range fk.Columns {
				cols += ", " + ident.Quote(fk.Columns[i])
				refCols += ", " + ident.Quote(fk.RefColumns[i])
			}
			src.Dist.FKs = append(src.Dist.FKs, distFK{Name: ident.Quote(fk.Name), NameLit: ident.Literal(fk.Name),
				Cols: cols, Parent: parent.T, RefCols: refCols, Actions: fkActions(fk)})
		}
	}
	for _, d := range cd.ByUser {
		d.Dist.AppTriggers = appTriggers(d.tp.Table)
	}
	for _, d := range all {
		d.Dist.Triggers = []trigName{trig(fillTriggerName), trig(immutableTriggerName), trig(parentTriggerName)}
		d.Dist.AppTriggers = appTriggers(d.tp.Table)
	}
	// The users table first: the others reference it. Outside the
	// governed schemas (Supabase's auth.users) it is not in the model.
	usersTable := rels.tables[relKey{pol.Users.Table.Schema, pol.Users.Table.Name}]
	if usersTable == nil {
		cd.References = append(cd.References, refTable{common: c, T: c.Users, Lit: ident.Literal(ident.Qualified(pol.Users.Table.Schema, pol.Users.Table.Name)),
			Display: ident.Display(pol.Users.Table.Schema, pol.Users.Table.Name), slug: sanitize(pol.Users.Table.Name)})
	}
	for _, t := range refs {
		rt := refTable{common: c, T: ident.Qualified(t.Schema, t.Name), Lit: ident.Literal(ident.Qualified(t.Schema, t.Name)),
			Display: t.QualifiedName(), AppTriggers: appTriggers(t), slug: sanitize(t.Name)}
		for _, tr := range t.Triggers {
			if isWardenTrigger(tr.Name) {
				rt.WardenTriggers = append(rt.WardenTriggers, trig(tr.Name))
			}
		}
		cd.References = append(cd.References, rt)
	}
	// Warden's own triggers on the users and membership tables, which the
	// model does not hold before the migration ran.
	for i := range cd.References {
		r := &cd.References[i]
		var own []string
		if r.T == c.Users && c.ClaimSync {
			own = append(own, "warden_set_org_claim")
		}
		if r.T == c.Users && c.PersonalOrg != nil {
			own = append(own, PersonalOrgTrigger)
		}
		if r.T == c.Membership && c.ClaimSync {
			own = append(own, MemberClaimTrigger)
		}
		for _, name := range own {
			if t := trig(name); !slices.Contains(r.WardenTriggers, t) {
				r.WardenTriggers = append(r.WardenTriggers, t)
			}
		}
		slices.SortFunc(r.WardenTriggers, func(a, b trigName) int { return strings.Compare(a.Q, b.Q) })
	}
	for _, tp := range plan.Tables {
		if tp.Class == classify.Excluded && pol.Distribute.Excluded == policy.ExcludedLocal && !slices.Contains(refs, tp.Table) {
			cd.Local = append(cd.Local, refTable{T: ident.Qualified(tp.Table.Schema, tp.Table.Name),
				Lit: ident.Literal(ident.Qualified(tp.Table.Schema, tp.Table.Name)), Display: tp.Table.QualifiedName()})
		}
	}
	// Every table that joins Citus has its policies copied to the shards,
	// where Citus refuses a subquery: found here, not by the file that
	// folds them half-way through the run.
	joins := map[relKey]bool{}
	for k := range sharded {
		joins[k] = true
	}
	for _, t := range refs {
		joins[relKey{t.Schema, t.Name}] = true
	}
	for _, tp := range plan.Tables {
		if tp.Class == classify.Excluded && pol.Distribute.Excluded == policy.ExcludedLocal {
			joins[relKey{tp.Table.Schema, tp.Table.Name}] = true // a Citus local table
		}
	}
	for _, t := range db.Tables {
		if !joins[relKey{t.Schema, t.Name}] {
			continue
		}
		for _, p := range t.Policies {
			for _, expr := range []string{p.Using, p.Check} {
				if hasSubquery(expr) {
					return nil, fmt.Errorf("distribute: %s: policy %q has a subquery (%s), which Citus refuses in the policies of its tables; rewrite it with a function call instead (a scalar (SELECT f()) is fine), or leave distribute out",
						t.QualifiedName(), p.Name, strings.Join(strings.Fields(expr), " "))
				}
			}
		}
	}
	switch ctx := pol.Context; ctx.Kind {
	case policy.ContextSupabase, policy.ContextJWT:
		cd.Settings = []string{ident.Literal("request.jwt.claims")}
	default:
		for _, s := range []string{ctx.Setting, ctx.UserSetting} {
			if settingName.MatchString(s) {
				cd.Settings = append(cd.Settings, ident.Literal(s))
			}
		}
	}
	if c.Context == policy.ContextSupabase {
		cd.Roles = []string{"anon", "authenticated", "service_role"}
	} else {
		for _, r := range c.RoleLits {
			cd.Roles = append(cd.Roles, strings.Trim(strings.ReplaceAll(r, "''", "'"), "'"))
		}
	}
	return cd, nil
}

// scalarCall is a scalar subquery of a bare function call as pg_get_expr
// prints it, "( SELECT auth.uid() AS uid)", which citus_fold_policies
// unwraps to the call; selectWord is any other SELECT. The two mirror the
// fold's regular expressions.
var (
	scalarCall = regexp.MustCompile(`\( SELECT ([A-Za-z0-9_."]+\(\)) AS [A-Za-z0-9_"]+\)`)
	selectWord = regexp.MustCompile(`\bSELECT\b`)
)

// hasSubquery reports whether a policy expression holds a subquery that
// citus_fold_policies cannot unwrap.
func hasSubquery(expr string) bool {
	return selectWord.MatchString(scalarCall.ReplaceAllString(expr, "$1"))
}

// referenceTables are the tables the distribution copies to every node,
// referenced tables first: the users, tenant and membership tables (what
// the request's org is read from), the global tables, the excluded ones
// where the policy places them so, and every table an org-owned table
// points at.
func referenceTables(plan *classify.Plan, rels relations, all []*tableData, owned map[relKey]*tableData) []*introspect.Table {
	var refs []*introspect.Table
	add := func(schema, name string) {
		if t := rels.tables[relKey{schema, name}]; t != nil && !slices.Contains(refs, t) {
			refs = append(refs, t)
		}
	}
	pol := plan.Policy
	add(pol.Users.Table.Schema, pol.Users.Table.Name)
	add(pol.Tenant.Table.Schema, pol.Tenant.Table.Name)
	if m := pol.Membership; m != nil {
		add(m.Table.Schema, m.Table.Name)
	}
	excludedRef := pol.Distribute.Excluded == policy.ExcludedReference
	for _, tp := range plan.Tables {
		if tp.Class == classify.Global || tp.Class == classify.Excluded && excludedRef {
			add(tp.Table.Schema, tp.Table.Name)
		}
	}
	for _, d := range all {
		for _, fk := range d.tp.Table.ForeignKeys {
			if owned[relKey{fk.RefSchema, fk.RefTable}] == nil {
				add(fk.RefSchema, fk.RefTable)
			}
		}
	}
	return referencedFirst(refs)
}

// byUserData is an excluded table as the phase 8 templates see it where
// the policy distributes excluded tables by their user
// (distribute.excluded: user): its owner column is the shard column, so it
// must have one, never NULL (Citus cannot place a row without it).
func byUserData(c common, tp *classify.TablePlan) (*tableData, error) {
	t := tp.Table
	switch {
	case tp.Owner == nil:
		return nil, fmt.Errorf("distribute: excluded: user: %s has no user column to shard it by; give it an owner column, or place excluded tables local or reference", t.QualifiedName())
	case !tp.Owner.NotNull:
		return nil, fmt.Errorf("distribute: excluded: user: %s.%s allows NULL, and Citus cannot place a row without its shard column; make it NOT NULL, or place excluded tables local or reference", t.QualifiedName(), tp.Owner.Name)
	}
	c.Col, c.ColName, c.ColLit = ident.Quote(tp.Owner.Name), tp.Owner.Name, ident.Literal(tp.Owner.Name)
	d := &tableData{common: c, Display: t.QualifiedName(), T: ident.Qualified(t.Schema, t.Name),
		Lit: ident.Literal(ident.Qualified(t.Schema, t.Name)), Schema: ident.Literal(t.Schema), Name: ident.Literal(t.Name),
		Class: string(tp.Class), Partitioned: t.Partitioned, schema: t.Schema, name: t.Name, tp: tp, Citus: true}
	for _, p := range t.Partitions {
		d.Partitions = append(d.Partitions, partData{T: ident.Qualified(p.Schema, p.Name), Lit: ident.Literal(ident.Qualified(p.Schema, p.Name)),
			Display: ident.Display(p.Schema, p.Name)})
	}
	return d, nil
}

// planKeys sets d.Dist: the unique keys of replaced rebuilt to lead with
// the table's shard column (d.ColName), and the table it is colocated
// with (a literal; "" for none).
func planKeys(d *tableData, replaced []*introspect.Index, colocate string, byUser bool) error {
	t, col := d.tp.Table, d.ColName
	dt := &distTable{ColocateWith: colocate, ByUser: byUser}
	for _, ix := range replaced {
		cols := ident.Quote(col)
		for _, k := range ix.Columns {
			if t.Column(k) == nil {
				return fmt.Errorf("distribute: %s: unique index %s has the expression %s; warden rebuilds keys of plain columns only", t.QualifiedName(), ix.Name, k)
			}
			cols += ", " + ident.Quote(k)
		}
		if !d.Partitioned {
			newName := ident.Derive(ix.Name, col)
			dt.Keys = append(dt.Keys, distKey{Old: ident.Qualified(d.schema, ix.Name), OldName: ident.Quote(ix.Name),
				OldLit: ident.Literal(ident.Qualified(d.schema, ix.Name)), New: ident.Quote(newName), NewQ: ident.Qualified(d.schema, newName), NewRawLit: ident.Literal(newName),
				NewLit: ident.Literal(ident.Qualified(d.schema, newName)), On: d.T, Cols: cols, Where: ix.Predicate,
				Primary: ix.Primary, Target: d.Display, ByUser: byUser, rawName: newName})
			continue
		}
		if !ix.Primary {
			return fmt.Errorf("distribute: %s: unique index %s of a partitioned table; warden rebuilds a partitioned table's primary key only", t.QualifiedName(), ix.Name)
		}
		dt.PrimaryName, dt.PrimaryCols = ident.Quote(ix.Name), cols
		for _, p := range t.Partitions {
			if !p.Leaf {
				return fmt.Errorf("distribute: %s: partition %s is itself partitioned; Citus distributes one level of partitions", t.QualifiedName(), p.Name)
			}
			// The partition's own key is the parent's, dropped with it;
			// the new index becomes the partition's key under its own name.
			newName := ident.Derive(p.Name, col+"_pkey")
			dt.PartKeys = append(dt.PartKeys, distKey{New: ident.Quote(newName), NewQ: ident.Qualified(p.Schema, newName), NewRawLit: ident.Literal(newName),
				NewLit: ident.Literal(ident.Qualified(p.Schema, newName)), On: ident.Qualified(p.Schema, p.Name), Cols: cols,
				Primary: true, Target: ident.Display(p.Schema, p.Name), ByUser: byUser, rawName: newName})
		}
	}
	d.Dist = dt
	return nil
}

// fkActions spells a foreign key's referential actions for its composite
// replacement (never SET NULL or SET DEFAULT: those keys are dropped).
func fkActions(fk *introspect.ForeignKey) string {
	s := "ON DELETE " + strings.ToUpper(cmp.Or(fk.OnDelete, "no action"))
	if fk.OnUpdate != "" && fk.OnUpdate != "no action" {
		s += " ON UPDATE " + strings.ToUpper(fk.OnUpdate)
	}
	return s
}

// nullsOnChange is the key's SET NULL or SET DEFAULT action as SQL
// ("ON DELETE SET NULL"), "" when it has none.
func nullsOnChange(fk *introspect.ForeignKey) string {
	for _, a := range []struct{ on, action string }{{"ON DELETE", fk.OnDelete}, {"ON UPDATE", fk.OnUpdate}} {
		if a.action == "set null" || a.action == "set default" {
			return a.on + " " + strings.ToUpper(a.action)
		}
	}
	return ""
}

// appTriggers are the quoted names of the app's own triggers on t.
func appTriggers(t *introspect.Table) []string {
	var out []string
	for _, tr := range t.Triggers {
		if !isWardenTrigger(tr.Name) {
			out = append(out, ident.Quote(tr.Name))
		}
	}
	return out
}

// isWardenTrigger reports whether a trigger name is one warden creates.
func isWardenTrigger(name string) bool {
	return strings.HasPrefix(name, "warden_") || strings.HasPrefix(name, "zz_warden_")
}

// referencedFirst orders tables so that a table comes after every table
// of the list it has a foreign key to (Citus copies a reference table
// only once what it references is one); ties keep the given order.
func referencedFirst(ts []*introspect.Table) []*introspect.Table {
	in := map[relKey]bool{}
	for _, t := range ts {
		in[relKey{t.Schema, t.Name}] = true
	}
	done := map[relKey]bool{}
	var out []*introspect.Table
	for len(out) < len(ts) {
		progress := false
		for _, t := range ts {
			k := relKey{t.Schema, t.Name}
			if done[k] {
				continue
			}
			ready := true
			for _, fk := range t.ForeignKeys {
				rk := relKey{fk.RefSchema, fk.RefTable}
				if rk != k && in[rk] && !done[rk] {
					ready = false
					break
				}
			}
			if ready {
				done[k], progress = true, true
				out = append(out, t)
			}
		}
		if !progress {
			// A cycle: keep the rest as given; Citus reports it.
			for _, t := range ts {
				if !done[relKey{t.Schema, t.Name}] {
					out = append(out, t)
					done[relKey{t.Schema, t.Name}] = true
				}
			}
		}
	}
	return out
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// distKeys are the key index builds of d, one step each.
func distKeys(d *tableData) []distKey {
	if d.Dist == nil {
		return nil
	}
	return append(append([]distKey(nil), d.Dist.Keys...), d.Dist.PartKeys...)
}

// distOnce adds the Once step of a Citus row.
func (b *stepBuilder) distOnce(row StepKind) {
	s := Step{Name: row.stepName(b.c.ColName, ""), Partition: -1, Probe: distProbe(row.Kind, nil, nil)}
	switch row.Kind {
	case KindDistSetup:
		s.Objects.Functions = []string{ident.Qualified(wardenSchema, "begin_request"), ident.Qualified(wardenSchema, "citus_fold_policies"), ident.Qualified(wardenSchema, "dist_restore_acls"), "public.auth_org_id"}
		s.Probe.Done = fmt.Sprintf("pg_catalog.to_regprocedure(%s) IS NOT NULL AND pg_catalog.to_regprocedure(%s) IS NOT NULL AND pg_catalog.to_regprocedure(%s) IS NOT NULL",
			ident.Literal(ident.Qualified(wardenSchema, "begin_request")+"()"), ident.Literal(ident.Qualified(wardenSchema, "citus_fold_policies")+"(regclass)"),
			ident.Literal(ident.Qualified(wardenSchema, "dist_restore_acls")+"()"))
	}
	b.add(row, s, b.dist)
}

// reference adds the step that copies one table to every node.
func (b *stepBuilder) reference(row StepKind, r refTable) {
	s := Step{Name: row.stepName(b.c.ColName, r.slug), Table: r.Display, Partition: -1,
		Probe: &Probe{Relation: r.T, Citus: true,
			Done: fmt.Sprintf("EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid = pg_catalog.to_regclass(%s) AND p.repmodel = 't')", r.Lit)}}
	b.add(row, s, r)
}

// distProbe is what shows a Citus step done in the catalog (Probe.Done).
// d is the step's table (nil for a Once step), k its key (dist_key_index).
func distProbe(k Kind, d *tableData, key *distKey) *Probe {
	p := &Probe{}
	if d == nil {
		return p
	}
	p.Relation = d.T
	col := ident.Literal(d.ColName)
	rel := "pg_catalog.to_regclass(" + d.Lit + ")"
	// keyed: every unique key of the relation includes the tenant column.
	keyed := func(rel string) string {
		return fmt.Sprintf(`(%[1]s IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index i
  JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attname = %[2]s
  WHERE i.indrelid = %[1]s AND i.indisunique AND NOT (a.attnum = ANY (i.indkey))))`, rel, col)
	}
	fks := func(validated bool) string {
		var names []string
		for _, fk := range d.Dist.FKs {
			names = append(names, fk.NameLit)
		}
		cond := ""
		if validated {
			cond = " AND c.convalidated"
		}
		return fmt.Sprintf(`(SELECT count(*) FROM pg_catalog.pg_constraint c
  JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attname = %s
  WHERE c.conrelid = %s AND c.contype = 'f' AND c.conname = ANY (ARRAY[%s]) AND a.attnum = ANY (c.conkey)%s) = %d`,
			col, rel, strings.Join(names, ", "), cond, len(names))
	}
	switch k {
	case KindDistKeyIndex:
		p.Done = fmt.Sprintf("EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indexrelid = pg_catalog.to_regclass(%s) AND i.indisvalid) OR %s",
			key.NewLit, keyed(rel))
	case KindDistPrepare:
		var trigs []string
		for _, t := range []string{fillTriggerName, immutableTriggerName, parentTriggerName} {
			trigs = append(trigs, ident.Literal(t))
		}
		p.Done = fmt.Sprintf(`%[1]s AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger g WHERE g.tgrelid = %[2]s AND g.tgname = ANY (ARRAY[%[3]s]))
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_policy p WHERE p.polrelid = %[2]s AND NOT p.polpermissive)`, keyed(rel), rel, strings.Join(trigs, ", "))
	case KindDistTable:
		p.Citus = true
		p.Done = fmt.Sprintf("EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid = %s AND p.partmethod = 'h')", rel)
	case KindDistFK:
		p.Done = fks(false)
	case KindDistFKValidate:
		p.Done = fks(true)
	}
	return p
}

// Distribution is what the Citus distribution does, for the report.
type Distribution struct {
	// Distributed are the org-owned tables, sharded by the tenant column
	// and colocated, in the order they are distributed.
	Distributed []string
	// Reference are the tables copied to every node; Local the excluded
	// tables left on the coordinator; ByUser the excluded tables sharded
	// by their user column (with it), colocated with one another.
	Reference, Local, ByUser []string
	// Unsafe are the tables whose own triggers need
	// citus.enable_unsafe_triggers, with the triggers.
	Unsafe []string
	// Dropped are the foreign keys Citus cannot keep, with why.
	Dropped []string
	// Rebuilt are the foreign keys kept as composite keys with the tenant
	// column; Keys the unique keys rebuilt to lead with it.
	Rebuilt, Keys []string
}

// Distributes plans the Citus distribution of plan (nil when the policy
// has none), from the plan's own tables, as Steps does.
func Distributes(plan *classify.Plan) (*Distribution, error) {
	if !citusOn(plan.Policy) {
		return nil, nil
	}
	db := &introspect.Database{Schemas: plan.Policy.Schemas}
	for _, tp := range plan.Tables {
		db.Tables = append(db.Tables, tp.Table)
	}
	c, err := newCommon(plan, db)
	if err != nil {
		return nil, err
	}
	var all []*tableData
	for _, tp := range append(append([]*classify.TablePlan(nil), plan.Scoped...), plan.Finished...) {
		d, err := newTableData(c, tp, plan.Policy)
		if err != nil {
			return nil, err
		}
		all = append(all, d)
	}
	cd, err := planDistribution(c, plan, db, all)
	if err != nil {
		return nil, err
	}
	out := &Distribution{}
	for _, d := range cd.ByUser {
		out.ByUser = append(out.ByUser, d.Display+" ("+d.ColName+")")
	}
	for _, d := range append(all, cd.ByUser...) {
		if !d.Dist.ByUser {
			out.Distributed = append(out.Distributed, d.Display)
		}
		if len(d.Dist.AppTriggers) > 0 {
			out.Unsafe = append(out.Unsafe, d.Display+" ("+strings.Join(d.Dist.AppTriggers, ", ")+")")
		}
		for _, k := range d.Dist.Keys {
			out.Keys = append(out.Keys, d.Display+"."+k.OldName+" → ("+k.Cols+")")
		}
		if d.Dist.PrimaryName != "" {
			out.Keys = append(out.Keys, d.Display+"."+d.Dist.PrimaryName+" → ("+d.Dist.PrimaryCols+")")
		}
		for _, f := range d.Dist.Dropped {
			if !f.Rebuilt {
				out.Dropped = append(out.Dropped, f.Display+": "+f.Why)
			}
		}
		for _, f := range d.Dist.FKs {
			out.Rebuilt = append(out.Rebuilt, d.Display+"."+f.Name+" ("+f.Cols+") → "+f.Parent+" ("+f.RefCols+")")
		}
	}
	for _, r := range cd.References {
		out.Reference = append(out.Reference, r.Display)
		if len(r.AppTriggers) > 0 {
			out.Unsafe = append(out.Unsafe, r.Display+" ("+strings.Join(r.AppTriggers, ", ")+")")
		}
	}
	for _, r := range cd.Local {
		out.Local = append(out.Local, r.Display)
	}
	return out, nil
}
