package status

import (
	"slices"

	"github.com/warden-sql/warden/generator/classify"
	"github.com/warden-sql/warden/generator/migrations"
	"github.com/warden-sql/warden/policy"
)

// doneChecks say, per step kind, whether a step's effect is in the
// database, from the measured facts. Every kind of migrations.Kinds() has
// one (TestEveryStepKindHasACheck); a step kind added there without a check
// here fails that test.
var doneChecks = map[migrations.Kind]func(s migrations.Step, ts *TableStatus, r *Report) bool{
	migrations.KindSetup: func(_ migrations.Step, _ *TableStatus, r *Report) bool { return r.Global.Setup },
	migrations.KindAddColumn: func(_ migrations.Step, ts *TableStatus, r *Report) bool {
		typ, _ := policy.TenantTypeOf(ts.Column.Type)
		return ts.Column.Exists && typ == r.tenantType && fkPresent(ts)
	},
	migrations.KindIndexBuild: func(s migrations.Step, ts *TableStatus, _ *Report) bool {
		if ts.Index.Present && ts.Index.Valid {
			return true
		}
		if s.Partition >= 0 && s.Partition < len(ts.Partitions) {
			ix := ts.Partitions[s.Partition].Index
			return ix.Present && ix.Valid
		}
		return false
	},
	migrations.KindIndexVerify: func(_ migrations.Step, ts *TableStatus, _ *Report) bool { return ts.Index.Present && ts.Index.Valid },
	migrations.KindFillTrigger: func(_ migrations.Step, ts *TableStatus, _ *Report) bool {
		return ts.FillTrigger.Present && ts.FillTrigger.Enabled != "disabled"
	},
	migrations.KindBackfill: func(_ migrations.Step, ts *TableStatus, _ *Report) bool { return filled(ts) },
	migrations.KindBackfillCheck: func(_ migrations.Step, _ *TableStatus, r *Report) bool {
		for _, t := range r.Tables {
			if !filled(t) {
				return false
			}
		}
		return true
	},
	migrations.KindNotNullCheck: func(_ migrations.Step, ts *TableStatus, _ *Report) bool {
		return ts.Column.NotNull || ts.NotNullCheck.Present
	},
	migrations.KindValidate: func(_ migrations.Step, ts *TableStatus, _ *Report) bool {
		return (ts.Column.NotNull || ts.NotNullCheck.Validated) && fkValidated(ts)
	},
	migrations.KindSetNotNull: func(_ migrations.Step, ts *TableStatus, _ *Report) bool {
		return ts.Column.NotNull && !ts.NotNullCheck.Present
	},
	migrations.KindParentFK: func(_ migrations.Step, ts *TableStatus, _ *Report) bool { return ts.ForeignKey.Present },
	migrations.KindJWTClaims: func(_ migrations.Step, _ *TableStatus, r *Report) bool {
		return r.Global.ClaimTrigger && r.Global.AuthOrgID
	},
	migrations.KindJWTBackfill: func(_ migrations.Step, _ *TableStatus, r *Report) bool { return r.Global.UsersWithoutClaim == 0 },
	migrations.KindImmutable: func(_ migrations.Step, ts *TableStatus, _ *Report) bool {
		return ts.ImmutableTrigger.Present && ts.ImmutableTrigger.Enabled == "always"
	},
	migrations.KindRLS:           func(_ migrations.Step, ts *TableStatus, _ *Report) bool { return rlsDone(ts.RLS) },
	migrations.KindRLSGlobal:     exposedDone,
	migrations.KindRLSExcluded:   exposedDone,
	migrations.KindViewInvoker:   exposedDone,
	migrations.KindMatviewRevoke: exposedDone,
	migrations.KindParentOrg:     exposedDone,
	migrations.KindPersonalOrgs:  exposedDone,
	migrations.KindJWTMemberSync: exposedDone,
	// The Citus steps say in their probe what shows them done.
	migrations.KindDistSetup:      exposedDone,
	migrations.KindDistKeyIndex:   exposedDone,
	migrations.KindDistPrepare:    exposedDone,
	migrations.KindDistReference:  exposedDone,
	migrations.KindDistTable:      exposedDone,
	migrations.KindDistFK:         exposedDone,
	migrations.KindDistFKValidate: exposedDone,
	migrations.KindRLSRoot: func(s migrations.Step, _ *TableStatus, r *Report) bool {
		for _, rs := range r.Roots {
			if rs.Table == s.Table {
				return rs.Exists && rlsDone(rs.RLS)
			}
		}
		return false
	},
}

// stepDone reports whether the effect of step s is in the database. ts is
// the step's scoped table (nil for the other steps).
func stepDone(s migrations.Step, ts *TableStatus, r *Report) bool {
	check := doneChecks[s.Kind]
	if check == nil {
		return false
	}
	if s.TablePlan != nil && s.Kind != migrations.KindRLSRoot && s.Probe == nil && (ts == nil || !ts.Exists) {
		return false
	}
	return check(s, ts, r)
}

// exposedDone: what the step's probe looks for is in the catalog (measured
// by measurer.exposedState).
func exposedDone(s migrations.Step, _ *TableStatus, r *Report) bool { return r.Probes[s.Name] }

// rlsDone: RLS is on and every one of warden's policies is there, of the
// right kind.
func rlsDone(st RLSState) bool {
	if !st.Enabled || len(st.Wrong) > 0 {
		return false
	}
	for _, p := range st.Expected {
		if !slices.Contains(st.Present, p) {
			return false
		}
	}
	return true
}

// filled: no row lacks the tenant column (NOT NULL proves it whatever the
// counts say).
func filled(ts *TableStatus) bool {
	return ts.Column.Exists && (ts.Column.NotNull || (ts.NullRows != nil && *ts.NullRows == 0))
}

// fkPresent: the FK exists, on the table or, for a partitioned table before
// phase 4 adds the parent's, on every partition.
func fkPresent(ts *TableStatus) bool {
	if ts.ForeignKey.Present {
		return true
	}
	if len(ts.Partitions) == 0 {
		return false
	}
	for _, p := range ts.Partitions {
		if !p.ForeignKey.Present {
			return false
		}
	}
	return true
}

func fkValidated(ts *TableStatus) bool {
	if ts.ForeignKey.Present {
		return ts.ForeignKey.Validated
	}
	if len(ts.Partitions) == 0 {
		return false
	}
	for _, p := range ts.Partitions {
		if !p.ForeignKey.Present || !p.ForeignKey.Validated {
			return false
		}
	}
	return true
}

// Files maps each step's name to the path of the file that applies it, as
// `warden generate` lays the steps out in the policy's migrations.format
// and layout when no history is recorded.
// Next actions name these files. A step whose file cannot be found (a
// layout error) is named by its step name.
func Files(plan *classify.Plan, steps []migrations.Step) map[string]string {
	out := map[string]string{}
	for _, s := range steps {
		out[s.Name] = s.Name
	}
	m := plan.Policy.Migrations
	laid, err := migrations.LayoutFirst(steps, m.Format, m.Layout, m.Version)
	if err != nil {
		return out
	}
	for name, p := range laid.Up {
		out[name] = p
	}
	return out
}
