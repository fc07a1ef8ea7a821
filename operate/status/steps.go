package status

import (
	"path"
	"strings"

	"github.com/warden-sql/warden/generator/classify"
	"github.com/warden-sql/warden/generator/migrations"
)

// stepKind is what a migration step does, from its name (migrations.Steps
// names them "<kind>_<table>"). TestEveryStepHasAKind keeps this list and
// the generator's in step.
type stepKind int

const (
	kindUnknown stepKind = iota
	kindSetup
	kindAdd
	kindIndexBuild
	kindIndexVerify
	kindFillTrigger
	kindBackfill
	kindBackfillCheck
	kindNotNullCheck
	kindValidate
	kindSetNotNull
	kindJWTClaims
	kindJWTBackfill
	kindImmutable
	kindRLS
	kindRLSRoot
)

// stepPrefixes map name prefixes to kinds; longer prefixes that share a
// start with a shorter one ("index_verify_", "index_") come first.
var stepPrefixes = []struct {
	prefix string
	kind   stepKind
}{
	{"setup", kindSetup},
	{"add_", kindAdd},
	{"index_verify_", kindIndexVerify},
	{"index_", kindIndexBuild},
	{"fill_trigger_", kindFillTrigger},
	{"backfill_check", kindBackfillCheck},
	{"backfill_", kindBackfill},
	{"not_null_check_", kindNotNullCheck},
	{"validate_", kindValidate},
	{"set_not_null_", kindSetNotNull},
	{"jwt_claims", kindJWTClaims},
	{"jwt_backfill", kindJWTBackfill},
	{"immutable_", kindImmutable},
	{"rls_root_", kindRLSRoot},
	{"rls_", kindRLS},
}

func kindOf(s migrations.Step) stepKind {
	for _, p := range stepPrefixes {
		if strings.HasPrefix(s.Name, p.prefix) {
			return p.kind
		}
	}
	return kindUnknown
}

// stepDone reports whether the effect of step s is in the database. ts is
// the step's table (nil for global steps); nth counts the table's index
// build steps before this one (a partitioned table has one per partition,
// in partition order).
func stepDone(s migrations.Step, ts *TableStatus, nth int, r *Report) bool {
	g := r.Global
	switch kindOf(s) {
	case kindSetup:
		return g.Setup
	case kindBackfillCheck:
		for _, t := range r.Tables {
			if !filled(t) {
				return false
			}
		}
		return true
	case kindJWTClaims:
		return g.ClaimTrigger && g.AuthOrgID
	case kindJWTBackfill:
		return g.UsersWithoutClaim == 0
	case kindRLSRoot:
		for _, rs := range r.Roots {
			if rs.Table == s.Table {
				return rs.Exists && rlsDone(rs.RLS)
			}
		}
		return false
	}
	if ts == nil || !ts.Exists {
		return false
	}
	c := ts.Column
	switch kindOf(s) {
	case kindAdd:
		return c.Exists && c.Type == "uuid" && fkPresent(ts)
	case kindIndexBuild:
		if ts.Index.Present && ts.Index.Valid {
			return true
		}
		if nth < len(ts.Partitions) {
			ix := ts.Partitions[nth].Index
			return ix.Present && ix.Valid
		}
		return false
	case kindIndexVerify:
		return ts.Index.Present && ts.Index.Valid
	case kindFillTrigger:
		return ts.FillTrigger.Present && ts.FillTrigger.Enabled != "disabled"
	case kindBackfill:
		return filled(ts)
	case kindNotNullCheck:
		return c.NotNull || ts.NotNullCheck.Present
	case kindValidate:
		return (c.NotNull || ts.NotNullCheck.Validated) && fkValidated(ts)
	case kindSetNotNull:
		return c.NotNull && !ts.NotNullCheck.Present && ts.ForeignKey.Present
	case kindImmutable:
		return ts.ImmutableTrigger.Present && ts.ImmutableTrigger.Enabled == "always"
	case kindRLS:
		return rlsDone(ts.RLS)
	}
	return false
}

// rlsDone: RLS is on and every one of warden's policies is there, of the
// right kind.
func rlsDone(st RLSState) bool {
	if !st.Enabled || len(st.Wrong) > 0 {
		return false
	}
	for _, p := range st.Expected {
		if !contains(st.Present, p) {
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

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Files maps each step's name to the path of the file that applies it, as
// `warden generate` lays the steps out in the policy's migrations.format:
// supabase/migrations/<version>_warden_<name>.sql, migrations/<version>_warden_<name>.sql
// (goose), migrations/<version>_warden_<name>.up.sql (golang-migrate) or
// psql/NNNN_<name>.sql. Next actions name these files. A step whose file
// cannot be found (a layout error) is named by its step name.
func Files(plan *classify.Plan, steps []migrations.Step) map[string]string {
	out := map[string]string{}
	for _, s := range steps {
		out[s.Name] = s.Name
	}
	set, err := migrations.Layout(steps, plan.Policy.Migrations.Format, plan.Policy.Migrations.Version)
	if err != nil {
		return out
	}
	for p := range set {
		if name, ok := stepOfFile(p); ok {
			if _, isStep := out[name]; isStep {
				out[name] = p
			}
		}
	}
	return out
}

// stepOfFile returns the step name of an up migration file, false for
// undo files and other files (REPORT.md, psql's up.psql).
func stepOfFile(p string) (string, bool) {
	if strings.HasPrefix(p, "rollback/") || strings.Contains(p, "/undo/") || strings.HasSuffix(p, ".down.sql") || !strings.HasSuffix(p, ".sql") {
		return "", false
	}
	base := path.Base(p)
	base = strings.TrimSuffix(strings.TrimSuffix(base, ".sql"), ".up")
	// <version or position>_[warden_]<step name>
	i := strings.IndexByte(base, '_')
	if i <= 0 || strings.Trim(base[:i], "0123456789") != "" {
		return "", false
	}
	return strings.TrimPrefix(base[i+1:], "warden_"), true
}
