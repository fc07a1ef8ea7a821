package fileset

import (
	"fmt"
	"math/rand"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestUnifiedDiff(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want string
	}{
		{name: "identical", a: "x\ny\n", b: "x\ny\n", want: ""},
		{name: "both empty", a: "", b: "", want: ""},
		{
			name: "insert at start",
			a:    "1\n2\n3\n4\n5\n",
			b:    "0\n1\n2\n3\n4\n5\n",
			want: "--- a\n+++ b\n@@ -1,3 +1,4 @@\n+0\n 1\n 2\n 3\n",
		},
		{
			name: "insert at end",
			a:    "1\n2\n3\n4\n5\n",
			b:    "1\n2\n3\n4\n5\n6\n",
			want: "--- a\n+++ b\n@@ -3,3 +3,4 @@\n 3\n 4\n 5\n+6\n",
		},
		{
			name: "delete",
			a:    "1\n2\n3\n4\n5\n6\n7\n8\n9\n",
			b:    "1\n2\n3\n4\n6\n7\n8\n9\n",
			want: "--- a\n+++ b\n@@ -2,7 +2,6 @@\n 2\n 3\n 4\n-5\n 6\n 7\n 8\n",
		},
		{
			name: "change in the middle",
			a:    "1\n2\n3\n4\n5\n6\n7\n8\n9\n",
			b:    "1\n2\n3\n4\nfive\n6\n7\n8\n9\n",
			want: "--- a\n+++ b\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n",
		},
		{
			name: "from empty",
			a:    "",
			b:    "x\ny\n",
			want: "--- a\n+++ b\n@@ -0,0 +1,2 @@\n+x\n+y\n",
		},
		{
			name: "to empty",
			a:    "x\n",
			b:    "",
			want: "--- a\n+++ b\n@@ -1 +0,0 @@\n-x\n",
		},
		{
			name: "newline added at end",
			a:    "x\ny",
			b:    "x\ny\n",
			want: "--- a\n+++ b\n@@ -1,2 +1,2 @@\n x\n-y\n\\ No newline at end of file\n+y\n",
		},
		{
			name: "newline removed at end",
			a:    "x\ny\n",
			b:    "x\ny",
			want: "--- a\n+++ b\n@@ -1,2 +1,2 @@\n x\n-y\n+y\n\\ No newline at end of file\n",
		},
		{
			name: "unchanged last line without newline as context",
			a:    "1\n2\nz",
			b:    "1\nTWO\nz",
			want: "--- a\n+++ b\n@@ -1,3 +1,3 @@\n 1\n-2\n+TWO\n z\n\\ No newline at end of file\n",
		},
		{
			name: "two hunks when far apart",
			a:    "a\n1\n2\n3\n4\n5\n6\n7\n8\nb\n",
			b:    "A\n1\n2\n3\n4\n5\n6\n7\n8\nB\n",
			want: "--- a\n+++ b\n@@ -1,4 +1,4 @@\n-a\n+A\n 1\n 2\n 3\n@@ -7,4 +7,4 @@\n 6\n 7\n 8\n-b\n+B\n",
		},
		{
			name: "one hunk when contexts touch",
			a:    "a\n1\n2\n3\n4\n5\n6\nb\n",
			b:    "A\n1\n2\n3\n4\n5\n6\nB\n",
			want: "--- a\n+++ b\n@@ -1,8 +1,8 @@\n-a\n+A\n 1\n 2\n 3\n 4\n 5\n 6\n-b\n+B\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := unifiedDiff("a", "b", []byte(tt.a), []byte(tt.b))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("unifiedDiff mismatch (-want +got):\n%s", diff)
			}
			if got != "" {
				if applied := applyUnified(t, tt.a, got); applied != tt.b {
					t.Errorf("applying the diff gives %q, want %q", applied, tt.b)
				}
			}
		})
	}
}

// TestDiffRandom checks, against an O(NM) LCS table, that the edit script is
// minimal, and that the printed diff applies back to the target: this covers
// the hunk arithmetic and the middle-snake recursion on shapes no hand-written
// case would think of.
func TestDiffRandom(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for iter := 0; iter < 3000; iter++ {
		// A small alphabet makes many equal lines and so many ties.
		alpha := 1 + rng.Intn(4)
		a := randomLines(rng, rng.Intn(25), alpha)
		b := randomLines(rng, rng.Intn(25), alpha)
		if rng.Intn(2) == 0 {
			b = mutate(rng, a, alpha)
		}
		as, bs := strings.Join(a, ""), strings.Join(b, "")
		if rng.Intn(4) == 0 && len(as) > 0 {
			as = strings.TrimSuffix(as, "\n")
		}
		if rng.Intn(4) == 0 && len(bs) > 0 {
			bs = strings.TrimSuffix(bs, "\n")
		}
		al, bl := splitLines([]byte(as)), splitLines([]byte(bs))
		ops := diffLines(al, bl)
		edits := 0
		for _, o := range ops {
			if o.kind != opEqual {
				edits++
			}
		}
		if want := len(al) + len(bl) - 2*lcsLen(al, bl); edits != want {
			t.Fatalf("a=%q b=%q: %d edits, minimum is %d", as, bs, edits, want)
		}
		d := unifiedDiff("a", "b", []byte(as), []byte(bs))
		if (d == "") != (as == bs) {
			t.Fatalf("a=%q b=%q: empty diff %v for equal %v", as, bs, d == "", as == bs)
		}
		if d != "" {
			if got := applyUnified(t, as, d); got != bs {
				t.Fatalf("a=%q b=%q: diff\n%s\napplies to %q", as, bs, d, got)
			}
		}
	}
}

// TestDiffLarge is a performance sanity check: the generated files are a few
// thousand lines, and check must stay interactive even when a file changed
// everywhere (the worst case for an O(ND) algorithm).
func TestDiffLarge(t *testing.T) {
	const n = 5000
	var a, b, c strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&a, "line %d\n", i)
		if i%50 == 0 {
			fmt.Fprintf(&b, "edited %d\n", i)
		} else {
			fmt.Fprintf(&b, "line %d\n", i)
		}
		fmt.Fprintf(&c, "other %d\n", i)
	}
	for _, tc := range []struct {
		name  string
		b     string
		limit time.Duration
	}{
		{"scattered edits", b.String(), 2 * time.Second},
		{"nothing in common", c.String(), 10 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			d := unifiedDiff("a", "b", []byte(a.String()), []byte(tc.b))
			if el := time.Since(start); el > tc.limit {
				t.Errorf("diff of two %d-line files took %v, want under %v", n, el, tc.limit)
			}
			if got := applyUnified(t, a.String(), d); got != tc.b {
				t.Errorf("large diff does not apply")
			}
		})
	}
}

func BenchmarkDiff5kLines(b *testing.B) {
	var x, y strings.Builder
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(&x, "line %d\n", i)
		if i%100 == 0 {
			fmt.Fprintf(&y, "edited %d\n", i)
		} else {
			fmt.Fprintf(&y, "line %d\n", i)
		}
	}
	xb, yb := []byte(x.String()), []byte(y.String())
	b.ResetTimer()
	for b.Loop() {
		unifiedDiff("a", "b", xb, yb)
	}
}

func randomLines(rng *rand.Rand, n, alpha int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = strconv.Itoa(rng.Intn(alpha)) + "\n"
	}
	return out
}

func mutate(rng *rand.Rand, a []string, alpha int) []string {
	out := append([]string(nil), a...)
	for k := rng.Intn(4); k >= 0; k-- {
		i := rng.Intn(len(out) + 1)
		switch rng.Intn(3) {
		case 0:
			out = append(out[:i], append([]string{strconv.Itoa(rng.Intn(alpha)) + "\n"}, out[i:]...)...)
		case 1:
			if i < len(out) {
				out = append(out[:i], out[i+1:]...)
			}
		case 2:
			if i < len(out) {
				out[i] = "x\n"
			}
		}
	}
	return out
}

func lcsLen(a, b []string) int {
	dp := make([][]int, len(a)+1)
	for i := range dp {
		dp[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				dp[i][j] = dp[i+1][j+1] + 1
			} else {
				dp[i][j] = max(dp[i+1][j], dp[i][j+1])
			}
		}
	}
	return dp[0][0]
}

// applyUnified applies a unified diff to src the way patch(1) would, strictly:
// every context and deleted line must match at the position the hunk header
// names, and the counts in the header must match the body.
func applyUnified(t *testing.T, src, diff string) string {
	t.Helper()
	lines := splitLines([]byte(src))
	body := strings.SplitAfter(diff, "\n")
	if len(body) < 2 || !strings.HasPrefix(body[0], "--- ") || !strings.HasPrefix(body[1], "+++ ") {
		t.Fatalf("diff has no ---/+++ header:\n%s", diff)
	}
	body = body[2:]
	var out []string
	pos := 0 // next unread line of src
	for i := 0; i < len(body) && body[i] != ""; {
		var aStart, aLen, bStart, bLen int
		h := body[i]
		if !strings.HasPrefix(h, "@@ -") {
			t.Fatalf("expected hunk header, got %q in:\n%s", h, diff)
		}
		parseRange := func(s string) (int, int) {
			start, n, ok := strings.Cut(s, ",")
			st, err := strconv.Atoi(start)
			if err != nil {
				t.Fatalf("bad range %q", s)
			}
			cnt := 1
			if ok {
				if cnt, err = strconv.Atoi(n); err != nil {
					t.Fatalf("bad range %q", s)
				}
			}
			if cnt > 0 {
				st-- // 1-based line; an empty range names the line before
			}
			return st, cnt
		}
		f := strings.Fields(h)
		aStart, aLen = parseRange(strings.TrimPrefix(f[1], "-"))
		bStart, bLen = parseRange(strings.TrimPrefix(f[2], "+"))
		if aStart < pos {
			t.Fatalf("hunk %q overlaps the previous one", h)
		}
		out = append(out, lines[pos:aStart]...)
		if len(out) != bStart {
			t.Fatalf("hunk %q: output is at line %d, header says %d", h, len(out), bStart)
		}
		pos = aStart
		i++
		gotA, gotB := 0, 0
		for i < len(body) && body[i] != "" && !strings.HasPrefix(body[i], "@@") {
			l := body[i]
			i++
			text := l[1:]
			if i < len(body) && body[i] == "\\ No newline at end of file\n" {
				text = strings.TrimSuffix(text, "\n")
				i++
			}
			switch l[0] {
			case ' ', '-':
				if pos >= len(lines) || lines[pos] != text {
					t.Fatalf("line %d: want %q, source has %q", pos+1, text, lines[min(pos, len(lines)-1)])
				}
				pos++
				gotA++
				if l[0] == ' ' {
					out = append(out, text)
					gotB++
				}
			case '+':
				out = append(out, text)
				gotB++
			default:
				t.Fatalf("bad diff line %q", l)
			}
		}
		if gotA != aLen || gotB != bLen {
			t.Fatalf("hunk %q has %d/%d lines", h, gotA, gotB)
		}
	}
	out = append(out, lines[pos:]...)
	return strings.Join(out, "")
}
