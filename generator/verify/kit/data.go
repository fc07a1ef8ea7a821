// Package kit holds the verification checks that never vary with the plan,
// as ordinary Go: checks.go is embedded by package verify and copied, with
// only its package clause changed, into every generated verify package as
// warden_checks_test.go. Keeping it here means the compiler and go vet see
// it in warden's own build, not only in an adopter's.
//
// This file stands in for the generated data file (warden_verify_test.go)
// so that checks.go compiles on its own: it declares the same constants and
// tables, for one made-up table. It is never copied. Nothing imports kit.
package kit

const (
	databaseURLEnv    = "WARDEN_VERIFY_DATABASE_URL"
	orgColumn         = "org_id"
	tenantTable       = `"public"."organizations"`
	tenantKey         = "id"
	onDelete          = "cascade"
	newOrgSQL         = `INSERT INTO "public"."organizations" ("id") VALUES (gen_random_uuid()) RETURNING "id"::text`
	fillTrigger       = "warden_fill_org_id"
	immutableTrigger  = "zz_warden_org_id_immutable"
	immutableSQLState = "23W01"
	orgAccessPolicy   = "warden_org_access"
	usersClaimSQL     = `SELECT 0, 0, 0, '{}'::text[]`
	orgType           = "uuid"
	requestContext    = "supabase"
	actingRole        = "authenticated"
	orgSetting        = ""
	probeOrg          = "00000000-0000-4000-8000-00000000a0a1"
	defaultOrg        = "a0000000-0000-0000-0000-000000000001"
	memberSQL         = `INSERT INTO "public"."members" ("user_id", "org_id") VALUES ($1, $2)`
	isMemberSQL       = `SELECT 1 FROM "public"."members" WHERE "user_id" = $1 AND "org_id" = $2`
	leaveSQL          = `DELETE FROM "public"."members" WHERE "user_id" = $1 AND "org_id" = $2`
	memberOfSQL       = `SELECT "user_id"::text FROM "public"."members" WHERE "org_id" = $1 ORDER BY 1 LIMIT 1`
	someUserSQL       = `SELECT "id"::text FROM "auth"."users" ORDER BY 1 LIMIT 1`
	userOrgSQL        = `SELECT "warden".user_org($1)::text`
	// beginRequestSQL is in the data file only where the policy distributes
	// on Citus, for citus.go.
	beginRequestSQL = `SELECT "warden".begin_request()::text`
)

var (
	claimPath   = []string{"app_metadata", "org_id"}
	policyRoles = []string{"PUBLIC"}
)

var restrictivePolicies = []policy{
	{Name: "warden_org_select", Command: "SELECT"},
	{Name: "warden_org_insert", Command: "INSERT"},
	{Name: "warden_org_update", Command: "UPDATE"},
	{Name: "warden_org_delete", Command: "DELETE"},
}

var scopedTables = []scopedTable{{
	Schema:       "public",
	Name:         "notes",
	ForeignKey:   "notes_org_id_fkey",
	Index:        "notes_org_id_idx",
	IndexColumns: []string{"org_id"},
	OrgPolicy:    true,
	UpdateColumn: "body",
	NoOrg:        []columnValue{{Column: "user_id", SQL: "gen_random_uuid()"}},
	Owner:        "user_id",
}}

var (
	excludedTables = []table{{Schema: "public", Name: "profiles"}}
	globalTables   = []table{{Schema: "public", Name: "plans"}}
)
