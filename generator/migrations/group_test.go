package migrations

import (
	"strings"
	"testing"
)

// TestCompositeLabels: a composite's label can never be a step's name
// (step names are [a-z0-9_]; a table called "a_and_1_more" once made a
// label and a step collide), and a composite whose block that must run
// alone holds two statements is refused, as a plain step is.
func TestCompositeLabels(t *testing.T) {
	a := Step{Kind: KindImmutable, Name: "immutable_a", Up: "SELECT 1;"}
	b := Step{Kind: KindImmutable, Name: "immutable_b", Up: "SELECT 2;"}
	c := Compose([]Step{a, b}, "psql")
	if c.Name != "immutable_a+1_more" || sanitize(c.Name) == c.Name {
		t.Errorf("composite label %q: want immutable_a+1_more, which no step name can be", c.Name)
	}
	if len(c.Members) != 2 || !strings.HasPrefix(c.Up, "BEGIN;\n") {
		t.Errorf("composite %+v", c)
	}
	if _, err := Layout([]Step{c}, "psql", "20250110000000"); err != nil {
		t.Errorf("a composite of transactions: %v", err)
	}
	bad := Compose([]Step{
		{Kind: KindIndexBuild, Name: "index_a", Up: "SELECT 1; SELECT 2;", NoTransaction: true},
		{Kind: KindIndexBuild, Name: "index_b", Up: "SELECT 3;", NoTransaction: true},
	}, "psql")
	if _, err := Layout([]Step{bad}, "psql", "20250110000000"); err == nil || !strings.Contains(err.Error(), "2 statements") {
		t.Errorf("a block that must run alone with 2 statements: %v", err)
	}
}
