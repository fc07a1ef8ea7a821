package reliability

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/warden-sql/warden/exampleapp/exampledata"
	"github.com/warden-sql/warden/generator/classify"
	"github.com/warden-sql/warden/generator/migrations"
	"github.com/warden-sql/warden/internal/ident"
	"github.com/warden-sql/warden/introspect"
	"github.com/warden-sql/warden/policy"
)

// TestStatementsAsDeclared parses every script of every step, and every
// file of every migration format, with PostgreSQL's own parser (libpg_query)
// for the example app, every odd schema (hostile names among them) and
// every request-context app: each statement must be one its step kind
// declares (migrations.StepKind Up and Down), and each DROP must name an
// object of warden's (in schema warden, or one the step lists in its
// Objects). A name that closed a comment, a quoted identifier or a
// dollar-quoted body early would show up here as a statement of its own.
func TestStatementsAsDeclared(t *testing.T) {
	cases := map[string]func(t *testing.T) []migrations.Step{
		"example": func(t *testing.T) []migrations.Step {
			return exampleApp(t, exampledata.Options{RowsPerTable: 10}, nil).steps
		},
	}
	for _, pattern := range []string{"testdata/odd/*", "../generator/verify/testdata/contexts/*"} {
		dirs, err := filepath.Glob(pattern)
		if err != nil || len(dirs) == 0 {
			t.Fatalf("no cases in %s (%v)", pattern, err)
		}
		for _, dir := range dirs {
			cases[filepath.Base(dir)] = func(t *testing.T) []migrations.Step { return oddSchema(t, dir).steps }
		}
	}
	for name, steps := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			checkDeclaredStatements(t, steps(t))
		})
	}
}

// TestStatementsCheckCanFail: a script with a statement its kind does not
// declare, or a DROP of another object, is reported.
func TestStatementsCheckCanFail(t *testing.T) {
	s := migrations.Step{Kind: migrations.KindFillTrigger, Name: "fill_trigger_t",
		Objects: migrations.Objects{Triggers: []string{"warden_fill_org_id"}}}
	for _, c := range []struct{ up, down, want string }{
		{"SET LOCAL lock_timeout = '2s';\n-- x\ndrop table if exists public.victim; --", "", "DROP TABLE"},
		{"SET LOCAL lock_timeout = '2s';", "DROP TRIGGER IF EXISTS other ON public.t;", `drops "public.t.other"`},
		{"SET LOCAL lock_timeout = '2s';", "DROP FUNCTION IF EXISTS public.f();", `drops "public.f"`},
		{"DO $do$ BEGIN END $do$;", "", "DoStmt"},
	} {
		s.Up, s.Down = c.up, c.down
		got := strings.Join(statementProblems(s), "\n")
		if !strings.Contains(got, c.want) {
			t.Errorf("up %q down %q: problems %q, want one naming %s", c.up, c.down, got, c.want)
		}
	}
	s.Up, s.Down = "SET LOCAL lock_timeout = '2s';", "DROP TRIGGER IF EXISTS warden_fill_org_id ON public.t;\nDROP FUNCTION IF EXISTS warden.f();"
	if got := statementProblems(s); len(got) > 0 {
		t.Errorf("a script as declared: %q", got)
	}
}

func checkDeclaredStatements(t *testing.T, steps []migrations.Step) {
	t.Helper()
	for _, s := range steps {
		for _, p := range statementProblems(s) {
			t.Error(p)
		}
	}
	// Every format's files, as the runners read them: the file of a step
	// holds its declared statements (goose: both directions in one file,
	// and BEGIN/COMMIT where it spells a transaction out).
	for _, run := range formatsAndLayouts(migrations.RunnerNames()) {
		format := run.format
		files, err := migrations.LayoutFirst(steps, format, run.layout, "20250110000000")
		if err != nil {
			t.Fatal(err)
		}
		// A file of the grouped layout holding several steps spells each
		// one's transaction out.
		composite := map[string]bool{}
		if run.layout == policy.LayoutGrouped {
			for _, u := range migrations.Group(steps, format) {
				if len(u.Members) > 0 {
					composite[files.Up[u.Name]] = true
					composite[files.Down[u.Name]] = true
				}
			}
		}
		allowed := map[string][]migrations.Statement{}
		for _, s := range steps {
			k := kindOf(s.Kind)
			allowed[files.Up[s.Name]] = append(allowed[files.Up[s.Name]], k.Up...)
			if path, ok := files.Down[s.Name]; ok {
				allowed[path] = append(allowed[path], k.Down...)
			}
		}
		for path, data := range files.Set {
			if !strings.HasSuffix(path, ".sql") {
				continue // psql's up.psql and down.psql hold \i lines only
			}
			keys, err := statementKeys(string(data))
			if err != nil {
				t.Errorf("%s %s: PostgreSQL's parser refuses it: %v", format, path, err)
				continue
			}
			for _, k := range keys {
				if k == "TransactionStmt" && (format == "goose" || composite[path]) {
					continue
				}
				if !slices.Contains(allowed[path], migrations.Statement(k)) {
					t.Errorf("%s %s: a %s, which none of its steps declares", format, path, k)
				}
			}
		}
	}
}

// statementProblems parses a step's scripts and says where they hold
// anything but what the step's kind declares.
func statementProblems(s migrations.Step) []string {
	kind := kindOf(s.Kind)
	var out []string
	for _, d := range []struct {
		dir      string
		sql      string
		declared []migrations.Statement
	}{{"up", s.Up, kind.Up}, {"down", s.Down, kind.Down}} {
		if d.sql == "" {
			continue
		}
		tree, err := pg_query.Parse(d.sql)
		if err != nil {
			out = append(out, s.Name+" "+d.dir+": PostgreSQL's parser refuses it: "+err.Error())
			continue
		}
		if len(tree.Stmts) == 0 {
			out = append(out, s.Name+" "+d.dir+": no statement")
		}
		for _, raw := range tree.Stmts {
			key := statementKey(raw.Stmt)
			if !slices.Contains(d.declared, migrations.Statement(key)) {
				out = append(out, s.Name+" "+d.dir+": a "+key+", which kind "+kind.ID+" does not declare")
			}
			if drop := raw.Stmt.GetDropStmt(); drop != nil {
				for _, obj := range droppedNames(drop) {
					if !wardens(s, drop.RemoveType, obj) {
						out = append(out, s.Name+" "+d.dir+": "+key+` drops "`+strings.Join(obj, ".")+`", which is not warden's`)
					}
				}
			}
		}
	}
	return out
}

// statementKeys parses sql and names each statement as a Statement does.
func statementKeys(sql string) ([]string, error) {
	tree, err := pg_query.Parse(sql)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, raw := range tree.Stmts {
		out = append(out, statementKey(raw.Stmt))
	}
	return out, nil
}

// statementKey is the node type of a parsed statement ("DoStmt"), or
// "DROP <object type>" for a DROP.
func statementKey(n *pg_query.Node) string {
	if drop := n.GetDropStmt(); drop != nil {
		return "DROP " + strings.TrimPrefix(drop.RemoveType.String(), "OBJECT_")
	}
	return strings.TrimPrefix(fmt.Sprintf("%T", n.Node), "*pg_query.Node_")
}

// droppedNames lists each object a DROP names, as its name parts.
func droppedNames(d *pg_query.DropStmt) [][]string {
	var out [][]string
	for _, o := range d.Objects {
		var parts []string
		switch {
		case o.GetList() != nil:
			for _, item := range o.GetList().Items {
				parts = append(parts, item.GetString_().GetSval())
			}
		case o.GetObjectWithArgs() != nil:
			for _, item := range o.GetObjectWithArgs().Objname {
				parts = append(parts, item.GetString_().GetSval())
			}
		case o.GetString_() != nil:
			parts = []string{o.GetString_().GetSval()}
		}
		out = append(out, parts)
	}
	return out
}

// wardens reports whether a dropped object is warden's: its schema warden
// (functions, the schema itself), public.auth_org_id, or a trigger,
// policy or index the step lists as its own.
func wardens(s migrations.Step, typ pg_query.ObjectType, name []string) bool {
	last := name[len(name)-1]
	switch typ {
	case pg_query.ObjectType_OBJECT_SCHEMA:
		return last == "warden"
	case pg_query.ObjectType_OBJECT_FUNCTION, pg_query.ObjectType_OBJECT_PROCEDURE:
		return len(name) == 2 && (name[0] == "warden" || name[0] == "public" && name[1] == "auth_org_id")
	case pg_query.ObjectType_OBJECT_TRIGGER:
		return slices.Contains(s.Objects.Triggers, last)
	case pg_query.ObjectType_OBJECT_POLICY:
		return slices.Contains(s.Objects.Policies, last)
	case pg_query.ObjectType_OBJECT_INDEX:
		return slices.Contains(s.Objects.Indexes, last)
	}
	return false
}

// kindOf is the step table's row of k.
func kindOf(k migrations.Kind) migrations.StepKind {
	for _, sk := range migrations.Kinds() {
		if sk.Kind == k {
			return sk
		}
	}
	return migrations.StepKind{ID: "unknown"}
}

// hostilePolicy governs the in-memory schema of FuzzStatementsHostileNames:
// its table names are fixed (the policy parser refuses control characters
// in the names it reads), while every name that reaches the SQL from the
// catalog alone is the fuzzer's.
const hostilePolicy = `version: 1
schemas: [public]
tenant:
  table: organizations
  default_org: a0000000-0000-0000-0000-000000000001
users:
  table: auth.users
membership:
  table: members
scope: [parent, child]
migrations:
  version: 20250110000000
`

// FuzzStatementsHostileNames renders every step for a schema whose key
// columns, foreign-key columns and constraint names are the fuzzer's
// (newlines, quotes, ";", "--", "/*", "$"-tags, unicode, 63 bytes), with
// no database: whatever the names, each script parses into exactly the
// statements its kind declares, and drops only warden's objects.
func FuzzStatementsHostileNames(f *testing.F) {
	for _, s := range []string{
		"p\ndrop table if exists public.victim; --", "x$do$y", "$fn$", "$$", "a'b", `a"b`, "a;b", "/* x", "x */ drop table t; /*",
		"--", "é☕", strings.Repeat("k", 63), "user_id", "org_id", "E'\\x'", "\\", "$1",
	} {
		f.Add(s, s+"_fk")
	}
	pol, err := policy.Parse("policy.yaml", []byte(hostilePolicy))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, key, fk string) {
		for _, n := range []string{key, fk} {
			if n == "" || len(n) > ident.MaxLen || !utf8.ValidString(n) || strings.ContainsRune(n, 0) || n == "id" || n == "user_id" || n == "org_id" {
				return // not a name PostgreSQL would store, or one the schema already uses
			}
		}
		if key == fk {
			return
		}
		col := func(name, typ string, notNull bool, at int) *introspect.Column {
			return &introspect.Column{Name: name, Type: typ, NotNull: notNull, Attnum: at}
		}
		db := &introspect.Database{Schemas: []string{"public"}, Tables: []*introspect.Table{
			{Schema: "public", Name: "child",
				Columns:     []*introspect.Column{col("id", "bigint", true, 1), col(fk, "uuid", true, 2)},
				PrimaryKey:  &introspect.PrimaryKey{Name: fk + "_pkey", Columns: []string{"id"}},
				ForeignKeys: []*introspect.ForeignKey{{Name: fk, Columns: []string{fk}, RefSchema: "public", RefTable: "parent", RefColumns: []string{key}, OnDelete: "cascade", OnUpdate: "no action"}}},
			{Schema: "public", Name: "members",
				Columns:     []*introspect.Column{col("user_id", "uuid", true, 1), col("org_id", "uuid", true, 2)},
				ForeignKeys: []*introspect.ForeignKey{{Name: "members_org_id_fkey", Columns: []string{"org_id"}, RefSchema: "public", RefTable: "organizations", RefColumns: []string{"id"}, OnDelete: "cascade", OnUpdate: "no action"}}},
			{Schema: "public", Name: "organizations",
				Columns:    []*introspect.Column{col("id", "uuid", true, 1)},
				PrimaryKey: &introspect.PrimaryKey{Name: "organizations_pkey", Columns: []string{"id"}}},
			{Schema: "public", Name: "parent",
				Columns:     []*introspect.Column{col(key, "uuid", true, 1), col("user_id", "uuid", true, 2)},
				PrimaryKey:  &introspect.PrimaryKey{Name: key, Columns: []string{key}},
				ForeignKeys: []*introspect.ForeignKey{{Name: key + "_user", Columns: []string{"user_id"}, RefSchema: "auth", RefTable: "users", RefColumns: []string{"id"}, OnDelete: "cascade", OnUpdate: "no action"}}},
		}}
		plan := classify.Classify(db, pol)
		if err := plan.Err(); err != nil {
			t.Fatalf("plan: %v", err)
		}
		steps, err := migrations.Steps(plan, db)
		if err != nil {
			t.Fatal(err)
		}
		var all strings.Builder
		for _, s := range steps {
			all.WriteString(s.Up + s.Down)
			for _, p := range statementProblems(s) {
				t.Errorf("names %q, %q: %s", key, fk, p)
			}
		}
		// The names must reach the SQL, or the check proves nothing.
		if !strings.Contains(all.String(), ident.Quote(key)) || !strings.Contains(all.String(), ident.Quote(fk)) {
			t.Fatalf("names %q, %q: not in the generated SQL", key, fk)
		}
	})
}

// formatsAndLayouts is every runner format in every layout.
func formatsAndLayouts(formats []string) []struct{ format, layout string } {
	var out []struct{ format, layout string }
	for _, layout := range policy.Layouts {
		for _, f := range formats {
			out = append(out, struct{ format, layout string }{f, layout})
		}
	}
	return out
}
