package ident

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestQuote(t *testing.T) {
	cases := map[string]string{
		"users":      `"users"`,
		`we"ird`:     `"we""ird"`,
		"LeadScores": `"LeadScores"`,
	}
	for in, want := range cases {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
	if got := Literal("it's"); got != `'it''s'` {
		t.Errorf("Literal = %s", got)
	}
}

func TestQuoteIfNeeded(t *testing.T) {
	cases := map[string]string{
		"call_logs":  "call_logs",
		"LeadScores": `"LeadScores"`,
		"order":      `"order"`,
		"position":   `"position"`,
		"1abc":       `"1abc"`,
		"a b":        `"a b"`,
		"":           `""`,
	}
	for in, want := range cases {
		if got := QuoteIfNeeded(in); got != want {
			t.Errorf("QuoteIfNeeded(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestDeriveShortIsPlain(t *testing.T) {
	if got := Derive("calls", "org_id_fk"); got != "calls_org_id_fk" {
		t.Fatalf("got %s", got)
	}
}

func TestDeriveLongFitsAndStaysUnique(t *testing.T) {
	long := strings.Repeat("x", 60)
	a := Derive(long+"_alpha", "org_id_fk")
	b := Derive(long+"_beta", "org_id_fk")
	if a == b {
		t.Fatalf("collision: %s", a)
	}
	for _, n := range []string{a, b} {
		if len(n) > MaxLen {
			t.Fatalf("%s is %d bytes", n, len(n))
		}
		if !strings.HasSuffix(n, "_org_id_fk") {
			t.Fatalf("%s lost its suffix", n)
		}
	}
}

func TestDeriveCutsOnRuneBoundary(t *testing.T) {
	name := strings.Repeat("é", 40) // 80 bytes
	got := Derive(name, "org_id_idx")
	if !utf8.ValidString(got) || len(got) > MaxLen {
		t.Fatalf("got %q (%d bytes)", got, len(got))
	}
}

func FuzzDerive(f *testing.F) {
	f.Add("calls", "org_id_fk")
	f.Add(strings.Repeat("é", 40), "org_id_immutable")
	f.Add(strings.Repeat("a", 63), "x")
	f.Fuzz(func(t *testing.T, table, suffix string) {
		if !utf8.ValidString(table) || !utf8.ValidString(suffix) || len(suffix) > 30 || suffix == "" {
			return
		}
		got := Derive(table, suffix)
		if len(got) > MaxLen {
			t.Fatalf("Derive(%q,%q) = %q: %d bytes", table, suffix, got, len(got))
		}
		if !utf8.ValidString(got) {
			t.Fatalf("Derive(%q,%q) = %q: invalid UTF-8", table, suffix, got)
		}
		if other := Derive(table+"z", suffix); other == got {
			t.Fatalf("Derive collides for %q and %q", table, table+"z")
		}
	})
}

func TestDollarTag(t *testing.T) {
	for _, tc := range []struct {
		base    string
		payload []string
		want    string
	}{
		{"do", []string{"calls", "user_id"}, "$do$"},
		{"do", []string{"x$do$y"}, "$do_w1$"},
		{"do", []string{"x$do$y", "$do_w1$"}, "$do_w2$"},
		{"fn", []string{"x$do$y"}, "$fn$"},
		{"", []string{"a$$b"}, "$w1$"},
	} {
		if got := DollarTag(tc.base, tc.payload); got != tc.want {
			t.Errorf("DollarTag(%q, %q) = %s, want %s", tc.base, tc.payload, got, tc.want)
		}
	}
}

func TestComment(t *testing.T) {
	for in, want := range map[string]string{
		"public.calls": "public.calls",
		"p\ndrop table if exists public.victim; --": `p\ndrop table if exists public.victim; --`,
		"a\rb\tc\x00d\x7f":                          `a\rb\tc\x00d\x7f`,
		"x$do$y":                                    `x\x24do\x24y`,
		`back\slash`:                                `back\x5cslash`,
		"line\u2028sep":                             `line\u2028sep`,
		"café":                                      "café",
	} {
		got := Comment(in)
		if got != want {
			t.Errorf("Comment(%q) = %q, want %q", in, got, want)
		}
		if strings.ContainsAny(got, "\n\r$") {
			t.Errorf("Comment(%q) = %q still holds a newline or a dollar sign", in, got)
		}
	}
}
