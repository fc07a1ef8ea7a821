package migrations

import (
	"fmt"
	"strings"

	"github.com/warden-sql/warden/generator/classify"
	"github.com/warden-sql/warden/internal/ident"
	"github.com/warden-sql/warden/policy"
)

// Kind is what a migration step does. Every kind is one row of stepTable;
// the consumers of the plan (status, backfill, the report) switch on it
// instead of reading it back from a step's name or SQL.
type Kind int

// The step kinds, in the order the migration runs them.
const (
	KindSetup Kind = iota + 1
	KindAddColumn
	KindIndexBuild
	KindIndexVerify
	KindFillTrigger
	KindBackfill
	KindBackfillCheck
	KindNotNullCheck
	KindValidate
	KindSetNotNull
	KindParentFK
	KindJWTClaims
	KindJWTBackfill
	KindImmutable
	KindParentOrg
	KindRLS
	KindRLSRoot
	KindRLSGlobal
	KindRLSExcluded
	KindViewInvoker
	KindMatviewRevoke
	KindPersonalOrgs
	KindJWTMemberSync
	KindDistSetup
	KindDistKeyIndex
	KindDistPrepare
	KindDistReference
	KindDistTable
	KindDistFK
	KindDistFKValidate
)

// String is the kind's row name in stepTable, e.g. "index_build".
func (k Kind) String() string {
	for _, r := range stepTable {
		if r.Kind == k {
			return r.ID
		}
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Scope says what a step kind is emitted for.
type Scope int

const (
	// Once: one step for the whole migration.
	Once Scope = iota
	// PerTable: one step per scoped table, parents first.
	PerTable
	// PerIndex: one step per index build of a scoped table: the table's
	// own, or one per partition of a partitioned table.
	PerIndex
	// PerRoot: one step per tenant root that holds an org id (the tenant
	// table and the membership table).
	PerRoot
	// PerReference: one step per table the distribution copies to every
	// node (distribute:), each in its own transaction: Citus cannot turn
	// two tables of one foreign-key graph into reference tables in one.
	PerReference
	// PerExposed: one step per relation of the row's kind outside the
	// scoped tables that an API role can reach (global and excluded tables
	// with row-level security off, views and materialized views over
	// org-owned or user-owned rows).
	PerExposed
)

// StepKind is one row of the step table: everything warden knows about a
// kind of step before it renders one.
type StepKind struct {
	Kind Kind
	// ID names the kind in messages and in Kind.String.
	ID    string
	Phase Phase
	// Template is the file in templates/ (without .sql.tmpl) that renders
	// the step's up and down scripts.
	Template string
	Scope    Scope
	// Name is the step's name for Once steps and its prefix otherwise
	// (the table's file slug follows; PerIndex steps take the index name).
	// "{col}" stands for the tenant column.
	Name string
	// Group joins consecutive PerTable/PerIndex rows that are emitted table
	// by table (all of the group's steps for one table, then the next
	// table) rather than row by row.
	Group string
	// NoTxUp and NoTxDown mark a direction that must run outside a
	// transaction block (CREATE INDEX CONCURRENTLY, a CALL that commits).
	NoTxUp, NoTxDown bool
	// Reemit: when a recorded step of this kind would change, applying the
	// new version after the old one gives the new state (CREATE OR REPLACE
	// of functions and triggers, read-only checks, a procedure that only
	// does what is left), so the change is appended as a new version. Any
	// other change to a recorded step needs a person (generator/history).
	Reemit bool
	// ClaimSync: a Once row emitted only where the request context keeps
	// the users' JWT claim in step with their org (supabase).
	ClaimSync bool
	// PersonalOrgs: a Once row emitted only where the policy gives users
	// without a membership an org of their own (membership.personal_orgs).
	PersonalOrgs bool
	// MembershipOnly: a Once row emitted only where the policy has a
	// membership table.
	MembershipOnly bool
	// Citus: a row emitted only where the policy distributes on Citus
	// (distribute.target: citus).
	Citus bool
	// PartitionedOnly: a PerTable row emitted only for partitioned tables.
	PartitionedOnly bool
	// Unbounded leaves statement_timeout off: the step scans under a lock
	// that lets reads and writes go on (VALIDATE), so a long run is fine.
	Unbounded bool
	// Status names the measured fact that shows the step done, as the
	// status report calls it.
	Status string
	// Finish is the template of the row's step for a table that already
	// carries the tenant column ("" when the row has nothing to do for
	// such tables), and FinishName the step's name prefix when it differs.
	Finish, FinishName string
	// Up and Down are the statements the kind's scripts may hold (its
	// Finish variant's too), by the node type of PostgreSQL's parse tree,
	// a DROP by the kind of object it drops (see Statement). A test parses
	// every generated file with PostgreSQL's parser against them, so that
	// no name, however hostile, can add a statement to a file.
	Up, Down []Statement
}

// Statement names a kind of SQL statement as PostgreSQL's parser sees it:
// the parse tree's node type ("CreateFunctionStmt"), or for a DROP the
// object type it drops ("DROP TRIGGER"). GRANT and REVOKE are both
// GrantStmt; SET and RESET are VariableSetStmt.
type Statement string

// The statements the step table declares.
const (
	StmtSet            Statement = "VariableSetStmt"
	StmtDo             Statement = "DoStmt"
	StmtAlterTable     Statement = "AlterTableStmt"
	StmtCreateIndex    Statement = "IndexStmt"
	StmtCreateTable    Statement = "CreateStmt"
	StmtCreateSchema   Statement = "CreateSchemaStmt"
	StmtCreateFunction Statement = "CreateFunctionStmt"
	StmtCreateTrigger  Statement = "CreateTrigStmt"
	StmtGrant          Statement = "GrantStmt"
	StmtInsert         Statement = "InsertStmt"
	StmtSelect         Statement = "SelectStmt"
	StmtCall           Statement = "CallStmt"
	StmtDropFunction   Statement = "DROP FUNCTION"
	StmtDropProcedure  Statement = "DROP PROCEDURE"
	StmtDropTrigger    Statement = "DROP TRIGGER"
	StmtDropIndex      Statement = "DROP INDEX"
	StmtDropPolicy     Statement = "DROP POLICY"
	StmtDropSchema     Statement = "DROP SCHEMA"
	StmtAlterPolicy    Statement = "AlterPolicyStmt"
)

// stepTable lists every kind of step, in the order the migration runs them.
// Adding a step is a row here, a template in templates/ and its check in
// operate/status.
var stepTable = []StepKind{
	{Kind: KindSetup, ID: "setup", Reemit: true, Phase: PhaseAdd, Template: "00_setup", Scope: Once, Name: "setup",
		Status: "global.setup",
		Up:     []Statement{StmtSet, StmtDo, StmtCreateSchema, StmtInsert, StmtCreateFunction, StmtGrant, StmtCreateTable}, Down: []Statement{StmtSet, StmtDropFunction, StmtDropSchema}},
	{Kind: KindAddColumn, ID: "add_column", Phase: PhaseAdd, Template: "10_add_column", Scope: PerTable, Name: "add_{col}_",
		Status: "column, foreign_key", Finish: "14_finish_key", FinishName: "finish_key_",
		Up: []Statement{StmtSet, StmtAlterTable, StmtDo, StmtCreateIndex}, Down: []Statement{StmtSet, StmtAlterTable}},
	{Kind: KindIndexBuild, ID: "index_build", Phase: PhaseAdd, Template: "12_index_build", Scope: PerIndex, Name: "index_",
		Group: "index", NoTxUp: true, NoTxDown: true, Status: "index (or the partition's)", Finish: "12_index_build",
		Up: []Statement{StmtCreateIndex}, Down: []Statement{StmtDropIndex}},
	{Kind: KindIndexVerify, ID: "index_verify", Reemit: true, Phase: PhaseAdd, Template: "13_index_verify", Scope: PerTable, Name: "index_verify_",
		Group: "index", Status: "index.valid", Finish: "13_index_verify",
		Up: []Statement{StmtSet, StmtDo}, Down: []Statement{StmtSet, StmtDropIndex}},
	{Kind: KindPersonalOrgs, ID: "personal_orgs", Reemit: true, PersonalOrgs: true, Phase: PhaseBackfill, Template: "16_personal_orgs", Scope: Once, Name: "personal_orgs",
		Status: "probes[]",
		Up:     []Statement{StmtSet, StmtCreateFunction, StmtGrant, StmtCreateTrigger, StmtSelect}, Down: []Statement{StmtSet, StmtDropTrigger, StmtDropFunction}},
	{Kind: KindFillTrigger, ID: "fill_trigger", Reemit: true, Phase: PhaseBackfill, Template: "20_fill_trigger", Scope: PerTable, Name: "fill_trigger_",
		Status: "fill_trigger",
		Up:     []Statement{StmtSet, StmtCreateFunction, StmtGrant, StmtCreateTrigger}, Down: []Statement{StmtSet, StmtDropTrigger, StmtDropFunction}},
	{Kind: KindBackfill, ID: "backfill", Phase: PhaseBackfill, Template: "21_backfill", Scope: PerTable, Name: "backfill_",
		NoTxUp: true, Status: "null_rows",
		Up: []Statement{StmtCall}},
	{Kind: KindBackfillCheck, ID: "backfill_check", Reemit: true, Phase: PhaseBackfill, Template: "22_backfill_check", Scope: Once, Name: "backfill_check",
		Status: "null_rows of every table",
		Up:     []Statement{StmtDo}},
	{Kind: KindNotNullCheck, ID: "not_null_check", Phase: PhaseNotNull, Template: "30_not_null_check", Scope: PerTable, Name: "not_null_check_",
		Status: "not_null_check", Finish: "30_not_null_check",
		Up: []Statement{StmtSet, StmtDo}, Down: []Statement{StmtSet, StmtAlterTable}},
	{Kind: KindValidate, ID: "validate", Phase: PhaseNotNull, Template: "31_validate", Scope: PerTable, Name: "validate_",
		Unbounded: true, Status: "not_null_check.validated, foreign_key.validated", Finish: "31_validate",
		Up: []Statement{StmtSet, StmtDo}},
	{Kind: KindSetNotNull, ID: "set_not_null", Phase: PhaseNotNull, Template: "32_set_not_null", Scope: PerTable, Name: "set_not_null_",
		Status: "column.not_null", Finish: "32_set_not_null",
		Up: []Statement{StmtSet, StmtAlterTable}, Down: []Statement{StmtSet, StmtDo}},
	{Kind: KindParentFK, ID: "parent_fk", Phase: PhaseNotNull, Template: "33_parent_fk", Scope: PerTable, Name: "parent_fk_",
		PartitionedOnly: true, Status: "foreign_key",
		Up: []Statement{StmtSet, StmtDo}, Down: []Statement{StmtSet, StmtAlterTable}},
	{Kind: KindJWTClaims, ID: "jwt_claims", Reemit: true, ClaimSync: true, Phase: PhaseJWT, Template: "40_jwt_claims", Scope: Once, Name: "jwt_claims",
		Status: "global.claim_trigger, global.auth_org_id",
		Up:     []Statement{StmtSet, StmtCreateFunction, StmtGrant, StmtCreateTrigger}, Down: []Statement{StmtSet, StmtDropTrigger, StmtDropFunction, StmtDropProcedure}},
	{Kind: KindJWTMemberSync, ID: "jwt_member_sync", Reemit: true, ClaimSync: true, MembershipOnly: true, Phase: PhaseJWT, Template: "42_jwt_member_sync", Scope: Once, Name: "jwt_member_sync",
		Status: "probes[]",
		Up:     []Statement{StmtSet, StmtCreateFunction, StmtGrant, StmtCreateTrigger}, Down: []Statement{StmtSet, StmtDropTrigger, StmtDropFunction}},
	{Kind: KindJWTBackfill, ID: "jwt_backfill", Reemit: true, ClaimSync: true, Phase: PhaseJWT, Template: "41_jwt_backfill", Scope: Once, Name: "jwt_backfill",
		NoTxUp: true, Status: "global.users_without_claim",
		Up: []Statement{StmtCall}},
	{Kind: KindImmutable, ID: "immutable", Reemit: true, Phase: PhaseImmutable, Template: "50_immutable", Scope: PerTable, Name: "immutable_",
		Status: "immutable_trigger", Finish: "50_immutable",
		Up: []Statement{StmtSet, StmtCreateTrigger, StmtAlterTable}, Down: []Statement{StmtSet, StmtDropTrigger}},
	{Kind: KindParentOrg, ID: "parent_org", Reemit: true, Phase: PhaseImmutable, Template: "51_parent_org", Scope: PerTable, Name: "parent_org_",
		Status: "probes[]", Finish: "51_parent_org",
		Up: []Statement{StmtSet, StmtCreateFunction, StmtGrant, StmtCreateTrigger}, Down: []Statement{StmtSet, StmtDropTrigger, StmtDropFunction}},
	{Kind: KindRLS, ID: "rls", Phase: PhaseRLS, Template: "60_rls", Scope: PerTable, Name: "rls_",
		Status: "rls", Finish: "60_rls",
		Up: []Statement{StmtSet, StmtCreateTable, StmtInsert, StmtDo, StmtAlterTable}, Down: []Statement{StmtSet, StmtDropPolicy, StmtDo}},
	{Kind: KindRLSRoot, ID: "rls_root", Phase: PhaseRLS, Template: "61_rls_tenant_root", Scope: PerRoot, Name: "rls_root_",
		Status: "roots[].rls",
		Up:     []Statement{StmtSet, StmtCreateTable, StmtInsert, StmtDo, StmtAlterTable}, Down: []Statement{StmtSet, StmtDropPolicy, StmtDo}},
	{Kind: KindRLSGlobal, ID: "rls_global", Phase: PhaseRLS, Template: "62_rls_open_table", Scope: PerExposed, Name: "rls_global_",
		Status: "exposed[].closed",
		Up:     []Statement{StmtSet, StmtCreateTable, StmtInsert, StmtDo, StmtAlterTable}, Down: []Statement{StmtSet, StmtDropPolicy, StmtDo}},
	{Kind: KindRLSExcluded, ID: "rls_excluded", Phase: PhaseRLS, Template: "62_rls_open_table", Scope: PerExposed, Name: "rls_excluded_",
		Status: "exposed[].closed",
		Up:     []Statement{StmtSet, StmtCreateTable, StmtInsert, StmtDo, StmtAlterTable}, Down: []Statement{StmtSet, StmtDropPolicy, StmtDo}},
	{Kind: KindViewInvoker, ID: "view_invoker", Reemit: true, Phase: PhaseRLS, Template: "64_view_invoker", Scope: PerExposed, Name: "view_invoker_",
		Status: "exposed[].closed",
		Up:     []Statement{StmtSet, StmtCreateTable, StmtInsert, StmtDo, StmtAlterTable}, Down: []Statement{StmtSet, StmtDo}},
	{Kind: KindMatviewRevoke, ID: "matview_revoke", Reemit: true, Phase: PhaseRLS, Template: "65_matview_revoke", Scope: PerExposed, Name: "matview_revoke_",
		Status: "exposed[].closed",
		Up:     []Statement{StmtSet, StmtCreateTable, StmtInsert, StmtGrant}, Down: []Statement{StmtSet, StmtDo}},
	{Kind: KindDistSetup, ID: "dist_setup", Reemit: true, Citus: true, Phase: PhaseDistribute, Template: "80_dist_setup", Scope: Once, Name: "dist_setup",
		Status: "probes[]",
		Up:     []Statement{StmtSet, StmtDo, StmtCreateFunction, StmtGrant, StmtDropTrigger}},
	{Kind: KindDistKeyIndex, ID: "dist_key_index", Citus: true, Phase: PhaseDistribute, Template: "81_dist_key_index", Scope: PerIndex, Name: "dist_key_",
		NoTxUp: true, NoTxDown: true, Status: "probes[]", Finish: "81_dist_key_index",
		Up: []Statement{StmtCreateIndex}, Down: []Statement{StmtDropIndex}},
	{Kind: KindDistPrepare, ID: "dist_prepare", Reemit: true, Citus: true, Phase: PhaseDistribute, Template: "82_dist_prepare", Scope: PerTable, Name: "dist_prepare_",
		Status: "probes[]", Finish: "82_dist_prepare",
		Up: []Statement{StmtSet, StmtDo, StmtAlterTable, StmtDropTrigger, StmtSelect}},
	{Kind: KindDistReference, ID: "dist_reference", Reemit: true, Citus: true, Phase: PhaseDistribute, Template: "83_dist_reference", Scope: PerReference, Name: "dist_reference_",
		Unbounded: true, Status: "probes[]",
		Up: []Statement{StmtSet, StmtDo, StmtDropTrigger, StmtSelect}},
	{Kind: KindDistTable, ID: "dist_table", Reemit: true, Citus: true, Phase: PhaseDistribute, Template: "84_dist_table", Scope: PerTable, Name: "dist_table_",
		NoTxUp: true, Status: "probes[]", Finish: "84_dist_table",
		Up: []Statement{StmtDo}},
	{Kind: KindDistFK, ID: "dist_fk", Reemit: true, Citus: true, Phase: PhaseDistribute, Template: "85_dist_fk", Scope: PerTable, Name: "dist_fk_",
		Status: "probes[]", Finish: "85_dist_fk",
		Up: []Statement{StmtSet, StmtDo}},
	{Kind: KindDistFKValidate, ID: "dist_fk_validate", Reemit: true, Citus: true, Phase: PhaseDistribute, Template: "86_dist_fk_validate", Scope: PerTable, Name: "dist_fk_validate_",
		Unbounded: true, Status: "probes[]", Finish: "86_dist_fk_validate",
		Up: []Statement{StmtSet, StmtDo}},
}

// Kinds returns the step table, in the order the migration runs the kinds.
func Kinds() []StepKind { return append([]StepKind(nil), stepTable...) }

// runOrder is stepTable in the order pol runs it. With backfill.org_index:
// after_backfill the org index's build and check move from phase 2 to right
// after the backfill check, in phase 3: the backfill then updates only the
// table (every row it fills would otherwise also be inserted into the
// index), and NOT NULL and row-level security, which come later, still
// find the index built and valid.
func runOrder(pol *policy.Policy) []StepKind {
	if !pol.Backfill.IndexAfterBackfill() {
		return stepTable
	}
	var order, index []StepKind
	for _, r := range stepTable {
		if r.Group == "index" {
			r.Phase = PhaseBackfill
			index = append(index, r)
			continue
		}
		order = append(order, r)
		if r.Kind == KindBackfillCheck {
			order = append(order, index...)
		}
	}
	return order
}

// Step is one planned migration step: what it does, as typed fields, and
// its rendered up and down scripts.
type Step struct {
	Kind  Kind
	Phase Phase
	// Name is short, unique among the steps, and safe in a file name,
	// e.g. "add_org_id_calls".
	Name string
	// Table is the display name of the table the step changes, "" for a
	// step of the whole migration; TablePlan is its plan.
	Table     string
	TablePlan *classify.TablePlan
	// Partition is the index into TablePlan.Table.Partitions of the
	// partition an index build is for, -1 when the step is the table's.
	Partition int
	// Objects are the database objects the step creates or checks.
	Objects Objects
	// Backfill is set on KindBackfill steps: what its CALL passes.
	Backfill *BackfillCall
	// Probe is set on the steps whose effect the per-table measurement
	// does not cover (closing a relation outside the scoped tables, the
	// parent-org check): what in the catalog shows the step done.
	Probe *Probe
	// Up and Down are the scripts without the generated-file header. Down
	// is empty for steps with nothing to undo (checks, backfills).
	Up, Down string
	// NoTransaction marks a step that must not run inside a transaction
	// block: its single statement is CREATE INDEX CONCURRENTLY or a CALL
	// that commits.
	NoTransaction bool
	// DownNoTransaction likewise for Down (DROP INDEX CONCURRENTLY).
	DownNoTransaction bool

	// Members are the names of the steps a composite step holds (Compose,
	// the grouped layout), in order; nil for a plain step. UpBlocks and
	// DownBlocks are its scripts' blocks, each one member's own
	// transaction or statement: Up and Down are them joined.
	Members              []string
	UpBlocks, DownBlocks []string
}

// Objects are the names of the database objects a step creates or checks.
// Columns, constraints, indexes, triggers and policies are raw (unquoted)
// names on the step's table (indexes in its schema); functions are quoted
// and schema-qualified, as the SQL calls them.
type Objects struct {
	Columns     []string `json:"columns,omitempty"`
	Constraints []string `json:"constraints,omitempty"`
	Indexes     []string `json:"indexes,omitempty"`
	Triggers    []string `json:"triggers,omitempty"`
	Functions   []string `json:"functions,omitempty"`
	Policies    []string `json:"policies,omitempty"`
}

// Probe is what a step leaves in the catalog, for the status report: on
// Relation, the row-level security and Policy it adds, the Trigger it
// creates, the roles it Revokes SELECT from, or (none of them set, a view)
// security_invoker.
type Probe struct {
	// Relation is the quoted, qualified name.
	Relation string
	// Trigger is a trigger the step creates (raw name).
	Trigger string
	// Policy is the permissive policy the step adds (raw name), "" for
	// views.
	Policy string
	// Revoked are the roles that lose SELECT (raw names, PUBLIC as such).
	Revoked []string
	// Done, when set, is a read-only boolean SQL expression over the
	// catalog that is true once the step's effect is there (the Citus
	// steps); Citus says it reads Citus's own catalog, which a database
	// without the extension lacks (the step is then not done).
	Done  string
	Citus bool
}

// BackfillCall is what a backfill step's CALL warden.backfill(...) passes:
// the table's key in warden.backfill_progress and the batch and upper-bound
// functions the phase 3 fill-trigger step creates.
type BackfillCall struct {
	// Key is the progress row's key: the table as ident.Qualified gives it.
	Key string
	// BatchFunc and UpperFunc are quoted, qualified function names.
	BatchFunc, UpperFunc string
	// Causes counts the table's rows in the default org by why each of
	// their sources gave no org.
	Causes *CauseQuery
}

// CauseQuery is a read-only query over one table. Its one row is one
// bigint[]: the count of the table's rows holding the default org, then, in
// the order of Causes, how many of them a source gave no org for one
// reason. It needs the tenant column on the table and on the parents its
// sources name.
type CauseQuery struct {
	SQL    string
	Causes []Cause
	// Parents are the tables whose tenant column the query reads.
	Parents []*classify.TablePlan
}

// Cause is one reason a source gave a row no org.
type Cause struct {
	// Source is the ownership or tenant-key column, or the parent table.
	Source string
	// Why is "no owner", "unknown owner", "owner without membership",
	// "no parent", "parent without an org yet", "parent in the default
	// org" or "no tenant key".
	Why string
}

// stepName is the name of one step of row r.
func (r StepKind) stepName(col, suffix string) string {
	name := strings.ReplaceAll(r.Name, "{col}", sanitize(col))
	if r.Scope == Once {
		return name
	}
	return name + suffix
}

// tableObjects are the objects a per-table step of kind k creates or
// checks on the table of d.
func tableObjects(k Kind, d *tableData, n ObjectNames) Objects {
	switch k {
	case KindAddColumn:
		cons := []string{n.ForeignKey}
		for _, p := range d.Partitions {
			cons = append(cons, p.fkRaw)
		}
		return Objects{Columns: []string{n.Column}, Constraints: cons}
	case KindIndexVerify:
		return Objects{Indexes: []string{n.Index}}
	case KindFillTrigger:
		return Objects{Triggers: []string{n.FillTrigger}, Functions: []string{d.FillFunc, d.BackfillFunc, d.UpperFunc}}
	case KindBackfill:
		return Objects{Columns: []string{n.Column}, Functions: []string{d.BackfillFunc, d.UpperFunc}}
	case KindNotNullCheck:
		return Objects{Constraints: []string{n.NotNullCheck}}
	case KindValidate:
		return Objects{Constraints: []string{n.NotNullCheck, n.ForeignKey}}
	case KindSetNotNull:
		return Objects{Columns: []string{n.Column}, Constraints: []string{n.NotNullCheck}}
	case KindParentFK:
		return Objects{Constraints: []string{n.ForeignKey}}
	case KindImmutable:
		return Objects{Triggers: []string{n.ImmutableTrigger}, Functions: []string{ident.Qualified(wardenSchema, "tenant_column_immutable")}}
	case KindParentOrg:
		return Objects{Triggers: []string{parentTriggerName}, Functions: []string{d.ParentFunc}}
	case KindRLS:
		pols := append([]string(nil), n.Policies...)
		if d.AddPermissive {
			pols = append(pols, n.PermissivePolicy)
		}
		return Objects{Policies: pols}
	}
	return Objects{}
}

// Names of the objects the once-steps create, beside the per-table ones.
const (
	// ClaimTrigger gives new and changed users their org claim (phase 5).
	ClaimTrigger = "warden_set_org_claim"
	// MemberClaimTrigger keeps the claim in step with memberships.
	MemberClaimTrigger = "warden_sync_org_claim"
	// PersonalOrgTrigger gives a new user an org of their own
	// (membership.personal_orgs).
	PersonalOrgTrigger = "warden_personal_org"
	// AuthOrgIDFunc is the caller's org, read by every RLS policy.
	AuthOrgIDFunc = "public.auth_org_id"
)

// onceObjects are the objects a step of the whole migration creates.
func onceObjects(k Kind) Objects {
	w := func(name string) string { return ident.Qualified(wardenSchema, name) }
	switch k {
	case KindSetup:
		return Objects{Functions: []string{AuthOrgIDFunc, w("user_org"), w("backfill"), w("tenant_column_immutable")}}
	case KindPersonalOrgs:
		return Objects{Triggers: []string{PersonalOrgTrigger}, Functions: []string{w("personal_org"), w("personal_org_on_signup")}}
	case KindJWTClaims:
		return Objects{Triggers: []string{ClaimTrigger},
			Functions: []string{w("user_claim_org"), w("set_user_org_claim"), w("backfill_user_claims")}}
	case KindJWTMemberSync:
		return Objects{Triggers: []string{MemberClaimTrigger}, Functions: []string{w("sync_member_org_claim")}}
	}
	return Objects{}
}
