// Package verify renders the Go verification tests that warden commits
// beside the migrations: a test package that proves a database was migrated
// right, for every scoped table (org_id uuid, NOT NULL, foreign key to the
// tenant with the policy's ON DELETE and validated, a valid index led by
// org_id, no NULL rows, the fill and immutability triggers, inserts with no
// derivable org rejected, org_id changes rejected with the fixed SQLSTATE
// even under session_replication_role = replica while normal updates pass,
// RESTRICTIVE row-level security that keeps orgs apart), for the excluded
// and global tables (left untouched), public.auth_org_id() and every user's
// org claim.
//
// The package has two files. The checks never vary with the plan, so they
// are ordinary Go in kit/checks.go, compiled and vetted with warden and
// copied as ChecksFile. Only what the plan decides is generated, with
// jennifer, as DataFile: the names, the tables and the SQL derived from the
// plan the same way the migrations derive it (migrations.Names), so a
// reviewer reads exactly what is checked. Both import only the standard
// library and pgx, never warden: they must compile in any repository that
// adopts warden. Writes happen only inside transactions that are rolled
// back.
package verify

import (
	"bytes"
	_ "embed"
	"fmt"
	"go/token"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/warden-sql/warden/generator/classify"
	"github.com/warden-sql/warden/generator/migrations"
	"github.com/warden-sql/warden/internal/fileset"
	"github.com/warden-sql/warden/internal/ident"
	"github.com/warden-sql/warden/introspect"
	"github.com/warden-sql/warden/policy"
)

// DatabaseURLEnv names the environment variable the generated tests read
// the URL of the migrated database from. When it is unset they skip, saying
// so; it is the only skip in the generated package.
const DatabaseURLEnv = "WARDEN_VERIFY_DATABASE_URL"

// DefaultPackage is the package name Files uses when given none.
const DefaultPackage = "verify"

// Dir is the folder, relative to the output directory, that Files renders
// into; the files are one test package.
const Dir = "verify"

// DataFile and ChecksFile are the names of the two files of the package:
// what the plan says, and the checks that read it. CitusFile is a third,
// only where the policy distributes on Citus: the checks that replace
// those phase 8 changes the answer of.
const (
	DataFile   = "warden_verify_test.go"
	ChecksFile = "warden_checks_test.go"
	CitusFile  = "warden_citus_test.go"
)

// checksSource is the kit's checks, copied into every generated package.
// Embedding it by path, rather than importing the kit, keeps the kit's
// testing and pgx code out of the warden binary.
//
//go:embed kit/checks.go
var checksSource []byte

// citusSource is the kit's checks on a Citus cluster, copied as CitusFile.
//
//go:embed kit/citus.go
var citusSource []byte

// Files returns the verification test package for plan, in package pkg
// (DefaultPackage when empty), as paths relative to the output directory
// (Dir/DataFile and Dir/ChecksFile) mapped to their contents. The output is
// gofmt-clean and depends only on the plan: the same plan always gives the
// same bytes. A plan with problems is refused, as the migrations refuse it.
func Files(plan *classify.Plan, pkg string) (map[string][]byte, error) {
	if pkg == "" {
		pkg = DefaultPackage
	}
	if !token.IsIdentifier(pkg) || pkg == "_" {
		return nil, fmt.Errorf("verify: package name %q is not a Go identifier", pkg)
	}
	if err := plan.Err(); err != nil {
		return nil, err
	}
	m, err := newModel(plan)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.WriteString(fileset.HeaderGo + "\n\n")
	if err := m.file(pkg).Render(&buf); err != nil {
		return nil, fmt.Errorf("verify: rendering: %w", err)
	}
	checks, err := copyKit(checksSource, "checks.go", pkg)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{
		path.Join(Dir, DataFile):   buf.Bytes(),
		path.Join(Dir, ChecksFile): checks,
	}
	if m.distributed {
		citus, err := copyKit(citusSource, "citus.go", pkg)
		if err != nil {
			return nil, err
		}
		files[path.Join(Dir, CitusFile)] = citus
	}
	return files, nil
}

// kitClause is how each copied kit file begins: with its package clause
// and no comment above it, so that it is no package documentation
// (DataFile holds that) and the clause is all there is to replace.
const kitClause = "package kit\n"

// copyKit returns the kit file name (its source src) with the generated
// header, in package pkg. Line endings are made LF first: a checkout that
// turned them into CRLF must not change the output, or warden check would
// see drift.
func copyKit(src []byte, name, pkg string) ([]byte, error) {
	src = bytes.ReplaceAll(src, []byte("\r\n"), []byte("\n"))
	body, ok := bytes.CutPrefix(src, []byte(kitClause))
	if !ok {
		return nil, fmt.Errorf("verify: kit/%s does not begin with %q", name, strings.TrimSpace(kitClause))
	}
	out := []byte(fileset.HeaderGo + "\n\npackage " + pkg + "\n")
	return append(out, body...), nil
}

// model is what the rendered file states about the plan, as literals.
type model struct {
	orgColumn   string
	tenant      string // quoted, qualified
	tenantKey   string
	onDelete    string // as the policy spells it: cascade, restrict, ...
	newOrgSQL   string
	defaultOrg  string
	users       string // quoted, qualified
	usersKey    string
	fillTrigger string
	immTrigger  string
	accessPol   string
	policies    []policyModel
	scoped      []scopedModel
	excluded    []tableRef
	global      []tableRef
	// How the checks act as a request in an org (policy.RequestContext).
	orgType, context, setting, actingRole, probeOrg string
	claimPath, policyRoles                          []string
	keepsClaim                                      bool
	// distributed is set where the policy distributes on Citus: the
	// package gets CitusFile and beginRequestSQL.
	distributed bool
	// The membership lookups of checks acting as a member, where
	// public.auth_org_id() checks the claim against the membership table
	// (a membership table and a context whose requests name their user):
	// all "" otherwise.
	memberSQL, isMemberSQL, leaveSQL, memberOfSQL, someUserSQL, userOrgSQL string
}

type policyModel struct{ name, command string }

type tableRef struct{ schema, name string }

// scopedModel is one scoped table as the rendered file states it.
type scopedModel struct {
	schema, name string
	class        string
	comment      string // how the table gets its org
	foreignKey   string
	index        string
	indexColumns []string
	orgPolicy    bool
	updateColumn string
	noOrg        []columnValue
	noOrgNote    string // why noOrg is empty, when it is
	owner        string
	noFill       bool   // already carried the column: nothing fills it
	onDelete     string // its own foreign key's ON DELETE, when it kept one
	noOrgGets    string // the default org, where when_null gives it
}

type columnValue struct{ column, sql string }

// probeOrgs are org keys no org has, by tenant key type: the org of a
// request that must see nothing.
var probeOrgs = map[string]string{
	"uuid":    "00000000-0000-4000-8000-00000000a0a1",
	"text":    "warden-probe-org-a0a1",
	"bigint":  "-41121",
	"integer": "-41121",
}

// commands are the SQL commands of migrations.Names' Policies, in order.
var commands = []string{"SELECT", "INSERT", "UPDATE", "DELETE"}

func newModel(plan *classify.Plan) (*model, error) {
	pol := plan.Policy
	tn := pol.Tenant
	m := &model{
		orgColumn:  tn.Column,
		tenant:     ident.Qualified(tn.Table.Schema, tn.Table.Name),
		tenantKey:  tn.Key,
		onDelete:   tn.OnDelete,
		defaultOrg: tn.DefaultOrg,
		users:      ident.Qualified(pol.Users.Table.Schema, pol.Users.Table.Name),
		usersKey:   pol.Users.Key,
	}
	// The throwaway org the immutability checks move a row to gets the
	// columns the migrations give the default org.
	// A key of another type: one past the largest (integers), or a
	// random text.
	key := map[string]string{
		"uuid": "gen_random_uuid()",
		"text": "gen_random_uuid()::text",
	}[tn.Type]
	if key == "" {
		key = fmt.Sprintf("(SELECT coalesce(max(o.%s), 0) + 1 FROM %s o)", ident.Quote(tn.Key), m.tenant)
	}
	cols, vals := []string{ident.Quote(tn.Key)}, []string{key}
	tenant := tenantTable(plan)
	if tenant != nil && tenant.Column("name") != nil && !tn.HasValue("name") {
		cols, vals = append(cols, `"name"`), append(vals, "'warden verify (rolled back)'")
	}
	for _, v := range tn.DefaultOrgValues {
		// A text value gets a random suffix: the column may be unique (a
		// slug), and the default org already holds the value.
		val := ident.Literal(v.Value)
		if tenant != nil {
			if col := tenant.Column(v.Column); col != nil {
				if typ, _ := policy.TenantTypeOf(col.Type); typ == "text" {
					val = fmt.Sprintf("%s || '-' || gen_random_uuid()", val)
				}
			}
		}
		cols, vals = append(cols, ident.Quote(v.Column)), append(vals, val)
	}
	m.newOrgSQL = fmt.Sprintf("INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE VALUES (%s) RETURNING %s::text",
		m.tenant, strings.Join(cols, ", "), strings.Join(vals, ", "), ident.Quote(tn.Key))
	m.orgType, m.context, m.setting, m.claimPath = tn.Type, pol.Context.Kind, pol.Context.Setting, pol.Context.Claim
	m.keepsClaim = pol.Context.KeepsClaim()
	m.distributed = pol.Distribute != nil && pol.Distribute.Target == policy.DistributeCitus
	m.actingRole, m.probeOrg = "authenticated", probeOrgs[tn.Type]
	m.policyRoles = []string{"PUBLIC"}
	if len(pol.Context.Roles) > 0 {
		m.policyRoles = append([]string(nil), pol.Context.Roles...)
		sort.Strings(m.policyRoles)
	}
	if ms := pol.Membership; ms != nil && (pol.Context.Kind == policy.ContextSupabase || pol.Context.Kind == policy.ContextJWT) {
		mt, mu, mo := ident.Qualified(ms.Table.Schema, ms.Table.Name), ident.Quote(ms.UserColumn), ident.Quote(ms.OrgColumn)
		cols, vals := []string{mu, mo}, []string{"$1", "$2"}
		if t := planTable(plan, ms.Table.Schema, ms.Table.Name); t != nil {
			c, v := requiredValues(t, ms.UserColumn, ms.OrgColumn)
			cols, vals = append(cols, c...), append(vals, v...)
		}
		m.memberSQL = fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", mt, strings.Join(cols, ", "), strings.Join(vals, ", "))
		m.isMemberSQL = fmt.Sprintf("SELECT 1 FROM %s WHERE %s = $1 AND %s = $2 LIMIT 1", mt, mu, mo)
		m.leaveSQL = fmt.Sprintf("DELETE FROM %s WHERE %s = $1 AND %s = $2", mt, mu, mo)
		m.memberOfSQL = fmt.Sprintf("SELECT %s::text FROM %s WHERE %s = $1 ORDER BY 1 LIMIT 1", mu, mt, mo)
		m.someUserSQL = fmt.Sprintf("SELECT %s::text FROM %s ORDER BY 1 LIMIT 1", ident.Quote(pol.Users.Key), m.users)
		m.userOrgSQL = `SELECT "warden".user_org($1)::text`
	}
	if pol.Context.Kind != policy.ContextSupabase {
		m.actingRole = "warden_verify_app"
		if len(pol.Context.Roles) > 0 {
			m.actingRole = pol.Context.Roles[0]
		}
	}

	// The names every scoped table shares come from Names like the rest;
	// a stand-in table gives them when nothing is scoped.
	shared := migrations.Names(plan, &classify.TablePlan{Table: &introspect.Table{Schema: "public", Name: "t"}, Class: classify.Direct})
	if len(shared.Policies) != len(commands) {
		return nil, fmt.Errorf("verify: %d restrictive policies per table, want one per command (%s)", len(shared.Policies), strings.Join(commands, ", "))
	}
	m.fillTrigger, m.immTrigger, m.accessPol = shared.FillTrigger, shared.ImmutableTrigger, shared.PermissivePolicy
	for i, name := range shared.Policies {
		m.policies = append(m.policies, policyModel{name: name, command: commands[i]})
	}

	for _, tp := range plan.Scoped {
		n := migrations.Names(plan, tp)
		if n.FillTrigger != m.fillTrigger || n.ImmutableTrigger != m.immTrigger || n.PermissivePolicy != m.accessPol ||
			strings.Join(n.Policies, ",") != strings.Join(shared.Policies, ",") {
			return nil, fmt.Errorf("verify: %s: trigger and policy names differ from the other tables'", tp.Name())
		}
		s := newScoped(tp, n)
		if tp.WhenNullDefault {
			// Every source of such a table can be NULL (the chain goes on
			// only after a nullable one): NULL in each is the row the
			// policy gives the default org, and names no missing row.
			s.noOrgGets, s.noOrg, s.noOrgNote = tn.DefaultOrg, nil, ""
			seen := map[string]bool{}
			for _, src := range tp.Sources {
				for _, c := range src.Columns() {
					if !seen[c] {
						seen[c] = true
						s.noOrg = append(s.noOrg, columnValue{c, "NULL"})
					}
				}
			}
			// The row is inserted this time: a copied key without a default
			// would collide with the row it was copied from.
			if pk := tp.Table.PrimaryKey; pk != nil {
				for _, c := range pk.Columns {
					col := tp.Table.Column(c)
					if seen[c] || col == nil || col.Default != "" || col.Identity != "" {
						continue
					}
					// A value naming no row of the table is a key it has not.
					if v, ok := noParentValue(col, tp.Table, c); ok {
						s.noOrg = append(s.noOrg, columnValue{c, v})
					}
				}
			}
		}
		m.scoped = append(m.scoped, s)
	}
	// The tables that already carried the column get the same end state,
	// and the same checks but the fill trigger's.
	for _, tp := range plan.Finished {
		s := newScoped(tp, migrations.Names(plan, tp))
		s.noFill = true
		s.noOrg = []columnValue{{tn.Column, "NULL"}}
		if fk := tp.TenantFK; fk != nil && fk.OnDelete != tn.OnDelete {
			s.onDelete = fk.OnDelete
		}
		m.scoped = append(m.scoped, s)
	}
	for _, tp := range plan.Tables {
		ref := tableRef{tp.Table.Schema, tp.Table.Name}
		switch tp.Class {
		case classify.Excluded:
			m.excluded = append(m.excluded, ref)
		case classify.Global:
			m.global = append(m.global, ref)
		}
	}
	return m, nil
}

func newScoped(tp *classify.TablePlan, n migrations.ObjectNames) scopedModel {
	t := tp.Table
	s := scopedModel{
		schema:       t.Schema,
		name:         t.Name,
		class:        string(tp.Class),
		comment:      tp.Reason,
		foreignKey:   n.ForeignKey,
		index:        n.Index,
		indexColumns: n.IndexColumns,
		orgPolicy:    migrations.AddsPermissivePolicy(tp),
		updateColumn: updateColumn(tp, n.Column),
	}
	if tp.Class == classify.Inherited {
		// The reason has more words than needed here; the path says it all.
		s.comment = "foreign-key path " + tp.PathString()
	}
	if tp.Owner != nil && tp.Owner.Type == "uuid" {
		s.owner = tp.Owner.Name
	}
	// A row with no org source: every source's columns name nothing, so
	// the fill trigger has nothing to derive from and NOT NULL must refuse.
	set := map[string]bool{}
	for _, src := range tp.Sources {
		var parent *introspect.Table
		var cols, refs []string
		switch src.Kind {
		case classify.FromOwner:
			cols, refs = []string{src.Column.Name}, []string{""}
		case classify.FromTenantKey:
			// Any value there is an org (the foreign key makes sure):
			// only NULL names none.
			if !src.Column.NotNull {
				if !set[src.Column.Name] {
					s.noOrg = append(s.noOrg, columnValue{src.Column.Name, "NULL"})
					set[src.Column.Name] = true
				}
				continue
			}
			s.noOrg, s.noOrgNote = nil, fmt.Sprintf("column %s holds the tenant key and is NOT NULL: every row has an org", src.Column.Name)
			return s
		default:
			parent, cols, refs = src.Parent.Table, src.FK.Columns, src.FK.RefColumns
		}
		for i, name := range cols {
			if set[name] {
				continue
			}
			col := t.Column(name)
			v, ok := noParentValue(col, parent, refs[i])
			if !ok {
				what, names := "parent key", "parent row"
				if src.Kind == classify.FromOwner {
					what, names = "ownership", "user"
				}
				s.noOrg, s.noOrgNote = nil, fmt.Sprintf("%s column %s is %s, for which no value naming no %s can be written", what, name, col.Type, names)
				return s
			}
			set[name] = true
			s.noOrg = append(s.noOrg, columnValue{name, v})
		}
	}
	return s
}

// updateColumn picks the column a "normal update" sets to its own value:
// the first plain data column (not the tenant column, not in the primary
// key or a foreign key, not the owner, not generated or an identity), else
// the first column outside the primary key, else the tenant column itself,
// whose unchanged value must pass as well.
func updateColumn(tp *classify.TablePlan, tenantCol string) string {
	t := tp.Table
	key := map[string]bool{}
	if t.PrimaryKey != nil {
		for _, c := range t.PrimaryKey.Columns {
			key[c] = true
		}
	}
	linked := map[string]bool{}
	for _, fk := range t.ForeignKeys {
		for _, c := range fk.Columns {
			linked[c] = true
		}
	}
	if tp.Owner != nil {
		linked[tp.Owner.Name] = true
	}
	cols := append([]*introspect.Column(nil), t.Columns...)
	sort.SliceStable(cols, func(i, j int) bool { return cols[i].Attnum < cols[j].Attnum })
	for _, plain := range []bool{true, false} {
		for _, c := range cols {
			if c.Name != tenantCol && !key[c.Name] && !c.Generated && c.Identity == "" && (!plain || !linked[c.Name]) {
				return c.Name
			}
		}
	}
	return tenantCol
}

// noParentValue returns SQL for a value of col's type that names no user
// (parent nil) or no row of parent (matched on refCol): with it in the
// owner or parent key column, the fill trigger has nothing to derive the
// org from. ok is false for types it cannot make such a value for.
func noParentValue(col *introspect.Column, parent *introspect.Table, refCol string) (sql string, ok bool) {
	typ, size := col.Type, -1
	if i := strings.IndexByte(typ, '('); i > 0 {
		if n, err := strconv.Atoi(strings.TrimSuffix(typ[i+1:], ")")); err == nil {
			size = n
		}
		typ = typ[:i]
	}
	switch typ {
	case "uuid":
		return "gen_random_uuid()", true
	case "text", "character varying":
		// A random UUID is no user id and no parent key; cut to the
		// column's length where that is shorter.
		if size > 0 && size < 36 {
			return fmt.Sprintf("left(gen_random_uuid()::text, %d)", size), true
		}
		return "gen_random_uuid()::text", true
	case "smallint", "integer", "bigint", "numeric":
		if parent == nil {
			return "", false
		}
		// One past the largest parent key names no parent row.
		return fmt.Sprintf("(SELECT coalesce(max(p.%s), 0) + 1 FROM %s p)",
			ident.Quote(refCol), ident.Qualified(parent.Schema, parent.Name)), true
	}
	if !col.NotNull {
		return "NULL", true
	}
	return "", false
}

// planTable is the plan's table schema.name, nil if it is not in the plan.
func planTable(plan *classify.Plan, schema, name string) *introspect.Table {
	for _, tp := range plan.Tables {
		if tp.Table.Schema == schema && tp.Table.Name == name {
			return tp.Table
		}
	}
	return nil
}

// requiredValues gives the NOT NULL columns of t that have no default
// (skip aside) a value for a row the checks add and roll back: a fresh
// one for a primary key column, else a value an existing row has (which
// passes the app's checks and enum types), else a plain value of the
// column's type. A column it has nothing for is left out: the insert then
// fails and the check reports the missing prerequisite.
func requiredValues(t *introspect.Table, skip ...string) (cols, vals []string) {
	key := map[string]bool{}
	if t.PrimaryKey != nil {
		for _, c := range t.PrimaryKey.Columns {
			key[c] = true
		}
	}
	table := ident.Qualified(t.Schema, t.Name)
	for _, c := range t.Columns {
		if !c.NotNull || c.Default != "" || c.Identity != "" || c.Generated || slices.Contains(skip, c.Name) {
			continue
		}
		q := ident.Quote(c.Name)
		var v string
		if key[c.Name] {
			fresh, ok := noParentValue(c, t, c.Name)
			if !ok {
				continue
			}
			v = fresh
		} else {
			v = fmt.Sprintf("(SELECT x.%s FROM %s x LIMIT 1)", q, table)
			if plain := plainValue(c.Type); plain != "" {
				v = fmt.Sprintf("coalesce(%s, %s)", v, plain)
			}
		}
		cols, vals = append(cols, q), append(vals, v)
	}
	return cols, vals
}

// plainValue is a value of type typ that most checks accept, "" for types
// it does not know.
func plainValue(typ string) string {
	if i := strings.IndexByte(typ, '('); i > 0 {
		typ = typ[:i]
	}
	switch typ {
	case "boolean":
		return "false"
	case "text", "character varying", "character", "citext":
		return "'warden verify'"
	case "smallint", "integer", "bigint", "numeric", "real", "double precision":
		return "0"
	case "timestamp with time zone", "timestamp without time zone", "date":
		return "now()"
	case "uuid":
		return "gen_random_uuid()"
	case "jsonb", "json":
		return "'{}'"
	}
	return ""
}

// tenantTable is the tenant table of the plan's schema, nil if it is not
// in the plan.
func tenantTable(plan *classify.Plan) *introspect.Table {
	tn := plan.Policy.Tenant.Table
	for _, tp := range plan.Tables {
		if tp.Table.Schema == tn.Schema && tp.Table.Name == tn.Name {
			return tp.Table
		}
	}
	return nil
}
