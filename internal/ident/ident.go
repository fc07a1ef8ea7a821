// Package ident quotes PostgreSQL identifiers and derives object names
// (constraints, indexes, triggers) that are deterministic, unique and fit
// PostgreSQL's 63-byte identifier limit.
package ident

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxLen is PostgreSQL's identifier limit in bytes (NAMEDATALEN-1). Longer
// names are silently truncated by the server, which would make two derived
// names collide; Derive never relies on that truncation.
const MaxLen = 63

// Quote always double-quotes name, doubling embedded quotes. Generated SQL
// quotes every identifier so reserved words, mixed case and spaces are safe.
// A name may hold anything, a newline or a dollar sign included: inside
// double quotes it is data to every SQL lexer (the server's, PL/pgSQL's,
// psql's). Comments take names through Comment; dollar-quoted bodies get
// tags no name holds (DollarTag).
func Quote(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// Qualified returns schema.name with both parts quoted: SQL, and also text
// that regclass and regproc input read back (write it through Literal).
func Qualified(schema, name string) string {
	return Quote(schema) + "." + Quote(name)
}

// Literal returns s as a SQL string literal (standard_conforming_strings on,
// the default since PostgreSQL 9.1).
func Literal(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// DollarTag returns the dollar-quote tag $base$ when no string of payload
// holds it, else $base_wN$ for the smallest N that none holds: a body quoted
// with it cannot be ended early by a name or value written into it.
func DollarTag(base string, payload []string) string {
	tag := "$" + base + "$"
	for n := 1; ; n++ {
		clash := false
		for _, p := range payload {
			if strings.Contains(p, tag) {
				clash = true
				break
			}
		}
		if !clash {
			return tag
		}
		sep := "_"
		if base == "" {
			sep = ""
		}
		tag = fmt.Sprintf("$%s%sw%d$", base, sep, n)
	}
}

// Comment returns s as text that is safe inside a -- comment line, also when
// that comment is inside a dollar-quoted body: control characters (a
// newline would end the comment and start SQL), Unicode line and paragraph
// separators (which an editor would show as a line break), backslashes and
// dollar signs are written as visible escapes (\n, \x24, \u2028). Every name
// or reason that reaches a generated comment goes through it.
func Comment(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\\' || r == '$' || r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r == 0x85 || r == 0x2028 || r == 0x2029 || r == utf8.RuneError:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// QuoteIfNeeded quotes name only when PostgreSQL would not read it back
// unchanged unquoted: for display in plans and reports, where bare names read
// better.
func QuoteIfNeeded(name string) string {
	if name == "" || isReserved(name) {
		return Quote(name)
	}
	for i, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r == '_':
		case (r >= '0' && r <= '9') || r == '$':
			if i == 0 {
				return Quote(name)
			}
		default:
			return Quote(name)
		}
	}
	return name
}

// Display returns schema.name for humans, quoting parts only where needed.
func Display(schema, name string) string {
	return QuoteIfNeeded(schema) + "." + QuoteIfNeeded(name)
}

// Derive builds an object name from a prefix, the table name and a suffix
// ("org_id_fk"). When the plain join fits in 63 bytes it is used as is; else
// the table part is cut on a UTF-8 boundary and an 8-hex-digit hash of the
// full, untruncated inputs is added, so two long tables that share a
// 63-byte prefix still get distinct names.
func Derive(table, suffix string) string {
	full := table + "_" + suffix
	if len(full) <= MaxLen {
		return full
	}
	sum := sha256.Sum256([]byte(table + "\x00" + suffix))
	hash := hex.EncodeToString(sum[:4])
	room := MaxLen - len(suffix) - len(hash) - 2 // two underscores
	if room < 1 {
		room = 1
	}
	return truncateUTF8(table, room) + "_" + hash + "_" + truncateUTF8(suffix, MaxLen-room-len(hash)-2)
}

// truncateUTF8 returns the longest prefix of s of at most n bytes that ends
// on a character boundary.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// reserved holds the SQL key words PostgreSQL reserves (they cannot be bare
// column or table names). Quoting a non-reserved key word is harmless, so the
// list errs on the side of quoting.
var reserved = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`all analyse analyze and any array as asc asymmetric authorization binary both case cast
check collate collation column concurrently constraint create cross current_catalog current_date current_role
current_schema current_time current_timestamp current_user default deferrable desc distinct do else end except
false fetch for foreign freeze from full grant group having ilike in initially inner intersect into is isnull join
lateral leading left like limit localtime localtimestamp natural not notnull null offset on only or order outer
overlaps placing primary references returning right select session_user similar some symmetric system_user table
tablesample then to trailing true union unique user using variadic verbose when where window with
position value values time timestamp`) {
		reserved[w] = true
	}
}

func isReserved(name string) bool { return reserved[name] }
