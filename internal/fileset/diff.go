package fileset

import (
	"bytes"
	"fmt"
	"strings"
)

// diffContext is the number of unchanged lines shown around each change, the
// default of diff -u and git diff, so reviewers see the familiar shape.
const diffContext = 3

// unifiedDiff returns a unified diff that turns a into b, with the file
// names aName and bName on the ---/+++ lines, or "" when a and b are equal.
//
// Lines are compared with their line terminator, so a last line that lacks
// "\n" differs from the same text with one and is shown with diff's
// "\ No newline at end of file" marker: a file that only lost its final
// newline is still reported, not shown as an empty diff.
func unifiedDiff(aName, bName string, a, b []byte) string {
	if bytes.Equal(a, b) {
		return ""
	}
	al, bl := splitLines(a), splitLines(b)
	ops := diffLines(al, bl)

	var sb strings.Builder
	fmt.Fprintf(&sb, "--- %s\n+++ %s\n", aName, bName)
	for _, h := range hunks(ops, diffContext) {
		fmt.Fprintf(&sb, "@@ -%s +%s @@\n", hunkRange(h.aStart, h.aLen), hunkRange(h.bStart, h.bLen))
		for _, op := range ops[h.first:h.last] {
			switch op.kind {
			case opEqual:
				writeLine(&sb, ' ', al[op.a])
			case opDelete:
				writeLine(&sb, '-', al[op.a])
			case opInsert:
				writeLine(&sb, '+', bl[op.b])
			}
		}
	}
	return sb.String()
}

// writeLine writes one diff body line. A line without its terminator can only
// be the last of its file; GNU diff and git mark it so patch tools reproduce
// the missing newline exactly.
func writeLine(sb *strings.Builder, prefix byte, line string) {
	sb.WriteByte(prefix)
	sb.WriteString(line)
	if !strings.HasSuffix(line, "\n") {
		sb.WriteString("\n\\ No newline at end of file\n")
	}
}

// hunkRange formats one side of a hunk header the way GNU diff does: the
// count is left out when it is 1, and an empty range names the line before it
// (0 at the start of the file).
func hunkRange(start, n int) string {
	switch n {
	case 0:
		return fmt.Sprintf("%d,0", start)
	case 1:
		return fmt.Sprintf("%d", start+1)
	default:
		return fmt.Sprintf("%d,%d", start+1, n)
	}
}

// splitLines splits s after every "\n"; the last element lacks the
// terminator when s does not end with one. Empty input has no lines.
func splitLines(s []byte) []string {
	if len(s) == 0 {
		return nil
	}
	lines := make([]string, 0, bytes.Count(s, []byte{'\n'})+1)
	for len(s) > 0 {
		i := bytes.IndexByte(s, '\n')
		if i < 0 {
			lines = append(lines, string(s))
			break
		}
		lines = append(lines, string(s[:i+1]))
		s = s[i+1:]
	}
	return lines
}

type opKind uint8

const (
	opEqual opKind = iota
	opDelete
	opInsert
)

// op is one line of the edit script. a and b are its position in each input:
// the line itself for the side it belongs to, and for the other side of a
// delete or insert the index of the next line there.
type op struct {
	kind opKind
	a, b int
}

// hunk is a run of ops[first:last] shown under one @@ header; aStart and
// bStart are 0-based line indexes.
type hunk struct {
	first, last  int
	aStart, aLen int
	bStart, bLen int
}

// hunks groups the edit script into hunks with ctx lines of context, merging
// changes whose context would touch or overlap, as diff -u does.
func hunks(ops []op, ctx int) []hunk {
	var out []hunk
	for i := 0; i < len(ops); {
		if ops[i].kind == opEqual {
			i++
			continue
		}
		// i is the first change of a new hunk; extend over every change whose
		// gap of equal lines from the previous one is at most 2*ctx.
		first := max(i-ctx, 0)
		j := i
		for {
			for j < len(ops) && ops[j].kind != opEqual {
				j++
			}
			k := j
			for k < len(ops) && ops[k].kind == opEqual {
				k++
			}
			if k == len(ops) || k-j > 2*ctx {
				break
			}
			j = k
		}
		last := min(j+ctx, len(ops))
		h := hunk{first: first, last: last}
		// Every op records where it sits in both inputs, so the hunk's
		// first op gives both start lines (also for an empty side, which
		// hunkRange names by the line before it).
		h.aStart, h.bStart = ops[first].a, ops[first].b
		for _, o := range ops[first:last] {
			if o.kind != opInsert {
				h.aLen++
			}
			if o.kind != opDelete {
				h.bLen++
			}
		}
		out = append(out, h)
		i = last
	}
	return out
}

// diffLines returns a shortest edit script turning a into b, with deletions
// before insertions inside each changed block (the order diff -u prints).
func diffLines(a, b []string) []op {
	// Intern lines so the inner loop compares ints, not strings.
	ids := make(map[string]int, len(a)+len(b))
	intern := func(lines []string) []int {
		out := make([]int, len(lines))
		for i, l := range lines {
			id, ok := ids[l]
			if !ok {
				id = len(ids)
				ids[l] = id
			}
			out[i] = id
		}
		return out
	}
	m := &myers{a: intern(a), b: intern(b)}
	m.delA = make([]bool, len(a))
	m.insB = make([]bool, len(b))
	n := len(a) + len(b) + 3
	m.fd = make([]int, 2*n)
	m.bd = make([]int, 2*n)
	m.off = n
	m.compare(0, len(a), 0, len(b))

	ops := make([]op, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && m.delA[i]:
			ops = append(ops, op{kind: opDelete, a: i, b: j})
			i++
		case j < len(b) && m.insB[j]:
			ops = append(ops, op{kind: opInsert, a: i, b: j})
			j++
		default:
			ops = append(ops, op{kind: opEqual, a: i, b: j})
			i++
			j++
		}
	}
	return ops
}

// myers is Myers' O(ND) difference algorithm in its linear-space form
// ("An O(ND) Difference Algorithm and Its Variations", 1986, section 4b):
// find the middle snake of an optimal path, then recurse on both halves.
// The structure follows GNU diff's analyze.c. Linear space matters because
// the simple O(ND)-memory variant needs gigabytes for two unrelated 5k-line
// files; this one needs two int slices of the input size.
type myers struct {
	a, b       []int
	delA, insB []bool
	// fd and bd hold, per diagonal k = x-y (indexed k+off), the furthest x
	// reached by the forward and the backward search.
	fd, bd []int
	off    int
}

// compare marks the lines of a[aLo:aHi] and b[bLo:bHi] that a shortest edit
// script deletes and inserts.
func (m *myers) compare(aLo, aHi, bLo, bHi int) {
	for {
		// Common prefix and suffix are never part of the edit; stripping them
		// also guarantees the middle snake splits the problem strictly.
		for aLo < aHi && bLo < bHi && m.a[aLo] == m.b[bLo] {
			aLo++
			bLo++
		}
		for aLo < aHi && bLo < bHi && m.a[aHi-1] == m.b[bHi-1] {
			aHi--
			bHi--
		}
		switch {
		case aLo == aHi:
			for j := bLo; j < bHi; j++ {
				m.insB[j] = true
			}
			return
		case bLo == bHi:
			for i := aLo; i < aHi; i++ {
				m.delA[i] = true
			}
			return
		}
		x, y := m.middle(aLo, aHi, bLo, bHi)
		if (x == aLo && y == bLo) || (x == aHi && y == bHi) || x < aLo || x > aHi || y < bLo || y > bHi {
			// Cannot happen for stripped, non-empty inputs (the proof is in
			// the paper); guard anyway so a bug degrades to a correct but
			// longer diff instead of infinite recursion.
			for i := aLo; i < aHi; i++ {
				m.delA[i] = true
			}
			for j := bLo; j < bHi; j++ {
				m.insB[j] = true
			}
			return
		}
		// Recurse on the smaller half and loop on the other, bounding the
		// stack depth by log of the input size.
		if (x-aLo)+(y-bLo) < (aHi-x)+(bHi-y) {
			m.compare(aLo, x, bLo, y)
			aLo, bLo = x, y
		} else {
			m.compare(x, aHi, y, bHi)
			aHi, bHi = x, y
		}
	}
}

// middle returns a point (x, y) on a shortest edit path from (aLo, bLo) to
// (aHi, bHi), found where the forward and the backward searches meet.
// The inputs must be non-empty and must not share a first or last line.
func (m *myers) middle(aLo, aHi, bLo, bHi int) (int, int) {
	a, b, fd, bd, off := m.a, m.b, m.fd, m.bd, m.off
	dmin, dmax := aLo-bHi, aHi-bLo // the diagonals that cross the box
	fmid, bmid := aLo-bLo, aHi-bHi // where each search starts
	fmin, fmax, bmin, bmax := fmid, fmid, bmid, bmid
	odd := (fmid-bmid)&1 != 0
	fd[off+fmid] = aLo
	bd[off+bmid] = aHi
	for {
		// Widen the forward search by one diagonal each side, or narrow it
		// by one where it hit the box edge (keeping the parity of the step).
		// Sentinels outside the range make the move choice below ignore them.
		if fmin > dmin {
			fmin--
			fd[off+fmin-1] = -1
		} else {
			fmin++
		}
		if fmax < dmax {
			fmax++
			fd[off+fmax+1] = -1
		} else {
			fmax--
		}
		for k := fmax; k >= fmin; k -= 2 {
			lo, hi := fd[off+k-1], fd[off+k+1]
			x := hi // down from diagonal k+1
			if lo >= hi {
				x = lo + 1 // right from diagonal k-1
			}
			y := x - k
			for x < aHi && y < bHi && a[x] == b[y] {
				x++
				y++
			}
			fd[off+k] = x
			if odd && bmin <= k && k <= bmax && bd[off+k] <= x {
				return x, y
			}
		}

		// The same for the backward search, moving up and left from the end.
		if bmin > dmin {
			bmin--
			bd[off+bmin-1] = maxInt
		} else {
			bmin++
		}
		if bmax < dmax {
			bmax++
			bd[off+bmax+1] = maxInt
		} else {
			bmax--
		}
		for k := bmax; k >= bmin; k -= 2 {
			lo, hi := bd[off+k-1], bd[off+k+1]
			x := lo // up from diagonal k-1
			if lo >= hi {
				x = hi - 1 // left from diagonal k+1
			}
			y := x - k
			for x > aLo && y > bLo && a[x-1] == b[y-1] {
				x--
				y--
			}
			bd[off+k] = x
			if !odd && fmin <= k && k <= fmax && x <= fd[off+k] {
				return x, y
			}
		}
	}
}

const maxInt = int(^uint(0) >> 1)
