package status

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/warden-sql/warden/generator/migrations"
)

// JSON returns the report as indented JSON, newline terminated.
func (r *Report) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// WriteText writes the report for a person: one line per table, the global
// facts, then the OVERALL PROGRESS table and the next action.
func (r *Report) WriteText(w io.Writer) error {
	var b bytes.Buffer
	counts := "exact counts"
	if r.Estimated {
		counts = "estimated counts (planner statistics as of the last ANALYZE)"
	}
	fmt.Fprintf(&b, "warden status: %d scoped tables, column %s, %s\n\n", len(r.Tables), r.Column, counts)

	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "TABLE\t%s\tNULL ROWS\tFK\tINDEX\tFILL\tBACKFILL\tNOT NULL\tIMMUTABLE\tRLS\tPHASES DONE\n", strings.ToUpper(r.Column))
	for _, t := range r.Tables {
		name := t.Table
		if t.Critical {
			name += " *"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			name, columnText(t), r.nullText(t), fkText(t), indexText(t), triggerText(t.FillTrigger),
			backfillText(t), notNullText(t), triggerText(t.ImmutableTrigger), rlsText(t.RLS), phasesText(t.PhasesDone))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(&b, "(* critical table)\n\n")
	for _, rs := range r.Roots {
		fmt.Fprintf(&b, "Tenant root %s: RLS %s\n", rs.Table, rlsText(rs.RLS))
	}

	g := r.Global
	fmt.Fprintf(&b, "Setup (default org, public.auth_org_id(), backfill procedure): %s\n", yesNo(g.Setup, "done", "not applied"))
	fmt.Fprintf(&b, "public.auth_org_id(): %s\n", yesNo(g.AuthOrgID, "present", "missing"))
	fmt.Fprintf(&b, "Users with the %s claim: %s of %s (%s without); new-user claim trigger: %s\n",
		r.Column, group(g.UsersWithClaim), group(g.Users), group(g.UsersWithoutClaim), yesNo(g.ClaimTrigger, "present", "missing"))
	var finished, running int
	var rowsDone, orphans int64
	for _, t := range r.Tables {
		if bf := t.Backfill; bf != nil {
			if bf.Finished {
				finished++
			} else {
				running++
			}
			rowsDone += bf.RowsDone
			orphans += bf.Orphans
		}
	}
	if g.ProgressTable {
		fmt.Fprintf(&b, "Backfill progress: %d tables finished, %d started, %s rows filled, %s orphans given the default org\n",
			finished, running, group(rowsDone), group(orphans))
		if orphans > 0 {
			// Per table: rows nobody reads until an admin gives them an org
			// (a row may leave the default org once).
			var per []string
			for _, t := range r.Tables {
				if bf := t.Backfill; bf != nil && bf.Orphans > 0 {
					per = append(per, fmt.Sprintf("%s %s", t.Table, group(bf.Orphans)))
				}
			}
			fmt.Fprintf(&b, "Orphans by table (reassign them to their org; see README, membership): %s\n", strings.Join(per, ", "))
		}
	} else {
		fmt.Fprintf(&b, "Backfill progress: none (warden.backfill_progress does not exist yet)\n")
	}
	writeDefaultOrgRows(&b, r.Tables)

	fmt.Fprintf(&b, "\nOVERALL PROGRESS\n\n")
	rows := [][]string{{"Phase", "Status", "Done", "Blocker", "Next action"}}
	for _, p := range r.Phases {
		rows = append(rows, []string{p.Title, string(p.State), fmt.Sprintf("%s/%s %s", group(p.Done), group(p.Total), p.Unit), p.Blocker(), dash(p.Next)})
	}
	markdownTable(&b, rows)
	fmt.Fprintf(&b, "\nTotal progress: %d/%d phases complete (%d%%)\n", r.PhasesDone, len(r.Phases), (r.PhasesDone*100+len(r.Phases)/2)/len(r.Phases))
	fmt.Fprintf(&b, "Next action: %s\n", r.Next)
	_, err := w.Write(b.Bytes())
	return err
}

// markdownTable writes rows (the first is the header) as a padded
// Markdown table, readable as is and pasteable into a PR.
func markdownTable(w io.Writer, rows [][]string) {
	width := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, c := range row {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	line := func(cells []string) {
		var parts []string
		for i, c := range cells {
			parts = append(parts, c+strings.Repeat(" ", width[i]-len([]rune(c))))
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(parts, " | "))
	}
	line(rows[0])
	var sep []string
	for _, n := range width {
		sep = append(sep, strings.Repeat("-", n))
	}
	fmt.Fprintf(w, "|-%s-|\n", strings.Join(sep, "-|-"))
	for _, row := range rows[1:] {
		line(row)
	}
}

func columnText(t *TableStatus) string {
	switch {
	case !t.Exists:
		return "no table"
	case !t.Column.Exists:
		return "missing"
	}
	return t.Column.Type
}

func (r *Report) nullText(t *TableStatus) string {
	if !t.Column.Exists {
		return "-"
	}
	approx := ""
	if r.Estimated {
		approx = "~"
	}
	n := "?"
	if t.NullRows != nil {
		n = approx + group(*t.NullRows)
	}
	rows := "?"
	if t.Rows != nil {
		rows = approx + group(*t.Rows)
	}
	return n + " of " + rows
}

func fkText(t *TableStatus) string {
	if t.ForeignKey.Present {
		return yesNo(t.ForeignKey.Validated, "validated", "not valid")
	}
	if len(t.Partitions) > 0 {
		present, valid := 0, 0
		for _, p := range t.Partitions {
			if p.ForeignKey.Present {
				present++
				if p.ForeignKey.Validated {
					valid++
				}
			}
		}
		switch {
		case present == 0:
		case valid == len(t.Partitions):
			return "validated (partitions)"
		case present == len(t.Partitions):
			return "not valid (partitions)"
		default:
			return fmt.Sprintf("%d/%d partitions", present, len(t.Partitions))
		}
	}
	return "missing"
}

func indexText(t *TableStatus) string {
	switch {
	case !t.Index.Present:
		return "missing"
	case !t.Index.Valid:
		return "INVALID"
	}
	return "valid"
}

func triggerText(tr TriggerState) string {
	if !tr.Present {
		return "no"
	}
	return tr.Enabled
}

func backfillText(t *TableStatus) string {
	bf := t.Backfill
	switch {
	case bf == nil:
		return "-"
	case bf.Finished:
		return "finished " + group(bf.RowsDone)
	}
	return "running " + group(bf.RowsDone)
}

func notNullText(t *TableStatus) string {
	switch {
	case t.Column.NotNull:
		return "yes"
	case t.NotNullCheck.Present && t.NotNullCheck.Validated:
		return "check valid"
	case t.NotNullCheck.Present:
		return "check"
	}
	return "no"
}

func rlsText(st RLSState) string {
	s := yesNo(st.Enabled, "on", "off")
	if len(st.Present) > 0 || st.Enabled {
		s += fmt.Sprintf(" %d/%d", len(st.Present), len(st.Expected))
	}
	if len(st.Wrong) > 0 {
		s += fmt.Sprintf(" (%d wrong kind)", len(st.Wrong))
	}
	return s
}

// phasesText lists the phases done by number, "R" for RLS.
func phasesText(ps []migrations.Phase) string {
	if len(ps) == 0 {
		return "-"
	}
	var out []string
	for _, p := range ps {
		n := phaseInfo[p].num
		if n == 7 {
			out = append(out, "RLS")
		} else {
			out = append(out, strconv.Itoa(n))
		}
	}
	return strings.Join(out, " ")
}

func yesNo(b bool, yes, no string) string {
	if b {
		return yes
	}
	return no
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// group writes n with thousands separators: 1234567 → 1,234,567.
func group(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// writeDefaultOrgRows lists the tables with rows in the default org and why
// each source gave them none, so a reviewer tells a missing owner from an
// owner who belongs to no org before reassigning anything.
func writeDefaultOrgRows(b io.Writer, tables []*TableStatus) {
	var lines []string
	for _, t := range tables {
		d := t.DefaultOrg
		if d == nil || d.Rows == 0 {
			continue
		}
		why := CauseText(d.Causes)
		if why == "" {
			why = "every source gave an org"
		}
		lines = append(lines, fmt.Sprintf("  %s %s (%s)", t.Table, group(d.Rows), why))
	}
	if len(lines) == 0 {
		return
	}
	fmt.Fprintf(b, "Rows in the default org, by table and why each source gave none (a row counts under every source it tried):\n%s\n", strings.Join(lines, "\n"))
}

// CauseText words cause counts for one table, grouped by source:
// "user_id: 2 no owner, 1 owner without membership; public.calls: 3 no
// parent". "" when there are none.
func CauseText(causes []CauseCount) string {
	var per []string
	for i := 0; i < len(causes); {
		src := causes[i].Source
		var whys []string
		for ; i < len(causes) && causes[i].Source == src; i++ {
			whys = append(whys, fmt.Sprintf("%s %s", group(causes[i].Rows), causes[i].Why))
		}
		per = append(per, src+": "+strings.Join(whys, ", "))
	}
	return strings.Join(per, "; ")
}
