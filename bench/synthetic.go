package bench

import (
	"fmt"
	"sort"
	"strings"

	"github.com/warden-sql/warden/introspect"
)

// SyntheticSchema is the governed schema of the synthetic catalogs.
const SyntheticSchema = "syn"

// SyntheticDefaultOrg is the default org of the synthetic policy.
const SyntheticDefaultOrg = "a0000000-0000-0000-0000-000000000001"

// Synthetic describes a synthetic catalog for the catalog-scale benchmark:
// Families groups of five scoped tables, each group a foreign-key chain of
// depth 4 below a table with an ownership column:
//
//	fNNNN_a  direct: user_id → syn.users (owner_id every 10th family), RLS
//	         enabled with a per-user permissive policy, an updated_at trigger
//	fNNNN_b  inherited from _a (a_id), index on a_id
//	fNNNN_c  inherited from _b, composite primary key (b_id, seq)
//	fNNNN_d  inherited from _c through a composite FK (b_id, seq)
//	fNNNN_e  inherited from _d through a nullable FK (d_id); every 10th
//	         family it has created_by → syn.users and is direct instead
//
// plus, every 20th family, a global lookup table fNNNN_kinds that _b
// references, and every 25th family an excluded per-user table
// fNNNN_prefs; and the roots syn.organizations, syn.users and
// syn.org_members. SQL, the policy and the introspected model all come from
// the same description, so the in-memory model the generation benchmark
// uses is the catalog the CLI benchmark reads (synthetic_test.go checks it).
type Synthetic struct {
	Families int
}

// Tables is the number of tables the schema has.
func (s Synthetic) Tables() int { return len(s.tables()) }

// ScopedTables is the number of tables the policy scopes.
func (s Synthetic) ScopedTables() int { return 5 * s.Families }

type synCol struct {
	name, typ string
	notNull   bool
	def       string
	identity  bool
}

type synFK struct {
	name     string
	cols     []string
	ref      string
	refCols  []string
	onDelete string // SQL words, lower case
}

type synIndex struct {
	name string
	cols []string
}

type synTable struct {
	name      string
	cols      []synCol
	pk        []string
	fks       []synFK
	indexes   []synIndex
	trigger   bool   // BEFORE UPDATE touch trigger
	policyCol string // RLS enabled, permissive policy on this column = syn.uid()
	// class is the class the policy gives it: scope, exclude, global, root.
	class string
}

func ts(name string) synCol {
	return synCol{name: name, typ: "timestamp with time zone", notNull: true, def: "now()"}
}

func (s Synthetic) family(k int) []synTable {
	p := fmt.Sprintf("f%04d_", k)
	owner := "user_id"
	if k%10 == 0 {
		owner = "owner_id"
	}
	a := synTable{
		name: p + "a", class: "scope",
		cols: []synCol{
			{name: "id", typ: "bigint", notNull: true, identity: true},
			{name: owner, typ: "uuid", notNull: true},
			{name: "title", typ: "text"},
			{name: "status", typ: "text", notNull: true, def: "'new'::text"},
			ts("updated_at"),
			ts("created_at"),
		},
		pk:        []string{"id"},
		fks:       []synFK{{name: p + "a_" + owner + "_fkey", cols: []string{owner}, ref: "users", refCols: []string{"id"}, onDelete: "cascade"}},
		indexes:   []synIndex{{name: p + "a_" + owner + "_idx", cols: []string{owner}}},
		trigger:   true,
		policyCol: owner,
	}
	b := synTable{
		name: p + "b", class: "scope",
		cols: []synCol{
			{name: "id", typ: "bigint", notNull: true, identity: true},
			{name: "a_id", typ: "bigint", notNull: true},
			{name: "kind", typ: "text"},
			{name: "payload", typ: "jsonb", notNull: true, def: "'{}'::jsonb"},
			ts("created_at"),
		},
		pk:      []string{"id"},
		fks:     []synFK{{name: p + "b_a_id_fkey", cols: []string{"a_id"}, ref: p + "a", refCols: []string{"id"}, onDelete: "cascade"}},
		indexes: []synIndex{{name: p + "b_a_id_idx", cols: []string{"a_id"}}},
	}
	c := synTable{
		name: p + "c", class: "scope",
		cols: []synCol{
			{name: "b_id", typ: "bigint", notNull: true},
			{name: "seq", typ: "integer", notNull: true},
			{name: "body", typ: "text"},
		},
		pk:  []string{"b_id", "seq"},
		fks: []synFK{{name: p + "c_b_id_fkey", cols: []string{"b_id"}, ref: p + "b", refCols: []string{"id"}, onDelete: "cascade"}},
	}
	d := synTable{
		name: p + "d", class: "scope",
		cols: []synCol{
			{name: "id", typ: "bigint", notNull: true, identity: true},
			{name: "b_id", typ: "bigint", notNull: true},
			{name: "seq", typ: "integer", notNull: true},
			{name: "note", typ: "text"},
		},
		pk:      []string{"id"},
		fks:     []synFK{{name: p + "d_b_id_seq_fkey", cols: []string{"b_id", "seq"}, ref: p + "c", refCols: []string{"b_id", "seq"}, onDelete: "cascade"}},
		indexes: []synIndex{{name: p + "d_b_id_seq_idx", cols: []string{"b_id", "seq"}}},
	}
	e := synTable{
		name: p + "e", class: "scope",
		cols: []synCol{
			{name: "id", typ: "uuid", notNull: true, def: "gen_random_uuid()"},
			{name: "d_id", typ: "bigint"},
			{name: "value", typ: "numeric(12,2)"},
		},
		pk:  []string{"id"},
		fks: []synFK{{name: p + "e_d_id_fkey", cols: []string{"d_id"}, ref: p + "d", refCols: []string{"id"}, onDelete: "set null"}},
	}
	if k%10 == 0 {
		e.cols = append(e.cols, synCol{name: "created_by", typ: "uuid"})
		e.fks = append(e.fks, synFK{name: p + "e_created_by_fkey", cols: []string{"created_by"}, ref: "users", refCols: []string{"id"}, onDelete: "set null"})
	}
	out := []synTable{a, b, c, d, e}
	if k%20 == 0 {
		out = append(out, synTable{
			name: p + "kinds", class: "global",
			cols: []synCol{{name: "code", typ: "text", notNull: true}, {name: "label", typ: "text", notNull: true}},
			pk:   []string{"code"},
		})
		out[1].fks = append(out[1].fks, synFK{name: p + "b_kind_fkey", cols: []string{"kind"}, ref: p + "kinds", refCols: []string{"code"}, onDelete: "set null"})
	}
	if k%25 == 0 {
		out = append(out, synTable{
			name: p + "prefs", class: "exclude",
			cols: []synCol{{name: "user_id", typ: "uuid", notNull: true}, {name: "prefs", typ: "jsonb", notNull: true, def: "'{}'::jsonb"}},
			pk:   []string{"user_id"},
			fks:  []synFK{{name: p + "prefs_user_id_fkey", cols: []string{"user_id"}, ref: "users", refCols: []string{"id"}, onDelete: "cascade"}},
		})
	}
	return out
}

func (s Synthetic) roots() []synTable {
	return []synTable{
		{
			name: "organizations", class: "root",
			cols: []synCol{
				{name: "id", typ: "uuid", notNull: true, def: "gen_random_uuid()"},
				{name: "name", typ: "text", notNull: true, def: "''::text"},
				ts("created_at"),
			},
			pk: []string{"id"},
		},
		{
			name: "users", class: "root",
			cols: []synCol{
				{name: "id", typ: "uuid", notNull: true, def: "gen_random_uuid()"},
				{name: "email", typ: "text", notNull: true},
				ts("created_at"),
				// The JWT org claim is kept here (as in Supabase's auth.users).
				{name: "raw_app_meta_data", typ: "jsonb"},
			},
			pk: []string{"id"},
		},
		{
			name: "org_members", class: "root",
			cols: []synCol{
				{name: "user_id", typ: "uuid", notNull: true},
				{name: "org_id", typ: "uuid", notNull: true},
				{name: "is_primary", typ: "boolean", notNull: true, def: "false"},
				ts("created_at"),
			},
			pk: []string{"user_id", "org_id"},
			fks: []synFK{
				{name: "org_members_org_id_fkey", cols: []string{"org_id"}, ref: "organizations", refCols: []string{"id"}, onDelete: "cascade"},
				{name: "org_members_user_id_fkey", cols: []string{"user_id"}, ref: "users", refCols: []string{"id"}, onDelete: "cascade"},
			},
		},
	}
}

func (s Synthetic) tables() []synTable {
	out := s.roots()
	for k := 1; k <= s.Families; k++ {
		out = append(out, s.family(k)...)
	}
	return out
}

// SQL returns the DDL in chunks, each meant to run as one simple-protocol
// batch (one transaction): creating thousands of tables in one transaction
// would hold more locks than a default server's lock table has room for.
func (s Synthetic) SQL() []string {
	head := fmt.Sprintf(`CREATE SCHEMA %[1]s;
CREATE FUNCTION %[1]s.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;
CREATE FUNCTION %[1]s.uid() RETURNS uuid LANGUAGE sql STABLE AS
  $$ SELECT (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid $$;
`, SyntheticSchema)
	var b strings.Builder
	b.WriteString(head)
	for _, t := range s.roots() {
		writeTableSQL(&b, t)
	}
	chunks := []string{b.String()}
	const familiesPerChunk = 50
	for k := 1; k <= s.Families; k += familiesPerChunk {
		var b strings.Builder
		for j := k; j < k+familiesPerChunk && j <= s.Families; j++ {
			fam := s.family(j)
			// Global lookups first: _b references them.
			sort.SliceStable(fam, func(x, y int) bool { return fam[x].class == "global" && fam[y].class != "global" })
			for _, t := range fam {
				writeTableSQL(&b, t)
			}
		}
		chunks = append(chunks, b.String())
	}
	return chunks
}

func writeTableSQL(b *strings.Builder, t synTable) {
	q := SyntheticSchema + "." + t.name
	fmt.Fprintf(b, "CREATE TABLE %s (\n", q)
	var parts []string
	for _, c := range t.cols {
		def := "  " + c.name + " " + c.typ
		if c.identity {
			def += " GENERATED BY DEFAULT AS IDENTITY"
		}
		if c.notNull {
			def += " NOT NULL"
		}
		if c.def != "" {
			def += " DEFAULT " + c.def
		}
		parts = append(parts, def)
	}
	parts = append(parts, fmt.Sprintf("  CONSTRAINT %s_pkey PRIMARY KEY (%s)", t.name, strings.Join(t.pk, ", ")))
	for _, f := range t.fks {
		parts = append(parts, fmt.Sprintf("  CONSTRAINT %s FOREIGN KEY (%s) REFERENCES %s.%s (%s) ON DELETE %s",
			f.name, strings.Join(f.cols, ", "), SyntheticSchema, f.ref, strings.Join(f.refCols, ", "), strings.ToUpper(f.onDelete)))
	}
	b.WriteString(strings.Join(parts, ",\n"))
	b.WriteString("\n);\n")
	for _, ix := range t.indexes {
		fmt.Fprintf(b, "CREATE INDEX %s ON %s (%s);\n", ix.name, q, strings.Join(ix.cols, ", "))
	}
	if t.trigger {
		fmt.Fprintf(b, "CREATE TRIGGER %s_touch BEFORE UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION %s.touch();\n", t.name, q, SyntheticSchema)
	}
	if t.policyCol != "" {
		fmt.Fprintf(b, "ALTER TABLE %s ENABLE ROW LEVEL SECURITY;\n", q)
		fmt.Fprintf(b, "CREATE POLICY %s_own ON %s USING (%s = %s.uid());\n", t.name, q, t.policyCol, SyntheticSchema)
	}
}

// Policy returns the policy.yaml that scopes every family table, lists the
// lookups as global and the per-user tables as excluded.
func (s Synthetic) Policy() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `# Synthetic policy for the catalog-scale benchmark (bench/synthetic.go):
# %d families of five scoped tables.
version: 1
schemas: [%[2]s]
tenant:
  table: %[2]s.organizations
  default_org: %[3]s
users:
  table: %[2]s.users
  key: id
ownership:
  - column: user_id
  - column: owner_id
  - column: created_by
membership:
  table: %[2]s.org_members
  user_column: user_id
  org_column: org_id
  primary_column: is_primary
  order_column: created_at
`, s.Families, SyntheticSchema, SyntheticDefaultOrg)
	lists := map[string][]string{}
	for _, t := range s.tables() {
		lists[t.class] = append(lists[t.class], t.name)
	}
	for _, key := range []string{"scope", "exclude", "global"} {
		if len(lists[key]) == 0 {
			continue
		}
		fmt.Fprintf(&b, "%s:\n", key)
		for _, n := range lists[key] {
			fmt.Fprintf(&b, "  - %s\n", n)
		}
	}
	// The _e tables take their org through a nullable FK (and, every 10th
	// family, a nullable created_by first): the policy decides that rows
	// with neither take the default org.
	var nullable []string
	for _, t := range s.tables() {
		if t.class == "scope" && strings.HasSuffix(t.name, "_e") {
			nullable = append(nullable, t.name)
		}
	}
	if len(nullable) > 0 {
		b.WriteString("tables:\n")
		for _, n := range nullable {
			fmt.Fprintf(&b, "  %s:\n    null_parent: default_org\n", n)
		}
	}
	b.WriteString("migrations:\n  format: supabase\n  version: 20250101000000\n  lock_timeout: 2s\n")
	return []byte(b.String())
}

// Model returns the schema model introspect.Inspect reads from a database
// loaded with SQL, built in memory.
func (s Synthetic) Model() *introspect.Database {
	db := &introspect.Database{Schemas: []string{SyntheticSchema}, Tables: []*introspect.Table{}}
	for _, st := range s.tables() {
		q := SyntheticSchema + "." + st.name
		t := &introspect.Table{Schema: SyntheticSchema, Name: st.name, Columns: []*introspect.Column{}}
		for i, c := range st.cols {
			col := &introspect.Column{Name: c.name, Type: c.typ, NotNull: c.notNull || c.identity, Default: c.def, Attnum: i + 1}
			if c.identity {
				col.Identity = "by default"
			}
			t.Columns = append(t.Columns, col)
		}
		t.PrimaryKey = &introspect.PrimaryKey{Name: st.name + "_pkey", Columns: st.pk}
		t.Indexes = append(t.Indexes, &introspect.Index{
			Name: st.name + "_pkey", Columns: st.pk, Unique: true, Primary: true, Valid: true, Method: "btree",
		})
		for _, ix := range st.indexes {
			t.Indexes = append(t.Indexes, &introspect.Index{
				Name: ix.name, Columns: ix.cols, Valid: true, Method: "btree",
			})
		}
		for _, f := range st.fks {
			t.ForeignKeys = append(t.ForeignKeys, &introspect.ForeignKey{
				Name: f.name, Columns: f.cols, RefSchema: SyntheticSchema, RefTable: f.ref, RefColumns: f.refCols,
				OnDelete: f.onDelete, OnUpdate: "no action", Validated: true,
			})
		}
		if st.trigger {
			t.Triggers = append(t.Triggers, &introspect.Trigger{
				Name: st.name + "_touch", Timing: "BEFORE", Events: []string{"UPDATE"}, ForEachRow: true,
				Function: SyntheticSchema + ".touch", Enabled: "origin",
				Definition: fmt.Sprintf("CREATE TRIGGER %s_touch BEFORE UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION %s.touch()", st.name, q, SyntheticSchema),
			})
		}
		if st.policyCol != "" {
			t.RLSEnabled = true
			t.Policies = append(t.Policies, &introspect.Policy{
				Name: st.name + "_own", Permissive: true, Command: "all", Roles: []string{"public"},
				Using: fmt.Sprintf("%s = %s.uid()", st.policyCol, SyntheticSchema),
			})
		}
		sort.Slice(t.Indexes, func(i, j int) bool { return t.Indexes[i].Name < t.Indexes[j].Name })
		sort.Slice(t.ForeignKeys, func(i, j int) bool { return t.ForeignKeys[i].Name < t.ForeignKeys[j].Name })
		db.Tables = append(db.Tables, t)
	}
	sort.Slice(db.Tables, func(i, j int) bool { return db.Tables[i].Name < db.Tables[j].Name })
	return db
}
