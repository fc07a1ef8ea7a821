package report

import (
	"strings"

	"github.com/warden-sql/warden/generator/migrations"
	"github.com/warden-sql/warden/policy"
)

// kindDoes says in a line what the files of each step kind do, for the
// reviewer's map from file names to kinds.
var kindDoes = map[migrations.Kind]string{
	migrations.KindSetup:          "schema `warden`, the helper functions, the default org row and the backfill procedure; appended whole when they change",
	migrations.KindAddColumn:      "adds the nullable tenant column and its NOT VALID foreign key (a table already carrying the column: what it lacks)",
	migrations.KindIndexBuild:     "builds the column's index concurrently, without blocking writes (a partitioned table: one per partition)",
	migrations.KindIndexVerify:    "checks each index is valid (attaches a partitioned table's partition indexes)",
	migrations.KindPersonalOrgs:   "gives every user without a membership an org of their own, and every new user on signup",
	migrations.KindFillTrigger:    "the trigger that fills the column on the old app's writes during the move, and the backfill's batch functions",
	migrations.KindBackfill:       "fills the existing rows in batches, one transaction each (`warden backfill` runs the same)",
	migrations.KindBackfillCheck:  "stops if any row is still without an org",
	migrations.KindNotNullCheck:   "`CHECK (column IS NOT NULL) NOT VALID`: new writes checked at once, no scan",
	migrations.KindValidate:       "validates the check and the foreign key, with reads and writes going on",
	migrations.KindSetNotNull:     "`SET NOT NULL` on the validated check (no scan), then drops the check",
	migrations.KindParentFK:       "a partitioned table's own foreign key, adopting its partitions'",
	migrations.KindJWTClaims:      "keeps each user's JWT org claim equal to their org",
	migrations.KindJWTMemberSync:  "updates the claim when memberships change",
	migrations.KindJWTBackfill:    "gives existing users the claim",
	migrations.KindImmutable:      "refuses a change of a row's org (a row may leave the default org once)",
	migrations.KindParentOrg:      "refuses a row whose parent row belongs to another org",
	migrations.KindRLS:            "row-level security: a request reads and writes its own org's rows only",
	migrations.KindRLSRoot:        "row-level security on the tenant table (and the membership table)",
	migrations.KindRLSGlobal:      "row-level security on global tables: every request reads, none writes",
	migrations.KindRLSExcluded:    "row-level security on excluded tables: the request's user's rows only",
	migrations.KindViewInvoker:    "views over org- or user-owned rows run with the caller's rights",
	migrations.KindMatviewRevoke:  "the API roles lose SELECT on materialized views over such rows",
	migrations.KindDistSetup:      "Citus: `warden.begin_request()`, which settles a request's org on the coordinator and passes it (and the request's settings) to the workers; `auth_org_id()` reads it; the policy folding function; the API roles may log in on the workers",
	migrations.KindDistKeyIndex:   "Citus: rebuilds a unique key led by the tenant column, concurrently",
	migrations.KindDistPrepare:    "Citus: swaps the new keys in, drops the foreign keys Citus cannot keep and warden's triggers, defaults the column to the request's org, folds the policies",
	migrations.KindDistReference:  "Citus: copies a table every node reads (users, orgs, membership, shared tables) to every node",
	migrations.KindDistTable:      "Citus: shards the table by the tenant column, colocated, without blocking writes",
	migrations.KindDistFK:         "Citus: foreign keys between org-owned tables back as composite keys with the tenant column, NOT VALID",
	migrations.KindDistFKValidate: "Citus: validates those keys, under a lock that lets reads and writes go on",
}

// files maps the migration's file names to what they do, kind by kind, so a
// reviewer reads a score of kinds instead of hundreds of files.
func (r *renderer) files() {
	col := r.pol.Tenant.Column
	partitioned := false
	for _, tp := range r.p.Scoped {
		partitioned = partitioned || len(tp.Table.Partitions) > 0
	}
	r.section("Files")
	r.printf("Each migration file is named by its version and a step: it holds that step, or, where the runner allows it, " +
		"every step of the kind written with it (`<step>+<n>_more`, one transaction per table inside). " +
		"The kinds, in the order they run:\n\n")
	r.printf("| Step name | What it does |\n|---|---|\n")
	for _, k := range migrations.Kinds() {
		switch {
		case k.ClaimSync && !r.pol.Context.KeepsClaim(),
			k.PersonalOrgs && (r.pol.Membership == nil || !r.pol.Membership.PersonalOrgs),
			k.MembershipOnly && r.pol.Membership == nil,
			k.PartitionedOnly && !partitioned,
			k.Citus && r.pol.Distribute == nil:
			continue
		}
		name := strings.ReplaceAll(k.Name, "{col}", col)
		pattern := code(name)
		if k.Scope != migrations.Once {
			pattern = code(name + "<table>")
			if k.Scope == migrations.PerIndex || k.Kind == migrations.KindDistKeyIndex {
				pattern = code(name + "<index>")
			}
			if k.FinishName != "" {
				pattern += ", " + code(strings.ReplaceAll(k.FinishName, "{col}", col)+"<table>")
			}
		}
		r.printf("| %s | %s |\n", pattern, kindDoes[k.Kind])
	}
	if r.pol.Migrations.Format == policy.FormatSupabase || r.pol.Migrations.Format == "" {
		r.printf("\nThe undo of a file is `rollback/<version>_undo_<step>.sql`, run newest first.\n")
	}
}
