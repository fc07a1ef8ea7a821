package introspect

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Querier is what Inspect needs of a connection: *pgx.Conn, *pgxpool.Pool
// and pgx.Tx all satisfy it.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// SchemaNotFoundError reports schemas that were asked for but do not exist.
type SchemaNotFoundError struct{ Schemas []string }

func (e *SchemaNotFoundError) Error() string {
	return fmt.Sprintf("introspect: schema %s does not exist", strings.Join(quoteAll(e.Schemas), ", "))
}

func quoteAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = fmt.Sprintf("%q", n)
	}
	return out
}

// Inspect reads the tables of the given schemas. It runs a fixed number of
// catalog queries (QueryCount) whatever the number of tables.
func Inspect(ctx context.Context, q Querier, schemas []string) (*Database, error) {
	schemas = sortedUnique(schemas)
	// pg_get_expr, pg_get_triggerdef and friends qualify a name only when
	// it is not visible in the search_path, so the model would depend on
	// the connecting role's search_path. Read with search_path =
	// pg_catalog (every other schema qualified) and put it back after.
	restore, err := pinSearchPath(ctx, q)
	if err != nil {
		return nil, err
	}
	defer restore()
	if err := checkSchemas(ctx, q, schemas); err != nil {
		return nil, err
	}
	db := &Database{Schemas: schemas, Tables: []*Table{}}
	byOID := map[uint32]*Table{}

	steps := []struct {
		what string
		sql  string
		scan func(pgx.Rows) error
	}{
		{"tables", tablesQuery, func(rows pgx.Rows) error {
			var oid uint32
			t := &Table{Columns: []*Column{}}
			var kind string
			var partSchemas, partNames []string
			var partLevels []int32
			var partLeaf []bool
			if err := rows.Scan(&oid, &t.Schema, &t.Name, &kind, &t.PartitionKey, &partSchemas, &partNames, &partLevels, &partLeaf, &t.RLSEnabled, &t.RLSForced); err != nil {
				return err
			}
			t.Partitioned = kind == "p"
			for i := range partNames {
				t.Partitions = append(t.Partitions, &Partition{Schema: partSchemas[i], Name: partNames[i], Level: int(partLevels[i]), Leaf: partLeaf[i]})
			}
			byOID[oid] = t
			db.Tables = append(db.Tables, t)
			return nil
		}},
		{"columns", columnsQuery, func(rows pgx.Rows) error {
			var oid uint32
			c := &Column{}
			var identity, generated string
			if err := rows.Scan(&oid, &c.Name, &c.Type, &c.NotNull, &c.Default, &identity, &generated, &c.Attnum); err != nil {
				return err
			}
			switch identity {
			case "a":
				c.Identity = "always"
			case "d":
				c.Identity = "by default"
			}
			c.Generated = generated == "s"
			if t := byOID[oid]; t != nil {
				t.Columns = append(t.Columns, c)
			}
			return nil
		}},
		{"constraints", constraintsQuery, func(rows pgx.Rows) error {
			var oid uint32
			var name, kind, def, refSchema, refTable, onDelete, onUpdate string
			var attnums []int16
			var refCols []string
			var validated bool
			if err := rows.Scan(&oid, &name, &kind, &attnums, &refSchema, &refTable, &refCols, &onDelete, &onUpdate, &validated, &def); err != nil {
				return err
			}
			t := byOID[oid]
			if t == nil {
				return nil
			}
			var cols []string
			if kind == "p" || kind == "f" {
				// (a CHECK's numbers may include tableoid's, and its
				// columns are not read)
				var err error
				if cols, err = columnNames(t, attnums); err != nil {
					return fmt.Errorf("constraint %s of %s: %w", name, t.QualifiedName(), err)
				}
			}
			switch kind {
			case "p":
				t.PrimaryKey = &PrimaryKey{Name: name, Columns: cols}
			case "f":
				t.ForeignKeys = append(t.ForeignKeys, &ForeignKey{
					Name: name, Columns: cols, RefSchema: refSchema, RefTable: refTable, RefColumns: refCols,
					OnDelete: fkAction(onDelete), OnUpdate: fkAction(onUpdate), Validated: validated,
				})
			case "c":
				t.Checks = append(t.Checks, &Check{Name: name, Definition: def, Validated: validated})
			}
			return nil
		}},
		{"indexes", indexesQuery, func(rows pgx.Rows) error {
			var oid uint32
			ix := &Index{}
			if err := rows.Scan(&oid, &ix.Name, &ix.Columns, &ix.Unique, &ix.Primary, &ix.Valid, &ix.Method, &ix.Predicate); err != nil {
				return err
			}
			if t := byOID[oid]; t != nil {
				t.Indexes = append(t.Indexes, ix)
			}
			return nil
		}},
		{"triggers", triggersQuery, func(rows pgx.Rows) error {
			var oid uint32
			var tgtype int16
			var enabled string
			tr := &Trigger{}
			if err := rows.Scan(&oid, &tr.Name, &tgtype, &enabled, &tr.Function, &tr.Definition); err != nil {
				return err
			}
			decodeTriggerType(tr, tgtype)
			tr.Enabled = map[string]string{"O": "origin", "A": "always", "R": "replica", "D": "disabled"}[enabled]
			if t := byOID[oid]; t != nil {
				t.Triggers = append(t.Triggers, tr)
			}
			return nil
		}},
		{"views", viewsQuery, func(rows pgx.Rows) error {
			v := &View{}
			var kind string
			var options, readSchemas, readNames []string
			if err := rows.Scan(&v.Schema, &v.Name, &kind, &options, &readSchemas, &readNames, &v.SelectGrantees); err != nil {
				return err
			}
			v.Materialized = kind == "m"
			for _, o := range options {
				if k, val, ok := strings.Cut(o, "="); ok && k == "security_invoker" {
					switch strings.ToLower(val) {
					case "true", "on", "yes", "1":
						v.SecurityInvoker = true
					}
				}
			}
			for i := range readNames {
				v.Reads = append(v.Reads, RelationRef{Schema: readSchemas[i], Name: readNames[i]})
			}
			if len(v.SelectGrantees) == 0 {
				v.SelectGrantees = nil
			}
			db.Views = append(db.Views, v)
			return nil
		}},
		{"policies", policiesQuery, func(rows pgx.Rows) error {
			var oid uint32
			var cmd string
			p := &Policy{}
			if err := rows.Scan(&oid, &p.Name, &p.Permissive, &cmd, &p.Roles, &p.Using, &p.Check); err != nil {
				return err
			}
			p.Command = map[string]string{"r": "select", "a": "insert", "w": "update", "d": "delete", "*": "all"}[cmd]
			if t := byOID[oid]; t != nil {
				t.Policies = append(t.Policies, p)
			}
			return nil
		}},
	}
	for _, step := range steps {
		rows, err := q.Query(ctx, step.sql, schemas)
		if err != nil {
			return nil, fmt.Errorf("introspect: querying %s: %w", step.what, err)
		}
		for rows.Next() && err == nil {
			err = step.scan(rows)
		}
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
		if err != nil {
			return nil, fmt.Errorf("introspect: reading %s: %w", step.what, err)
		}
	}
	sortModel(db)
	return db, nil
}

// columnNames names the columns of t numbered attnums, in order: the key
// columns of a constraint, read as numbers because naming them in the
// query cost a lookup per column per constraint. Columns are read before
// constraints, so t has them all.
func columnNames(t *Table, attnums []int16) ([]string, error) {
	out := make([]string, len(attnums))
	for i, n := range attnums {
		for _, c := range t.Columns {
			if c.Attnum == int(n) {
				out[i] = c.Name
				break
			}
		}
		if out[i] == "" {
			return nil, fmt.Errorf("no column number %d", n)
		}
	}
	return out, nil
}

// QueryCount is the number of catalog round trips Inspect makes, whatever
// the number of tables: the schema check, one query per object kind, and
// two to pin and restore the search_path.
const QueryCount = 10

// pinSearchPath sets the session's search_path to pg_catalog and returns
// a function that restores the previous value.
func pinSearchPath(ctx context.Context, q Querier) (func(), error) {
	// JIT off too, in the same round trip: the planner prices the catalog
	// queries of a large schema high enough to compile them, which took
	// more time than the queries themselves (220 of 290 ms for the row
	// estimates at 5,000 tables).
	var oldPath, oldJIT string
	rows, err := q.Query(ctx, `SELECT pg_catalog.current_setting('search_path'), pg_catalog.current_setting('jit'),
       pg_catalog.set_config('search_path', 'pg_catalog', false), pg_catalog.set_config('jit', 'off', false)`)
	if err != nil {
		return nil, fmt.Errorf("introspect: setting search_path: %w", err)
	}
	for rows.Next() {
		var set1, set2 string
		if err := rows.Scan(&oldPath, &oldJIT, &set1, &set2); err != nil {
			rows.Close()
			return nil, fmt.Errorf("introspect: setting search_path: %w", err)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("introspect: setting search_path: %w", err)
	}
	return func() {
		// The caller's context may be done (an interrupted inspect); the
		// session is then being torn down and nothing needs restoring.
		if r, err := q.Query(ctx, `SELECT pg_catalog.set_config('search_path', $1, false), pg_catalog.set_config('jit', $2, false)`, oldPath, oldJIT); err == nil {
			r.Close()
		}
	}, nil
}

// InspectStats reads row estimates for the tables of db, and their sizes
// when sizes is set, in one query. Sizes cost a stat of every file of every
// relation on the server (pg_total_relation_size), most of the query's time
// on a large catalog: only `inspect --stats` prints them.
func InspectStats(ctx context.Context, q Querier, db *Database, sizes bool) (*Stats, error) {
	restore, err := pinSearchPath(ctx, q)
	if err != nil {
		return nil, err
	}
	defer restore()
	rows, err := q.Query(ctx, statsQuery, db.Schemas, sizes)
	if err != nil {
		return nil, fmt.Errorf("introspect: querying row estimates: %w", err)
	}
	byName := make(map[[2]string]*Table, len(db.Tables))
	for _, t := range db.Tables {
		byName[[2]string{t.Schema, t.Name}] = t
	}
	st := &Stats{Tables: map[string]TableStats{}}
	var schema, name string
	var ts TableStats
	_, err = pgx.ForEachRow(rows, []any{&schema, &name, &ts.RowEstimate, &ts.TotalBytes}, func() error {
		if t := byName[[2]string{schema, name}]; t != nil {
			st.Tables[t.QualifiedName()] = ts
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("introspect: reading row estimates: %w", err)
	}
	return st, nil
}

func checkSchemas(ctx context.Context, q Querier, schemas []string) error {
	rows, err := q.Query(ctx, `SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname = ANY($1)`, schemas)
	if err != nil {
		return fmt.Errorf("introspect: querying schemas: %w", err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("introspect: querying schemas: %w", err)
	}
	var missing []string
	for _, s := range schemas {
		if !slices.Contains(found, s) {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		return &SchemaNotFoundError{Schemas: missing}
	}
	return nil
}

func fkAction(c string) string {
	switch c {
	case "a":
		return "no action"
	case "r":
		return "restrict"
	case "c":
		return "cascade"
	case "n":
		return "set null"
	case "d":
		return "set default"
	}
	return c
}

// decodeTriggerType unpacks pg_trigger.tgtype (see catalog/pg_trigger.h).
func decodeTriggerType(t *Trigger, tgtype int16) {
	const (
		row      = 1 << 0
		before   = 1 << 1
		insert   = 1 << 2
		del      = 1 << 3
		update   = 1 << 4
		truncate = 1 << 5
		instead  = 1 << 6
	)
	t.ForEachRow = tgtype&row != 0
	switch {
	case tgtype&instead != 0:
		t.Timing = "INSTEAD OF"
	case tgtype&before != 0:
		t.Timing = "BEFORE"
	default:
		t.Timing = "AFTER"
	}
	t.Events = []string{}
	for _, e := range []struct {
		bit  int16
		name string
	}{{insert, "INSERT"}, {update, "UPDATE"}, {del, "DELETE"}, {truncate, "TRUNCATE"}} {
		if tgtype&e.bit != 0 {
			t.Events = append(t.Events, e.name)
		}
	}
}

// sortModel orders everything bytewise in Go, so the output does not depend
// on the database's collation.
func sortModel(db *Database) {
	sort.Slice(db.Tables, func(i, j int) bool {
		a, b := db.Tables[i], db.Tables[j]
		if a.Schema != b.Schema {
			return a.Schema < b.Schema
		}
		return a.Name < b.Name
	})
	for _, t := range db.Tables {
		sort.Slice(t.Partitions, func(i, j int) bool {
			a, b := t.Partitions[i], t.Partitions[j]
			if a.Schema != b.Schema {
				return a.Schema < b.Schema
			}
			return a.Name < b.Name
		})
		sort.Slice(t.Columns, func(i, j int) bool { return t.Columns[i].Attnum < t.Columns[j].Attnum })
		sort.Slice(t.ForeignKeys, func(i, j int) bool { return t.ForeignKeys[i].Name < t.ForeignKeys[j].Name })
		sort.Slice(t.Checks, func(i, j int) bool { return t.Checks[i].Name < t.Checks[j].Name })
		sort.Slice(t.Indexes, func(i, j int) bool { return t.Indexes[i].Name < t.Indexes[j].Name })
		sort.Slice(t.Triggers, func(i, j int) bool { return t.Triggers[i].Name < t.Triggers[j].Name })
		sort.Slice(t.Policies, func(i, j int) bool { return t.Policies[i].Name < t.Policies[j].Name })
		for _, p := range t.Policies {
			sort.Strings(p.Roles)
		}
	}
}

func sortedUnique(in []string) []string {
	out := append([]string(nil), in...)
	sort.Strings(out)
	j := 0
	for i, s := range out {
		if i == 0 || s != out[j-1] {
			out[j] = s
			j++
		}
	}
	return out[:j]
}

// The catalog queries. Each takes the schema list as $1 and covers every
// table at once. Tables are ordinary ('r') and partitioned ('p') relations
// that are not themselves partitions and not owned by an extension.
const (
	tableFilter = `
	c.relkind IN ('r', 'p')
	AND NOT c.relispartition
	AND n.nspname = ANY($1)
	AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
	                WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')`

	// Partitions are walked once for all roots through pg_inherits (a
	// per-table pg_partition_tree call costs more than the rest of the
	// query at thousands of tables).
	tablesQuery = `
WITH RECURSIVE tree(root, rel, level) AS (
  SELECT i.inhparent, i.inhrelid, 1
  FROM pg_catalog.pg_inherits i
  JOIN pg_catalog.pg_class p ON p.oid = i.inhparent
  WHERE p.relkind = 'p' AND NOT p.relispartition
  UNION ALL
  SELECT t.root, i.inhrelid, t.level + 1
  FROM tree t JOIN pg_catalog.pg_inherits i ON i.inhparent = t.rel
), parts AS (
  SELECT t.root,
         array_agg(pn.nspname::text ORDER BY pn.nspname, pc.relname) AS schemas,
         array_agg(pc.relname::text ORDER BY pn.nspname, pc.relname) AS names,
         array_agg(t.level ORDER BY pn.nspname, pc.relname) AS levels,
         array_agg(pc.relkind <> 'p' ORDER BY pn.nspname, pc.relname) AS leaves
  FROM tree t
  JOIN pg_catalog.pg_class pc ON pc.oid = t.rel
  JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace
  GROUP BY t.root
)
SELECT c.oid, n.nspname, c.relname, c.relkind::text,
       CASE WHEN c.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) ELSE '' END,
       COALESCE(p.schemas, '{}'), COALESCE(p.names, '{}'), COALESCE(p.levels, '{}'), COALESCE(p.leaves, '{}'),
       c.relrowsecurity, c.relforcerowsecurity
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN parts p ON p.root = c.oid
WHERE` + tableFilter + `
ORDER BY n.nspname, c.relname`

	// A default cannot name a column, so it is deparsed without its table
	// (relid 0): with the table, pg_get_expr opens every table that has a
	// default. A generated column's expression names columns and needs it.
	columnsQuery = `
SELECT a.attrelid, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull,
       COALESCE(pg_catalog.pg_get_expr(ad.adbin, CASE WHEN a.attgenerated = '' THEN 0 ELSE ad.adrelid END), ''),
       a.attidentity::text, a.attgenerated::text, a.attnum
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
WHERE a.attnum > 0 AND NOT a.attisdropped AND` + tableFilter + `
ORDER BY a.attrelid, a.attnum`

	// conparentid <> 0 marks constraints cloned onto partitions (and the
	// extra rows PostgreSQL keeps for FKs that reference partitioned
	// tables); the top-level constraint describes them all. The key's own
	// columns come as numbers, in key order, named by columnNames; the
	// referenced columns (of a table that may not be read) are unnested
	// WITH ORDINALITY so composite keys stay paired by position.
	//
	// Only a CHECK's text is deparsed: keys and foreign keys are read from
	// their column arrays, and deparsing every one of them was most of
	// this read at thousands of tables.
	constraintsQuery = `
SELECT k.conrelid, k.conname, k.contype::text,
       k.conkey,
       COALESCE(rn.nspname, ''), COALESCE(rc.relname, ''),
       CASE WHEN k.contype = 'f' THEN ARRAY(SELECT a.attname FROM unnest(k.confkey) WITH ORDINALITY u(attnum, i)
             JOIN pg_catalog.pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.attnum
             ORDER BY u.i) END,
       k.confdeltype::text, k.confupdtype::text, k.convalidated,
       CASE WHEN k.contype = 'c' THEN pg_catalog.pg_get_constraintdef(k.oid, true) ELSE '' END
FROM pg_catalog.pg_constraint k
JOIN pg_catalog.pg_class c ON c.oid = k.conrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_class rc ON rc.oid = k.confrelid
LEFT JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace
WHERE k.contype IN ('p', 'f', 'c') AND k.conparentid = 0 AND` + tableFilter + `
ORDER BY k.conrelid, k.conname`

	// A key column is named from pg_attribute, quoted as pg_get_indexdef
	// would: pg_get_indexdef is called only for an expression key. Its
	// first call per index fills the backend's catalog caches (index,
	// operator classes, attributes), which made this the slowest read of
	// a cold connection at thousands of tables; the full CREATE INDEX text
	// is not read for the same reason (nothing in warden used it).
	indexesQuery = `
SELECT i.indrelid, ic.relname,
       ARRAY(SELECT CASE WHEN i.indkey[k - 1] = 0 THEN pg_catalog.pg_get_indexdef(i.indexrelid, k, true)
                         ELSE pg_catalog.quote_ident(a.attname) END
             FROM generate_series(1, i.indnkeyatts) k
             LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[k - 1]
             ORDER BY k),
       i.indisunique, i.indisprimary, i.indisvalid, am.amname,
       COALESCE(pg_catalog.pg_get_expr(i.indpred, i.indrelid, true), '')
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
JOIN pg_catalog.pg_am am ON am.oid = ic.relam
JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE` + tableFilter + `
ORDER BY i.indrelid, ic.relname`

	// tgparentid <> 0 marks triggers cloned onto partitions.
	triggersQuery = `
SELECT t.tgrelid, t.tgname, t.tgtype, t.tgenabled::text,
       fn.nspname || '.' || f.proname,
       pg_catalog.pg_get_triggerdef(t.oid, true)
FROM pg_catalog.pg_trigger t
JOIN pg_catalog.pg_proc f ON f.oid = t.tgfoid
JOIN pg_catalog.pg_namespace fn ON fn.oid = f.pronamespace
JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE NOT t.tgisinternal AND t.tgparentid = 0 AND` + tableFilter + `
ORDER BY t.tgrelid, t.tgname`

	// A view's query is a rewrite rule; what it reads are the relations
	// the rule depends on (its own oid aside).
	viewsQuery = `
SELECT n.nspname, c.relname, c.relkind::text, COALESCE(c.reloptions, '{}'),
       ARRAY(SELECT rn.nspname::text FROM (SELECT DISTINCT d.refobjid FROM pg_catalog.pg_rewrite r
               JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = r.oid
                AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid <> c.oid
              WHERE r.ev_class = c.oid) x
             JOIN pg_catalog.pg_class rc ON rc.oid = x.refobjid JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace
             ORDER BY rn.nspname, rc.relname),
       ARRAY(SELECT rc.relname::text FROM (SELECT DISTINCT d.refobjid FROM pg_catalog.pg_rewrite r
               JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = r.oid
                AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid <> c.oid
              WHERE r.ev_class = c.oid) x
             JOIN pg_catalog.pg_class rc ON rc.oid = x.refobjid JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace
             ORDER BY rn.nspname, rc.relname),
       ARRAY(SELECT DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(a.grantee)::text END
             FROM pg_catalog.aclexplode(c.relacl) a
             WHERE a.privilege_type = 'SELECT' AND a.grantee <> c.relowner ORDER BY 1)
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('v', 'm') AND n.nspname = ANY($1)
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                  WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY n.nspname, c.relname`

	policiesQuery = `
SELECT p.polrelid, p.polname, p.polpermissive, p.polcmd::text,
       ARRAY(SELECT CASE WHEN r = 0 THEN 'public' ELSE pg_catalog.pg_get_userbyid(r)::text END
             FROM unnest(p.polroles) r ORDER BY 1),
       COALESCE(pg_catalog.pg_get_expr(p.polqual, p.polrelid, true), ''),
       COALESCE(pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid, true), '')
FROM pg_catalog.pg_policy p
JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE` + tableFilter + `
ORDER BY p.polrelid, p.polname`

	// A partitioned table holds no rows itself: sum its partitions.
	statsQuery = `
SELECT n.nspname, c.relname,
       CASE WHEN c.relkind = 'p' THEN
         COALESCE((SELECT sum(GREATEST(pc.reltuples, 0))::bigint FROM pg_catalog.pg_partition_tree(c.oid) pt
                   JOIN pg_catalog.pg_class pc ON pc.oid = pt.relid WHERE pc.relkind = 'r'), 0)
       ELSE c.reltuples::bigint END,
       CASE WHEN NOT $2::boolean THEN 0::bigint
            WHEN c.relkind = 'p' THEN
         COALESCE((SELECT sum(pg_catalog.pg_total_relation_size(pt.relid))::bigint
                   FROM pg_catalog.pg_partition_tree(c.oid) pt WHERE pt.isleaf), 0)
       ELSE pg_catalog.pg_total_relation_size(c.oid) END
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE` + tableFilter + `
ORDER BY n.nspname, c.relname`
)
