package migrations

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/warden-sql/warden/generator/classify"
	"github.com/warden-sql/warden/internal/ident"
	"github.com/warden-sql/warden/introspect"
	"github.com/warden-sql/warden/policy"
)

// Names of objects warden creates outside the scoped tables. The schema is
// not exposed through the API (PostgREST serves public), which is why the
// SECURITY DEFINER helpers live there.
const (
	wardenSchema = "warden"
	// ImmutableSQLState is raised when a non-null tenant column would
	// change. Class 23 (integrity constraint violation) makes clients and
	// PostgREST treat it as a conflict, not a server fault.
	ImmutableSQLState = "23W01"
	// ParentOrgSQLState is raised when a row references a row of another
	// org through a foreign key (class 23, like a foreign key violation).
	ParentOrgSQLState = "23W02"
	// Trigger names: BEFORE row triggers fire in name order, so the fill
	// trigger runs after an app's own triggers ("w" sorts late) and the
	// immutability check after everything ("zz").
	fillTriggerName      = "warden_fill_org_id"
	immutableTriggerName = "zz_warden_org_id_immutable"
	// parentTriggerName fires after the fill trigger has set the org.
	parentTriggerName = "zz_warden_parent_org"
	policyPrefix      = "warden_org_"
	// metaColumn is the users table's JSON column holding the app metadata
	// the JWT org claim is kept in.
	metaColumn = classify.ClaimColumn
)

// common is what every template sees about the policy.
type common struct {
	Tenant         string // quoted, qualified tenant table
	TenantKey      string // quoted key column
	Col            string // quoted tenant column
	ColName        string // tenant column, raw
	ColLit         string // tenant column as a literal
	DefaultOrg     string // literal
	DefaultOrgName string // literal
	TenantHasName  bool   // the tenant table has a "name" column to fill
	OnDelete       string // SQL words: CASCADE, RESTRICT, ...
	LockTimeout    string // literal, e.g. '2s'
	// IndexPhase is the phase the org index is built in: 2, or 3 with
	// backfill.org_index: after_backfill.
	IndexPhase int
	// StatementTimeout is the policy's statement_timeout as a literal, ""
	// when not set.
	StatementTimeout string
	BatchSize        int
	Pause            string // literal interval
	Users            string // quoted, qualified users table
	UsersKey         string
	UsersKeyType     string
	MetaColumn       string // quoted app metadata column of the users table
	// UserOrg is the SQL expression of a user's org given the user id in
	// the placeholder $USER, without the default-org fallback.
	UserOrg string
	// KnownUserOrg is UserOrg with the policy's fallback for a user who
	// exists but has no membership: the default org, the org the backfill
	// and the user's JWT claim give them. A NULL or unknown user still
	// gives NULL: nothing to derive from, no guess.
	KnownUserOrg string
	// KnownDefault is KnownUserOrg's last term: the default org for a user
	// who exists ("" without a membership table, where UserOrg is that).
	KnownDefault string
	// ImmutableState is the SQLSTATE of the immutability error, as a
	// literal and raw.
	ImmutableState    string
	ImmutableStateRaw string
	// Membership is the quoted membership table ("" without one) and
	// MemberUser its user column.
	Membership string
	MemberUser string
	W          string // quoted warden schema

	// OrgType is the SQL type of the tenant key and column.
	OrgType string
	// Context is the request context kind (policy.Context*); ClaimSync
	// tells that phase 5 keeps the users' JWT claim in step (supabase).
	Context   string
	ClaimSync bool
	// AuthOrgExpr is the org the request claims, NULL when it claims
	// none.
	AuthOrgExpr string
	// AuthUserText is the request's user id as text, NULL when it names
	// none; "" when the context never carries a user (session without
	// user_setting). AuthUserCast turns it, as v_text, into the users key
	// type (NULL for a value that is no such key). public.auth_org_id()
	// checks the claimed org against this user's membership.
	AuthUserText string
	AuthUserCast string
	// AuthOrgCall is how warden's own SECURITY DEFINER trigger functions
	// ask for the caller's org: warden.request_org() where it exists, a
	// tenth of the cost of public.auth_org_id() per row (the wrapper's
	// SET search_path is paid on every call), else public.auth_org_id().
	AuthOrgCall string
	// MemberOrg is the membership table's quoted org column.
	MemberOrg string
	// PersonalOrg is what the personal_orgs step inserts, nil unless
	// membership.personal_orgs.
	PersonalOrg *personalOrgData
	// ClaimDisplay and SettingDisplay name where the org comes from, for
	// comments.
	ClaimDisplay   string
	SettingDisplay string
	// PolicyRoles is the TO list of every org policy ("PUBLIC" unless
	// request_context.roles names roles); RoleLits are those roles as
	// literals, for the preflight.
	PolicyRoles string
	RoleLits    []string
	// TenantDisplay is the tenant table for comments.
	TenantDisplay string
	// DefaultOrgValues are the tenant table's other columns given a value
	// for the default org row; DefaultOrgExists: the row is the app's own.
	DefaultOrgValues []columnValue
	DefaultOrgExists bool
}

// columnValue is one quoted column and its value as a literal.
type columnValue struct{ Col, Val string }

// personalOrgData is the org and membership rows the personal_orgs step
// inserts for the user p_user: quoted columns and SQL values, in order.
type personalOrgData struct {
	OrgCols, OrgVals       []string
	MemberCols, MemberVals []string
}

// personalOrg builds what a personal org row and its membership hold: the
// tenant key made fresh where PostgreSQL will not (uuid and text keys; an
// integer key takes its own default), "Personal organization" as its name,
// default_org_values with the user's id appended to text values (a slug
// column is often unique), and the membership's user, org, primary flag
// and member_values.
func personalOrg(pol *policy.Policy, tenant *introspect.Table) *personalOrgData {
	tn, m := pol.Tenant, pol.Membership
	d := &personalOrgData{}
	switch tn.Type {
	case "uuid":
		d.OrgCols, d.OrgVals = append(d.OrgCols, ident.Quote(tn.Key)), append(d.OrgVals, "gen_random_uuid()")
	case "text":
		d.OrgCols, d.OrgVals = append(d.OrgCols, ident.Quote(tn.Key)), append(d.OrgVals, "gen_random_uuid()::text")
	}
	if tenant.Column("name") != nil && !tn.HasValue("name") {
		d.OrgCols, d.OrgVals = append(d.OrgCols, `"name"`), append(d.OrgVals, "'Personal organization'")
	}
	for _, v := range tn.DefaultOrgValues {
		val := ident.Literal(v.Value)
		if col := tenant.Column(v.Column); col != nil && isTextType(baseType(col.Type)) {
			val += " || '-' || p_user::text"
		}
		d.OrgCols, d.OrgVals = append(d.OrgCols, ident.Quote(v.Column)), append(d.OrgVals, val)
	}
	d.MemberCols, d.MemberVals = []string{ident.Quote(m.UserColumn), ident.Quote(m.OrgColumn)}, []string{"p_user", "v_org"}
	if m.PrimaryColumn != "" {
		d.MemberCols, d.MemberVals = append(d.MemberCols, ident.Quote(m.PrimaryColumn)), append(d.MemberVals, "true")
	}
	for _, v := range m.MemberValues {
		d.MemberCols, d.MemberVals = append(d.MemberCols, ident.Quote(v.Column)), append(d.MemberVals, ident.Literal(v.Value))
	}
	return d
}

// tableData is one scoped table as the templates see it. Every name is
// already quoted (identifiers) or escaped (literals).
type tableData struct {
	common
	Display     string // schema.table for comments
	T           string // quoted, qualified
	Lit         string // the qualified name as a string literal, for regclass casts and messages
	Schema      string // literal
	Name        string // literal
	Class       string
	Reason      string
	FK          string // quoted constraint name
	FKLit       string
	Check       string
	CheckLit    string
	Index       string // quoted, schema-qualified for DROP
	IndexName   string // quoted bare name for CREATE INDEX
	IndexLit    string // bare index name as a literal
	IndexCols   string
	Partitioned bool
	Partitions  []partData

	// ParentChecks are the table's foreign keys to org-owned tables, each
	// checked to point at a row of the row's own org; ParentFunc and
	// ParentTrigger do it.
	ParentChecks   []parentCheck
	ParentFunc     string
	ParentTrigger  string
	ParentState    string // literal SQLSTATE
	ParentStateRaw string

	FillFunc        string // quoted, qualified function
	BackfillFunc    string
	BackfillFuncLit string
	UpperFunc       string
	UpperFuncLit    string
	FillTrigger     string
	ImmTrigger      string

	// Derive is the SQL expression of the row's org from its sources, in
	// order, written against the alias "t" (backfill) — and DeriveNew
	// against NEW (fill trigger).
	Derive    string
	DeriveNew string
	// CallerFirst: the primary source is the row's owner, so on INSERT the
	// caller's own org comes first (the caller acts in it). OwnKey: the
	// primary source is the row's own column holding the tenant key.
	CallerFirst bool
	OwnKey      bool
	// Fallbacks describes the sources after the first, for comments; ""
	// when there is one.
	Fallbacks string
	// WhenNull: the policy gives rows with no source the default org
	// (when_null), so the fill trigger does too, as the backfill does.
	WhenNull bool
	// KnownTail is ", <default org for a known owner>" per owner source of
	// a chain of several sources: tried after the caller's org, as the
	// one-owner form (KnownUserOrg) tries it after the owner's org.
	KnownTail string

	// Finished: the table already carries the tenant column (class already
	// scoped) and only gets what the end state lacks. HasFK, HasIndex and
	// ColNotNull say what it has; FKValidated whether its FK is validated.
	Finished    bool
	HasFK       bool
	FKValidated bool
	HasIndex    bool
	ColNotNull  bool
	// OwnerOrParentNull is true-ish SQL (alias t) telling that the row has no
	// owner or parent to derive from: an orphan.
	HasPK bool
	// Citus: the policy distributes the schema on Citus (distribute.target),
	// whose GRANT and REVOKE on a function lose the quotes of its name, so
	// warden's functions get names that need none.
	Citus bool
	// Dist is the table's part of the Citus distribution (phase 8), nil
	// without one.
	Dist *distTable
	// PartBatchSQL is, for a partitioned table without a primary key, one
	// batch on one leaf partition as a format() string: the partition is
	// %1$s, the block range $1 to $2 (ctid ranges work per partition).
	PartBatchSQL string
	PKList       string // t."a", t."b"
	PKDesc       string // t."a" DESC, t."b" DESC
	PKCols       string // t."a" or (t."a", t."b") for a row comparison
	PKBare       string // "a", "b"
	PKJoin       string // t."a" = b."a" AND ...
	PKAfter      string // ((p_after->>0)::type, ...)
	PKUpper      string
	PKJSON       string // jsonb_build_array(b."a", ...)
	PKJSONt      string // jsonb_build_array(t."a", ...)
	PKOrderBy    string // b."a" DESC, ...

	Policies      []policyData
	AddPermissive bool
	Permissive    string
	PermissiveLit string

	schema, name string // raw, for uniqueFuncs
	indexRaw     string // the index name, unquoted
	tp           *classify.TablePlan
}

// nameFuncs names the table's helper functions in warden's schema after
// base.
func (d *tableData) nameFuncs(base string) {
	if d.Citus {
		base = citusFuncBase(base)
	}
	batch, upper := ident.Derive(base, "backfill_batch"), ident.Derive(base, "backfill_upper")
	d.FillFunc = ident.Qualified(wardenSchema, ident.Derive(base, "fill_"+d.ColName))
	d.ParentFunc = ident.Qualified(wardenSchema, ident.Derive(base, "parent_"+d.ColName))
	d.BackfillFunc = ident.Qualified(wardenSchema, batch)
	d.UpperFunc = ident.Qualified(wardenSchema, upper)
	// The procedure reads these back as text (regproc input and dynamic
	// SQL), which knows no U& escapes: plain quoting, inside a literal.
	d.BackfillFuncLit = ident.Literal(ident.Qualified(wardenSchema, batch))
	d.UpperFuncLit = ident.Literal(ident.Qualified(wardenSchema, upper))
}

// uniqueFuncs renames the helper functions of tables whose names clash:
// they are named after schema_table, so public."billing_invoices" and
// billing."invoices" would share them, and one table's CREATE OR REPLACE
// would replace the other's backfill. Clashing tables add a hash of their
// schema and name; the others keep their readable names.
func uniqueFuncs(tables []*tableData) {
	count := map[string]int{}
	for _, d := range tables {
		count[d.FillFunc]++
	}
	for _, d := range tables {
		if count[d.FillFunc] > 1 {
			sum := sha256.Sum256([]byte(d.schema + "\x00" + d.name))
			d.nameFuncs(d.schema + "_" + d.name + "_" + hex.EncodeToString(sum[:4]))
		}
	}
}

type partData struct {
	T         string
	Lit       string
	FK        string
	FKLit     string
	Index     string // quoted, qualified
	IndexName string // quoted bare name
	IndexLit  string
	IndexReg  string // the qualified name as a literal, for ::regclass
	SchemaLit string
	Display   string
	fkRaw     string // the FK name, unquoted
	indexRaw  string // the index name, unquoted
}

type policyData struct {
	Name    string // quoted
	NameLit string
	Command string // SELECT, INSERT, UPDATE, DELETE
	Using   bool
	Check   bool
}

func newCommon(plan *classify.Plan, db *introspect.Database) (common, error) {
	pol := plan.Policy
	tn := pol.Tenant
	c := common{
		Tenant:            ident.Qualified(tn.Table.Schema, tn.Table.Name),
		TenantKey:         ident.Quote(tn.Key),
		Col:               ident.Quote(tn.Column),
		ColName:           tn.Column,
		ColLit:            ident.Literal(tn.Column),
		DefaultOrg:        ident.Literal(tn.DefaultOrg),
		DefaultOrgName:    ident.Literal(tn.DefaultOrgName),
		OnDelete:          strings.ToUpper(tn.OnDelete),
		LockTimeout:       ident.Literal(pgDuration(pol.Migrations.LockTimeout)),
		IndexPhase:        indexPhase(pol),
		BatchSize:         pol.Backfill.BatchSize,
		Pause:             ident.Literal(pgDuration(pol.Backfill.Pause)),
		Users:             ident.Qualified(pol.Users.Table.Schema, pol.Users.Table.Name),
		UsersKey:          ident.Quote(pol.Users.Key),
		UsersKeyType:      usersKeyType(pol, db),
		MetaColumn:        ident.Quote(metaColumn),
		ImmutableState:    ident.Literal(ImmutableSQLState),
		ImmutableStateRaw: ImmutableSQLState,
		W:                 ident.Quote(wardenSchema),
		OrgType:           tn.Type,
		Context:           pol.Context.Kind,
		ClaimSync:         pol.Context.KeepsClaim(),
		PolicyRoles:       "PUBLIC",
		TenantDisplay:     ident.Display(tn.Table.Schema, tn.Table.Name),
		DefaultOrgExists:  tn.DefaultOrgExists,
	}
	switch pol.Context.Kind {
	case policy.ContextSupabase:
		c.AuthOrgExpr = fmt.Sprintf("nullif(\n    (nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb\n      -> 'app_metadata' ->> %s),\n    '')::%s",
			ident.Literal(tn.Column), tn.Type)
	case policy.ContextJWT:
		var keys []string
		for _, k := range pol.Context.Claim {
			keys = append(keys, ident.Literal(k))
		}
		c.ClaimDisplay = strings.Join(pol.Context.Claim, ".")
		c.AuthOrgExpr = fmt.Sprintf("nullif(\n    (nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb\n      #>> ARRAY[%s]::text[]),\n    '')::%s",
			strings.Join(keys, ", "), tn.Type)
	case policy.ContextSession:
		c.SettingDisplay = pol.Context.Setting
		c.AuthOrgExpr = fmt.Sprintf("nullif(pg_catalog.current_setting(%s, true), '')::%s", ident.Literal(pol.Context.Setting), tn.Type)
	}
	if st := pol.Migrations.StatementTimeout; st > 0 {
		c.StatementTimeout = ident.Literal(pgDuration(st))
	}
	if c.AuthUserText = requestUserText(pol); c.AuthUserText != "" {
		c.AuthUserCast = castIfValid("v_text", c.UsersKeyType)
		c.AuthOrgCall = `"warden".request_org()`
	} else {
		c.AuthOrgCall = "public.auth_org_id()"
	}
	if len(pol.Context.Roles) > 0 {
		var quoted []string
		for _, r := range pol.Context.Roles {
			quoted = append(quoted, ident.Quote(r))
			c.RoleLits = append(c.RoleLits, ident.Literal(r))
		}
		c.PolicyRoles = strings.Join(quoted, ", ")
	}
	for _, v := range tn.DefaultOrgValues {
		c.DefaultOrgValues = append(c.DefaultOrgValues, columnValue{Col: ident.Quote(v.Column), Val: ident.Literal(v.Value)})
	}
	tenant := db.Table(tn.Table.Schema, tn.Table.Name)
	if tenant == nil {
		return c, fmt.Errorf("tenant table %s not found", tn.Table)
	}
	// The default org row gets a name where the table has one the policy
	// does not set itself. Columns that would block the insert are plan
	// problems (classify), found before anything renders.
	if col := tenant.Column("name"); col != nil && !tn.HasValue("name") {
		c.TenantHasName = true
	}
	if m := pol.Membership; m != nil {
		c.Membership = ident.Qualified(m.Table.Schema, m.Table.Name)
		c.MemberUser = ident.Quote(m.UserColumn)
		c.MemberOrg = ident.Quote(m.OrgColumn)
		if m.PersonalOrgs && db.Table(m.Table.Schema, m.Table.Name) != nil {
			c.PersonalOrg = personalOrg(pol, tenant)
		}
		order := ""
		if m.PrimaryColumn != "" {
			order = fmt.Sprintf("m.%s DESC NULLS LAST, ", ident.Quote(m.PrimaryColumn))
		}
		if m.OrderColumn != "" {
			order += fmt.Sprintf("m.%s, ", ident.Quote(m.OrderColumn))
		}
		order += "m." + ident.Quote(m.OrgColumn)
		c.UserOrg = fmt.Sprintf("(SELECT m.%s FROM %s m WHERE m.%s = $USER ORDER BY %s LIMIT 1)",
			ident.Quote(m.OrgColumn), ident.Qualified(m.Table.Schema, m.Table.Name), ident.Quote(m.UserColumn), order)
		c.KnownDefault = fmt.Sprintf("(SELECT %s::%s FROM %s u WHERE u.%s = $USER)", c.DefaultOrg, c.OrgType, c.Users, c.UsersKey)
		c.KnownUserOrg = fmt.Sprintf("coalesce(%s, %s)", c.UserOrg, c.KnownDefault)
	} else {
		// One org for everyone: a user's org is the default org, provided
		// the user exists.
		c.UserOrg = fmt.Sprintf("(SELECT %s::%s FROM %s u WHERE u.%s = $USER)", c.DefaultOrg, c.OrgType, c.Users, c.UsersKey)
		c.KnownUserOrg = c.UserOrg
	}
	return c, nil
}

// pgDuration renders a Go duration as a PostgreSQL interval/setting value
// in whole milliseconds ("2000ms" reads less well than "2s", so seconds are
// used when exact).
func pgDuration(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return fmt.Sprintf("%dms", d/time.Millisecond)
}

// usersKeyType is the SQL type of the users table's key, which the
// mapping functions take as their parameter: read from the table when its
// schema is governed (so it was introspected), else from the membership
// table's user column, else uuid (Supabase's auth.users, which warden does
// not read). Integer types found on a referencing column are widened to
// bigint, which every integer user id converts to implicitly.
func usersKeyType(pol *policy.Policy, db *introspect.Database) string {
	u := pol.Users
	if t := db.Table(u.Table.Schema, u.Table.Name); t != nil {
		if col := t.Column(u.Key); col != nil {
			return col.Type
		}
	}
	if m := pol.Membership; m != nil {
		if t := db.Table(m.Table.Schema, m.Table.Name); t != nil {
			if col := t.Column(m.UserColumn); col != nil {
				if isIntType(baseType(col.Type)) {
					return "bigint"
				}
				return col.Type
			}
		}
	}
	return "uuid"
}

func isIntType(t string) bool { return t == "smallint" || t == "integer" || t == "bigint" }

func isTextType(t string) bool { return t == "text" || t == "character varying" || t == "character" }

// userExpr converts an owner column reference to the type of the users key,
// so the membership lookup compares like with like (and can use its index).
// A text column holding user ids is cast only when it looks like an id of
// the key's type, so one malformed value makes an orphan instead of failing
// the whole batch. Integer ids of different widths compare as they are:
// PostgreSQL's cross-type operators need no cast that could overflow.
func userExpr(ref, colType, keyType string) (string, error) {
	col, key := baseType(colType), baseType(keyType)
	switch {
	case col == key, isIntType(col) && isIntType(key):
		return ref, nil
	case isTextType(col) && key == "uuid":
		return fmt.Sprintf("(CASE WHEN %s ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN %s::uuid END)", ref, ref), nil
	case isTextType(col) && isIntType(key):
		return fmt.Sprintf("(CASE WHEN %s ~ '^-?[0-9]{1,18}$' THEN %s::bigint END)", ref, ref), nil
	case isTextType(key):
		return fmt.Sprintf("(%s)::text", ref), nil
	}
	return "", fmt.Errorf("its values (%s) cannot be compared with the users key (%s)", colType, keyType)
}

func newTableData(c common, tp *classify.TablePlan, pol *policy.Policy) (*tableData, error) {
	t := tp.Table
	q := ident.Qualified(t.Schema, t.Name)
	base := t.Name
	if t.Schema != "public" {
		base = t.Schema + "_" + t.Name
	}
	d := &tableData{
		common:         c,
		Display:        t.QualifiedName(),
		T:              q,
		Lit:            ident.Literal(ident.Qualified(t.Schema, t.Name)),
		Schema:         ident.Literal(t.Schema),
		Name:           ident.Literal(t.Name),
		Class:          string(tp.Class),
		Reason:         tp.Reason,
		FK:             ident.Quote(ident.Derive(t.Name, c.ColName+"_fkey")),
		FKLit:          ident.Literal(ident.Derive(t.Name, c.ColName+"_fkey")),
		Check:          ident.Quote(ident.Derive(t.Name, c.ColName+"_not_null")),
		CheckLit:       ident.Literal(ident.Derive(t.Name, c.ColName+"_not_null")),
		Partitioned:    t.Partitioned,
		FillTrigger:    ident.Quote(fillTriggerName),
		ImmTrigger:     ident.Quote(immutableTriggerName),
		ParentTrigger:  ident.Quote(parentTriggerName),
		ParentState:    ident.Literal(ParentOrgSQLState),
		ParentStateRaw: ParentOrgSQLState,
		schema:         t.Schema,
		name:           t.Name,
		tp:             tp,
		Citus:          pol.Distribute != nil && pol.Distribute.Target == policy.DistributeCitus,
	}
	d.nameFuncs(base)
	idxName := ident.Derive(t.Name, c.ColName+"_idx")
	d.Index = ident.Qualified(t.Schema, idxName)
	d.IndexName = ident.Quote(idxName)
	d.IndexLit = ident.Literal(idxName)
	d.indexRaw = idxName
	cols := []string{c.Col}
	if tp.Class == classify.Inherited {
		// The table joins its parent on the FK: lead the index with org_id
		// and follow with the FK columns so org-scoped joins use it.
		for _, fc := range tp.ParentFK.Columns {
			cols = append(cols, ident.Quote(fc))
		}
	}
	d.IndexCols = strings.Join(cols, ", ")
	for _, p := range t.Partitions {
		if !p.Leaf || p.Level != 1 {
			return nil, fmt.Errorf("%s: nested partitioning (%s.%s) is not supported yet; keep the table to one level of partitions, or list it under exclude or global", d.Display, p.Schema, p.Name)
		}
		pi := ident.Derive(p.Name, c.ColName+"_idx")
		pf := ident.Derive(p.Name, c.ColName+"_fkey")
		d.Partitions = append(d.Partitions, partData{
			T: ident.Qualified(p.Schema, p.Name), Lit: ident.Literal(ident.Qualified(p.Schema, p.Name)),
			Display: ident.Display(p.Schema, p.Name),
			FK:      ident.Quote(pf), FKLit: ident.Literal(pf),
			Index: ident.Qualified(p.Schema, pi), IndexName: ident.Quote(pi), IndexLit: ident.Literal(pi),
			IndexReg: ident.Literal(ident.Qualified(p.Schema, pi)), SchemaLit: ident.Literal(p.Schema),
			fkRaw: pf, indexRaw: pi,
		})
	}

	switch {
	case tp.Class == classify.AlreadyScoped:
		d.finish(tp)
	case tp.Class.Scoped():
		if err := d.derive(tp); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%s: class %s is not scoped", d.Display, tp.Class)
	}

	if pk := t.PrimaryKey; pk != nil {
		d.HasPK = true
		var cols, bare, join, after, upper, jb, jt, order, desc []string
		for i, name := range pk.Columns {
			col := t.Column(name)
			qn := ident.Quote(name)
			cols = append(cols, "t."+qn)
			bare = append(bare, qn)
			join = append(join, fmt.Sprintf("t.%s = b.%s", qn, qn))
			after = append(after, fmt.Sprintf("(p_after->>%d)::%s", i, col.Type))
			upper = append(upper, fmt.Sprintf("(p_upper->>%d)::%s", i, col.Type))
			jb = append(jb, "b."+qn)
			jt = append(jt, "t."+qn)
			order = append(order, "b."+qn+" DESC")
			desc = append(desc, "t."+qn+" DESC")
		}
		d.PKList = strings.Join(cols, ", ")
		d.PKDesc = strings.Join(desc, ", ")
		d.PKCols = strings.Join(cols, ", ")
		d.PKBare = strings.Join(bare, ", ")
		d.PKJoin = strings.Join(join, " AND ")
		d.PKAfter = "(" + strings.Join(after, ", ") + ")"
		d.PKUpper = "(" + strings.Join(upper, ", ") + ")"
		d.PKJSON = "jsonb_build_array(" + strings.Join(jb, ", ") + ")"
		d.PKJSONt = "jsonb_build_array(" + strings.Join(jt, ", ") + ")"
		d.PKOrderBy = strings.Join(order, ", ")
		if len(pk.Columns) == 1 {
			d.PKCols = cols[0]
			d.PKAfter = after[0]
			d.PKUpper = upper[0]
		} else {
			d.PKCols = "(" + d.PKCols + ")"
		}
	} else if t.Partitioned {
		d.PartBatchSQL = partitionBatchSQL(d)
	}

	for _, cmd := range []string{"select", "insert", "update", "delete"} {
		n := policyPrefix + cmd
		d.Policies = append(d.Policies, policyData{
			Name: ident.Quote(n), NameLit: ident.Literal(n), Command: strings.ToUpper(cmd),
			Using: cmd != "insert", Check: cmd == "insert" || cmd == "update",
		})
	}
	// An app that never enabled RLS on this table relied on grants alone.
	// RESTRICTIVE policies grant nothing by themselves, so without any
	// permissive policy the table would go dark for every API role: add a
	// permissive org policy then, and only then, so existing user-level
	// permissive policies are never widened.
	d.AddPermissive = AddsPermissivePolicy(tp)
	d.Permissive = ident.Quote(policyPrefix + "access")
	d.PermissiveLit = ident.Literal(policyPrefix + "access")
	return d, nil
}

// parentCheck is one foreign key of a table to an org-owned table, as the
// parent-org template checks it against NEW.
type parentCheck struct {
	Parent    string // quoted, qualified parent table
	ParentLit string // the parent as a literal, for the message
	ColsLit   string // the foreign-key columns as a literal, for the message
	NotNull   string // every FK column of NEW is set (MATCH SIMPLE checks only then)
	Changed   string // some FK column changed from OLD
	Match     string // p.<key> = NEW.<col> AND ...
}

// parentChecks finds d's foreign keys to the tables of protected (the
// scoped and already scoped ones, by schema and name), itself included.
func (d *tableData) parentChecks(protected map[relKey]bool) {
	for _, fk := range d.tp.Table.ForeignKeys {
		if !protected[relKey{fk.RefSchema, fk.RefTable}] {
			continue
		}
		var notNull, changed, match []string
		for i, col := range fk.Columns {
			q := ident.Quote(col)
			notNull = append(notNull, "NEW."+q+" IS NOT NULL")
			changed = append(changed, fmt.Sprintf("NEW.%s IS DISTINCT FROM OLD.%s", q, q))
			match = append(match, fmt.Sprintf("p.%s = NEW.%s", ident.Quote(fk.RefColumns[i]), q))
		}
		d.ParentChecks = append(d.ParentChecks, parentCheck{
			Parent: ident.Qualified(fk.RefSchema, fk.RefTable), ParentLit: ident.Literal(ident.Display(fk.RefSchema, fk.RefTable)),
			ColsLit: ident.Literal(strings.Join(fk.Columns, ", ")),
			NotNull: strings.Join(notNull, " AND "), Changed: strings.Join(changed, " OR "), Match: strings.Join(match, " AND "),
		})
	}
}

// finish adopts what an already scoped table has: its own foreign key to
// the tenant and its index led by the column keep their names, so the steps
// validate and check them instead of adding a second of each.
func (d *tableData) finish(tp *classify.TablePlan) {
	d.Finished = true
	d.ColNotNull = tp.Table.Column(d.ColName).NotNull
	if fk := tp.TenantFK; fk != nil {
		d.HasFK, d.FKValidated = true, fk.Validated
		d.FK, d.FKLit = ident.Quote(fk.Name), ident.Literal(fk.Name)
	}
	if ix := tp.TenantIndex; ix != nil {
		d.HasIndex = true
		d.Index, d.IndexName, d.IndexLit, d.indexRaw = ident.Qualified(tp.Table.Schema, ix.Name), ident.Quote(ix.Name), ident.Literal(ix.Name), ix.Name
	}
}

// finishes reports whether a step of kind k has work on the already
// scoped table d.
func (d *tableData) finishes(k Kind) bool {
	switch k {
	case KindAddColumn:
		return !d.HasFK || !d.HasIndex
	case KindIndexBuild, KindIndexVerify:
		return !d.HasIndex
	case KindNotNullCheck, KindSetNotNull:
		return !d.ColNotNull
	case KindValidate:
		return !d.ColNotNull || !d.HasFK || !d.FKValidated
	case KindImmutable, KindRLS:
		return true
	case KindParentOrg:
		return len(d.ParentChecks) > 0
	case KindDistKeyIndex, KindDistPrepare, KindDistTable, KindDistFK, KindDistFKValidate:
		return true
	}
	return false
}

// distributes reports whether row has a step for d: the Citus rows only
// when the policy distributes, and the foreign-key rows only for a table
// with keys to other org-owned tables.
func (d *tableData) distributes(row StepKind) bool {
	if !row.Citus {
		return true
	}
	if d.Dist == nil {
		return false
	}
	switch row.Kind {
	case KindDistFK, KindDistFKValidate:
		return len(d.Dist.FKs) > 0
	}
	return true
}

// derive sets the expressions of the row's org: each source in turn
// (coalesce), so a row whose first source is NULL takes the next. An owner
// without a membership has no org of their own: the fill trigger gives
// them the default org after every source was tried, as the backfill does
// for its orphans.
func (d *tableData) derive(tp *classify.TablePlan) error {
	c := d.common
	one := d.sourceOrg
	var olds, news, known, rest []string
	for i, s := range tp.Sources {
		o, err := one(s, "t")
		if err != nil {
			return err
		}
		n, _ := one(s, "NEW")
		olds, news = append(olds, o), append(news, n)
		if s.Kind == classify.FromOwner && c.KnownDefault != "" {
			user, _ := userExpr("NEW."+ident.Quote(s.Column.Name), s.Column.Type, c.UsersKeyType)
			known = append(known, strings.ReplaceAll(c.KnownDefault, "$USER", user))
		}
		if i > 0 {
			rest = append(rest, s.String())
		}
	}
	if len(olds) == 0 {
		return fmt.Errorf("%s: no source of its org", d.Display)
	}
	first := tp.Sources[0]
	d.CallerFirst, d.OwnKey = first.Kind == classify.FromOwner, first.Kind == classify.FromTenantKey
	d.WhenNull = tp.WhenNullDefault
	d.Fallbacks = strings.Join(rest, "; then ")
	if len(olds) == 1 {
		d.Derive, d.DeriveNew = olds[0], news[0]
		if first.Kind == classify.FromOwner {
			// The one-owner form: the owner's org, else the default org
			// for an owner who exists.
			user, _ := userExpr("NEW."+ident.Quote(first.Column.Name), first.Column.Type, c.UsersKeyType)
			d.DeriveNew = strings.ReplaceAll(c.KnownUserOrg, "$USER", user)
		}
		return nil
	}
	d.Derive = "coalesce(" + strings.Join(olds, ",\n    ") + ")"
	d.DeriveNew = "coalesce(" + strings.Join(news, ",\n    ") + ")"
	for _, k := range known {
		d.KnownTail += ",\n    " + k
	}
	return nil
}

// sourceOrg is the SQL expression of the org source s gives a row of d,
// the row written as alias ("t" in the backfill, "NEW" in the trigger).
func (d *tableData) sourceOrg(s classify.Source, alias string) (string, error) {
	c := d.common
	switch s.Kind {
	case classify.FromTenantKey:
		return alias + "." + ident.Quote(s.Column.Name), nil
	case classify.FromParent:
		parent := s.Parent.Table
		var conds []string
		for i, fc := range s.FK.Columns {
			conds = append(conds, fmt.Sprintf("p.%s = %s.%s", ident.Quote(s.FK.RefColumns[i]), alias, ident.Quote(fc)))
		}
		return fmt.Sprintf("(SELECT p.%s FROM %s p WHERE %s)", c.Col, ident.Qualified(parent.Schema, parent.Name), strings.Join(conds, " AND ")), nil
	}
	user, err := userExpr(alias+"."+ident.Quote(s.Column.Name), s.Column.Type, c.UsersKeyType)
	if err != nil {
		return "", fmt.Errorf("%s: ownership column %s: %w; list another ownership column or change the policy's users table", d.Display, s.Column.Name, err)
	}
	return strings.ReplaceAll(c.UserOrg, "$USER", user), nil
}

// causes builds the query that tells why the rows of d that hold the
// default org got it: for each source, in order, how many of them it gave
// no real org and why (no owner, an owner the users table does not know,
// an owner in no org; no parent, a parent without an org yet, a parent in
// the default org; no tenant key). A row that reached the default org
// failed every source, so it is counted once under each. It reads only;
// status and backfill run it, the migrations never do.
func (d *tableData) causes(tp *classify.TablePlan) *CauseQuery {
	c := d.common
	q := &CauseQuery{}
	var counts []string
	add := func(src, why, cond string) {
		q.Causes = append(q.Causes, Cause{Source: src, Why: why})
		counts = append(counts, fmt.Sprintf("count(*) FILTER (WHERE %s)", cond))
	}
	for _, s := range tp.Sources {
		switch s.Kind {
		case classify.FromTenantKey:
			col := "t." + ident.Quote(s.Column.Name)
			add(s.Column.Name, "no tenant key", col+" IS NULL")
		case classify.FromParent:
			org, _ := d.sourceOrg(s, "t")
			var nulls []string
			for _, fc := range s.FK.Columns {
				nulls = append(nulls, "t."+ident.Quote(fc)+" IS NULL")
			}
			noParent := "(" + strings.Join(nulls, " OR ") + ")"
			src := s.Parent.Name()
			q.Parents = append(q.Parents, s.Parent)
			add(src, "no parent", noParent)
			add(src, "parent without an org yet", fmt.Sprintf("NOT %s AND %s IS NULL", noParent, org))
			add(src, "parent in the default org", fmt.Sprintf("%s = %s::%s", org, c.DefaultOrg, c.OrgType))
		default:
			col := "t." + ident.Quote(s.Column.Name)
			user, err := userExpr(col, s.Column.Type, c.UsersKeyType)
			if err != nil {
				continue
			}
			known := fmt.Sprintf("EXISTS (SELECT FROM %s u WHERE u.%s = %s)", c.Users, c.UsersKey, user)
			add(s.Column.Name, "no owner", col+" IS NULL")
			add(s.Column.Name, "unknown owner", fmt.Sprintf("%s IS NOT NULL AND NOT %s", col, known))
			if c.Membership != "" {
				add(s.Column.Name, "owner without membership", fmt.Sprintf("%s AND %s IS NULL", known, strings.ReplaceAll(c.UserOrg, "$USER", user)))
			}
		}
	}
	q.SQL = fmt.Sprintf("SELECT ARRAY[count(*),\n  %s]::bigint[]\nFROM %s t\nWHERE t.%s = %s::%s",
		strings.Join(counts, ",\n  "), d.T, c.Col, c.DefaultOrg, c.OrgType)
	return q
}

// baseType strips a type modifier: "character varying(20)" → "character varying".
func baseType(t string) string {
	if i := strings.IndexByte(t, '('); i > 0 {
		return t[:i]
	}
	return t
}

// nameClash fails when an object that is not warden's already has a name
// warden derives for tp: an earlier hand-run attempt at the migration may
// have left calls_org_id_idx on user_id. The generated files create their
// objects IF NOT EXISTS, so they would take it for their own, leave the
// tenant column without its index or FK, and the down script would drop
// the app's object. An object of that name that is what warden would
// create (the tenant column's FK, index or NOT NULL check) is adopted.
func nameClash(rels relations, tp *classify.TablePlan, col string) error {
	t := tp.Table
	isCol := func(c string) bool { return c == col || c == ident.Quote(col) }
	fk := ident.Derive(t.Name, col+"_fkey")
	for _, f := range t.ForeignKeys {
		if f.Name == fk && !(len(f.Columns) == 1 && f.Columns[0] == col) {
			return fmt.Errorf("%s: constraint %s already exists on (%s); warden gives that name to the FK of %s: rename or drop the existing constraint",
				t.QualifiedName(), fk, strings.Join(f.Columns, ", "), col)
		}
	}
	check := ident.Derive(t.Name, col+"_not_null")
	for _, k := range t.Checks {
		if k.Name == check && !strings.Contains(k.Definition, ident.QuoteIfNeeded(col)+" IS NOT NULL") {
			return fmt.Errorf("%s: constraint %s already exists (%s); warden gives that name to the NOT NULL check of %s: rename or drop the existing constraint",
				t.QualifiedName(), check, k.Definition, col)
		}
	}
	idx := ident.Derive(t.Name, col+"_idx")
	k := relKey{t.Schema, idx}
	if other := rels.tables[k]; other != nil {
		return fmt.Errorf("%s: table %s has the name warden gives to the index on %s: rename it", t.QualifiedName(), other.QualifiedName(), col)
	}
	if o := rels.indexes[k]; o.ix != nil && (o.table != t || len(o.ix.Columns) == 0 || !isCol(o.ix.Columns[0])) {
		return fmt.Errorf("%s: index %s already exists on %s (%s); warden gives that name to the index on %s: rename or drop the existing index",
			t.QualifiedName(), idx, o.table.QualifiedName(), strings.Join(o.ix.Columns, ", "), col)
	}
	return nil
}

// relKey is a relation's schema and name: tables and indexes share one
// namespace per schema.
type relKey struct{ schema, name string }

// relations indexes the tables and indexes of a model by name, so the
// name-clash check costs the same per table however many there are.
type relations struct {
	tables  map[relKey]*introspect.Table
	indexes map[relKey]indexOn
}

type indexOn struct {
	table *introspect.Table
	ix    *introspect.Index
}

func relationsOf(db *introspect.Database) relations {
	r := relations{tables: map[relKey]*introspect.Table{}, indexes: map[relKey]indexOn{}}
	for _, t := range db.Tables {
		r.tables[relKey{t.Schema, t.Name}] = t
		for _, ix := range t.Indexes {
			if _, dup := r.indexes[relKey{t.Schema, ix.Name}]; !dup {
				r.indexes[relKey{t.Schema, ix.Name}] = indexOn{t, ix}
			}
		}
	}
	return r
}

// requestUserText is the request's user id as text: the token's subject
// (jwt, supabase) or request_context.user_setting (session); "" when the
// context carries no user.
func requestUserText(pol *policy.Policy) string {
	switch pol.Context.Kind {
	case policy.ContextSupabase, policy.ContextJWT:
		return "nullif(nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub', '')"
	case policy.ContextSession:
		if pol.Context.UserSetting != "" {
			return fmt.Sprintf("nullif(pg_catalog.current_setting(%s, true), '')", ident.Literal(pol.Context.UserSetting))
		}
	}
	return ""
}

// castIfValid casts the text expression expr to typ, giving NULL where the
// text is not a value of typ that the pattern can vouch for: a subject
// such as "auth0|42" against an integer key then names no user, instead of
// failing every query of the request.
func castIfValid(expr, typ string) string {
	var pattern string
	switch baseType(typ) {
	case "uuid":
		pattern = "^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
	case "bigint":
		pattern = "^-?[0-9]{1,18}$"
	case "integer":
		pattern = "^-?[0-9]{1,9}$"
	case "smallint":
		pattern = "^-?[0-9]{1,4}$"
	default:
		if isTextType(baseType(typ)) {
			return expr
		}
		return expr + "::" + typ
	}
	return fmt.Sprintf("CASE WHEN %s ~ %s THEN (%s)::%s END", expr, ident.Literal(pattern), expr, typ)
}

// partitionBatchSQL is the batch of a partitioned table without a primary
// key, on one leaf partition named by format()'s %1$s: rows in the block
// range [$1, $2) with a NULL tenant column get their derived org, else
// the default org (counted as orphans). Every "%" of the SQL is doubled,
// so that no name can turn into a format() directive.
func partitionBatchSQL(d *tableData) string {
	q := "WITH batch AS (\n" +
		"  SELECT t.ctid AS row_ctid, " + d.Derive + " AS derived\n" +
		"  FROM \x00 t\n" +
		"  WHERE t.ctid >= pg_catalog.format('(%s,0)', $1)::tid\n" +
		"    AND t.ctid < pg_catalog.format('(%s,0)', $2)::tid\n" +
		"    AND t." + d.Col + " IS NULL\n" +
		"), filled AS (\n" +
		"  UPDATE \x00 t\n" +
		"     SET " + d.Col + " = coalesce(b.derived, " + d.DefaultOrg + "::" + d.OrgType + ")\n" +
		"    FROM batch b\n" +
		"   WHERE t.ctid = b.row_ctid AND t." + d.Col + " IS NULL\n" +
		"  RETURNING b.derived IS NULL AS orphan\n" +
		")\n" +
		"SELECT count(*), count(*) FILTER (WHERE orphan) FROM filled"
	// The partition's slot is a NUL byte, which no PostgreSQL name or text
	// holds, until every % is doubled (the inner pg_catalog.format calls'
	// too, which must survive the outer one).
	q = strings.ReplaceAll(q, "%", "%%")
	q = strings.ReplaceAll(q, "\x00", "%1$s")
	return ident.Literal(q)
}

// indexPhase is the phase number the org index files name.
func indexPhase(pol *policy.Policy) int {
	if pol.Backfill.IndexAfterBackfill() {
		return 3
	}
	return 2
}
