package policy

import (
	"strings"
	"testing"
)

func TestParseTableRef(t *testing.T) {
	for _, tc := range []struct {
		in, schema, name string
	}{
		{"calls", "dflt", "calls"},
		{"public.calls", "public", "calls"},
		{"Public.Calls", "public", "calls"}, // folded as PostgreSQL folds
		{`public."LeadScores"`, "public", "LeadScores"},
		{`public."Lead Scores"`, "public", "Lead Scores"},
		{`"My Schema".t`, "My Schema", "t"},
		{`"a.b"."c.d"`, "a.b", "c.d"},
		{`public."say ""hi"""`, "public", `say "hi"`},
		{`"""".x`, `"`, "x"},
		{"public.t$1", "public", "t$1"},
		{"_x._y", "_x", "_y"},
		{"public.café", "public", "café"},
		{"public.CAFÉ", "public", "cafÉ"}, // only ASCII is folded
		{"public." + strings.Repeat("x", 63), "public", strings.Repeat("x", 63)},
		{"public.\"" + strings.Repeat("é", 31) + "\"", "public", strings.Repeat("é", 31)},
	} {
		got, err := ParseTableRef(tc.in, "dflt")
		if err != nil {
			t.Errorf("ParseTableRef(%q): %v", tc.in, err)
			continue
		}
		if got.Schema != tc.schema || got.Name != tc.name {
			t.Errorf("ParseTableRef(%q) = %q.%q, want %q.%q", tc.in, got.Schema, got.Name, tc.schema, tc.name)
		}
		// Display form must parse back to the same table.
		back, err := ParseTableRef(got.String(), "other")
		if err != nil || !back.SameTable(got) {
			t.Errorf("round trip of %q via %q: %v, %v", tc.in, got.String(), back, err)
		}
	}
}

func TestParseTableRefErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "the name is empty"},
		{".calls", `".calls" has an empty name part`},
		{"public.", `"public." has an empty name part`},
		{"a..b", `"a..b" has an empty name part`},
		{"a.b.c", `"a.b.c" has 3 dot-separated parts`},
		{`public."x`, "unterminated quoted identifier"},
		{`public.""`, "zero-length quoted identifier"},
		{`public."x"y`, "expected a dot or the end after a quoted name part"},
		{`public.x"y"`, "a double quote inside a name"},
		{"public.1x", `unexpected '1' in an unquoted name`},
		{"public.$x", `unexpected '$' in an unquoted name`},
		{"public.a-b", `unexpected '-' in an unquoted name`},
		{" public.x", `unexpected ' ' in an unquoted name`},
		{"public.\"a\tb\"", "contains a control character"},
		{"public.\"a\u0085b\"", "contains a control character"},
		{"public.\xff", "is not valid UTF-8"},
		{"public." + strings.Repeat("x", 64), "is 64 bytes long; PostgreSQL truncates names to 63 bytes"},
		{"public.\"" + strings.Repeat("é", 32) + "\"", "is 64 bytes long"},
	} {
		_, err := ParseTableRef(tc.in, "public")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseTableRef(%q) error = %v, want it to contain %q", tc.in, err, tc.want)
		}
	}
}

func TestParseIdent(t *testing.T) {
	if got, err := ParseIdent(`"Org Id"`); err != nil || got != "Org Id" {
		t.Errorf(`ParseIdent("Org Id") = %q, %v`, got, err)
	}
	if got, err := ParseIdent("User_ID"); err != nil || got != "user_id" {
		t.Errorf("ParseIdent(User_ID) = %q, %v", got, err)
	}
	if _, err := ParseIdent("a.b"); err == nil || !strings.Contains(err.Error(), "not a single identifier") {
		t.Errorf("ParseIdent(a.b) error = %v", err)
	}
}

func TestCanonicalUUID(t *testing.T) {
	for in, want := range map[string]string{
		"a0000000-0000-0000-0000-000000000001":   "a0000000-0000-0000-0000-000000000001",
		"A0B1C2D3-E4F5-A6B7-C8D9-EAFBFCFDFEFF":   "a0b1c2d3-e4f5-a6b7-c8d9-eafbfcfdfeff",
		"{a0000000-0000-0000-0000-000000000001}": "",
		"a0000000000000000000000000000001":       "",
		"urn:uuid:a0000000-0000-0000-0000-00001": "",
		"g0000000-0000-0000-0000-000000000001":   "",
		"a0000000-0000-0000-0000_000000000001":   "",
		" a0000000-0000-0000-0000-00000000001":   "",
	} {
		got, ok := canonicalUUID(in)
		if got != want || ok != (want != "") {
			t.Errorf("canonicalUUID(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestClosest(t *testing.T) {
	keys := sections[""]
	for in, want := range map[string]string{
		"shemas":       "schemas",
		"schema":       "schemas",
		"Version":      "version",
		"exlcude":      "exclude",
		"schema-files": "schema_files",
		"criticals":    "critical",
		"frobnicate":   "",
		"x":            "",
	} {
		if got := closest(in, keys); got != want {
			t.Errorf("closest(%q) = %q, want %q", in, got, want)
		}
	}
}
