package policy

import (
	"strconv"
)

// Pos is a position in a policy file. Line and Column are 1-based; a zero
// Column means the column is unknown (yaml.v3 reports only a line for
// syntax errors).
type Pos struct {
	File   string
	Line   int
	Column int
}

// String formats the position as "file:line:col", dropping the parts that
// are unknown, so that editors and CI annotations can jump to it.
func (p Pos) String() string {
	s := p.File
	if s == "" {
		s = "<policy>"
	}
	if p.Line > 0 {
		s += ":" + strconv.Itoa(p.Line)
		if p.Column > 0 {
			s += ":" + strconv.Itoa(p.Column)
		}
	}
	return s
}

// Error is a policy error. Every error from Load and Parse is an *Error, and
// later stages (the classifier) create them with Errorf or TableRef.Errorf
// so that a mistake found against the database still points at the line of
// policy.yaml that has to change.
type Error struct {
	// Pos is where the offending key or value is written (for a missing key:
	// the mapping that should contain it).
	Pos Pos
	// Key is the key path, e.g. "tenant.default_org", "exclude[2]" or
	// "tables[public.calls].via"; empty for file-level errors.
	Key string
	// Value is the offending value as written, if there is one.
	Value string
	// Msg says what is wrong and what to do; it already quotes Value.
	Msg string
}

// Error formats the error as "file:line:col: key: message".
func (e *Error) Error() string {
	s := e.Pos.String() + ": "
	if e.Key != "" {
		s += e.Key + ": "
	}
	return s + e.Msg
}
