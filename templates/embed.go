// Package templates holds the text/template sources of every SQL file
// warden generates, one file per migration step. Each file defines an "up"
// template and, where the step can be undone, a "down" template.
//
// They are embedded so the binary needs nothing beside it; reviewers read
// them here to see what a generated file will contain.
package templates

import "embed"

// FS holds the *.sql.tmpl files.
//
//go:embed *.sql.tmpl
var FS embed.FS
