package policy

import (
	"fmt"
	"strings"
	"testing"
)

// bigPolicy is a policy listing n tables in scope, n/4 excluded, n/4 global
// and n/4 with an override.
func bigPolicy(n int) []byte {
	var b strings.Builder
	b.WriteString("version: 1\nschemas: [public]\nmigrations:\n  version: \"20250110000000\"\ntenant:\n  table: orgs\n  default_org: a0000000-0000-0000-0000-000000000001\nscope:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - t%d\n", i)
	}
	b.WriteString("exclude:\n")
	for i := range n / 4 {
		fmt.Fprintf(&b, "  - x%d\n", i)
	}
	b.WriteString("global:\n")
	for i := range n / 4 {
		fmt.Fprintf(&b, "  - g%d\n", i)
	}
	b.WriteString("tables:\n")
	for i := range n / 4 {
		fmt.Fprintf(&b, "  t%d:\n    via: t%d\n", i, i+1)
	}
	return []byte(b.String())
}

// BenchmarkParseLarge measures validation of a large policy: it must grow
// linearly (go test ./policy -bench ParseLarge -benchtime 3x).
func BenchmarkParseLarge(b *testing.B) {
	for _, n := range []int{20_000, 200_000} {
		data := bigPolicy(n)
		b.Run(fmt.Sprintf("scope=%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := Parse("p.yaml", data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestLargePolicyDuplicatesFound: the map-based checks still find a
// duplicate and a double decision at the end of a long list.
func TestLargePolicyDuplicatesFound(t *testing.T) {
	data := string(bigPolicy(2000))
	dup := strings.Replace(data, "exclude:\n", "  - t1999\nexclude:\n", 1)
	if _, err := Parse("p.yaml", []byte(dup)); err == nil || !strings.Contains(err.Error(), "listed twice") {
		t.Errorf("a duplicate scope entry: %v", err)
	}
	both := strings.Replace(data, "global:\n", "  - t1500\nglobal:\n", 1)
	if _, err := Parse("p.yaml", []byte(both)); err == nil || !strings.Contains(err.Error(), "in scope") {
		t.Errorf("a table both in scope and excluded: %v", err)
	}
}
