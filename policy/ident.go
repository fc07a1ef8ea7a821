package policy

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/warden-sql/warden/internal/ident"
)

// TableRef names a table of the database as written in the policy.
type TableRef struct {
	// Schema and Name are the identifiers as PostgreSQL stores them:
	// unquoted parts folded to lower case, quotes removed.
	Schema string
	Name   string
	// Pos is where the reference is written; for a default (e.g. users.table
	// when the key is omitted) it is the enclosing mapping.
	Pos Pos
	// Key is the policy key path of the reference, e.g. "exclude[0]".
	Key string
}

// String returns schema.name for messages, double-quoting a part only where
// SQL needs quotes (upper case, spaces, dots, reserved words), the same
// display as the rest of warden. It parses back to the same table with
// ParseTableRef.
func (t TableRef) String() string {
	return ident.Display(t.Schema, t.Name)
}

// SameTable reports whether t and u name the same table, whatever their
// positions. (It is deliberately not called Equal: go-cmp would use it and
// stop comparing positions in tests.)
func (t TableRef) SameTable(u TableRef) bool {
	return t.Schema == u.Schema && t.Name == u.Name
}

// Errorf returns an *Error about this reference at its position in the
// policy, for stages that find a problem with the table later (for example
// that it does not exist in the database).
func (t TableRef) Errorf(format string, args ...any) *Error {
	return &Error{Pos: t.Pos, Key: t.Key, Value: t.String(), Msg: fmt.Sprintf(format, args...)}
}

// ParseTableRef parses "schema.table" or a bare "table" with SQL quoting
// rules: unquoted parts are folded to lower case as PostgreSQL does,
// "double quoted" parts are taken literally with "" standing for one quote.
// A bare name is qualified with defaultSchema. The returned ref has no
// position; the error, if any, says what is wrong with the text.
func ParseTableRef(s, defaultSchema string) (TableRef, error) {
	parts, err := splitIdents(s)
	if err != nil {
		return TableRef{}, err
	}
	switch len(parts) {
	case 1:
		return TableRef{Schema: defaultSchema, Name: parts[0]}, nil
	case 2:
		return TableRef{Schema: parts[0], Name: parts[1]}, nil
	}
	return TableRef{}, fmt.Errorf("%q has %d dot-separated parts: want schema.table or a bare table name (double-quote a name that contains a dot)", s, len(parts))
}

// ParseIdent parses a single SQL identifier (a schema or column name) with
// the same rules as ParseTableRef.
func ParseIdent(s string) (string, error) {
	parts, err := splitIdents(s)
	if err != nil {
		return "", err
	}
	if len(parts) != 1 {
		return "", fmt.Errorf("%q is not a single identifier: double-quote a name that contains a dot", s)
	}
	return parts[0], nil
}

// splitIdents splits a dotted name into identifiers, unquoting and folding
// as PostgreSQL's scanner does for identifiers.
func splitIdents(s string) ([]string, error) {
	if s == "" {
		return nil, errors.New("the name is empty")
	}
	if !utf8.ValidString(s) {
		return nil, fmt.Errorf("%q is not valid UTF-8", s)
	}
	var parts []string
	i := 0
	for {
		var part string
		if i < len(s) && s[i] == '"' {
			var b strings.Builder
			j := i + 1
			for {
				k := strings.IndexByte(s[j:], '"')
				if k < 0 {
					return nil, fmt.Errorf("%q has an unterminated quoted identifier", s)
				}
				b.WriteString(s[j : j+k])
				j += k + 1
				if j < len(s) && s[j] == '"' { // "" is an escaped quote
					b.WriteByte('"')
					j++
					continue
				}
				break
			}
			part = b.String()
			if part == "" {
				return nil, fmt.Errorf("%q has a zero-length quoted identifier", s)
			}
			i = j
		} else {
			j := i
			for j < len(s) && s[j] != '.' && s[j] != '"' {
				r, size := utf8.DecodeRuneInString(s[j:])
				ok := r >= utf8.RuneSelf && !isControl(r) || // PostgreSQL takes any non-ASCII byte as a letter
					r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_' ||
					j > i && (r >= '0' && r <= '9' || r == '$')
				if !ok {
					return nil, fmt.Errorf("%q: unexpected %q in an unquoted name; double-quote names with upper case, spaces or other characters, as in SQL (e.g. public.\"Lead Scores\")", s, r)
				}
				j += size
			}
			if j == i {
				return nil, fmt.Errorf("%q has an empty name part", s)
			}
			if j < len(s) && s[j] == '"' {
				return nil, fmt.Errorf("%q: a double quote inside a name; quote the whole part, e.g. public.\"LeadScores\"", s)
			}
			part = foldASCII(s[i:j])
			i = j
		}
		if strings.ContainsFunc(part, isControl) {
			return nil, fmt.Errorf("%q contains a control character", s)
		}
		// PostgreSQL silently truncates longer names, so the policy would
		// name a table that cannot exist.
		if len(part) > ident.MaxLen {
			return nil, fmt.Errorf("%q is %d bytes long; PostgreSQL truncates names to %d bytes", part, len(part), ident.MaxLen)
		}
		parts = append(parts, part)
		if i == len(s) {
			return parts, nil
		}
		if s[i] != '.' {
			return nil, fmt.Errorf("%q: expected a dot or the end after a quoted name part", s)
		}
		i++
		if i == len(s) {
			return nil, fmt.Errorf("%q has an empty name part", s)
		}
	}
}

// isControl reports C0 and C1 control characters and DEL. PostgreSQL would
// store most of them in a quoted identifier, but they have no business in a
// reviewed file and would corrupt the generated SQL's readability.
func isControl(r rune) bool {
	return r < 0x20 || r >= 0x7f && r < 0xa0
}

// foldASCII lower-cases ASCII letters only: PostgreSQL's identifier folding
// leaves multibyte characters alone in UTF-8 databases.
func foldASCII(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}
