package migrations

import (
	"github.com/warden-sql/warden/generator/classify"
	"github.com/warden-sql/warden/internal/ident"
)

// ObjectNames are the raw (unquoted) names of what the migration creates
// for one scoped table, for renderers that check them (the verification
// tests, the status report). They are derived the same way the SQL is.
type ObjectNames struct {
	Column           string
	ForeignKey       string
	Index            string
	NotNullCheck     string
	FillTrigger      string
	ImmutableTrigger string
	// Policies are the RESTRICTIVE per-command policies.
	Policies []string
	// PermissivePolicy is added only when the table has no permissive
	// policy of its own (see AddsPermissivePolicy).
	PermissivePolicy string
	// IndexColumns are the index's key columns, tenant column first.
	IndexColumns []string
}

// Names returns the object names for a scoped table of the plan.
func Names(plan *classify.Plan, tp *classify.TablePlan) ObjectNames {
	col := plan.Policy.Tenant.Column
	n := ObjectNames{
		Column:           col,
		ForeignKey:       ident.Derive(tp.Table.Name, col+"_fkey"),
		Index:            ident.Derive(tp.Table.Name, col+"_idx"),
		NotNullCheck:     ident.Derive(tp.Table.Name, col+"_not_null"),
		FillTrigger:      fillTriggerName,
		ImmutableTrigger: immutableTriggerName,
		PermissivePolicy: policyPrefix + "access",
		IndexColumns:     []string{col},
	}
	for _, cmd := range []string{"select", "insert", "update", "delete"} {
		n.Policies = append(n.Policies, policyPrefix+cmd)
	}
	if tp.Class == classify.Inherited {
		n.IndexColumns = append(n.IndexColumns, tp.ParentFK.Columns...)
	}
	if tp.Class == classify.AlreadyScoped {
		// It keeps its own foreign key and index, and gets no fill
		// trigger: nothing is filled.
		n.FillTrigger = ""
		if tp.TenantFK != nil {
			n.ForeignKey = tp.TenantFK.Name
		}
		if ix := tp.TenantIndex; ix != nil {
			n.Index, n.IndexColumns = ix.Name, append([]string(nil), ix.Columns...)
		}
	}
	return n
}

// AddsPermissivePolicy reports whether the RLS step adds a permissive org
// policy to tp: only when the table had row-level security off and no
// permissive policy of its own. An app that never enabled RLS on a table
// relied on grants alone, and RESTRICTIVE policies grant nothing by
// themselves, so without a permissive policy the table would go dark for
// every API role. Where the app has its own permissive policies, adding one
// would widen them; where the app enabled RLS with no policy at all, it
// closed the table on purpose, and adding one would open it. The answer is
// the same before and after the migration (no drift): warden's restrictive
// policies are ignored, and RLS found on with warden's own permissive
// policy means warden turned it on.
func AddsPermissivePolicy(tp *classify.TablePlan) bool {
	ownAccess := false
	for _, p := range tp.Table.Policies {
		if p.Permissive && !hasPolicyPrefix(p.Name) {
			return false
		}
		ownAccess = ownAccess || p.Name == policyPrefix+"access"
	}
	return !tp.Table.RLSEnabled || ownAccess
}

func hasPolicyPrefix(name string) bool {
	return len(name) >= len(policyPrefix) && name[:len(policyPrefix)] == policyPrefix
}
