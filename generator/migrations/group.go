package migrations

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/warden-sql/warden/policy"
)

// Grouping: the grouped layout writes the steps of one kind that are
// emitted together (every table's add_column, every table's RLS) into one
// file, so a reviewer reads one file per kind instead of one per table.
// Each table keeps a transaction of its own inside the file (an explicit
// BEGIN ... COMMIT), so no transaction ever holds a strong lock on two
// tables, and every block can be run again after a stop, as every step
// can. What each runner allows decides what may share a file:
//
//   - psql runs a file's statements one by one and goose, in a NO
//     TRANSACTION file, sends each of its statements alone: both take a
//     concurrent index build or a committing CALL as one more statement.
//   - golang-migrate sends a whole file as one multi-statement query,
//     where CREATE INDEX CONCURRENTLY cannot run and a CALL cannot commit:
//     there those steps stay one per file.
//   - The Supabase CLI sends a file's statements as one pipeline: explicit
//     BEGIN and COMMIT work in it. A CALL could commit there, but not when
//     the file is pasted into the SQL editor (one multi-statement query),
//     and a concurrent index build must be alone: those stay one per file.
//
// A file that stops part-way leaves its earlier blocks committed and the
// runner's record of the file unwritten (golang-migrate marks the version
// dirty): running it again redoes the committed blocks, which changes
// nothing, and carries on.

// Group returns the units the grouped layout writes for steps in format:
// each run of consecutive steps of one kind that the format lets share a
// file becomes one composite step (Compose), every other step stays as it
// is. Steps keep their order.
func Group(steps []Step, format string) []Step {
	steps = kindByKind(steps)
	var out []Step
	for i := 0; i < len(steps); {
		j := i + 1
		if groupable(steps[i], format) {
			for j < len(steps) && steps[j].Kind == steps[i].Kind {
				j++
			}
		}
		out = append(out, Compose(steps[i:j], format))
		i = j
	}
	return out
}

// kindByKind reorders each run of steps whose kinds the step table emits
// table by table (StepKind.Group: a table's index builds, then its index
// check) kind by kind: every build, then every check, so each kind can
// share a file. A check still follows its own table's builds.
func kindByKind(steps []Step) []Step {
	group := map[Kind]string{}
	rank := map[Kind]int{}
	for i, r := range stepTable {
		group[r.Kind], rank[r.Kind] = r.Group, i
	}
	out := slices.Clone(steps)
	for i := 0; i < len(out); {
		g := group[out[i].Kind]
		j := i + 1
		for g != "" && j < len(out) && group[out[j].Kind] == g {
			j++
		}
		slices.SortStableFunc(out[i:j], func(a, b Step) int { return cmp.Compare(rank[a.Kind], rank[b.Kind]) })
		i = j
	}
	return out
}

// groupable reports whether steps of s's kind may share a file in format.
func groupable(s Step, format string) bool {
	if !s.NoTransaction && !s.DownNoTransaction {
		return true
	}
	switch format {
	case policy.FormatPsql, policy.FormatGoose:
		return true
	}
	// The Supabase CLI would run several committing CALLs in one pipeline,
	// but the SQL editor, sending a file as one query, would not; and no
	// runner runs a concurrent index build but alone.
	return false
}

// Compose merges members, steps of one kind in order, into the composite
// step one file holds: each member's up script is a block of its own,
// wrapped in BEGIN ... COMMIT unless it must run outside a transaction;
// the down script undoes the members last first. One member is returned as
// it is, so a run of one is laid out exactly as the step layout would.
func Compose(members []Step, format string) Step {
	if len(members) == 1 {
		return members[0]
	}
	first := members[0]
	c := Step{
		Kind: first.Kind, Phase: first.Phase, Partition: -1,
		Name:          compositeName(first.Name, len(members)),
		NoTransaction: true, DownNoTransaction: true,
	}
	for _, m := range members {
		c.Members = append(c.Members, m.Name)
	}
	c.Up, c.UpBlocks = joinBlocks(members, false)
	c.Down, c.DownBlocks = joinBlocks(members, true)
	return c
}

// compositeName labels a composite of n steps after its first, e.g.
// "add_org_id_calls+42_more". Step names hold only [a-z0-9_], so the "+"
// keeps a label from ever equalling a step's name (a table called
// "calls_and_1_more" would otherwise make one).
func compositeName(first string, n int) string {
	return fmt.Sprintf("%s+%d_more", first, n-1)
}

// joinBlocks returns the composite script of members and its blocks: their
// up scripts in order or (down) their non-empty down scripts last first,
// each one block (blockBegin/blockEnd around it unless it must run outside
// a transaction), separated by blockSep. The blocks are slices of the
// script, not copies of it: at thousands of tables every copy is another
// copy of the whole migration.
func joinBlocks(members []Step, down bool) (string, []string) {
	type part struct {
		sql  string
		noTx bool
	}
	parts := make([]part, 0, len(members))
	size := 0
	for i := range members {
		p := part{members[i].Up, members[i].NoTransaction}
		if down {
			m := members[len(members)-1-i]
			if p = (part{m.Down, m.DownNoTransaction}); p.sql == "" {
				continue
			}
		}
		if !p.noTx {
			p.sql = strings.TrimRight(p.sql, "\n")
		}
		parts = append(parts, p)
		size += len(blockSep) + len(blockBegin) + len(p.sql) + len(blockEnd)
	}
	if len(parts) == 0 {
		return "", nil
	}
	var b strings.Builder
	b.Grow(size)
	bounds := make([][2]int, len(parts)) // each block's start and end in the script
	for i, p := range parts {
		if i > 0 {
			b.WriteString(blockSep)
		}
		bounds[i][0] = b.Len()
		if p.noTx {
			b.WriteString(p.sql)
		} else {
			b.WriteString(blockBegin)
			b.WriteString(p.sql)
			b.WriteString(blockEnd)
		}
		bounds[i][1] = b.Len()
	}
	script := b.String()
	blocks := make([]string, len(parts))
	for i, bd := range bounds {
		blocks[i] = script[bd[0]:bd[1]]
	}
	return script, blocks
}

// A member's script in a composite is one block: alone when it must run
// outside a transaction, else its own transaction.
const (
	blockBegin = "BEGIN;\n"
	blockEnd   = "\nCOMMIT;"
	blockSep   = "\n\n"
)
