package reliability

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/warden-sql/warden/internal/ident"
	"github.com/warden-sql/warden/policy"
)

// FuzzParseTableRef checks the parser of every table name in policy.yaml
// (and of --schema style names): it never panics; an error is one line a
// user can read (the offending text quoted); a name it accepts has one or
// two parts, each a valid PostgreSQL identifier (non-empty, at most 63
// bytes, valid UTF-8, no control characters), and the display form warden
// prints in messages parses back to the same table, so a name copied from
// an error message into the policy means what it meant.
//
// The seed corpus is in testdata/fuzz/FuzzParseTableRef; CI runs it as a
// normal test, and briefly with -fuzz (see .ci/run).
func FuzzParseTableRef(f *testing.F) {
	for _, s := range []string{
		"public.calls", "calls", `public."LeadScores"`, `"Odd App"."Line ""Items"""`, `"a.b".c`,
		`"order"`, "Calls", "café", "public.", ".calls", `"unterminated`, `a"b`, `""`, "a.b.c",
		strings.Repeat("x", 63), strings.Repeat("é", 32), "a\x00b", "\xff", `"x"y`, "1abc", "a$1",
	} {
		f.Add(s, "public")
	}
	f.Fuzz(func(t *testing.T, s, defaultSchema string) {
		if _, err := policy.ParseIdent(ident.Quote(defaultSchema)); err != nil {
			return // the default is the policy's first schema, itself a parsed name
		}
		ref, err := policy.ParseTableRef(s, defaultSchema)
		if err != nil {
			if msg := err.Error(); msg == "" || strings.ContainsAny(msg, "\n\r") || !utf8.ValidString(msg) {
				t.Fatalf("ParseTableRef(%q): error %q is not one readable line", s, msg)
			}
			return
		}
		parts := []string{ref.Name}
		if ref.Schema != defaultSchema || strings.Contains(s, ".") {
			parts = append(parts, ref.Schema)
		}
		for _, p := range parts {
			if p == "" || len(p) > ident.MaxLen || !utf8.ValidString(p) || strings.ContainsFunc(p, isControl) {
				t.Fatalf("ParseTableRef(%q) accepted the identifier %q, which PostgreSQL would not store as written", s, p)
			}
		}
		if ref.Schema == "" {
			return // a bare name without a default schema: nothing to display
		}
		back, err := policy.ParseTableRef(ref.String(), "")
		if err != nil || !back.SameTable(ref) {
			t.Fatalf("ParseTableRef(%q) = %q.%q, displayed as %s, which parses back as %q.%q (%v)",
				s, ref.Schema, ref.Name, ref.String(), back.Schema, back.Name, err)
		}
	})
}

// FuzzIdentRoundTrip checks that every identifier warden may print, quoted
// (generated SQL) or quoted only where needed (plans, reports, messages),
// is read back by the policy parser as the same identifier.
func FuzzIdentRoundTrip(f *testing.F) {
	for _, s := range []string{"calls", "LeadScores", "order", `we"ird`, "a b", "café ☕", "1abc", "a.b", "user", "_x$"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if name == "" || len(name) > ident.MaxLen || !utf8.ValidString(name) || strings.ContainsFunc(name, isControl) {
			return
		}
		for _, shown := range []string{ident.Quote(name), ident.QuoteIfNeeded(name)} {
			got, err := policy.ParseIdent(shown)
			if err != nil || got != name {
				t.Fatalf("%q shown as %s parses back as %q (%v)", name, shown, got, err)
			}
		}
	})
}

// isControl matches the characters the policy parser rejects in names.
func isControl(r rune) bool { return r < 0x20 || r >= 0x7f && r < 0xa0 }
