// Package report renders generated/REPORT.md: the plan written for the
// reviewers of a pull request, the automated form of a hand-run migration's Phase 1
// discovery.
//
// The report is committed and drift-checked, so it holds only what is fixed
// for a given schema and policy: no row counts or estimates, no dates, no
// warden or migration versions, and policy positions with the policy file's
// base name only, so that the bytes do not depend on the data, the clock or
// the directory warden runs in.
package report

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/warden-sql/warden/generator/classify"
	"github.com/warden-sql/warden/generator/migrations"
	"github.com/warden-sql/warden/internal/fileset"
	"github.com/warden-sql/warden/internal/ident"
	"github.com/warden-sql/warden/policy"
)

// Render returns the content of REPORT.md for p. It refuses a plan with
// problems: there is nothing to review until the policy settles them.
func Render(p *classify.Plan) ([]byte, error) {
	if p.Policy == nil {
		return nil, errors.New("report: the plan has no policy")
	}
	if err := p.Err(); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	r := &renderer{p: p, pol: p.Policy, sum: classify.Summarize(p)}
	r.header()
	r.migration()
	r.files()
	r.settings()
	r.tables()
	r.paths()
	r.order()
	r.nullable()
	r.notes()
	r.unscoped()
	r.exposed()
	r.defaultOrg()
	if err := r.distribution(); err != nil {
		return nil, err
	}
	r.review()
	// Exactly one newline at the end, whatever the last section wrote.
	return append(bytes.TrimRight(r.b.Bytes(), "\n"), '\n'), nil
}

type renderer struct {
	b   bytes.Buffer
	p   *classify.Plan
	pol *policy.Policy
	sum classify.Summary
}

func (r *renderer) printf(format string, args ...any) { fmt.Fprintf(&r.b, format, args...) }

func (r *renderer) section(title string) { r.printf("\n## %s\n\n", title) }

// pos renders a policy position with the file's base name: the policy is
// loaded as "policy.yaml", "../policy.yaml" or an absolute path depending on
// where warden runs, and the report must not change with that.
func pos(p policy.Pos) string {
	if p.File != "" {
		p.File = filepath.Base(p.File)
	}
	return p.String()
}

// relative rewrites positions embedded in a message (warnings) the same way.
func (r *renderer) relative(msg string) string {
	if f := r.pol.File; f != "" && f != filepath.Base(f) {
		msg = strings.ReplaceAll(msg, f+":", filepath.Base(f)+":")
	}
	return msg
}

// code formats s as inline code that is also safe inside a table cell.
func code(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	if strings.Contains(s, "`") {
		return "`` " + s + " ``"
	}
	return "`" + s + "`"
}

func codes(list []string) string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = code(s)
	}
	return strings.Join(out, ", ")
}

// short is a table's name as the policy writes it, in code.
func (r *renderer) short(tp *classify.TablePlan) string { return code(r.p.ShortName(tp)) }

func (r *renderer) shorts(list []*classify.TablePlan) string {
	out := make([]string, len(list))
	for i, tp := range list {
		out[i] = r.short(tp)
	}
	return strings.Join(out, ", ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

func (r *renderer) header() {
	col := r.pol.Tenant.Column
	r.printf("%s\n\n# Org migration report\n\n", fileset.HeaderMarkdown)
	r.printf("What `warden generate` derived from %s and the schema%s %s: which tables move from user ownership to "+
		"org ownership (%s), how each gets its org, and in what order. Reviewers check the decisions below; "+
		"`warden check` fails in CI when this file no longer matches the policy and schema.\n",
		code(filepath.Base(r.pol.File)), map[bool]string{true: "", false: "s"}[len(r.pol.Schemas) == 1], codes(r.pol.Schemas), code(col))
	r.section("Summary")
	r.printf("%s.\n\n", sentence(r.p, r.sum))
	r.printf("| Tables | Count |\n|---|---:|\n")
	rows := []struct {
		label string
		n     int
	}{
		{"Require " + code(col), r.sum.RequireOrgID},
		{"Direct (own ownership column)", r.sum.Direct},
		{"Inherited (foreign-key path)", r.sum.Inherited},
		{"Critical", r.sum.Critical},
		{"Nullable paths", r.sum.NullablePaths},
		{"Excluded", len(r.sum.Excluded)},
		{"Global", len(r.sum.Global)},
		{"Tenant root", len(r.sum.TenantRoot)},
		{"Already scoped", len(r.sum.AlreadyScoped)},
		{"Unclassified", len(r.sum.Unclassified)},
		{"All tables", r.sum.Tables},
	}
	for _, row := range rows {
		r.printf("| %s | %d |\n", row.label, row.n)
	}
}

// sentence is Summary.Sentence with the names in code.
func sentence(p *classify.Plan, s classify.Summary) string {
	col := p.Policy.Tenant.Column
	out := fmt.Sprintf("%s %s (%d direct, %d inherited)", plural(s.RequireOrgID, "table requires", "tables require"),
		code(col), s.Direct, s.Inherited)
	for _, l := range []struct {
		label  string
		tables []*classify.TablePlan
	}{
		{"excluded", s.Excluded}, {"global", s.Global}, {"tenant root", s.TenantRoot},
		{"already scoped", s.AlreadyScoped}, {"unclassified", s.Unclassified},
	} {
		if len(l.tables) == 0 {
			continue
		}
		names := make([]string, len(l.tables))
		for i, tp := range l.tables {
			names[i] = code(p.ShortName(tp))
		}
		out += "; " + l.label + ": " + strings.Join(names, ", ")
	}
	return out
}

func (r *renderer) migration() {
	t := r.pol.Tenant
	col := code(t.Column)
	n := plural(r.sum.RequireOrgID, "scoped table", "scoped tables")
	r.section("What the migration does")
	r.printf("Every step is idempotent and takes strong locks only briefly (`lock_timeout` %s); one file per step, in this order.\n\n", r.pol.Migrations.LockTimeout)
	index, indexAfter := fmt.Sprintf(" and an index led by %s built `CONCURRENTLY`", col), ""
	if r.pol.Backfill.IndexAfterBackfill() {
		// backfill.org_index: after_backfill
		index, indexAfter = "", fmt.Sprintf("; then the index led by %s is built `CONCURRENTLY` (after the backfill, so the backfill writes no index entries)", col)
	}
	r.printf("- **Phase 2, add:** ensures %s and the default org row, adds %s %s (nullable, no default) to the %s, "+
		"with a foreign key to %s added `NOT VALID`%s.\n",
		code(t.Table.String()), col, code(t.Type), n, code(fmt.Sprintf("%s(%s)", t.Table, t.Key)), index)
	pause := ""
	if r.pol.Backfill.Pause > 0 {
		pause = fmt.Sprintf(", pausing %s between batches", r.pol.Backfill.Pause)
	}
	r.printf("- **Phase 3, backfill:** a fill trigger first (rows written meanwhile get their org), then batches of %d rows%s, "+
		"parents before children, resumable, ending with a check that fails if any %s is NULL%s.\n",
		r.pol.Backfill.BatchSize, pause, col, indexAfter)
	r.printf("- **Phase 4, NOT NULL:** `CHECK (%s IS NOT NULL) NOT VALID`, then `VALIDATE` of the check and the foreign key "+
		"(reads and writes go on), `SET NOT NULL`, and the check is dropped: no long exclusive scan.\n", t.Column)
	r.printf("- **Phase 5, JWT:** `public.auth_org_id()` reads %s from the JWT's `app_metadata`; every user in %s gets it "+
		"in `raw_app_meta_data` where missing or different, and triggers keep it current for new users and membership changes.\n",
		col, code(r.pol.Users.Table.String()))
	r.printf("- **Phase 6, immutability:** a `BEFORE UPDATE` trigger on each scoped table rejects any change to a non-null %s; "+
		"other updates pass.\n", col)
	r.printf("- **Row-level security:** RLS enabled on each scoped table (and each partition) with `RESTRICTIVE` policies per command, "+
		"`%s = (select public.auth_org_id())`, for every role that does not bypass RLS, so no permissive policy can reach across orgs; "+
		"a permissive org policy only where the table had no permissive policy of its own. The tenant table and the membership table "+
		"become readable within the caller's org only and not writable by API roles.\n", t.Column)
}

func (r *renderer) settings() {
	t, pol := r.pol.Tenant, r.pol
	r.section("Policy settings")
	r.printf("| Setting | Value |\n|---|---|\n")
	row := func(k, v string) { r.printf("| %s | %s |\n", k, v) }
	row("Tenant table", fmt.Sprintf("%s (key %s)", code(t.Table.String()), code(t.Key)))
	row("Tenant column", fmt.Sprintf("%s %s", code(t.Column), code(t.Type)))
	row("Default org", fmt.Sprintf("%s (%s)", code(t.DefaultOrg), strings.ReplaceAll(t.DefaultOrgName, "|", `\|`)))
	row("Users table", fmt.Sprintf("%s (key %s)", code(pol.Users.Table.String()), code(pol.Users.Key)))
	var owners []string
	for _, o := range pol.Ownership {
		s := code(o.Column)
		if !o.RequireFK {
			s += " (no foreign key required)"
		}
		owners = append(owners, s)
	}
	row("Ownership columns, in order", strings.Join(owners, ", "))
	row("User → org mapping", r.mapping())
	row("How a request carries its org", r.requestContext())
	row("ON DELETE of the org foreign key", code(strings.ToUpper(t.OnDelete)))
	row("Backfill batch size", fmt.Sprintf("%d rows", pol.Backfill.BatchSize))
	pause := "none"
	if pol.Backfill.Pause > 0 {
		pause = pol.Backfill.Pause.String()
	}
	row("Pause between batches", pause)
	row("lock_timeout", code(pol.Migrations.LockTimeout.String()))
	if pol.Migrations.StatementTimeout > 0 {
		row("statement_timeout", code(pol.Migrations.StatementTimeout.String()))
	}
	row("Migration format", code(pol.Migrations.Format))
	row("Unclassified tables", code(pol.Unclassified))
}

// requestContext says where public.auth_org_id() finds the request's org
// and whom the org policies bind.
func (r *renderer) requestContext() string {
	rc := r.pol.Context
	var s string
	switch rc.Kind {
	case policy.ContextSession:
		s = fmt.Sprintf("the setting %s, which the app sets in each transaction", code(rc.Setting))
	default:
		s = fmt.Sprintf("the JWT claim %s in %s", code(strings.Join(rc.Claim, ".")), code("request.jwt.claims"))
		if rc.KeepsClaim() {
			s += fmt.Sprintf("; phase 5 keeps %s in step", code(r.pol.Users.Table.String()+".raw_app_meta_data"))
		}
	}
	roles := "every role"
	if len(rc.Roles) > 0 {
		var quoted []string
		for _, role := range rc.Roles {
			quoted = append(quoted, code(role))
		}
		roles = strings.Join(quoted, ", ")
	}
	return fmt.Sprintf("%s (%s); the org policies apply to %s. Roles with BYPASSRLS (such as Supabase's service_role) and the tables' owner are not affected by them",
		s, rc.Kind, roles)
}

// mapping describes how a row's owner becomes an org.
func (r *renderer) mapping() string {
	org := code(r.pol.Tenant.DefaultOrg)
	m := r.pol.Membership
	if m == nil {
		return "every user → the default org " + org
	}
	var rule []string
	if m.PrimaryColumn != "" {
		rule = append(rule, fmt.Sprintf("the primary membership (%s true)", code(m.PrimaryColumn)))
	}
	if m.OrderColumn != "" {
		rule = append(rule, fmt.Sprintf("the oldest membership (smallest %s)", code(m.OrderColumn)))
	}
	rule = append(rule, "the smallest org id")
	return fmt.Sprintf("membership table %s (%s → %s); a user in several orgs gets %s; "+
		"rows with no user, an unknown user or no membership go to the default org %s",
		code(m.Table.String()), code(m.UserColumn), code(m.OrgColumn), strings.Join(rule, ", then "), org)
}

// fallbacks names the sources a row tries when its first is NULL.
func (r *renderer) fallbacks(tp *classify.TablePlan) string {
	var out []string
	for _, s := range tp.Sources[1:] {
		switch s.Kind {
		case classify.FromParent:
			out = append(out, fmt.Sprintf("parent %s via %s", r.short(s.Parent), codes(s.FK.Columns)))
		default:
			out = append(out, "own column "+code(s.Column.Name))
		}
	}
	if len(out) == 0 {
		return ""
	}
	return "; where NULL, " + strings.Join(out, ", then ")
}

// derived says in a few words where a table's org comes from.
func (r *renderer) derived(tp *classify.TablePlan) string {
	switch tp.Class {
	case classify.Direct:
		var s string
		switch {
		case tp.TenantKey != nil:
			s = fmt.Sprintf("own column %s → %s (holds the tenant key)", code(tp.TenantKey.Name), code(ident.Display(tp.TenantKeyFK.RefSchema, tp.TenantKeyFK.RefTable)))
		case tp.OwnerFK != nil:
			s = "own column " + code(tp.Owner.Name) + " → " + code(ident.Display(tp.OwnerFK.RefSchema, tp.OwnerFK.RefTable))
		default:
			s = "own column " + code(tp.Owner.Name) + fmt.Sprintf(" (%s, no foreign key)", tp.Owner.Type)
		}
		return s + r.fallbacks(tp)
	case classify.Inherited:
		s := fmt.Sprintf("parent %s via %s", r.short(tp.Parent), codes(tp.ParentFK.Columns))
		if tp.Depth > 1 {
			s += fmt.Sprintf(" (depth %d, from %s)", tp.Depth, r.short(tp.Root()))
		}
		if tp.NullablePath {
			s += "; nullable"
		}
		return s + r.fallbacks(tp)
	case classify.Excluded:
		return "none: stays user-owned"
	case classify.Global:
		return "none: shared by all orgs"
	case classify.TenantRoot:
		return "none: " + tp.Reason
	case classify.AlreadyScoped:
		// Finished: what it lacked is added, nothing is filled.
		var added []string
		if tp.TenantFK == nil {
			added = append(added, "a foreign key to "+code(r.pol.Tenant.Table.String()))
		}
		if tp.TenantIndex == nil {
			added = append(added, "an index")
		}
		if col := tp.Table.Column(r.pol.Tenant.Column); col != nil && !col.NotNull {
			added = append(added, "NOT NULL")
		}
		added = append(added, "immutability and row-level security")
		return "has " + code(r.pol.Tenant.Column) + " already, nothing filled; gets " + strings.Join(added, ", ")
	}
	return "undecided"
}

func (r *renderer) tables() {
	r.section("Tables")
	r.printf("| Table | Class | Org derived from | Critical |\n|---|---|---|---|\n")
	for _, tp := range r.p.Tables {
		critical := ""
		if tp.Critical {
			critical = "yes"
		}
		r.printf("| %s | %s | %s | %s |\n", r.short(tp), tp.Class, r.derived(tp), critical)
	}
}

func (r *renderer) paths() {
	var inherited []*classify.TablePlan
	for _, tp := range r.p.Scoped {
		if tp.Class == classify.Inherited {
			inherited = append(inherited, tp)
		}
	}
	r.section("Inherited tables: foreign-key paths")
	if len(inherited) == 0 {
		r.printf("None: every scoped table has its own ownership column.\n")
		return
	}
	r.printf("Each row takes the org of the row it references, hop by hop up to a table with an ownership column. " +
		"Where several parents qualified, the shortest path with NOT NULL foreign keys won, or the policy chose with `via`.\n\n")
	for _, tp := range inherited {
		root := tp.Root()
		var from string
		switch {
		case root.Owner != nil:
			from = r.p.ShortName(root) + "." + root.Owner.Name
		case root.TenantKey != nil:
			from = r.p.ShortName(root) + "." + root.TenantKey.Name
		default: // a table that already carries the tenant column
			from = r.p.ShortName(root) + "." + r.pol.Tenant.Column
		}
		r.printf("- %s (depth %d, org from %s)", r.short(tp), tp.Depth, code(from))
		if tp.Via != nil {
			r.printf(", parent chosen by `via` at %s", code(pos(tp.Via.Pos)))
		}
		r.printf("\n")
		for i, h := range tp.Hops() {
			null := ""
			if h.Nullable {
				null = " (nullable)"
			}
			r.printf("  %d. %s (%s) → %s (%s)%s\n", i+1, code(h.Table), strings.Join(h.Columns, ", "),
				code(h.Parent), strings.Join(h.ParentColumns, ", "), null)
		}
	}
}

func (r *renderer) order() {
	r.section("Backfill order")
	r.printf("Parents before children (by depth, then name); each table is filled in batches, one transaction per batch.\n\n")
	for i, tp := range r.p.Scoped {
		r.printf("%d. %s (%s, depth %d)\n", i+1, r.short(tp), tp.Class, tp.Depth)
	}
}

func (r *renderer) nullable() {
	r.section("Nullable paths")
	var list []*classify.TablePlan
	for _, tp := range r.p.Scoped {
		if tp.Class == classify.Inherited && tp.NullablePath {
			list = append(list, tp)
		}
	}
	if len(list) == 0 {
		r.printf("None: every inherited table reaches its owner through NOT NULL foreign keys.\n")
		return
	}
	r.printf("Rows whose foreign key on these paths is NULL have no parent to take an org from: the backfill gives them "+
		"the default org %s and counts them as orphans.\n\n", code(r.pol.Tenant.DefaultOrg))
	for _, tp := range list {
		var cols []string
		for _, h := range tp.Hops() {
			if h.Nullable {
				cols = append(cols, fmt.Sprintf("%s (%s)", code(h.Table), strings.Join(h.Columns, ", ")))
			}
		}
		r.printf("- %s: nullable %s\n", r.short(tp), strings.Join(cols, ", "))
	}
}

func (r *renderer) notes() {
	r.section("Notes")
	n := 0
	for _, tp := range r.p.Tables {
		for _, note := range tp.Notes {
			r.printf("- %s: %s\n", r.short(tp), note)
			n++
		}
	}
	for _, w := range r.p.Warnings {
		name := w.Table
		if name != "" {
			name = code(name) + ": "
		}
		r.printf("- warning: %s%s\n", name, r.relative(w.Msg))
		n++
	}
	if n == 0 {
		r.printf("None.\n")
	}
}

// unscoped lists the tables warden leaves as they are, with the policy
// entry that decided each.
func (r *renderer) unscoped() {
	r.section("Tables left as they are")
	var list []*classify.TablePlan
	for _, group := range [][]*classify.TablePlan{r.sum.Excluded, r.sum.Global, r.sum.TenantRoot, r.sum.AlreadyScoped, r.sum.Unclassified} {
		list = append(list, group...)
	}
	if len(list) == 0 {
		r.printf("None: every table is scoped.\n")
		return
	}
	r.printf("| Table | Class | Decided by |\n|---|---|---|\n")
	for _, tp := range list {
		by := "the schema: " + strings.TrimSuffix(tp.Reason, " (not listed; treated as global)")
		if tp.Class == classify.Global && tp.Decision == nil {
			by = "the schema: no ownership column and no foreign-key path (not listed in the policy)"
		}
		if d := tp.Decision; d != nil {
			by = fmt.Sprintf("%s at %s", code(d.Key), code(pos(d.Pos)))
		}
		r.printf("| %s | %s | %s |\n", r.short(tp), tp.Class, by)
	}
}

// exposed lists what the migration closes outside the scoped tables, and
// the excluded tables it cannot close.
func (r *renderer) exposed() {
	r.section("Other relations the API can reach")
	list := migrations.Exposed(r.p)
	r.printf("Tables outside the scoped ones, views and materialized views can show org-owned or user-owned rows to any request: ")
	r.printf("the migration closes the ones that were open. A table whose row-level security the app set up itself is left as it is.\n\n")
	if len(list) > 0 {
		r.printf("| Relation | What the migration does |\n|---|---|\n")
		for _, e := range list {
			r.printf("| %s | %s |\n", code(e.Relation), e.Detail)
		}
	}
	closed := map[string]bool{}
	for _, e := range list {
		closed[e.Relation] = true
	}
	var open []string
	for _, tp := range r.sum.Excluded {
		if !tp.Table.RLSEnabled && !closed[tp.Name()] {
			why := "no ownership column to compare with the request's user"
			if tp.Owner != nil {
				why = "the request context carries no user id (set request_context.user_setting)"
			}
			open = append(open, fmt.Sprintf("%s (%s)", code(r.p.ShortName(tp)), why))
		}
	}
	if len(open) > 0 {
		r.printf("\nLeft open: %s. Any API role with a grant reaches every user's rows there.\n", strings.Join(open, "; "))
	}
	if len(list) == 0 && len(open) == 0 {
		r.printf("None: nothing else was open.\n")
	}
}

// defaultOrg says who shares the default org: which rows go there and
// which users get it as their org, so nobody mistakes it for an empty
// placeholder.
func (r *renderer) defaultOrg() {
	t := r.pol.Tenant
	r.section("Who shares the default org")
	r.printf("The default org %s holds every row whose sources gave no org: ", code(t.DefaultOrg))
	var tables []string
	for _, tp := range r.p.Scoped {
		if tp.WhenNullDefault {
			tables = append(tables, r.short(tp))
		}
	}
	if len(tables) > 0 {
		r.printf("the rows with no owner or parent of %s (the policy's `when_null`), ", strings.Join(tables, ", "))
	}
	if m := r.pol.Membership; m != nil && m.PersonalOrgs {
		r.printf("and the rows of owners the users table does not know (the backfill counts them as orphans). " +
			"Every user without a membership gets an org of their own first (`membership.personal_orgs`), and every new user on signup, so no known user's rows go here.\n\n")
	} else {
		r.printf("and the rows of owners who belong to no org (the backfill counts them as orphans).\n\n")
	}
	r.printf("`warden status` and `warden backfill` count the rows there per table and source, by cause: " +
		"no owner, an owner the users table does not know, an owner in no org, no parent, " +
		"a parent without an org yet, or a parent in the default org.\n\n")
	if r.pol.Membership == nil {
		r.printf("There is no membership table: every user's org is the default org, so every user reads and writes every org-owned row. " +
			"This is the single-org starting point; add a membership table to the policy to give users orgs of their own.\n")
		return
	}
	if r.pol.Context.Kind == policy.ContextSession && r.pol.Context.UserSetting == "" {
		r.printf("The request names no user (`request_context.user_setting` is not set), so `public.auth_org_id()` takes the org the app sets as it is: " +
			"whoever the app gives the default org reads and writes every row above.\n")
		return
	}
	r.printf("`public.auth_org_id()` holds a claimed org only for a member of it, so nobody reads or writes these rows unless made a member of the default org: ")
	r.printf("a user with no membership, every new signup included, reads nothing")
	if r.pol.Context.KeepsClaim() {
		r.printf(" (their JWT claim names the default org, which they are no member of)")
	}
	r.printf(", and neither do they read their own earlier rows that the backfill gave the default org. " +
		"A role that bypasses row-level security reassigns such rows: a row may leave the default org once, for a real org " +
		"(the immutability trigger allows that for the default org only; parents move before their children). " +
		"Give each user a membership of their own as they sign up, and keep the `when_null` tables few.\n")
}

func (r *renderer) review() {
	r.section("What to review")
	item := func(format string, args ...any) { r.printf("- [ ] "+format+"\n", args...) }
	col := code(r.pol.Tenant.Column)
	item("The %s holding %s are the tables whose rows belong to an org, and none of them holds data private to a user.",
		plural(r.sum.RequireOrgID, "table", "tables"), col)
	if len(r.sum.Excluded) > 0 {
		item("The excluded tables stay user-owned on purpose: %s.", r.shorts(r.sum.Excluded))
	}
	if len(r.sum.Global) > 0 {
		item("The global tables hold shared reference data, with nothing per user or per org: %s.", r.shorts(r.sum.Global))
	}
	var noFK []*classify.TablePlan
	for _, tp := range r.p.Scoped {
		if tp.Owner != nil && tp.OwnerFK == nil {
			noFK = append(noFK, tp)
		}
	}
	item("Each direct table's ownership column holds the user who owns the row.")
	if len(noFK) > 0 {
		var names []string
		for _, tp := range noFK {
			names = append(names, code(r.p.ShortName(tp)+"."+tp.Owner.Name))
		}
		item("Ownership columns with no foreign key really hold user ids of %s: %s.", code(r.pol.Users.Table.String()), strings.Join(names, ", "))
	}
	if r.sum.Inherited > 0 {
		item("Each inherited table's parent owns its rows (the org of the referenced row is the right org).")
	}
	var vias []string
	for _, tp := range r.p.Scoped {
		if tp.Via != nil {
			vias = append(vias, fmt.Sprintf("%s via %s", r.short(tp), r.short(tp.Parent)))
		}
	}
	if len(vias) > 0 {
		item("The parents the policy chose with `via`: %s.", strings.Join(vias, ", "))
	}
	if r.sum.NullablePaths > 0 {
		item("Rows with a NULL foreign key on a nullable path may go to the default org (see Nullable paths).")
	}
	if n := r.noteCount(); n > 0 {
		item("The %s under Notes (ownership-named columns that were not used, overrides).", plural(n, "remark", "remarks"))
	}
	if r.sum.Critical > 0 {
		item("The critical tables (%s) were sized on a production-like copy: batch size %d and `lock_timeout` %s suit their load.",
			r.shorts(classify.CriticalTables(r.p)), r.pol.Backfill.BatchSize, r.pol.Migrations.LockTimeout)
	}
	item("`ON DELETE %s`: %s.", strings.ToUpper(r.pol.Tenant.OnDelete), onDeleteMeaning(r.pol.Tenant.OnDelete))
	if r.pol.Membership != nil {
		if r.pol.Membership.PersonalOrgs {
			item("Users in several orgs get the org the mapping rule above gives; users with no membership get an org of their own (`personal_orgs`), new users too, also those the app goes on to add to an existing org.")
		} else {
			item("Users in several orgs get the org the mapping rule above gives; users with no membership get the default org, which shows them nothing until they join an org (see Who shares the default org).")
		}
	} else {
		item("Every existing row goes to the default org %s (no membership table).", code(r.pol.Tenant.DefaultOrg))
	}
}

func (r *renderer) noteCount() int {
	n := len(r.p.Warnings)
	for _, tp := range r.p.Tables {
		n += len(tp.Notes)
	}
	return n
}

func onDeleteMeaning(action string) string {
	switch action {
	case "cascade":
		return "deleting an org deletes its rows in every scoped table"
	case "restrict", "no action":
		return "an org cannot be deleted while any scoped row belongs to it"
	case "set null":
		return "deleting an org would set org_id to NULL, which NOT NULL then forbids: such deletes fail"
	}
	return action
}

// distribution tells the reviewer what the Citus distribution changes
// for the app (policy distribute:).
func (r *renderer) distribution() error {
	d, err := migrations.Distributes(r.p)
	if err != nil || d == nil {
		return err
	}
	col := code(r.pol.Tenant.Column)
	r.section("Distribution on Citus")
	r.printf("Phase 8 shards the %d org-owned tables by %s on Citus, all colocated, so an org's rows of every table live on one node. "+
		"%d tables are copied to every node (reference tables)", len(d.Distributed), col, len(d.Reference))
	if len(d.Local) > 0 {
		r.printf("; %d excluded tables stay on the coordinator", len(d.Local))
	}
	if len(d.ByUser) > 0 {
		r.printf("; %d excluded tables are sharded by their user column, colocated with one another (a user's rows of each on one node)", len(d.ByUser))
	}
	r.printf(".\n\n")
	r.printf("**What the app must do.**\n\n")
	r.printf("- Call `warden.begin_request()` first in every transaction of a request (PostgREST: `db-pre-request`). " +
		"It checks the request's org against membership on the coordinator and passes it, and the request's own settings, to the workers with `SET LOCAL`: " +
		"`set_config()` does not reach them. Without it a request reads nothing from the distributed tables.\n")
	r.printf("- Filter by %s (and join on it): a query with `%s = <org>` runs on one node as one task; any other fans out to every shard.\n", col, r.pol.Tenant.Column)
	r.printf("- Writers outside a request name %s: a row without it takes the request's org (the column's default), and Citus refuses a row with none. "+
		"Moving a row to another org is a delete and an insert (Citus refuses an update of %s), so give the default org's rows their own org before phase 8.\n", col, col)
	perUser := ""
	if len(d.ByUser) > 0 {
		perUser = " (per user on the tables sharded by user)"
	}
	r.printf("- Unique keys now hold per org%s: %s.\n", perUser, listOrNone(d.Keys))
	r.printf("- The API roles must be able to log in on the workers (Citus connects as the current role); the workers must take no client connections. " +
		"The coordinator needs `wal_level = logical` (and, from PostgreSQL 15.20, `citus` in `output_plugin_libraries`) for the distribution without blocking writes.\n\n")
	r.printf("**Foreign keys.** Kept as composite keys with %s: %s.\n\nDropped, because Citus cannot keep them: %s.\n\n",
		col, listOrNone(d.Rebuilt), listOrNone(d.Dropped))
	r.printf("**Triggers.** warden's fill, immutability and parent-org triggers are dropped: Citus refuses a row without the shard column and any change of it, " +
		"and the composite keys keep a row in its parent's org. warden's JWT claim and personal-org triggers are dropped too (membership decides the org). ")
	if len(d.Unsafe) > 0 {
		r.printf("The app's own triggers on %s run on the workers' shards, which Citus allows only with `citus.enable_unsafe_triggers`, set in their files: "+
			"check that none of them reads or writes another table, which on a worker would cross nodes.", listOrNone(d.Unsafe))
	} else {
		r.printf("No table has triggers of the app's own, so `citus.enable_unsafe_triggers` is never set.")
	}
	r.printf("\n\n**Policies.** Citus copies a table's policies to its shards without `AS RESTRICTIVE` and refuses subqueries in them, so before a table joins Citus, " +
		"`warden.citus_fold_policies` ANDs every restrictive policy into each permissive one (the same rows pass), drops the restrictive ones, and unwraps `(SELECT f())` to `f()`. " +
		"A policy with another subquery is refused when the files are generated, named, for the app to rewrite.\n\n")
	r.printf("**Views.** Citus recreates the views and materialized views on a table it distributes, and a recreated view gets the schema's default privileges: " +
		"a materialized view closed to the API roles would be open again. `dist_setup` records the privileges of every view of the governed schemas, " +
		"and each file that hands a table to Citus puts them back (`warden.dist_restore_acls()`).\n\n")
	r.printf("**Verification.** The verification tests gain `warden_citus_test.go`: on the cluster they check that each table is distributed by %s and colocated, "+
		"that %s defaults to the request's org, that Citus refuses a row without it and any change of it, and the folded policies, in place of the dropped triggers and restrictive policies; "+
		"their requests start with `warden.begin_request()`. Before phase 8 those checks fail.\n\n", col, col)
	r.printf("Distributed, in order: %s.\n\nReference tables: %s.\n", strings.Join(d.Distributed, ", "), listOrNone(d.Reference))
	if len(d.Local) > 0 {
		r.printf("\nOn the coordinator: %s.\n", strings.Join(d.Local, ", "))
	}
	if len(d.ByUser) > 0 {
		r.printf("\nSharded by user (filter by the user column for one node; a key between these and the org-owned tables cannot be kept): %s.\n", strings.Join(d.ByUser, ", "))
	}
	return nil
}

func listOrNone(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, "; ")
}
