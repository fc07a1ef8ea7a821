// Package policy loads, strictly decodes and validates policy.yaml, the
// reviewed configuration that tells warden how to move an application from
// user-owned rows to org-owned rows (docs/policy-format.md).
//
// The package checks only the file: that every key is known, every value has
// the right type and range, table names are well formed and the decisions do
// not contradict each other. Whether the tables exist is for the classifier,
// which reports such problems at the reference's position with
// TableRef.Errorf. Every error is an *Error carrying file:line:col, so that a
// reviewer can go straight to the line to fix.
package policy

import (
	"os"
	"strings"
	"time"
)

// Table classes a policy can force with tables.<name>.class, and that the
// exclude and global lists imply.
const (
	ClassExcluded  = "excluded"
	ClassGlobal    = "global"
	ClassDirect    = "direct"
	ClassInherited = "inherited"
)

// Values of Policy.Unclassified.
const (
	UnclassifiedError = "error"
	UnclassifiedWarn  = "warn"
)

// Values of Migrations.Format.
const (
	FormatSupabase      = "supabase"
	FormatGoose         = "goose"
	FormatGolangMigrate = "golang-migrate"
	FormatPsql          = "psql"
)

// Values of Migrations.Layout.
const (
	// LayoutGrouped writes the steps of one kind emitted together into one
	// file (one transaction per table inside it) wherever the runner allows.
	LayoutGrouped = "grouped"
	// LayoutStep writes one file per step: the layout of histories
	// recorded before grouping existed.
	LayoutStep = "step"
)

// Layouts are the values of migrations.layout, the default first.
var Layouts = []string{LayoutGrouped, LayoutStep}

// Values of Backfill.OrgIndex: when the org column's index is built.
const (
	// OrgIndexBeforeBackfill builds it in phase 2, right after the column
	// is added, as the migration report orders: every backfilled row then
	// also updates the index.
	OrgIndexBeforeBackfill = "before_backfill"
	// OrgIndexAfterBackfill builds it once the backfill is done and
	// checked, before NOT NULL and row-level security need it: the
	// backfill writes only the table, and one concurrent build then reads
	// the filled column. Faster on large tables; org-scoped reads during
	// the backfill are not indexed (nothing reads by the column yet).
	OrgIndexAfterBackfill = "after_backfill"
)

// OrgIndexes are the values of backfill.org_index, the default first.
var OrgIndexes = []string{OrgIndexBeforeBackfill, OrgIndexAfterBackfill}

// Defaults applied when a key is omitted, and the limits values must keep
// to (docs/policy-format.md).
const (
	defaultTenantKey    = "id"
	defaultTenantColumn = "org_id"
	defaultTenantType   = "uuid"
	defaultOnDelete     = "cascade"
	defaultOrgLabel     = "Default organization"
	defaultSetting      = "app.org_id"
	defaultUsersSchema  = "auth"
	defaultUsersTable   = "users"
	defaultUsersKey     = "id"
	defaultOwnership    = "user_id"
	defaultUserColumn   = "user_id"
	defaultOrgColumn    = "org_id"
	defaultBatchSize    = 5000
	defaultLockTimeout  = 2 * time.Second
	// defaultStatementTimeout bounds the files that take strong locks:
	// their statements are catalog changes that take milliseconds, so one
	// that runs for a minute is scanning under a lock it must not hold.
	defaultStatementTimeout = time.Minute
	defaultFormat           = FormatSupabase
	defaultUnclassified     = UnclassifiedError
	maxBatchSize            = 1000000
	maxPause                = time.Minute
	minLockTimeout          = time.Millisecond
	maxLockTimeout          = time.Minute
	maxStatementTimeout     = 24 * time.Hour
	migrationVersionDigit   = 14
)

// Policy is a validated policy.yaml with defaults applied.
type Policy struct {
	// File is the name given to Load or Parse, used in positions.
	File string
	// Dir is the directory of File; schema_files are relative to it.
	Dir string

	Version int
	// Schemas are the governed schemas, in the order written; the first
	// qualifies bare table names.
	Schemas     []string
	SchemaFiles []SchemaFile

	Tenant Tenant
	Users  Users
	// Context is how a request tells the database its org (request_context).
	Context    RequestContext
	Ownership  []OwnershipColumn
	Membership *Membership // nil: every user maps to Tenant.DefaultOrg

	// Scope lists the tables moved to org ownership, in the order written.
	// The classifier works out how each gets its org (an ownership column,
	// or a foreign-key path); a table with an owner that is in none of
	// scope, exclude and global is unclassified, which is the gate that
	// catches a new table added without a decision.
	Scope []TableRef
	// Exclude and Global list tables in the order written.
	Exclude []TableRef
	Global  []TableRef
	// Tables are the per-table overrides in the order written.
	Tables []Override
	// Critical is the priority list for reporting, in the order written.
	Critical []TableRef

	Unclassified string // UnclassifiedError or UnclassifiedWarn
	Backfill     Backfill
	Migrations   Migrations
	// Distribute, when set, adds the steps that shard the migrated schema
	// by org on a distributed PostgreSQL (distribute:); nil keeps one node.
	Distribute *Distribute
}

// Distribution targets (distribute.target).
const (
	// DistributeCitus: Citus, sharding every scoped table by the tenant
	// column, colocated, with the tenant, users, membership and global
	// tables as reference tables.
	DistributeCitus = "citus"
)

// DistributeTargets are the values of distribute.target.
var DistributeTargets = []string{DistributeCitus}

// How excluded tables are placed on a distributed target (distribute.excluded).
const (
	// ExcludedLocal keeps them on the coordinator (Citus local tables).
	ExcludedLocal = "local"
	// ExcludedReference copies them to every node (reference tables).
	ExcludedReference = "reference"
	// ExcludedUser distributes them by their owning user column, colocated
	// with one another (a user's rows of every excluded table on one node).
	ExcludedUser = "user"
)

// ExcludedPlacements are the values of distribute.excluded, the default first.
var ExcludedPlacements = []string{ExcludedLocal, ExcludedReference, ExcludedUser}

// Distribute is the distribute: section.
type Distribute struct {
	Target string // one of DistributeTargets
	// Excluded is where the excluded tables go: ExcludedLocal,
	// ExcludedReference or ExcludedUser.
	Excluded string
	Pos      Pos
}

// SchemaFile is one entry of schema_files.
type SchemaFile struct {
	Name string // as written, relative to the policy's directory
	Path string // Name joined to Policy.Dir; the file exists
	Pos  Pos
}

// Tenant describes the tenant root table and the column added everywhere.
type Tenant struct {
	Table    TableRef
	Key      string // primary key column of Table
	Column   string // tenant column added to scoped tables
	Type     string // one of TenantTypes: the SQL type of Key and Column
	OnDelete string // "cascade", "restrict", "no action" or "set null"
	// DefaultOrg is the default org's key in canonical form for Type: a
	// lower-case 8-4-12 UUID, a decimal integer, or the text as written.
	DefaultOrg     string
	DefaultOrgName string
	// DefaultOrgValues are the values of the tenant table's other columns
	// for the default org row warden inserts (default_org_values), in the
	// order written. PostgreSQL casts each to its column's type.
	DefaultOrgValues []ColumnValue
	// DefaultOrgExists: the default org row is the app's own; the
	// migration checks it is there instead of inserting it.
	DefaultOrgExists bool
	// Pos is where the tenant section is, for problems found against the
	// catalog (a key whose type is not Type, a column with no value).
	Pos Pos
}

// HasValue reports whether default_org_values sets column col.
func (t Tenant) HasValue(col string) bool {
	for _, v := range t.DefaultOrgValues {
		if v.Column == col {
			return true
		}
	}
	return false
}

// TenantTypes are the SQL types a tenant key may have.
var TenantTypes = []string{"uuid", "text", "bigint", "integer"}

// ColumnValue is one column: value entry of tenant.default_org_values.
type ColumnValue struct {
	Column string
	Value  string
	Pos    Pos
}

// Request context kinds: how a request carries its org to the database.
const (
	// ContextSupabase: Supabase's JWT, the org in app_metadata, kept in
	// step with auth.users.raw_app_meta_data by phase 5.
	ContextSupabase = "supabase"
	// ContextJWT: PostgREST-style claims in request.jwt.claims, the org at
	// RequestContext.Claim; the token issuer puts it there.
	ContextJWT = "jwt"
	// ContextSession: the app sets RequestContext.Setting per transaction
	// (SET LOCAL / set_config(..., true)).
	ContextSession = "session"
)

// KeepsClaim reports whether the context keeps each user's org claim in
// the users table (phase 5), which only Supabase's does.
func (c RequestContext) KeepsClaim() bool { return c.Kind == ContextSupabase }

// TenantTypeOf is the tenant.type a key column of the catalog type has
// (varchar counts as text: the key is compared as text), and false when
// warden does not support keys of that type.
func TenantTypeOf(catalog string) (string, bool) {
	base := catalog
	if i := strings.IndexByte(base, '('); i > 0 {
		base = base[:i]
	}
	switch base {
	case "uuid", "text", "bigint", "integer":
		return base, true
	case "character varying":
		return "text", true
	}
	return catalog, false
}

// RequestContext is the request_context section.
type RequestContext struct {
	Kind string // one of the Context constants
	// Claim is the path of the org in the JWT claims, as keys
	// (["app_metadata", "org_id"]); jwt and supabase only.
	Claim []string
	// Setting is the configuration parameter the app sets (session only),
	// e.g. app.org_id.
	Setting string
	// UserSetting is the parameter holding the request's user id (session
	// only, optional): the row-level security of excluded tables compares
	// their owner with it. Empty: excluded tables get none (REPORT.md says
	// so). The jwt and supabase contexts read the JWT's sub claim.
	UserSetting string
	// Roles are the roles the org policies apply to, in the order written;
	// empty: every role (PUBLIC). Roles that bypass RLS or own the tables
	// are not affected either way.
	Roles []string
	Pos   Pos
}

// Users describes the users table that ownership columns reference.
type Users struct {
	Table TableRef
	Key   string
}

// OwnershipColumn is a column whose value is the owning user.
type OwnershipColumn struct {
	Column string
	// RequireFK: the column counts only when it is a foreign key to
	// Users.Table (default true).
	RequireFK bool
	Pos       Pos
	// Implied: the entry is the default (no ownership key in the file), so
	// a schema without the column is no mistake.
	Implied bool
}

// Membership is the user → org mapping table.
type Membership struct {
	Table         TableRef
	UserColumn    string
	OrgColumn     string
	PrimaryColumn string // optional boolean column; "" when absent
	OrderColumn   string
	// PersonalOrgs: every user without a membership gets an org of their
	// own (before the backfill, and on signup by a trigger on the users
	// table) instead of sharing the default org. MemberValues are the
	// membership row's other required columns for it (e.g. role: owner).
	PersonalOrgs bool
	MemberValues []ColumnValue
	// PersonalOrgsPos is where personal_orgs was set, for messages.
	PersonalOrgsPos Pos
}

// Override is a per-table decision from the tables mapping. At most one of
// Via, OrgFrom and Class is set.
type Override struct {
	Table TableRef
	Via   *TableRef // the FK parent to inherit from
	Class string    // one of the Class constants
	// OrgFrom pins where the table's rows get their org, in the order
	// written: each entry names one of the table's columns (an ownership
	// column, or a column referencing the tenant table) or one of its
	// foreign-key parents. A row takes the first that gives an org, the
	// default org after the last (if NullParent allows). Names are as
	// written; a parent is resolved against the governed schemas by the
	// classifier, which knows the table's columns.
	OrgFrom []SourceRef
	// NullParent decides what a row gets when every source of its org is
	// NULL (a nullable parent foreign key, a nullable owner):
	// NullParentDefaultOrg, or "" (not decided: a table whose every source
	// can be NULL is a plan problem). Written null_parent or when_null.
	NullParent string
	// RequireFK, when set, replaces the ownership entries' require_fk for
	// this table alone: false lets an ownership column without a foreign
	// key to the users table be this table's owner (a text created_by
	// holding user ids), true refuses one the ownership entry allows.
	RequireFK *bool
}

// SourceRef is one entry of tables.<name>.org_from.
type SourceRef struct {
	// Name is the entry as written: a column of the table, or a table.
	Name string
	// Table is Name read as a table reference, qualified with the first
	// governed schema when bare; ok is false when Name is no table name.
	Table TableRef
	Pos   Pos
	Key   string
}

// NullParentDefaultOrg is the null_parent value that accepts the default
// org for rows whose parent foreign key is NULL.
const NullParentDefaultOrg = "default_org"

// Backfill holds the batched backfill settings.
type Backfill struct {
	BatchSize int
	Pause     time.Duration
	// OrgIndex is one of the OrgIndex constants.
	OrgIndex string
}

// IndexAfterBackfill reports whether the org column's index is built after
// the backfill (backfill.org_index: after_backfill).
func (b Backfill) IndexAfterBackfill() bool { return b.OrgIndex == OrgIndexAfterBackfill }

// Migrations holds the settings of the generated files.
type Migrations struct {
	Format string // one of the Format constants
	// Layout is one of the Layout constants, or "" when the policy does not
	// say: the recorded history's layout, grouped for a new one.
	Layout           string
	Version          string // 14 digits; generated files count up from it
	LockTimeout      time.Duration
	StatementTimeout time.Duration // 0: not set (the default is a minute)
}

// Load reads and validates the policy file at path. Errors are *Error values
// (an unreadable file included, at the file's position with no line).
func Load(path string) (*Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{Pos: Pos{File: path}, Msg: "cannot read policy file: " + err.Error()}
	}
	return Parse(path, data)
}

// Parse decodes and validates policy bytes. name is used in error positions
// and its directory to resolve schema_files (which must exist), so pass the
// file's path. Errors are *Error values.
func Parse(name string, data []byte) (*Policy, error) {
	p, err := parse(name, data)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// InScope reports whether t is listed in scope. It builds the lookup for
// one question; a caller with many questions uses Decisions.
func (p *Policy) InScope(t TableRef) bool { return p.Decisions().InScope(t) }

// Override returns the decision the policy makes for table t, if any:
// entries of exclude and global come back as overrides with class excluded
// and global, so the classifier has one place to look. It builds the
// lookup for one question; a caller with many questions uses Decisions.
func (p *Policy) Override(t TableRef) (Override, bool) { return p.Decisions().Override(t) }

// tableKey identifies a table, whatever its position in the policy.
type tableKey struct{ schema, name string }

func keyOf(t TableRef) tableKey { return tableKey{t.Schema, t.Name} }

// Decisions finds the policy's decisions by table in constant time, so that
// classifying stays linear in the number of tables.
type Decisions struct {
	scope    map[tableKey]TableRef
	override map[tableKey]Override
}

// Decisions indexes the policy's scope, exclude, global and tables entries.
// Build it once per classification: it is not updated when p changes.
func (p *Policy) Decisions() *Decisions {
	d := &Decisions{scope: map[tableKey]TableRef{}, override: map[tableKey]Override{}}
	for _, r := range p.Scope {
		if _, dup := d.scope[keyOf(r)]; !dup {
			d.scope[keyOf(r)] = r
		}
	}
	// The first decision wins, in the order exclude, global, tables.
	add := func(k tableKey, o Override) {
		if _, dup := d.override[k]; !dup {
			d.override[k] = o
		}
	}
	for _, r := range p.Exclude {
		add(keyOf(r), Override{Table: r, Class: ClassExcluded})
	}
	for _, r := range p.Global {
		add(keyOf(r), Override{Table: r, Class: ClassGlobal})
	}
	for _, o := range p.Tables {
		add(keyOf(o.Table), o)
	}
	return d
}

// InScope reports whether t is listed in scope.
func (d *Decisions) InScope(t TableRef) bool {
	_, ok := d.scope[keyOf(t)]
	return ok
}

// Override returns the decision for t, as Policy.Override.
func (d *Decisions) Override(t TableRef) (Override, bool) {
	o, ok := d.override[keyOf(t)]
	return o, ok
}

// InSchemas reports whether schema is one of the governed schemas.
func (p *Policy) InSchemas(schema string) bool {
	for _, s := range p.Schemas {
		if s == schema {
			return true
		}
	}
	return false
}
