package classify

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/warden-sql/warden/internal/ident"
	"github.com/warden-sql/warden/introspect"
)

// This file renders the output of `warden plan`: a table for people
// (WritePlanText) and stable JSON for tools (PlanJSON). Both show row
// estimates, which change with the data; REPORT.md (package report) is the
// committed, estimate-free view of the same plan.

// Hop is one foreign-key step of an inherited table's path: Table's Columns
// reference Parent's ParentColumns.
type Hop struct {
	Table         string   `json:"table"`
	Columns       []string `json:"columns"`
	Parent        string   `json:"parent"`
	ParentColumns []string `json:"parent_columns"`
	// Nullable is true when some of Columns is nullable: rows with a NULL
	// there have no parent, hence no derivable org.
	Nullable bool `json:"nullable"`
}

// Hops returns an inherited table's foreign-key path, from the table up to
// its direct ancestor; nil for other classes.
func (t *TablePlan) Hops() []Hop {
	if t.Class != Inherited {
		return nil
	}
	var hops []Hop
	for p := t; p.Parent != nil && p.ParentFK != nil; p = p.Parent {
		hops = append(hops, Hop{
			Table:         p.Name(),
			Columns:       p.ParentFK.Columns,
			Parent:        p.Parent.Name(),
			ParentColumns: p.ParentFK.RefColumns,
			Nullable:      anyNullable(p.Table, p.ParentFK.Columns),
		})
	}
	return hops
}

// Root returns the direct table an inherited table takes its org from, the
// table itself when it is direct, and nil otherwise.
func (t *TablePlan) Root() *TablePlan {
	if !t.Class.Scoped() {
		return nil
	}
	p := t
	for p.Parent != nil {
		p = p.Parent
	}
	return p
}

// ShortName is a table's name as the policy would write it: bare when the
// table is in the policy's first schema (the one bare names default to),
// schema-qualified otherwise. Summaries use it to read like a hand-written discovery.
func (p *Plan) ShortName(t *TablePlan) string {
	if p.Policy != nil && len(p.Policy.Schemas) > 0 && t.Table.Schema == p.Policy.Schemas[0] {
		return ident.QuoteIfNeeded(t.Table.Name)
	}
	return t.Name()
}

// Summary counts a plan's tables by class, in a migration report's terms. Table
// lists follow the policy's order where the policy lists the tables
// (exclude, global; the tenant roots as tenant, membership, users), then
// table name.
type Summary struct {
	Tables int
	// RequireOrgID is the number of scoped (direct + inherited) tables:
	// a report's "43 tables requiring org_id".
	RequireOrgID int
	Direct       int
	Inherited    int
	// Critical counts the scoped tables on the policy's critical list.
	Critical int
	// NullablePaths counts inherited tables whose path has a nullable FK.
	NullablePaths int

	TenantRoot    []*TablePlan
	Excluded      []*TablePlan
	Global        []*TablePlan
	AlreadyScoped []*TablePlan
	Unclassified  []*TablePlan

	Problems int
	Warnings int
}

// Summarize counts p's tables by class.
func Summarize(p *Plan) Summary {
	s := Summary{Tables: len(p.Tables), Problems: len(p.Problems), Warnings: len(p.Warnings)}
	for _, tp := range p.Tables {
		switch tp.Class {
		case Direct:
			s.Direct++
		case Inherited:
			s.Inherited++
			if tp.NullablePath {
				s.NullablePaths++
			}
		case TenantRoot:
			s.TenantRoot = append(s.TenantRoot, tp)
		case Excluded:
			s.Excluded = append(s.Excluded, tp)
		case Global:
			s.Global = append(s.Global, tp)
		case AlreadyScoped:
			s.AlreadyScoped = append(s.AlreadyScoped, tp)
		case Unclassified:
			s.Unclassified = append(s.Unclassified, tp)
		}
		if tp.Class.Scoped() && tp.Critical {
			s.Critical++
		}
	}
	s.RequireOrgID = s.Direct + s.Inherited
	for _, list := range [][]*TablePlan{s.TenantRoot, s.Excluded, s.Global} {
		sortByDecision(p, list)
	}
	return s
}

// sortByDecision orders tables as the policy lists them: tenant roots by
// role, others by the position of the entry that decided them; tables the
// policy does not name come last, by name.
func sortByDecision(p *Plan, list []*TablePlan) {
	rank := func(tp *TablePlan) (int, int, int) {
		if tp.Class == TenantRoot && p.Policy != nil {
			ref := refOf(tp)
			switch {
			case ref.SameTable(p.Policy.Tenant.Table):
				return 0, 0, 0
			case p.Policy.Membership != nil && ref.SameTable(p.Policy.Membership.Table):
				return 0, 1, 0
			}
			return 0, 2, 0
		}
		if tp.Decision != nil {
			return 0, tp.Decision.Pos.Line, tp.Decision.Pos.Column
		}
		return 1, 0, 0
	}
	sort.SliceStable(list, func(i, j int) bool {
		a1, a2, a3 := rank(list[i])
		b1, b2, b3 := rank(list[j])
		if a1 != b1 {
			return a1 < b1
		}
		if a2 != b2 {
			return a2 < b2
		}
		if a3 != b3 {
			return a3 < b3
		}
		return list[i].Name() < list[j].Name()
	})
}

// Sentence renders the summary the way a hand-written discovery reads, e.g.
// "43 tables require org_id (30 direct, 13 inherited); excluded:
// user_credits, user_subscriptions, customers; global: subscription_plans;
// tenant root: organizations, organization_members". Classes with no
// tables are left out.
func (s Summary) Sentence(p *Plan) string {
	column := "org_id"
	if p.Policy != nil {
		column = p.Policy.Tenant.Column
	}
	noun := "tables require"
	if s.RequireOrgID == 1 {
		noun = "table requires"
	}
	parts := []string{fmt.Sprintf("%d %s %s (%d direct, %d inherited)", s.RequireOrgID, noun, column, s.Direct, s.Inherited)}
	for _, l := range []struct {
		label  string
		tables []*TablePlan
	}{
		{"excluded", s.Excluded},
		{"global", s.Global},
		{"tenant root", s.TenantRoot},
		{"already scoped", s.AlreadyScoped},
		{"unclassified", s.Unclassified},
	} {
		if len(l.tables) == 0 {
			continue
		}
		var names []string
		for _, tp := range l.tables {
			names = append(names, p.ShortName(tp))
		}
		parts = append(parts, l.label+": "+strings.Join(names, ", "))
	}
	return strings.Join(parts, "; ")
}

// CriticalTables returns the scoped tables on the policy's critical list,
// in the order the policy lists them (the priority order).
func CriticalTables(p *Plan) []*TablePlan {
	var out []*TablePlan
	if p.Policy == nil {
		return out
	}
	for _, r := range p.Policy.Critical {
		for _, tp := range p.Scoped {
			if tp.Critical && refOf(tp).SameTable(r) {
				out = append(out, tp)
			}
		}
	}
	return out
}

// rowEstimate returns the planner's estimate for tp, or -1 when unknown
// (no stats, or a table never analysed).
func rowEstimate(stats *introspect.Stats, tp *TablePlan) int64 {
	if stats == nil {
		return -1
	}
	st, ok := stats.Tables[tp.Name()]
	if !ok || st.RowEstimate < 0 {
		return -1
	}
	return st.RowEstimate
}

// groupDigits formats n with thousands separators, as people read counts.
func groupDigits(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// WritePlanText writes the human-readable `warden plan` output: every table
// with its class, critical flag, row estimate ("-" when unknown or stats is
// nil) and reason (the ownership column, or the foreign-key path hop by
// hop), then the summary, warnings and problems.
func WritePlanText(w io.Writer, p *Plan, stats *introspect.Stats) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tCLASS\tCRITICAL\tROWS (EST.)\tREASON")
	for _, tp := range p.Tables {
		critical := "-"
		if tp.Critical {
			critical = "yes"
		}
		rows := "-"
		if n := rowEstimate(stats, tp); n >= 0 {
			rows = groupDigits(n)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", tp.Name(), tp.Class, critical, rows, tp.Reason)
		if tp.Class.Scoped() && len(tp.Sources) > 1 {
			for _, src := range tp.Sources[1:] {
				fmt.Fprintf(tw, "\t\t\t\twhere NULL: %s\n", src)
			}
		}
		if tp.Class.Scoped() {
			for _, r := range tp.Rejected {
				fmt.Fprintf(tw, "\t\t\t\tnot used: %s\n", r)
			}
		}
		for _, n := range tp.Notes {
			fmt.Fprintf(tw, "\t\t\t\tnote: %s\n", n)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	s := Summarize(p)
	var b strings.Builder
	fmt.Fprintf(&b, "\n%s.\n", s.Sentence(p))
	if s.Critical > 0 {
		var names []string
		for _, tp := range CriticalTables(p) {
			names = append(names, p.ShortName(tp))
		}
		fmt.Fprintf(&b, "Critical (%d): %s.\n", s.Critical, strings.Join(names, ", "))
	}
	if s.NullablePaths > 0 {
		var names []string
		for _, tp := range p.Scoped {
			if tp.Class == Inherited && tp.NullablePath {
				names = append(names, p.ShortName(tp))
			}
		}
		org := ""
		if p.Policy != nil {
			org = " " + p.Policy.Tenant.DefaultOrg
		}
		fmt.Fprintf(&b, "Nullable foreign-key paths (rows with a NULL foreign key get the default org%s): %s.\n", org, strings.Join(names, ", "))
	}
	for _, wn := range p.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", wn.Error())
	}
	for _, pr := range p.Problems {
		fmt.Fprintf(&b, "error: %s\n", pr.Error())
	}
	if n := len(p.Problems); n > 0 {
		fmt.Fprintf(&b, "%d problem(s): generate and check refuse to run until policy.yaml settles them.\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// PlanDoc is the JSON form of a plan, as `warden plan --json` prints it.
// Lists are never null, and their order is the plan's, so the same plan
// and stats always give the same bytes.
type PlanDoc struct {
	// TenantColumn is the column warden adds (policy tenant.column).
	TenantColumn string     `json:"tenant_column"`
	Summary      SummaryDoc `json:"summary"`
	Tables       []TableDoc `json:"tables"`
	// BackfillOrder lists the scoped tables, parents first.
	BackfillOrder []string     `json:"backfill_order"`
	Problems      []ProblemDoc `json:"problems"`
	Warnings      []ProblemDoc `json:"warnings"`
}

// SummaryDoc is the JSON form of Summary, with tables as names.
type SummaryDoc struct {
	Tables        int      `json:"tables"`
	RequireOrgID  int      `json:"require_org_id"`
	Direct        int      `json:"direct"`
	Inherited     int      `json:"inherited"`
	Critical      int      `json:"critical"`
	NullablePaths int      `json:"nullable_paths"`
	TenantRoot    []string `json:"tenant_root"`
	Excluded      []string `json:"excluded"`
	Global        []string `json:"global"`
	AlreadyScoped []string `json:"already_scoped"`
	Unclassified  []string `json:"unclassified"`
	Problems      int      `json:"problems"`
	Warnings      int      `json:"warnings"`
}

// TableDoc is one table of PlanDoc.
type TableDoc struct {
	Table  string `json:"table"`
	Schema string `json:"schema"`
	Name   string `json:"name"`
	Class  Class  `json:"class"`
	Reason string `json:"reason"`
	// Owner is the ownership column the org is derived from: the table's
	// own for a direct table, its root's for an inherited one.
	Owner *OwnerDoc `json:"owner"`
	// Path is an inherited table's foreign-key path, table first.
	Path         []Hop `json:"path"`
	Depth        int   `json:"depth"`
	NullablePath bool  `json:"nullable_path"`
	Critical     bool  `json:"critical"`
	// Sources are where the rows take their org, in the order tried;
	// Rejected the candidates not used, each with the reason.
	Sources  []string `json:"sources"`
	Rejected []string `json:"rejected"`
	Notes    []string `json:"notes"`
	// RowEstimate is the planner's estimate; null when unknown.
	RowEstimate *int64 `json:"row_estimate"`
}

// OwnerDoc is an ownership column.
type OwnerDoc struct {
	Table  string `json:"table"`
	Column string `json:"column"`
	Type   string `json:"type"`
	// References is the users table the column is a foreign key to; empty
	// when it is not one (require_fk: false).
	References string `json:"references"`
}

// ProblemDoc is a problem or warning.
type ProblemDoc struct {
	Table   string `json:"table"`
	Message string `json:"message"`
}

// NewPlanDoc builds the JSON document of p with estimates from stats (which
// may be nil).
func NewPlanDoc(p *Plan, stats *introspect.Stats) *PlanDoc {
	s := Summarize(p)
	names := func(list []*TablePlan) []string {
		out := []string{}
		for _, tp := range list {
			out = append(out, tp.Name())
		}
		return out
	}
	doc := &PlanDoc{
		Summary: SummaryDoc{
			Tables: s.Tables, RequireOrgID: s.RequireOrgID, Direct: s.Direct, Inherited: s.Inherited,
			Critical: s.Critical, NullablePaths: s.NullablePaths, Problems: s.Problems, Warnings: s.Warnings,
			TenantRoot:    names(s.TenantRoot),
			Excluded:      names(s.Excluded),
			Global:        names(s.Global),
			AlreadyScoped: names(s.AlreadyScoped),
			Unclassified:  names(s.Unclassified),
		},
		Tables:        []TableDoc{},
		BackfillOrder: names(p.Scoped),
		Problems:      problemDocs(p.Problems),
		Warnings:      problemDocs(p.Warnings),
	}
	if p.Policy != nil {
		doc.TenantColumn = p.Policy.Tenant.Column
	}
	for _, tp := range p.Tables {
		td := TableDoc{
			Table: tp.Name(), Schema: tp.Table.Schema, Name: tp.Table.Name,
			Class: tp.Class, Reason: tp.Reason,
			Path: tp.Hops(), Depth: tp.Depth, NullablePath: tp.NullablePath, Critical: tp.Critical,
			Notes: append([]string{}, tp.Notes...), Sources: []string{}, Rejected: []string{},
		}
		if tp.Class.Scoped() {
			for _, src := range tp.Sources {
				td.Sources = append(td.Sources, src.String())
			}
			td.Rejected = append(td.Rejected, tp.Rejected...)
		}
		if td.Path == nil {
			td.Path = []Hop{}
		}
		if root := tp.Root(); root != nil && root.Owner != nil {
			td.Owner = &OwnerDoc{Table: root.Name(), Column: root.Owner.Name, Type: root.Owner.Type}
			if fk := root.OwnerFK; fk != nil {
				td.Owner.References = ident2(fk.RefSchema, fk.RefTable)
			}
		}
		if n := rowEstimate(stats, tp); n >= 0 {
			td.RowEstimate = &n
		}
		doc.Tables = append(doc.Tables, td)
	}
	return doc
}

func problemDocs(ps []Problem) []ProblemDoc {
	out := []ProblemDoc{}
	for _, p := range ps {
		out = append(out, ProblemDoc{Table: p.Table, Message: p.Msg})
	}
	return out
}

// PlanJSON returns the plan as indented JSON, newline terminated: the same
// plan and stats always give the same bytes.
func PlanJSON(p *Plan, stats *introspect.Stats) ([]byte, error) {
	b, err := json.MarshalIndent(NewPlanDoc(p, stats), "", "  ")
	if err != nil {
		return nil, fmt.Errorf("generator: encoding plan: %w", err)
	}
	return append(b, '\n'), nil
}
