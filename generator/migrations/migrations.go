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
	"fmt"
	"strings"
	"text/template"

	"github.com/warden-sql/warden/generator/classify"
	"github.com/warden-sql/warden/internal/ident"
	"github.com/warden-sql/warden/policy"
	"github.com/warden-sql/warden/introspect"
	"github.com/warden-sql/warden/templates"
)

// Phase names a step's phase, as the seed's report numbers them.
type Phase string

// The phases, in the order they run.
const (
	PhaseAdd       Phase = "2-add"
	PhaseBackfill  Phase = "3-backfill"
	PhaseNotNull   Phase = "4-not-null"
	PhaseJWT       Phase = "5-jwt"
	PhaseImmutable Phase = "6-immutable"
	PhaseRLS       Phase = "7-rls"
)

// Step is one migration file's worth of SQL.
type Step struct {
	Phase Phase
	// Name is short, unique among the steps, and safe in a file name,
	// e.g. "add_org_id_calls".
	Name string
	// Table is the display name of the table the step changes, if one.
	Table string
	// Up and Down are the scripts without the generated-file header. Down
	// is empty for steps with nothing to undo (checks, backfills).
	Up, Down string
	// NoTransaction marks a step that must not run inside a transaction
	// block: its single statement is CREATE INDEX CONCURRENTLY or a CALL
	// that commits.
	NoTransaction bool
	// DownNoTransaction likewise for Down (DROP INDEX CONCURRENTLY).
	DownNoTransaction bool
}

var tmpl = map[string]*template.Template{}

func init() {
	entries, err := templates.FS.ReadDir(".")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		t := template.New(e.Name()).Option("missingkey=error").Funcs(template.FuncMap{
			"userOrg": func(ref string) string { return "" },
		})
		src, err := templates.FS.ReadFile(e.Name())
		if err != nil {
			panic(err)
		}
		tmpl[strings.TrimSuffix(e.Name(), ".sql.tmpl")] = template.Must(t.Parse(string(src)))
	}
}

// render executes the up and down templates of a template file.
func render(name string, data any, funcs template.FuncMap) (up, down string, err error) {
	t := tmpl[name]
	if t == nil {
		return "", "", fmt.Errorf("migrations: no template %s", name)
	}
	if funcs != nil {
		t, err = t.Clone()
		if err != nil {
			return "", "", err
		}
		t.Funcs(funcs)
	}
	var u, d bytes.Buffer
	if err := t.ExecuteTemplate(&u, "up", data); err != nil {
		return "", "", fmt.Errorf("migrations: rendering %s: %w", name, err)
	}
	if t.Lookup("down") != nil {
		if err := t.ExecuteTemplate(&d, "down", data); err != nil {
			return "", "", fmt.Errorf("migrations: rendering %s down: %w", name, err)
		}
	}
	return strings.TrimSpace(u.String()) + "\n", strings.TrimSpace(d.String()), nil
}

// indexBuild is what the index build template needs for one index (of a
// table, or of one partition of a partitioned table).
type indexBuild struct {
	ColName   string
	Target    string // display name of the table or partition
	On        string // quoted, qualified table or partition
	IndexName string // quoted bare name
	Index     string // quoted qualified name
	IndexCols string
}

// Steps renders every step of the migration for plan, in the order to run
// them. The plan must have no problems.
func Steps(plan *classify.Plan, db *introspect.Database) ([]Step, error) {
	if err := plan.Err(); err != nil {
		return nil, err
	}
	c, err := newCommon(plan, db)
	if err != nil {
		return nil, err
	}
	funcs := template.FuncMap{"userOrg": func(ref string) string { return strings.ReplaceAll(c.UserOrg, "$USER", ref) }}
	var tables []*tableData
	for _, tp := range plan.Scoped {
		d, err := newTableData(c, tp, plan.Policy)
		if err != nil {
			return nil, err
		}
		if err := nameClash(db, tp, c.ColName); err != nil {
			return nil, err
		}
		tables = append(tables, d)
	}
	uniqueFuncs(tables)

	var steps []Step
	add := func(phase Phase, name, table, tmplName string, data any, noTx bool) error {
		up, down, err := render(tmplName, data, funcs)
		if err != nil {
			return err
		}
		// statement_timeout bounds the files that take strong locks, so a
		// statement that unexpectedly runs long cannot hold them; the
		// scanning steps (validate) and the backfill are left unbounded.
		if c.StatementTimeout != "" && tmplName != "31_validate" {
			set := "SET lock_timeout = " + c.LockTimeout + ";"
			up = strings.Replace(up, set, set+"\nSET statement_timeout = "+c.StatementTimeout+";", 1)
			down = strings.Replace(down, set, set+"\nSET statement_timeout = "+c.StatementTimeout+";", 1)
		}
		steps = append(steps, Step{Phase: phase, Name: name, Table: table, Up: up, Down: down, NoTransaction: noTx})
		return nil
	}
	slug := func(d *tableData) string { return fileSlug(d) }

	if err := add(PhaseAdd, "setup", "", "00_setup", c, false); err != nil {
		return nil, err
	}
	for _, d := range tables {
		if err := add(PhaseAdd, "add_"+sanitize(c.ColName)+"_"+slug(d), d.Display, "10_add_column", d, false); err != nil {
			return nil, err
		}
	}
	for _, d := range tables {
		var builds []indexBuild
		if d.Partitioned {
			for _, p := range d.Partitions {
				builds = append(builds, indexBuild{ColName: c.ColName, Target: p.Display, On: p.T, IndexName: p.IndexName, Index: p.Index, IndexCols: d.IndexCols})
			}
		} else {
			builds = append(builds, indexBuild{ColName: c.ColName, Target: d.Display, On: d.T, IndexName: d.IndexName, Index: d.Index, IndexCols: d.IndexCols})
		}
		for _, b := range builds {
			if err := add(PhaseAdd, "index_"+sanitize(strings.Trim(b.IndexName, `"`)), d.Display, "12_index_build", b, true); err != nil {
				return nil, err
			}
			steps[len(steps)-1].DownNoTransaction = true
		}
		if err := add(PhaseAdd, "index_verify_"+slug(d), d.Display, "13_index_verify", d, false); err != nil {
			return nil, err
		}
	}
	for _, d := range tables {
		if err := add(PhaseBackfill, "fill_trigger_"+slug(d), d.Display, "20_fill_trigger", d, false); err != nil {
			return nil, err
		}
	}
	for _, d := range tables {
		if err := add(PhaseBackfill, "backfill_"+slug(d), d.Display, "21_backfill", d, true); err != nil {
			return nil, err
		}
	}
	check := struct {
		ColName string
		Tables  []*tableData
	}{c.ColName, tables}
	if err := add(PhaseBackfill, "backfill_check", "", "22_backfill_check", check, false); err != nil {
		return nil, err
	}
	for _, step := range []struct{ name, tmpl string }{
		{"not_null_check_", "30_not_null_check"},
		{"validate_", "31_validate"},
		{"set_not_null_", "32_set_not_null"},
	} {
		for _, d := range tables {
			if err := add(PhaseNotNull, step.name+slug(d), d.Display, step.tmpl, d, false); err != nil {
				return nil, err
			}
		}
	}
	if err := add(PhaseJWT, "jwt_claims", "", "40_jwt_claims", c, false); err != nil {
		return nil, err
	}
	if err := add(PhaseJWT, "jwt_backfill", "", "41_jwt_backfill", c, true); err != nil {
		return nil, err
	}
	for _, d := range tables {
		if err := add(PhaseImmutable, "immutable_"+slug(d), d.Display, "50_immutable", d, false); err != nil {
			return nil, err
		}
	}
	for _, d := range tables {
		if err := add(PhaseRLS, "rls_"+slug(d), d.Display, "60_rls", d, false); err != nil {
			return nil, err
		}
	}
	for _, tp := range plan.Tables {
		if tp.Class != classify.TenantRoot || !plan.Policy.InSchemas(tp.Table.Schema) {
			continue
		}
		r := rootData(c, plan, tp)
		if r == nil {
			continue
		}
		if err := add(PhaseRLS, "rls_root_"+sanitize(tp.Table.Name), r.Display, "61_rls_tenant_root", r, false); err != nil {
			return nil, err
		}
	}
	uniqueNames(steps)
	return steps, nil
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
	return &tenantRootData{
		common: c, Display: tp.Name(), T: q, Lit: ident.Literal(q), Key: ident.Quote(key),
		AddPermissive: AddsPermissivePolicy(tp),
	}
}

// fileSlug is a table's name as it appears in file names: lower case ASCII
// letters, digits and underscores, schema-prefixed outside public.
func fileSlug(d *tableData) string {
	name := strings.Trim(d.Name, "'")
	schema := strings.Trim(d.Schema, "'")
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
