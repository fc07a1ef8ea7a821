// Package starter drafts a first policy.yaml from a schema model, for
// `warden init`: the tenant, users and membership tables it can recognise,
// the ownership columns the schema uses, and a decision for every table
// with a comment saying why. What it cannot decide (user-specific looking
// tables, ambiguous parents, nullable parent keys, a tenant key warden
// cannot default) is left open and marked, so that `warden plan` fails on
// exactly those until a person answers them.
package starter

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/warden-sql/warden/generator/classify"
	"github.com/warden-sql/warden/internal/ident"
	"github.com/warden-sql/warden/introspect"
	"github.com/warden-sql/warden/policy"
)

// Options say what Draft cannot read from the model.
type Options struct {
	// Schemas are the governed schemas (the model may hold more, e.g. auth).
	Schemas []string
	// SchemaFiles are recorded as schema_files, relative to the policy.
	SchemaFiles []string
	// Version is migrations.version, 14 digits.
	Version string
	// PolicyPath is where the policy will be written; schema_files are
	// relative to its directory.
	PolicyPath string
}

// DefaultOrg is the default org id a drafted policy proposes.
const DefaultOrg = "a0000000-0000-0000-0000-000000000001"

// Names recognised, most likely first.
var (
	tenantNames     = []string{"organizations", "organization", "orgs", "Organization", "accounts", "account", "Account", "workspaces", "workspace", "Workspace", "teams", "team", "Team", "tenants", "tenant", "Tenant"}
	usersNames      = []string{"users", "user", "User", "people", "profiles"}
	ownerNames      = []string{"user_id", "owner_id", "created_by", "author_id", "creator_id", "userId", "ownerId", "createdById", "authorId"}
	orderNames      = []string{"created_at", "inserted_at", "createdAt", "joined_at", "id"}
	primaryNames    = []string{"is_primary", "primary", "is_default", "isPrimary", "isDefault"}
	userSpecificish = []string{"user_", "profile", "setting", "preference", "subscription", "credit", "customer", "session", "token", "notification"}
)

// Result is a drafted policy and what a person still has to decide.
type Result struct {
	YAML []byte
	// Open lists the questions left open, one line each.
	Open []string
}

// Draft writes a starter policy for db.
func Draft(db *introspect.Database, opts Options) (*Result, error) {
	governed := func(t *introspect.Table) bool { return slices.Contains(opts.Schemas, t.Schema) }
	find := func(names []string, only func(*introspect.Table) bool) *introspect.Table {
		for _, n := range names {
			for _, t := range db.Tables {
				if t.Name == n && only(t) {
					return t
				}
			}
		}
		return nil
	}
	var open []string
	tenant := find(tenantNames, governed)
	users := db.Table("auth", "users")
	if users == nil {
		users = find(usersNames, func(t *introspect.Table) bool { return t != tenant })
	}
	if tenant == nil {
		return nil, fmt.Errorf("no organizations table found (looked for %s in %s): create the tenant table first, or write tenant.table by hand", strings.Join(tenantNames, ", "), strings.Join(opts.Schemas, ", "))
	}
	tenantKey := singleKey(tenant)
	if tenantKey == nil {
		return nil, fmt.Errorf("tenant table %s has no single-column primary key", tenant.QualifiedName())
	}
	var membership *introspect.Table
	var memberUser, memberOrg string
	if users != nil {
		for _, t := range db.Tables {
			u, o := fkTo(t, users), fkTo(t, tenant)
			if u != "" && o != "" && governed(t) {
				membership, memberUser, memberOrg = t, u, o
				break
			}
		}
	}

	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# Drafted by `warden init` from the schema: review every line, answer the\n")
	w("# OPEN questions (warden plan fails on them until you do), then run\n")
	w("# warden plan to see what each decision does. Reference: warden's README,\n")
	w("# \"Policy reference\".\n")
	w("version: 1\n\nschemas: [%s]\n", strings.Join(quoteAll(opts.Schemas), ", "))
	if len(opts.SchemaFiles) > 0 {
		w("\n# Loaded, in order, into a throwaway PostgreSQL when no database is given.\nschema_files:\n")
		for _, f := range opts.SchemaFiles {
			w("  - %s\n", yamlString(f))
		}
	}
	w("\ntenant:\n  table: %s   # found by its name\n  key: %s\n  column: org_id\n", ref(tenant), yamlString(ident.QuoteIfNeeded(tenantKey.Name)))
	typ, supported := policy.TenantTypeOf(tenantKey.Type)
	switch {
	case !supported:
		w("  default_org: %s   # OPEN: the tenant key is %s; warden supports uuid, text, bigint and integer keys\n", DefaultOrg, tenantKey.Type)
		open = append(open, fmt.Sprintf("tenant.key %s is %s, not uuid, text, bigint or integer", tenant.QualifiedName(), tenantKey.Type))
	case typ == "uuid":
		w("  default_org: %s   # rows with no owner to derive from go here\n", DefaultOrg)
	case typ == "bigint", typ == "integer":
		w("  type: %s\n  default_org: 1000000000   # rows with no owner go here: choose a key no org has or will get\n", typ)
	default:
		w("  type: text\n  default_org: default-org   # rows with no owner to derive from go here\n")
	}
	// Name the columns the default org row needs a value for, so the
	// reviewer fills them in.
	var needs []string
	for _, col := range tenant.Columns {
		if classify.NeedsDefaultOrgValue(col, tenantKey.Name) != "" {
			needs = append(needs, col.Name)
		}
	}
	if len(needs) > 0 {
		// Left empty on purpose: plan names each column until it has a
		// value (an empty string would pass for one).
		var eg []string
		for _, n := range needs {
			eg = append(eg, ident.QuoteIfNeeded(n)+": <value>")
		}
		w("  default_org_values: {}   # OPEN: the default org row's NOT NULL columns need values: {%s}\n", ident.Comment(strings.Join(eg, ", ")))
		open = append(open, "tenant.default_org_values: give the default org row's NOT NULL columns ("+strings.Join(needs, ", ")+") a value")
	}
	if users != nil {
		key := singleKey(users)
		keyName := "id"
		if key != nil {
			keyName = key.Name
		}
		w("\nusers:\n  table: %s\n  key: %s\n", ref(users), yamlString(ident.QuoteIfNeeded(keyName)))
		if users.Schema != "auth" || users.Name != "users" {
			// Not Supabase: the app tells the database its org itself.
			w("\n# How a request tells the database its org: the app runs\n# SELECT set_config('app.org_id', <org id>, true) in each transaction.\n# (kind: jwt for a PostgREST-style server; see the README.)\nrequest_context:\n  kind: session\n  setting: app.org_id\n")
		}
	} else {
		open = append(open, "no users table found: set users.table")
		w("\nusers:\n  table: auth.users   # OPEN: no users table found; name yours\n  key: id\n")
	}

	// Ownership columns the schema uses, as FKs to the users table first.
	var owners []string
	for _, n := range ownerNames {
		for _, t := range db.Tables {
			if governed(t) && t.Column(n) != nil && t != membership && t != users {
				owners = append(owners, n)
				break
			}
		}
	}
	// Then every other column with a foreign key to the users table (an
	// actor, an assignee): a table whose only link to a user is such a
	// column would otherwise be drafted global, readable by every org.
	// Sources are ranked, so a table with a better one keeps it, and one
	// whose only such column is nullable is asked about (when_null).
	named := len(owners)
	if users != nil {
		var refs []string
		for _, t := range db.Tables {
			if !governed(t) || t == membership || t == users {
				continue
			}
			for _, fk := range t.ForeignKeys {
				if len(fk.Columns) == 1 && fk.RefSchema == users.Schema && fk.RefTable == users.Name && !slices.Contains(owners, fk.Columns[0]) && !slices.Contains(refs, fk.Columns[0]) {
					refs = append(refs, fk.Columns[0])
				}
			}
		}
		sort.Strings(refs)
		owners = append(owners, refs...)
	}
	if len(owners) == 0 {
		owners = []string{"user_id"}
	}
	w("\n# Columns that name the owning user, tried in this order.\nownership:\n")
	for i, o := range owners {
		if i == named && named < len(owners) && users != nil {
			w("  # Other columns that reference the users table:\n")
		}
		w("  - column: %s\n", yamlString(ident.QuoteIfNeeded(o)))
	}
	if membership != nil {
		w("\n# A user's org comes from here (found: it references both tables).\nmembership:\n  table: %s\n  user_column: %s\n  org_column: %s\n",
			ref(membership), yamlString(ident.QuoteIfNeeded(memberUser)), yamlString(ident.QuoteIfNeeded(memberOrg)))
		if c := firstColumn(membership, primaryNames, "boolean"); c != "" {
			w("  primary_column: %s\n", yamlString(ident.QuoteIfNeeded(c)))
		}
		if c := firstColumn(membership, orderNames, ""); c != "" {
			w("  order_column: %s\n", yamlString(ident.QuoteIfNeeded(c)))
		}
	}
	w("\nmigrations:\n  format: supabase\n  version: %q\n  lock_timeout: 2s\n", opts.Version)

	// Classify against this much to see each table's owner column or FK
	// path. A path runs through scoped tables only, so the tables with an
	// owner go into scope first and each pass adds the tables that reach
	// them, until none is added.
	header := b.String()
	decided := map[*introspect.Table]bool{}
	var plan *classify.Plan
	for pass := 0; ; pass++ {
		var draft strings.Builder
		draft.WriteString(header + "unclassified: warn\nscope:\n")
		for _, t := range db.Tables {
			if decided[t] {
				fmt.Fprintf(&draft, "  - %s\n", ref(t))
			}
		}
		if len(decided) == 0 {
			draft.WriteString("  []\n")
		}
		probe, err := policy.Parse(opts.PolicyPath, []byte(draft.String()))
		if err != nil {
			return nil, fmt.Errorf("starter: the drafted policy does not parse: %w", err)
		}
		plan = classify.Classify(db, probe)
		added := false
		for _, tp := range plan.Tables {
			if decided[tp.Table] || tp.Class != classify.Unclassified {
				continue
			}
			if tp.Owner != nil && !looksUserSpecific(tp.Table.Name) || tp.Owner == nil && len(tp.Sources) > 0 {
				decided[tp.Table], added = true, true
			}
		}
		if !added || pass > len(db.Tables) {
			break
		}
	}
	var scope, global, undecided []*classify.TablePlan
	for _, tp := range plan.Tables {
		switch {
		case decided[tp.Table]:
			scope = append(scope, tp)
		case tp.Class == classify.TenantRoot || tp.Class == classify.AlreadyScoped:
		case len(tp.Sources) > 0:
			undecided = append(undecided, tp)
		default:
			global = append(global, tp)
		}
	}
	w("\n# Tables that move to org ownership: each has an owner column or a\n# foreign-key path to one.\nscope:\n")
	if len(scope) == 0 {
		w("  []\n")
	}
	for _, tp := range scope {
		why := "ownership column " + ownerName(tp)
		switch {
		case tp.TenantKey != nil:
			why = "column " + tp.TenantKey.Name + " holds the tenant key"
		case tp.Owner == nil:
			why = "foreign-key path " + tp.PathString()
		}
		w("  - %s   # %s\n", ref(tp.Table), ident.Comment(why))
	}
	w("\n# User-specific tables that stay user-owned.\nexclude: []\n")
	if len(undecided) > 0 {
		w("# OPEN: these have an owner column but look user-specific; add each to\n# scope (the org owns it) or exclude (it stays the user's):\n")
		for _, tp := range undecided {
			w("#   %s (ownership column %s)\n", ident.Comment(ref(tp.Table)), ident.Comment(ownerName(tp)))
			open = append(open, fmt.Sprintf("%s: scope or exclude?", tp.Name()))
		}
	}
	w("\n# No owner column and no foreign-key path: shared reference data. Move\n# any that belongs to a user or an org to scope or exclude.\nglobal:\n")
	if len(global) == 0 {
		w("  []\n")
	}
	for _, tp := range global {
		w("  - %s\n", ref(tp.Table))
	}
	w("\nunclassified: error\n")

	// What the plan will still ask: sources that tie, rows whose every
	// source can be NULL.
	final, err := policy.Parse(opts.PolicyPath, []byte(b.String()))
	if err != nil {
		return nil, fmt.Errorf("starter: the drafted policy does not parse: %w", err)
	}
	for _, pr := range classify.Classify(db, final).Problems {
		if pr.Table == "" {
			continue
		}
		if pr.Decide {
			open = append(open, strings.ReplaceAll(pr.Error(), opts.PolicyPath, filepath.Base(opts.PolicyPath)))
		}
	}
	if len(open) > 0 {
		w("\n# OPEN questions (warden plan names them too):\n")
		for _, q := range open {
			w("#   - %s\n", ident.Comment(q))
		}
	}
	return &Result{YAML: []byte(b.String()), Open: open}, nil
}

func singleKey(t *introspect.Table) *introspect.Column {
	if t.PrimaryKey == nil || len(t.PrimaryKey.Columns) != 1 {
		return nil
	}
	return t.Column(t.PrimaryKey.Columns[0])
}

// fkTo returns the column of t's single-column FK to target, or "".
func fkTo(t, target *introspect.Table) string {
	for _, fk := range t.ForeignKeys {
		if fk.RefSchema == target.Schema && fk.RefTable == target.Name && len(fk.Columns) == 1 {
			return fk.Columns[0]
		}
	}
	return ""
}

func firstColumn(t *introspect.Table, names []string, typ string) string {
	for _, n := range names {
		if c := t.Column(n); c != nil && (typ == "" || c.Type == typ) {
			return n
		}
	}
	return ""
}

func looksUserSpecific(name string) bool {
	lower := strings.ToLower(name)
	for _, s := range userSpecificish {
		if strings.Contains(lower, s) {
			return true
		}
	}
	return false
}

func ownerName(tp *classify.TablePlan) string {
	if tp.Owner == nil {
		return ""
	}
	return tp.Owner.Name
}

// ref writes a table as a policy table reference: schema.name with SQL
// quoting where needed, as a YAML string.
func ref(t *introspect.Table) string {
	return yamlString(ident.Display(t.Schema, t.Name))
}

func quoteAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = yamlString(ident.QuoteIfNeeded(n))
	}
	return out
}

// yamlString writes s as a YAML scalar: bare when YAML reads it back as
// the same string, else single-quoted.
func yamlString(s string) string {
	plain := s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789_.") == "" && !strings.ContainsAny(s[:1], "0123456789.")
	if plain {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
