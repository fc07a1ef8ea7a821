package status

import (
	"fmt"
	"slices"
	"strings"

	"github.com/warden-sql/warden/generator/classify"
	"github.com/warden-sql/warden/generator/migrations"
)

// Report is the measured state of the migration. Its JSON form is stable:
// it holds no timestamps, and with exact counts the same database always
// gives the same bytes.
type Report struct {
	// Column is the tenant column, e.g. "org_id".
	Column string `json:"column"`
	// Estimated is true when row and NULL counts are planner estimates.
	Estimated bool `json:"estimated"`
	// Tables are the scoped tables in backfill order (parents first).
	Tables []*TableStatus `json:"tables"`
	// Roots are the tenant roots (tenant and membership tables) that the
	// RLS phase protects too.
	Roots  []*RootStatus `json:"tenant_roots"`
	Global Global        `json:"global"`
	// Phases are phases 2–6 of the migration and zero-trust RLS, in order,
	// then the distribution on Citus where the policy has one.
	Phases []*PhaseStatus `json:"phases"`
	// PhasesDone counts the phases that are done, of len(Phases).
	PhasesDone int `json:"phases_done"`
	// Complete is true when every phase is done.
	Complete bool `json:"complete"`
	// Next is the next action: that of the first phase not done.
	Next string `json:"next_action"`
	// Probes says, per step with a catalog probe (closing a relation
	// outside the scoped tables, the parent-org check), by step name,
	// whether its effect is there.
	Probes map[string]bool `json:"probes,omitempty"`

	tenantType string // the policy's tenant.type
}

// TableStatus is what the migration has done to one scoped table.
type TableStatus struct {
	Table    string `json:"table"`
	Class    string `json:"class"`
	Critical bool   `json:"critical,omitempty"`
	// Exists is false when the table is gone from the database.
	Exists bool        `json:"exists"`
	Column ColumnState `json:"column"`
	// Rows and NullRows count the table's rows and those without the
	// tenant column; nil when unknown (no column yet, or, estimated, no
	// statistics since the column was added).
	Rows     *int64 `json:"rows"`
	NullRows *int64 `json:"null_rows"`
	// ForeignKey is the FK to the tenant table. For a partitioned table it
	// is the parent's FK, added at the end of phase 4; until then each
	// partition has its own (Partitions).
	ForeignKey ConstraintState `json:"foreign_key"`
	// NotNullCheck is phase 4's temporary CHECK (column IS NOT NULL),
	// present between its first and last step.
	NotNullCheck     ConstraintState  `json:"not_null_check"`
	Index            IndexState       `json:"index"`
	Partitions       []PartitionState `json:"partitions,omitempty"`
	FillTrigger      TriggerState     `json:"fill_trigger"`
	ImmutableTrigger TriggerState     `json:"immutable_trigger"`
	RLS              RLSState         `json:"rls"`
	// Backfill is the table's row in warden.backfill_progress, if any.
	Backfill *Backfill `json:"backfill"`
	// DefaultOrg counts the rows holding the default org and says why
	// their sources gave them no org; nil when not counted (estimated, or
	// the tenant column missing here or on a parent it reads).
	DefaultOrg *DefaultOrgRows `json:"default_org_rows,omitempty"`
	// PhasesDone lists the phases whose every step for this table is done.
	PhasesDone []migrations.Phase `json:"phases_done"`

	plan           *classify.TablePlan
	permissiveName string
}

// RootStatus is row-level security on a tenant root: its members read
// their own org's rows and the API roles write none.
type RootStatus struct {
	Table  string   `json:"table"`
	Exists bool     `json:"exists"`
	RLS    RLSState `json:"rls"`

	qualified      string
	permissiveName string
}

// ColumnState is the tenant column.
type ColumnState struct {
	Name    string `json:"name"`
	Exists  bool   `json:"exists"`
	Type    string `json:"type,omitempty"`
	NotNull bool   `json:"not_null"`
}

// ConstraintState is a named constraint of the migration.
type ConstraintState struct {
	Name      string `json:"name"`
	Present   bool   `json:"present"`
	Validated bool   `json:"validated"`
}

// IndexState is the tenant column's index.
type IndexState struct {
	Name    string   `json:"name"`
	Columns []string `json:"columns"`
	Present bool     `json:"present"`
	// Valid is false for an index a failed CREATE INDEX CONCURRENTLY left
	// behind, and for a partitioned index not yet attached everywhere.
	Valid bool `json:"valid"`
}

// PartitionState is a partition's own FK and index (phase 2 creates them
// one partition at a time).
type PartitionState struct {
	Name       string          `json:"name"`
	ForeignKey ConstraintState `json:"foreign_key"`
	Index      IndexState      `json:"index"`
}

// TriggerState is a named trigger of the migration.
type TriggerState struct {
	Name    string `json:"name"`
	Present bool   `json:"present"`
	// Enabled is "origin", "always", "replica" or "disabled" (ALTER TABLE
	// ... ENABLE [ALWAYS|REPLICA] TRIGGER); empty when absent.
	Enabled string `json:"enabled,omitempty"`
}

// RLSState is row-level security on the table.
type RLSState struct {
	Enabled bool `json:"enabled"`
	// Expected are warden's policies on the table after the RLS step,
	// Present those found with the right kind (restrictive, or permissive
	// for the catch-all org policy), Wrong those found with the wrong one.
	Expected []string `json:"expected"`
	Present  []string `json:"present"`
	Wrong    []string `json:"wrong,omitempty"`
}

// Backfill is a table's row in warden.backfill_progress.
type Backfill struct {
	RowsDone int64 `json:"rows_done"`
	Orphans  int64 `json:"orphans"`
	// Started is true once a batch has committed (last_key is set).
	Started  bool `json:"started"`
	Finished bool `json:"finished"`
}

// DefaultOrgRows are a table's rows in the default org and, per source,
// why it gave them no org. A row reached the default org because every
// source failed it, so it is counted once under each source.
type DefaultOrgRows struct {
	Rows   int64        `json:"rows"`
	Causes []CauseCount `json:"causes"`
}

// CauseCount is how many of the default org's rows one source gave no org
// for one reason.
type CauseCount struct {
	// Source is the ownership or tenant-key column, or the parent table.
	Source string `json:"source"`
	// Why is "no owner", "unknown owner", "owner without membership",
	// "no parent", "parent without an org yet", "parent in the default
	// org" or "no tenant key".
	Why  string `json:"why"`
	Rows int64  `json:"rows"`
}

// Global are the facts that belong to no one table.
type Global struct {
	// Setup is true when the phase 2 setup file has run: the default org
	// row, public.auth_org_id(), the backfill procedure and its progress
	// table all exist.
	Setup             bool `json:"setup"`
	DefaultOrg        bool `json:"default_org"`
	AuthOrgID         bool `json:"auth_org_id"`
	BackfillProcedure bool `json:"backfill_procedure"`
	ProgressTable     bool `json:"progress_table"`
	// ClaimTrigger is phase 5's trigger giving new users the org claim.
	ClaimTrigger      bool  `json:"claim_trigger"`
	Users             int64 `json:"users"`
	UsersWithClaim    int64 `json:"users_with_claim"`
	UsersWithoutClaim int64 `json:"users_without_claim"`
}

// State is a phase's status, as the progress table words it.
type State string

// The states of a phase.
const (
	Done       State = "done"
	InProgress State = "in progress"
	// Pending: nothing done yet, nothing in the way.
	Pending State = "pending"
	// Blocked: an earlier phase it depends on is not done.
	Blocked State = "blocked"
)

// PhaseStatus is one line of the OVERALL PROGRESS table.
type PhaseStatus struct {
	Phase migrations.Phase `json:"phase"`
	Title string           `json:"title"`
	State State            `json:"status"`
	// Done of Total Unit ("tables", or "users" for the JWT phase).
	Done  int64  `json:"done"`
	Total int64  `json:"total"`
	Unit  string `json:"unit"`
	// BlockedBy are the phases it depends on that are not done.
	BlockedBy []migrations.Phase `json:"blocked_by"`
	// Pending are the tables (or, for phase 5, nothing) not done yet.
	Pending []string `json:"pending_tables,omitempty"`
	// Files are the migration files (paths as `warden generate` writes
	// them) whose effect is not in the database yet, in order.
	Files []string `json:"files,omitempty"`
	// Next is what to run to move the phase on; empty when done.
	Next string `json:"next_action,omitempty"`
}

// Blocker renders BlockedBy as the progress table does ("Phase 3", "Phases 2-4"),
// "None" when nothing blocks.
func (p *PhaseStatus) Blocker() string {
	if len(p.BlockedBy) == 0 {
		return "None"
	}
	var nums []int
	for _, b := range p.BlockedBy {
		nums = append(nums, phaseInfo[b].num)
	}
	if len(nums) == 1 {
		return phaseLabel(nums[0])
	}
	contiguous := true
	for i := 1; i < len(nums); i++ {
		contiguous = contiguous && nums[i] == nums[i-1]+1
	}
	if contiguous && nums[len(nums)-1] <= 6 {
		return fmt.Sprintf("Phases %d-%d", nums[0], nums[len(nums)-1])
	}
	var parts []string
	for _, n := range nums {
		parts = append(parts, phaseLabel(n))
	}
	return strings.Join(parts, ", ")
}

func phaseLabel(n int) string {
	if n == 7 {
		return "RLS"
	}
	return fmt.Sprintf("Phase %d", n)
}

// phaseInfo holds each phase's number, title and dependencies. The
// dependencies follow the migration's phases (phases 4 and 5 wait for the
// backfill, phase 6 for phases 2-4) and add RLS: its policies compare the
// tenant column with the caller's JWT org, so every row needs the column
// (phase 4) and every user the claim (phase 5), or rows go dark.
var phaseInfo = map[migrations.Phase]struct {
	num   int
	title string
	deps  []migrations.Phase
}{
	migrations.PhaseAdd:       {2, "Phase 2: Add Columns", nil},
	migrations.PhaseBackfill:  {3, "Phase 3: Backfill Data", []migrations.Phase{migrations.PhaseAdd}},
	migrations.PhaseNotNull:   {4, "Phase 4: NOT NULL Constraints", []migrations.Phase{migrations.PhaseBackfill}},
	migrations.PhaseJWT:       {5, "Phase 5: JWT Metadata", []migrations.Phase{migrations.PhaseBackfill}},
	migrations.PhaseImmutable: {6, "Phase 6: Immutability Triggers", []migrations.Phase{migrations.PhaseAdd, migrations.PhaseBackfill, migrations.PhaseNotNull}},
	migrations.PhaseRLS:       {7, "Zero-Trust RLS", []migrations.Phase{migrations.PhaseNotNull, migrations.PhaseJWT}},
	// Only where the policy distributes on Citus: the shards need every
	// row's org (phase 4) and fold warden's policies (RLS).
	migrations.PhaseDistribute: {8, "Phase 8: Distribute on Citus", []migrations.Phase{migrations.PhaseNotNull, migrations.PhaseImmutable, migrations.PhaseRLS}},
}

var phaseOrder = []migrations.Phase{
	migrations.PhaseAdd, migrations.PhaseBackfill, migrations.PhaseNotNull,
	migrations.PhaseJWT, migrations.PhaseImmutable, migrations.PhaseRLS,
	migrations.PhaseDistribute,
}

// summarize turns the measured facts into the report: each step's effect
// is either in the database or not, a table is done with a phase when all
// of its steps in that phase are, and a phase when all of its steps are.
func summarize(plan *classify.Plan, steps []migrations.Step, m *measurer) *Report {
	g := &m.global
	g.Setup = g.DefaultOrg && g.AuthOrgID && g.BackfillProcedure && g.ProgressTable
	r := &Report{Column: m.col, Estimated: m.opts.Estimate, Tables: m.tables, Roots: m.roots, Global: *g,
		Probes: m.exposed, tenantType: plan.Policy.Tenant.Type}
	if r.Roots == nil {
		r.Roots = []*RootStatus{}
	}
	byName := map[string]*TableStatus{}
	for _, ts := range m.tables {
		byName[ts.Table] = ts
	}
	files := m.opts.Paths
	if files == nil {
		files = Files(plan, steps)
	}

	// Which steps are done, and per table per phase whether all are.
	type key struct {
		table string
		phase migrations.Phase
	}
	tableDone := map[key]bool{}
	superseded := supersededBy(steps, r)
	phaseSteps := map[migrations.Phase][]migrations.Step{}
	phaseAllDone := map[migrations.Phase]bool{}
	undone := map[migrations.Phase][]migrations.Step{}
	for _, s := range steps {
		ts := byName[s.Table]
		isRoot := s.Kind == migrations.KindRLSRoot
		done := stepDone(s, ts, r) || superseded(s)
		phaseSteps[s.Phase] = append(phaseSteps[s.Phase], s)
		if _, ok := phaseAllDone[s.Phase]; !ok {
			phaseAllDone[s.Phase] = true
		}
		if ts != nil || isRoot {
			k := key{s.Table, s.Phase}
			if _, ok := tableDone[k]; !ok {
				tableDone[k] = true
			}
			tableDone[k] = tableDone[k] && done
		}
		if !done {
			phaseAllDone[s.Phase] = false
			undone[s.Phase] = append(undone[s.Phase], s)
		}
	}
	for _, ts := range m.tables {
		ts.PhasesDone = []migrations.Phase{}
		for _, ph := range phaseOrder {
			if done, ok := tableDone[key{ts.Table, ph}]; ok && done {
				ts.PhasesDone = append(ts.PhasesDone, ph)
			}
		}
	}

	for _, ph := range phaseOrder {
		if len(phaseSteps[ph]) == 0 {
			// A phase the plan has no step of (phase 5 outside Supabase):
			// nothing to do, nothing to report.
			continue
		}
		info := phaseInfo[ph]
		p := &PhaseStatus{Phase: ph, Title: info.title, Unit: "tables", BlockedBy: []migrations.Phase{}}
		names := make([]string, 0, len(m.tables)+len(m.roots))
		for _, ts := range m.tables {
			names = append(names, ts.Table)
		}
		if ph == migrations.PhaseRLS {
			for _, rs := range m.roots {
				names = append(names, rs.Table)
			}
		}
		for _, name := range names {
			p.Total++
			if done, ok := tableDone[key{name, ph}]; ok && done {
				p.Done++
			} else if ok {
				p.Pending = append(p.Pending, name)
			}
		}
		partial := p.Done > 0
		if ph == migrations.PhaseJWT {
			// Phase 5 changes users, not tables.
			p.Unit, p.Done, p.Total, p.Pending = "users", g.UsersWithClaim, g.Users, nil
			// Users may carry the claim before warden (an app that set it
			// itself): only warden's trigger shows the phase has begun.
			partial = g.ClaimTrigger
		}
		if ph == migrations.PhaseBackfill {
			for _, ts := range m.tables {
				partial = partial || ts.FillTrigger.Present || ts.Backfill != nil
			}
		}
		listed := map[string]bool{}
		for _, s := range undone[ph] {
			// One file holds several steps in the grouped layout.
			if f := files[s.Name]; !listed[f] {
				listed[f] = true
				p.Files = append(p.Files, f)
			}
		}
		allDone := phaseAllDone[ph] && len(phaseSteps[ph]) > 0
		for _, d := range info.deps {
			if len(phaseSteps[d]) > 0 && !phaseAllDone[d] {
				p.BlockedBy = append(p.BlockedBy, d)
			}
		}
		switch {
		case allDone:
			p.State = Done
		case len(p.BlockedBy) > 0:
			p.State = Blocked
		case partial:
			p.State = InProgress
		default:
			p.State = Pending
		}
		if !allDone {
			p.Next = nextAction(ph, undone[ph], files)
			if len(p.BlockedBy) > 0 {
				p.Next = fmt.Sprintf("wait for %s, then %s", p.Blocker(), p.Next)
			}
		}
		r.Phases = append(r.Phases, p)
		if allDone {
			r.PhasesDone++
		}
	}
	r.Complete = r.PhasesDone == len(r.Phases)
	r.Next = "nothing: every phase is done"
	for _, p := range r.Phases {
		if p.State != Done {
			r.Next = p.Next
			break
		}
	}
	return r
}

// supersededBy returns whether a step's effect was removed on purpose by a
// phase 8 step (distribute: citus) that is done: Citus itself does what
// the fill, immutability and parent-org triggers did, and refuses them;
// the restrictive policies are folded into the permissive ones; the claim
// triggers go with the reference tables (membership decides the org).
// Such a step counts as done, or status would send the user back to
// re-create what the distribution took away.
func supersededBy(steps []migrations.Step, r *Report) func(migrations.Step) bool {
	prepared, referenced := map[string]bool{}, map[string]bool{}
	// Every reference table done, and there is at least one.
	allReferenced := true
	for _, s := range steps {
		switch s.Kind {
		case migrations.KindDistPrepare:
			prepared[s.Table] = r.Probes[s.Name]
		case migrations.KindDistReference:
			referenced[s.Table] = r.Probes[s.Name]
			allReferenced = allReferenced && r.Probes[s.Name]
		}
	}
	allReferenced = allReferenced && len(referenced) > 0
	return func(s migrations.Step) bool {
		switch s.Kind {
		case migrations.KindFillTrigger, migrations.KindImmutable, migrations.KindParentOrg, migrations.KindRLS:
			return prepared[s.Table]
		case migrations.KindRLSRoot:
			return referenced[s.Table]
		case migrations.KindJWTClaims, migrations.KindJWTMemberSync, migrations.KindPersonalOrgs:
			return allReferenced
		}
		return false
	}
}

// nextAction says what to run for a phase given its steps not done yet, in
// order: the backfill has its command, everything else its first file.
func nextAction(ph migrations.Phase, undone []migrations.Step, files map[string]string) string {
	if len(undone) == 0 {
		return ""
	}
	// The file a runner reaches first: versions lead the file names, and
	// the grouped layout orders files kind by kind, not step by step.
	first := undone[0]
	for _, s := range undone[1:] {
		if files[s.Name] < files[first.Name] {
			first = s
		}
	}
	if ph == migrations.PhaseBackfill && first.Kind == migrations.KindBackfill {
		return "run `warden backfill` (or apply " + files[first.Name] + " and the backfill files after it)"
	}
	// Count files, not steps: one file holds several in the grouped layout.
	distinct := map[string]bool{}
	for _, s := range undone {
		distinct[files[s.Name]] = true
	}
	more := ""
	if n := len(distinct) - 1; n == 1 {
		more = " and 1 more file of this phase"
	} else if n > 1 {
		more = fmt.Sprintf(" and %d more files of this phase", n)
	}
	return "apply " + files[first.Name] + more
}

// Phase returns the report's status of phase ph, or nil.
func (r *Report) Phase(ph migrations.Phase) *PhaseStatus {
	i := slices.IndexFunc(r.Phases, func(p *PhaseStatus) bool { return p.Phase == ph })
	if i < 0 {
		return nil
	}
	return r.Phases[i]
}
