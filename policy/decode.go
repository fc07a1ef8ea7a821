package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/warden-sql/warden/internal/ident"
)

// sections lists the keys allowed in each mapping of the format, in the
// order of docs/policy-format.md. It is the single source for "allowed keys"
// messages and for pointing at the right section when a key is misplaced.
var sections = map[string][]string{
	"":                {"version", "schemas", "schema_files", "tenant", "request_context", "users", "ownership", "membership", "scope", "exclude", "global", "tables", "critical", "unclassified", "backfill", "migrations", "distribute"},
	"tenant":          {"table", "key", "column", "type", "on_delete", "default_org", "default_org_name", "default_org_values", "default_org_exists"},
	"request_context": {"kind", "claim", "setting", "user_setting", "roles"},
	"users":           {"table", "key"},
	"ownership[]":     {"column", "require_fk"},
	"membership":      {"table", "user_column", "org_column", "primary_column", "order_column"},
	"tables[]":        {"via", "class", "org_from", "null_parent", "when_null", "require_fk"},
	"backfill":        {"batch_size", "pause", "org_index"},
	"migrations":      {"format", "layout", "version", "lock_timeout", "statement_timeout"},
	"distribute":      {"target", "excluded"},
}

var (
	onDeleteValues     = []string{"cascade", "restrict", "no action", "set null"}
	classValues        = []string{ClassExcluded, ClassGlobal, ClassDirect, ClassInherited}
	unclassifiedValues = []string{UnclassifiedError, UnclassifiedWarn}
	formatValues       = []string{FormatSupabase, FormatGoose, FormatGolangMigrate, FormatPsql}
	contextValues      = []string{ContextSupabase, ContextJWT, ContextSession}
)

// bailout carries the first error up through the recursive decoder; parse
// recovers it. Returning errors through every helper would triple the code
// without changing behaviour: the first error ends decoding either way.
type bailout struct{ err *Error }

type decoder struct {
	file string
	dir  string
}

func (d *decoder) pos(n *yaml.Node) Pos {
	return Pos{File: d.file, Line: n.Line, Column: n.Column}
}

// fail stops decoding with an error at node n.
func (d *decoder) fail(n *yaml.Node, key, format string, args ...any) {
	e := &Error{Pos: d.pos(n), Key: key, Msg: fmt.Sprintf(format, args...)}
	if n.Kind == yaml.ScalarNode {
		e.Value = n.Value
	}
	panic(bailout{e})
}

// failAt stops decoding with an error at a position (phase-two checks work
// on decoded values, not nodes).
func failAt(pos Pos, key, value, format string, args ...any) {
	panic(bailout{&Error{Pos: pos, Key: key, Value: value, Msg: fmt.Sprintf(format, args...)}})
}

func parse(name string, data []byte) (p *Policy, err *Error) {
	defer func() {
		if r := recover(); r != nil {
			b, ok := r.(bailout)
			if !ok {
				panic(r)
			}
			p, err = nil, b.err
		}
	}()
	d := &decoder{file: name, dir: filepath.Dir(name)}
	root := d.document(data)
	p = d.policy(root)
	validate(p)
	return p, nil
}

// document checks the raw text and returns the root mapping of the single
// YAML document.
func (d *decoder) document(data []byte) *yaml.Node {
	d.checkText(data)
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			failAt(Pos{File: d.file, Line: 1, Column: 1}, "", "", "the policy file is empty; it needs at least version, schemas, tenant and migrations (see the Policy reference in warden's README, or draft one with warden init)")
		}
		d.syntaxError(err, data)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		failAt(d.pos(&next), "", "", "a second YAML document starts here; a policy is a single document: remove the '---' separator and merge or delete what follows")
	case !errors.Is(err, io.EOF):
		d.syntaxError(err, data)
	}
	root := doc.Content[0]
	d.check(root, "")
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		d.fail(root, "", "the policy document is empty; it needs at least version, schemas, tenant and migrations (see the Policy reference in warden's README, or draft one with warden init)")
	}
	if root.Kind != yaml.MappingNode {
		d.fail(root, "", "the policy must be a mapping of keys (version: 1, schemas: ...), not %s", describe(root))
	}
	return root
}

// checkText rejects bytes YAML cannot hold before yaml.v3 sees them, because
// yaml.v3 reports these without a position.
func (d *decoder) checkText(data []byte) {
	line, col := 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		pos := Pos{File: d.file, Line: line, Column: col}
		if r == utf8.RuneError && size <= 1 {
			failAt(pos, "", "", "byte 0x%02x is not valid UTF-8; save the policy as UTF-8", data[i])
		}
		if !printable(r) {
			failAt(pos, "", "", "character %U is not allowed in YAML; remove it", r)
		}
		i += size
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
}

// printable is YAML 1.2's c-printable set (yaml.v3 rejects the rest).
func printable(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' ||
		r >= 0x20 && r <= 0x7e || r == 0x85 ||
		r >= 0xa0 && r <= 0xd7ff || r >= 0xe000 && r <= 0xfffd ||
		r >= 0x10000 && r <= 0x10ffff
}

var (
	yamlLineRE   = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	yamlAnchorRE = regexp.MustCompile(`^yaml: unknown anchor '(.*)' referenced$`)
)

// syntaxError turns a yaml.v3 error into an *Error. yaml.v3 gives a line
// (no column) except when the problem is on the first line (it tests the
// zero-based line against 0), so a missing line means line 1. An unknown
// alias has no line at all; we find it in the text.
func (d *decoder) syntaxError(err error, data []byte) {
	msg := err.Error()
	pos := Pos{File: d.file, Line: 1}
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		if n, err := strconv.Atoi(m[1]); err == nil && n > 0 {
			pos.Line = n
		}
		msg = m[2]
	} else if m := yamlAnchorRE.FindStringSubmatch(msg); m != nil {
		if i := bytes.Index(data, []byte("*"+m[1])); i >= 0 {
			pos.Line = 1 + bytes.Count(data[:i], []byte("\n"))
			pos.Column = 1 + utf8.RuneCount(data[bytes.LastIndexByte(data[:i], '\n')+1:i])
		}
		failAt(pos, "", "*"+m[1], "alias *%s refers to no anchor; anchors and aliases are not supported in a policy: write the value out", m[1])
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	failAt(pos, "", "", "invalid YAML: %s", msg)
}

// check rejects YAML features the policy does not use. Anchors and aliases
// would let one line silently define several decisions, which defeats review
// of the file; custom tags have no meaning here.
func (d *decoder) check(n *yaml.Node, key string) {
	if n.Kind == yaml.AliasNode {
		d.fail(n, key, "alias *%s: anchors and aliases are not supported in a policy; write the value out", n.Value)
	}
	if n.Anchor != "" {
		d.fail(n, key, "anchor &%s: anchors and aliases are not supported in a policy; write the value out", n.Anchor)
	}
	ok := false
	switch t := n.ShortTag(); n.Kind {
	case yaml.ScalarNode:
		ok = t == "!!str" || t == "!!int" || t == "!!float" || t == "!!bool" || t == "!!null"
	case yaml.MappingNode:
		ok = t == "!!map"
	case yaml.SequenceNode:
		ok = t == "!!seq"
	}
	if !ok && n.Kind == yaml.ScalarNode && n.Tag == "!!timestamp" && n.Style == 0 {
		// YAML reads an unquoted 2026-01-01 as a date, not the text it
		// looks like.
		d.fail(n, key, "%s reads as a date in YAML; quote it (%q), and note versions are 14 digits (YYYYMMDDhhmmss), e.g. \"20260101000000\"", n.Value, n.Value)
	}
	if !ok {
		d.fail(n, key, "tag %s is not supported here; remove it", n.Tag)
	}
}

// describe names a node's type for "expected X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	switch n.ShortTag() {
	case "!!null":
		return "no value"
	case "!!str":
		return fmt.Sprintf("the string %q", n.Value)
	case "!!int":
		return "the integer " + n.Value
	case "!!float":
		return "the number " + n.Value
	case "!!bool":
		return "the boolean " + n.Value
	}
	return fmt.Sprintf("%s %q", n.Tag, n.Value)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// field decodes the value of one key of a mapping.
type field func(key string, v *yaml.Node)

// mapping decodes mapping n of the given section: rejects duplicate and
// unknown keys, calls the field decoders in document order and reports a
// missing required key at the mapping itself.
func (d *decoder) mapping(n *yaml.Node, path, section string, required []string, fields map[string]field) {
	d.expect(n, path, yaml.MappingNode)
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		d.check(k, path)
		if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str" {
			d.fail(k, path, "keys must be plain names, not %s", describe(k))
		}
		name := k.Value
		key := join(path, name)
		if first, dup := seen[name]; dup {
			d.fail(k, key, "duplicate key (first at %d:%d); remove one of them", first.Line, first.Column)
		}
		seen[name] = k
		f, ok := fields[name]
		if !ok {
			d.fail(k, key, "%s", unknownKey(name, section))
		}
		d.check(v, key)
		f(key, v)
	}
	for _, r := range required {
		if seen[r] == nil {
			where := "the top level"
			if path != "" {
				where = path
			}
			d.fail(n, join(path, r), "required key %q is missing from %s; add it (see the Policy reference in warden's README, or draft one with warden init)", r, where)
		}
	}
}

// unknownKey explains an unknown key: the likely intended one, a section
// where the key does belong, and the keys allowed here.
func unknownKey(name, section string) string {
	allowed := sections[section]
	msg := fmt.Sprintf("unknown key %q", name)
	if s := closest(name, allowed); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	} else {
		for _, sec := range []string{"", "tenant", "request_context", "users", "ownership[]", "membership", "tables[]", "backfill", "migrations", "distribute"} {
			if sec == section {
				continue
			}
			for _, k := range sections[sec] {
				if k == name {
					where := sec
					switch sec {
					case "":
						where = "the top level"
					case "ownership[]":
						where = "an ownership entry"
					case "tables[]":
						where = "a tables entry"
					}
					msg += fmt.Sprintf(" here (%s is a key of %s)", name, where)
					return msg + "; allowed keys: " + strings.Join(allowed, ", ")
				}
			}
		}
	}
	return msg + "; allowed keys: " + strings.Join(allowed, ", ")
}

// expect fails unless n is of the given kind, naming what was found.
func (d *decoder) expect(n *yaml.Node, key string, kind yaml.Kind) {
	if n.Kind == kind {
		return
	}
	want := map[yaml.Kind]string{yaml.MappingNode: "a mapping", yaml.SequenceNode: "a list", yaml.ScalarNode: "a single value"}[kind]
	hint := ""
	switch {
	case n.ShortTag() == "!!null" && kind == yaml.SequenceNode:
		hint = "; write [] for an empty list or remove the key"
	case n.ShortTag() == "!!null":
		hint = "; give a value or remove the key"
	case kind == yaml.SequenceNode && n.Kind == yaml.ScalarNode:
		hint = fmt.Sprintf("; write [%s] for a one-element list", n.Value)
	}
	d.fail(n, key, "expected %s, got %s%s", want, describe(n), hint)
}

// scalar fails unless n is a scalar with one of the given tags.
func (d *decoder) scalar(n *yaml.Node, key, want string, tags ...string) string {
	if n.Kind == yaml.ScalarNode {
		for _, t := range tags {
			if n.ShortTag() == t {
				return n.Value
			}
		}
	}
	hint := ""
	switch {
	case n.ShortTag() == "!!null":
		hint = "; give a value or remove the key"
	case n.Kind == yaml.ScalarNode && slices.Contains(tags, "!!str"):
		hint = fmt.Sprintf("; quote it (%q) if you mean the text", n.Value)
	}
	d.fail(n, key, "expected %s, got %s%s", want, describe(n), hint)
	return ""
}

func (d *decoder) str(n *yaml.Node, key string) string {
	return d.scalar(n, key, "a string", "!!str")
}

func (d *decoder) integer(n *yaml.Node, key string) int64 {
	d.scalar(n, key, "an integer", "!!int")
	var v int64
	if err := n.Decode(&v); err != nil {
		d.fail(n, key, "integer %s is out of range", n.Value)
	}
	return v
}

func (d *decoder) boolean(n *yaml.Node, key string) bool {
	d.scalar(n, key, "true or false", "!!bool")
	var v bool
	if err := n.Decode(&v); err != nil {
		d.fail(n, key, "%q is not a boolean; write true or false", n.Value)
	}
	return v
}

// ident decodes one SQL identifier (a schema or column name).
func (d *decoder) ident(n *yaml.Node, key string) string {
	s, err := ParseIdent(d.str(n, key))
	if err != nil {
		d.fail(n, key, "%s", err)
	}
	return s
}

// table decodes a table reference; a bare name keeps an empty Schema until
// validate qualifies it with the first schema (which may come later in the
// file).
func (d *decoder) table(n *yaml.Node, key string) TableRef {
	t, err := ParseTableRef(d.scalar(n, key, "a table name such as public.calls", "!!str"), "")
	if err != nil {
		d.fail(n, key, "%s", err)
	}
	t.Pos, t.Key = d.pos(n), key
	return t
}

// enum decodes one of a fixed set of strings, suggesting the likely one.
func (d *decoder) enum(n *yaml.Node, key string, allowed []string) string {
	s := d.str(n, key)
	for _, a := range allowed {
		if s == a {
			return s
		}
	}
	msg := fmt.Sprintf("%q is not one of %s", s, strings.Join(allowed, ", "))
	if c := closest(s, allowed); c != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", c)
	}
	d.fail(n, key, "%s", msg)
	return ""
}

// duration decodes a Go duration (an integer is accepted for "0") within
// [lo, hi]. PostgreSQL timeouts take whole milliseconds, so wholeMS rejects
// finer values rather than letting the server round them.
func (d *decoder) duration(n *yaml.Node, key string, lo, hi time.Duration, wholeMS bool) time.Duration {
	s := d.scalar(n, key, "a duration such as 500ms, 2s or 1m", "!!str", "!!int")
	v, err := time.ParseDuration(s)
	if err != nil {
		d.fail(n, key, "%q is not a duration; write a Go duration such as 500ms, 2s or 1m", s)
	}
	if v < lo || v > hi {
		d.fail(n, key, "%s is out of range; use %s to %s", s, fmtDur(lo), fmtDur(hi))
	}
	if wholeMS && v%time.Millisecond != 0 {
		d.fail(n, key, "%s is not a whole number of milliseconds, which is PostgreSQL's unit for timeouts", s)
	}
	return v
}

// fmtDur prints durations as a person would write them ("1m", not "1m0s").
func fmtDur(v time.Duration) string {
	s := v.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// seq decodes a list, calling item for each element with its key path.
func (d *decoder) seq(n *yaml.Node, key string, item func(key string, v *yaml.Node)) {
	d.expect(n, key, yaml.SequenceNode)
	for i, v := range n.Content {
		k := fmt.Sprintf("%s[%d]", key, i)
		d.check(v, k)
		item(k, v)
	}
}

// tables decodes a list of table references.
func (d *decoder) tables(n *yaml.Node, key string) []TableRef {
	out := []TableRef{}
	d.seq(n, key, func(k string, v *yaml.Node) { out = append(out, d.table(v, k)) })
	return out
}

// policy decodes the root mapping (phase one: types, syntax and per-value
// ranges, in document order) with defaults applied.
func (d *decoder) policy(root *yaml.Node) *Policy {
	rootPos := d.pos(root)
	p := &Policy{
		File:        d.file,
		Dir:         d.dir,
		Schemas:     []string{},
		SchemaFiles: []SchemaFile{},
		Users: Users{
			Table: TableRef{Schema: defaultUsersSchema, Name: defaultUsersTable, Pos: rootPos, Key: "users.table"},
			Key:   defaultUsersKey,
		},
		Ownership:    []OwnershipColumn{{Column: defaultOwnership, RequireFK: true, Pos: rootPos, Implied: true}},
		Scope:        []TableRef{},
		Exclude:      []TableRef{},
		Global:       []TableRef{},
		Tables:       []Override{},
		Critical:     []TableRef{},
		Unclassified: defaultUnclassified,
		Backfill:     Backfill{BatchSize: defaultBatchSize, OrgIndex: OrgIndexBeforeBackfill},
		Migrations:   Migrations{Format: defaultFormat, LockTimeout: defaultLockTimeout, StatementTimeout: defaultStatementTimeout},
		Context:      RequestContext{Kind: ContextSupabase, Pos: rootPos},
	}
	d.mapping(root, "", "", []string{"version", "schemas", "tenant", "migrations"}, map[string]field{
		"version": func(k string, v *yaml.Node) {
			if n := d.integer(v, k); n != 1 {
				d.fail(v, k, "unsupported version %d; this warden reads version 1", n)
			}
			p.Version = 1
		},
		"schemas": func(k string, v *yaml.Node) {
			first := map[string]*yaml.Node{}
			d.seq(v, k, func(k string, v *yaml.Node) {
				s := d.ident(v, k)
				if f := first[s]; f != nil {
					d.fail(v, k, "schema %s is listed twice (first at %d:%d); remove one", ident.QuoteIfNeeded(s), f.Line, f.Column)
				}
				first[s] = v
				p.Schemas = append(p.Schemas, s)
			})
			if len(p.Schemas) == 0 {
				d.fail(v, k, "the list is empty; list the schemas whose tables warden classifies, e.g. [public]")
			}
		},
		"schema_files": func(k string, v *yaml.Node) {
			first := map[string]*yaml.Node{}
			d.seq(v, k, func(k string, v *yaml.Node) {
				f := d.schemaFile(v, k)
				if prev := first[filepath.Clean(f.Name)]; prev != nil {
					d.fail(v, k, "%q is listed twice (first at %d:%d); loading it twice would fail", f.Name, prev.Line, prev.Column)
				}
				first[filepath.Clean(f.Name)] = v
				p.SchemaFiles = append(p.SchemaFiles, f)
			})
		},
		"tenant":          func(k string, v *yaml.Node) { p.Tenant = d.tenant(v, k) },
		"request_context": func(k string, v *yaml.Node) { p.Context = d.requestContext(v, k) },
		"users": func(k string, v *yaml.Node) {
			p.Users.Table.Pos = d.pos(v)
			d.mapping(v, k, "users", nil, map[string]field{
				"table": func(k string, v *yaml.Node) { p.Users.Table = d.table(v, k) },
				"key":   func(k string, v *yaml.Node) { p.Users.Key = d.ident(v, k) },
			})
		},
		"ownership": func(k string, v *yaml.Node) { p.Ownership = d.ownership(v, k) },
		"membership": func(k string, v *yaml.Node) {
			p.Membership = d.membership(v, k)
		},
		"scope":    func(k string, v *yaml.Node) { p.Scope = d.tables(v, k) },
		"exclude":  func(k string, v *yaml.Node) { p.Exclude = d.tables(v, k) },
		"global":   func(k string, v *yaml.Node) { p.Global = d.tables(v, k) },
		"critical": func(k string, v *yaml.Node) { p.Critical = d.tables(v, k) },
		"tables":   func(k string, v *yaml.Node) { p.Tables = d.overrides(v, k) },
		"unclassified": func(k string, v *yaml.Node) {
			p.Unclassified = d.enum(v, k, unclassifiedValues)
		},
		"backfill": func(k string, v *yaml.Node) {
			d.mapping(v, k, "backfill", nil, map[string]field{
				"batch_size": func(k string, v *yaml.Node) {
					n := d.integer(v, k)
					if n < 1 || n > maxBatchSize {
						d.fail(v, k, "batch size %d is out of range; use 1 to %d", n, maxBatchSize)
					}
					p.Backfill.BatchSize = int(n)
				},
				"pause":     func(k string, v *yaml.Node) { p.Backfill.Pause = d.duration(v, k, 0, maxPause, false) },
				"org_index": func(k string, v *yaml.Node) { p.Backfill.OrgIndex = d.enum(v, k, OrgIndexes) },
			})
		},
		"distribute": func(k string, v *yaml.Node) {
			dist := &Distribute{Excluded: ExcludedLocal, Pos: d.pos(v)}
			d.mapping(v, k, "distribute", []string{"target"}, map[string]field{
				"target":   func(k string, v *yaml.Node) { dist.Target = d.enum(v, k, DistributeTargets) },
				"excluded": func(k string, v *yaml.Node) { dist.Excluded = d.enum(v, k, ExcludedPlacements) },
			})
			p.Distribute = dist
		},
		"migrations": func(k string, v *yaml.Node) {
			d.mapping(v, k, "migrations", []string{"version"}, map[string]field{
				"format": func(k string, v *yaml.Node) { p.Migrations.Format = d.enum(v, k, formatValues) },
				"layout": func(k string, v *yaml.Node) { p.Migrations.Layout = d.enum(v, k, Layouts) },
				"version": func(k string, v *yaml.Node) {
					// An unquoted 14-digit number is a YAML integer; both
					// spellings mean the same version.
					s := d.scalar(v, k, "a 14-digit version such as 20250110000000", "!!int", "!!str")
					if len(s) != migrationVersionDigit || strings.Trim(s, "0123456789") != "" {
						d.fail(v, k, "%q is not a 14-digit version; write a timestamp-like base such as 20250110000000", s)
					}
					p.Migrations.Version = s
				},
				"lock_timeout": func(k string, v *yaml.Node) {
					p.Migrations.LockTimeout = d.duration(v, k, minLockTimeout, maxLockTimeout, true)
				},
				"statement_timeout": func(k string, v *yaml.Node) {
					p.Migrations.StatementTimeout = d.duration(v, k, 0, maxStatementTimeout, true)
				},
			})
		},
	})
	return p
}

func (d *decoder) schemaFile(v *yaml.Node, k string) SchemaFile {
	name := d.str(v, k)
	switch {
	case name == "":
		d.fail(v, k, "empty path; name an SQL file relative to the policy file")
	case filepath.IsAbs(name):
		// An absolute path would tie generated output to one machine.
		d.fail(v, k, "%q is absolute; write the path relative to the policy file's directory", name)
	}
	path := filepath.Join(d.dir, name)
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		d.fail(v, k, "schema file %q not found (looked for %s); paths are relative to the policy file's directory", name, path)
	case !fi.Mode().IsRegular():
		d.fail(v, k, "schema file %q is not a regular file", name)
	}
	return SchemaFile{Name: name, Path: path, Pos: d.pos(v)}
}

func (d *decoder) tenant(n *yaml.Node, key string) Tenant {
	t := Tenant{
		Key:            defaultTenantKey,
		Column:         defaultTenantColumn,
		Type:           defaultTenantType,
		OnDelete:       defaultOnDelete,
		DefaultOrgName: defaultOrgLabel,
		Pos:            d.pos(n),
	}
	var orgNode *yaml.Node
	d.mapping(n, key, "tenant", []string{"table", "default_org"}, map[string]field{
		"table":     func(k string, v *yaml.Node) { t.Table = d.table(v, k) },
		"key":       func(k string, v *yaml.Node) { t.Key = d.ident(v, k) },
		"column":    func(k string, v *yaml.Node) { t.Column = d.ident(v, k) },
		"type":      func(k string, v *yaml.Node) { t.Type = d.enum(v, k, TenantTypes) },
		"on_delete": func(k string, v *yaml.Node) { t.OnDelete = d.enum(v, k, onDeleteValues) },
		// Checked below, once the type (which may come later) is known.
		"default_org": func(k string, v *yaml.Node) { orgNode = v; d.scalar(v, k, "the default org's key", "!!str", "!!int") },
		"default_org_name": func(k string, v *yaml.Node) {
			s := d.str(v, k)
			if strings.TrimSpace(s) == "" || strings.ContainsRune(s, 0) {
				d.fail(v, k, "%q is not a usable organization name; give a non-empty name", s)
			}
			t.DefaultOrgName = s
		},
		"default_org_values": func(k string, v *yaml.Node) { t.DefaultOrgValues = d.columnValues(v, k) },
		"default_org_exists": func(k string, v *yaml.Node) { t.DefaultOrgExists = d.boolean(v, k) },
	})
	if orgNode != nil {
		t.DefaultOrg = d.orgKey(orgNode, key+".default_org", t.Type)
	}
	for _, cv := range t.DefaultOrgValues {
		if cv.Column == t.Key {
			failAt(cv.Pos, key+".default_org_values", cv.Column, "%s is the tenant key; its value is tenant.default_org", ident.QuoteIfNeeded(cv.Column))
		}
	}
	return t
}

// orgKey checks an org key written for a tenant key of type typ and
// returns its canonical form, so generated files do not change with how
// the reviewer spelled it.
func (d *decoder) orgKey(v *yaml.Node, k, typ string) string {
	s := v.Value
	switch typ {
	case "uuid":
		u, ok := canonicalUUID(s)
		if !ok {
			d.fail(v, k, "%q is not a UUID; write 8-4-12 hex digits with dashes, e.g. a0000000-0000-0000-0000-000000000001", s)
		}
		if u == "00000000-0000-0000-0000-000000000000" {
			// The nil UUID is what an uninitialised value looks like;
			// as the org every orphan row lands in, it hides bugs.
			d.fail(v, k, "the nil UUID cannot be the default org; choose a real id")
		}
		return u
	case "bigint", "integer":
		bits := 64
		if typ == "integer" {
			bits = 32
		}
		n, err := strconv.ParseInt(s, 10, bits)
		if err != nil {
			d.fail(v, k, "%q is not a whole number in %s's range (tenant.type is %s); write one such as 1", s, typ, typ)
		}
		if n == 0 {
			// 0 is what an unset integer looks like, as the nil UUID is.
			d.fail(v, k, "0 cannot be the default org; choose a real id")
		}
		return strconv.FormatInt(n, 10)
	default:
		if strings.TrimSpace(s) == "" || strings.ContainsRune(s, 0) || s != strings.TrimSpace(s) {
			d.fail(v, k, "%q is not a usable text key; give a non-empty key without surrounding spaces", s)
		}
		return s
	}
}

// columnValues decodes a mapping of column name to value, in the order
// written. Values are scalars, kept as their text; null is refused (a
// NOT NULL column is why the value is needed).
func (d *decoder) columnValues(n *yaml.Node, key string) []ColumnValue {
	d.expect(n, key, yaml.MappingNode)
	out := []ColumnValue{}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, v := n.Content[i], n.Content[i+1]
		d.check(kn, key)
		col := d.ident(kn, key)
		k := join(key, col)
		if f := seen[col]; f != nil {
			d.fail(kn, k, "column %s is listed twice (first at %d:%d); remove one", ident.QuoteIfNeeded(col), f.Line, f.Column)
		}
		seen[col] = kn
		d.check(v, k)
		val := d.scalar(v, k, "a value such as 'Default' or 42", "!!str", "!!int", "!!float", "!!bool")
		if strings.ContainsRune(val, 0) {
			d.fail(v, k, "the value contains a NUL byte, which PostgreSQL text cannot hold")
		}
		out = append(out, ColumnValue{Column: col, Value: val, Pos: d.pos(kn)})
	}
	return out
}

// requestContext decodes request_context. The claim's default, which
// names the tenant column, is filled in by validate.
func (d *decoder) requestContext(n *yaml.Node, key string) RequestContext {
	c := RequestContext{Kind: ContextSupabase, Pos: d.pos(n)}
	var claimNode, settingNode, userNode *yaml.Node
	d.mapping(n, key, "request_context", []string{"kind"}, map[string]field{
		"kind": func(k string, v *yaml.Node) { c.Kind = d.enum(v, k, contextValues) },
		"claim": func(k string, v *yaml.Node) {
			claimNode = v
			// A path of keys joined by dots, or a list of keys for a claim
			// whose name holds a dot (namespaced claims such as
			// "https://example.com/org_id").
			if v.Kind == yaml.SequenceNode {
				d.seq(v, k, func(k string, v *yaml.Node) {
					s := d.str(v, k)
					if s == "" || strings.ContainsRune(s, 0) {
						d.fail(v, k, "%q is not a claim key", s)
					}
					c.Claim = append(c.Claim, s)
				})
				if len(c.Claim) == 0 {
					d.fail(v, k, "the list is empty; list the keys leading to the org, e.g. [app_metadata, org_id]")
				}
				return
			}
			s := d.str(v, k)
			c.Claim = strings.Split(s, ".")
			for _, part := range c.Claim {
				if part == "" || strings.ContainsRune(part, 0) || strings.TrimSpace(part) != part {
					d.fail(v, k, "%q is not a claim path; write keys joined by dots, e.g. app_metadata.org_id, or a list of keys", s)
				}
			}
		},
		"setting": func(k string, v *yaml.Node) {
			settingNode = v
			c.Setting = d.str(v, k)
			if !customSetting(c.Setting) {
				d.fail(v, k, "%q is not a custom setting name; write prefix.name in letters, digits and underscores, e.g. app.org_id", c.Setting)
			}
		},
		"user_setting": func(k string, v *yaml.Node) {
			userNode = v
			c.UserSetting = d.str(v, k)
			if !customSetting(c.UserSetting) {
				d.fail(v, k, "%q is not a custom setting name; write prefix.name in letters, digits and underscores, e.g. app.user_id", c.UserSetting)
			}
		},
		"roles": func(k string, v *yaml.Node) {
			first := map[string]*yaml.Node{}
			d.seq(v, k, func(k string, v *yaml.Node) {
				r := d.ident(v, k)
				if f := first[r]; f != nil {
					d.fail(v, k, "role %s is listed twice (first at %d:%d); remove one", ident.QuoteIfNeeded(r), f.Line, f.Column)
				}
				if strings.EqualFold(r, "public") {
					d.fail(v, k, "public is every role; leave roles out for that")
				}
				first[r] = v
				c.Roles = append(c.Roles, r)
			})
		},
	})
	switch c.Kind {
	case ContextSupabase:
		// Supabase puts the app's claims under app_metadata; the claim
		// triggers of phase 5 write the tenant column's name there.
		if claimNode != nil {
			d.fail(claimNode, key+".claim", "the supabase context keeps the org at app_metadata.<tenant.column>; claim is for kind jwt")
		}
	case ContextSession:
		if claimNode != nil {
			d.fail(claimNode, key+".claim", "kind session reads a setting, not a JWT claim; use setting")
		}
		if c.Setting == "" {
			c.Setting = defaultSetting
		}
	}
	if settingNode != nil && c.Kind != ContextSession {
		d.fail(settingNode, key+".setting", "setting is for kind session; kind %s reads the JWT claims", c.Kind)
	}
	if userNode != nil && c.Kind != ContextSession {
		d.fail(userNode, key+".user_setting", "user_setting is for kind session; kind %s reads the user from the JWT's sub claim", c.Kind)
	}
	if userNode != nil && c.UserSetting == c.Setting {
		d.fail(userNode, key+".user_setting", "user_setting is the org's setting too; the user's id needs a setting of its own")
	}
	return c
}

// customSetting reports whether s is a two-part custom configuration
// parameter name PostgreSQL accepts without quoting (prefix.name).
func customSetting(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return false
	}
	for _, p := range parts {
		if p == "" || len(p) > 63 {
			return false
		}
		for i, r := range p {
			if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
				return false
			}
		}
	}
	return true
}

// canonicalUUID accepts exactly the 8-4-12 form in any case and returns it
// in lower case, the form PostgreSQL prints, so generated files do not
// change with the case the reviewer typed.
func canonicalUUID(s string) (string, bool) {
	if len(s) != 36 {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return "", false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return "", false
			}
		}
	}
	return strings.ToLower(s), true
}

func (d *decoder) ownership(n *yaml.Node, key string) []OwnershipColumn {
	out := []OwnershipColumn{}
	first := map[string]*yaml.Node{}
	d.seq(n, key, func(k string, v *yaml.Node) {
		if v.Kind != yaml.MappingNode {
			d.fail(v, k, "expected a mapping such as {column: user_id}, got %s", describe(v))
		}
		c := OwnershipColumn{RequireFK: true, Pos: d.pos(v)}
		var colNode *yaml.Node
		d.mapping(v, k, "ownership[]", []string{"column"}, map[string]field{
			"column":     func(k string, v *yaml.Node) { c.Column, colNode = d.ident(v, k), v },
			"require_fk": func(k string, v *yaml.Node) { c.RequireFK = d.boolean(v, k) },
		})
		if f := first[c.Column]; f != nil {
			d.fail(colNode, k+".column", "column %s is listed twice (first at %d:%d); remove one", ident.QuoteIfNeeded(c.Column), f.Line, f.Column)
		}
		first[c.Column] = colNode
		out = append(out, c)
	})
	if len(out) == 0 {
		d.fail(n, key, "the list is empty; list at least one column, or remove the key for the default [{column: user_id}]")
	}
	return out
}

func (d *decoder) membership(n *yaml.Node, key string) *Membership {
	m := &Membership{UserColumn: defaultUserColumn, OrgColumn: defaultOrgColumn}
	cols := map[string]*yaml.Node{}
	col := func(dst *string) field {
		return func(k string, v *yaml.Node) {
			*dst = d.ident(v, k)
			cols[k] = v
		}
	}
	d.mapping(n, key, "membership", []string{"table"}, map[string]field{
		"table":          func(k string, v *yaml.Node) { m.Table = d.table(v, k) },
		"user_column":    col(&m.UserColumn),
		"org_column":     col(&m.OrgColumn),
		"primary_column": col(&m.PrimaryColumn),
		"order_column":   col(&m.OrderColumn),
		"personal_orgs": func(k string, v *yaml.Node) {
			m.PersonalOrgs, m.PersonalOrgsPos = d.boolean(v, k), d.pos(v)
		},
		"member_values": func(k string, v *yaml.Node) { m.MemberValues = d.columnValues(v, k) },
	})
	for _, cv := range m.MemberValues {
		if cv.Column == m.UserColumn || cv.Column == m.OrgColumn {
			failAt(cv.Pos, key+".member_values", cv.Column, "%s is the membership's user or org column; warden fills it", ident.QuoteIfNeeded(cv.Column))
		}
	}
	// The four columns play different roles; one column in two roles is a
	// copy-paste slip that would produce a nonsensical mapping query.
	roles := []struct {
		key string
		val string
	}{
		{key + ".user_column", m.UserColumn},
		{key + ".org_column", m.OrgColumn},
		{key + ".primary_column", m.PrimaryColumn},
		{key + ".order_column", m.OrderColumn},
	}
	for i, a := range roles {
		for _, b := range roles[:i] {
			if a.val != "" && a.val == b.val {
				at := cols[a.key]
				if at == nil {
					at = n
				}
				d.fail(at, a.key, "column %s is also %s; each membership column has its own role", ident.QuoteIfNeeded(a.val), b.key)
			}
		}
	}
	return m
}

// sources decodes org_from: one name or a list of names, each a column of
// the table or a table.
func (d *decoder) sources(n *yaml.Node, key string) []SourceRef {
	one := func(k string, v *yaml.Node) SourceRef {
		name := d.scalar(v, k, "a column of the table or one of its foreign-key parents", "!!str")
		r := SourceRef{Name: name, Pos: d.pos(v), Key: k}
		if t, err := ParseTableRef(name, ""); err == nil {
			t.Pos, t.Key = r.Pos, k
			r.Table = t
		} else {
			d.fail(v, k, "%s", err)
		}
		return r
	}
	if n.Kind == yaml.ScalarNode {
		return []SourceRef{one(key, n)}
	}
	var out []SourceRef
	seen := map[string]*yaml.Node{}
	d.seq(n, key, func(k string, v *yaml.Node) {
		r := one(k, v)
		if first := seen[r.Name]; first != nil {
			d.fail(v, k, "%s is listed twice (first at %d:%d)", r.Name, first.Line, first.Column)
		}
		seen[r.Name] = v
		out = append(out, r)
	})
	if len(out) == 0 {
		d.fail(n, key, "the list is empty; name the column or parent the rows take their org from")
	}
	return out
}

// overrides decodes the tables mapping: table name → {via | class}.
func (d *decoder) overrides(n *yaml.Node, key string) []Override {
	d.expect(n, key, yaml.MappingNode)
	out := []Override{}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, v := n.Content[i], n.Content[i+1]
		d.check(kn, key)
		if kn.Kind != yaml.ScalarNode || kn.ShortTag() != "!!str" {
			d.fail(kn, key, "keys must be table names such as public.calls, not %s", describe(kn))
		}
		k := key + "[" + kn.Value + "]"
		if first := seen[kn.Value]; first != nil {
			d.fail(kn, k, "duplicate key (first at %d:%d); remove one of them", first.Line, first.Column)
		}
		seen[kn.Value] = kn
		o := Override{Table: d.table(kn, k)}
		d.check(v, k)
		var viaNode, classNode, nullNode, fromNode, requireNode *yaml.Node
		whenNull := func(k string, v *yaml.Node) {
			if nullNode != nil {
				d.fail(v, k, "null_parent and when_null are one setting (the other is at %d:%d); keep one", nullNode.Line, nullNode.Column)
			}
			o.NullParent, nullNode = d.enum(v, k, []string{NullParentDefaultOrg}), v
		}
		d.mapping(v, k, "tables[]", nil, map[string]field{
			"via": func(k string, v *yaml.Node) {
				t := d.table(v, k)
				o.Via, viaNode = &t, v
			},
			"class":       func(k string, v *yaml.Node) { o.Class, classNode = d.enum(v, k, classValues), v },
			"null_parent": whenNull,
			"when_null":   whenNull,
			"org_from": func(k string, v *yaml.Node) {
				o.OrgFrom, fromNode = d.sources(v, k), v
			},
			"require_fk": func(k string, v *yaml.Node) {
				b := d.boolean(v, k)
				o.RequireFK, requireNode = &b, v
			},
		})
		switch {
		case fromNode != nil && (viaNode != nil || classNode != nil):
			other := viaNode
			if other == nil {
				other = classNode
			}
			d.fail(fromNode, k+".org_from", "org_from names the sources itself; drop the via or class (at %d:%d)", other.Line, other.Column)
		case viaNode != nil && classNode != nil:
			first, second, sk := viaNode, classNode, k+".class"
			if classNode.Line < viaNode.Line || classNode.Line == viaNode.Line && classNode.Column < viaNode.Column {
				first, second, sk = classNode, viaNode, k+".via"
			}
			d.fail(second, sk, "an override takes via or class, not both (the other is at %d:%d); via already implies inherited", first.Line, first.Column)
		case viaNode == nil && classNode == nil && nullNode == nil && fromNode == nil && requireNode == nil:
			d.fail(v, k, "an override needs org_from: <column or parent>, via: <parent table>, class: %s, when_null: %s or require_fk: true|false", strings.Join(classValues, "|"), NullParentDefaultOrg)
		}
		out = append(out, o)
	}
	return out
}
