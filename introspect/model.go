// Package introspect reads a PostgreSQL schema from the system catalog into
// a small, database-neutral model that serialises to JSON.
//
// It issues one query per object kind for all tables at once (tables,
// columns, constraints, indexes, triggers, policies), so the number of
// catalog round trips does not grow with the table count, and sorts
// everything so the same schema always yields the same bytes.
//
// Volatile facts (row estimates, sizes) are kept out of the model, in Stats,
// so that a snapshot a user commits changes only when the schema does.
package introspect

import (
	"github.com/warden-sql/warden/internal/ident"
)

// Database is the structural model of the schemas that were inspected.
type Database struct {
	// Schemas are the schema names that were inspected, sorted.
	Schemas []string `json:"schemas"`
	// Tables are the ordinary and partitioned tables of those schemas,
	// sorted by schema then name. Child partitions are folded into their
	// root (see Table.Partitions); views, materialized views, foreign tables
	// and extension-owned tables are not included.
	Tables []*Table `json:"tables"`
	// Views are the views and materialized views of those schemas, sorted
	// by schema then name (extension-owned ones left out).
	Views []*View `json:"views,omitempty"`
}

// View is a view or a materialized view: what it reads, and who may read it.
type View struct {
	Schema string `json:"schema"`
	Name   string `json:"name"`
	// Materialized is true for a materialized view (relkind 'm').
	Materialized bool `json:"materialized,omitempty"`
	// SecurityInvoker is true for a view with security_invoker set: it
	// reads its tables with the caller's rights (and row-level security),
	// not its owner's.
	SecurityInvoker bool `json:"security_invoker,omitempty"`
	// Reads are the relations its query reads directly (tables and other
	// views), sorted.
	Reads []RelationRef `json:"reads,omitempty"`
	// SelectGrantees are the roles granted SELECT on it ("PUBLIC" for
	// everyone), sorted; the owner's own privilege is left out.
	SelectGrantees []string `json:"select_grantees,omitempty"`
}

// RelationRef names a relation.
type RelationRef struct {
	Schema string `json:"schema"`
	Name   string `json:"name"`
}

// QualifiedName is the view's display name, as Table's.
func (v *View) QualifiedName() string {
	return (&Table{Schema: v.Schema, Name: v.Name}).QualifiedName()
}

// Table is an ordinary or partitioned table.
type Table struct {
	Schema string `json:"schema"`
	Name   string `json:"name"`
	// Partitioned is true for a partitioned (relkind 'p') table.
	Partitioned bool `json:"partitioned,omitempty"`
	// PartitionKey is the partition key definition, e.g. "RANGE (created_at)".
	PartitionKey string `json:"partition_key,omitempty"`
	// Partitions lists every descendant partition, sorted by schema and
	// name. They are not tables of their own in the model.
	Partitions []*Partition `json:"partitions,omitempty"`

	Columns     []*Column     `json:"columns"`
	PrimaryKey  *PrimaryKey   `json:"primary_key,omitempty"`
	ForeignKeys []*ForeignKey `json:"foreign_keys,omitempty"`
	Checks      []*Check      `json:"checks,omitempty"`
	Indexes     []*Index      `json:"indexes,omitempty"`
	Triggers    []*Trigger    `json:"triggers,omitempty"`

	RLSEnabled bool      `json:"rls_enabled,omitempty"`
	RLSForced  bool      `json:"rls_forced,omitempty"`
	Policies   []*Policy `json:"policies,omitempty"`
}

// Partition is a descendant partition of a partitioned table.
type Partition struct {
	Schema string `json:"schema"`
	Name   string `json:"name"`
	// Level is 1 for a direct partition of the root, 2 below that, ...
	Level int `json:"level"`
	// Leaf is false for a partition that is itself partitioned.
	Leaf bool `json:"leaf"`
}

// Column is a table column.
type Column struct {
	Name string `json:"name"`
	// Type is the type as format_type prints it ("uuid", "character varying(20)").
	Type    string `json:"type"`
	NotNull bool   `json:"not_null,omitempty"`
	Default string `json:"default,omitempty"`
	// Identity is "always" or "by default" for identity columns.
	Identity string `json:"identity,omitempty"`
	// Generated is true for a stored generated column.
	Generated bool `json:"generated,omitempty"`
	// Attnum is the column's position in the catalog (gaps after drops).
	Attnum int `json:"attnum"`
}

// PrimaryKey is a table's primary key constraint.
type PrimaryKey struct {
	Name    string   `json:"name"`
	Columns []string `json:"columns"`
}

// ForeignKey is a foreign key constraint. Columns[i] references RefColumns[i].
type ForeignKey struct {
	Name       string   `json:"name"`
	Columns    []string `json:"columns"`
	RefSchema  string   `json:"ref_schema"`
	RefTable   string   `json:"ref_table"`
	RefColumns []string `json:"ref_columns"`
	// OnDelete and OnUpdate are "no action", "restrict", "cascade",
	// "set null" or "set default".
	OnDelete string `json:"on_delete"`
	OnUpdate string `json:"on_update"`
	// Validated is false for a constraint added NOT VALID and not yet validated.
	Validated bool `json:"validated"`
}

// Check is a CHECK constraint.
type Check struct {
	Name       string `json:"name"`
	Definition string `json:"definition"`
	Validated  bool   `json:"validated"`
}

// Index is an index of a table (including the ones behind PRIMARY KEY and
// UNIQUE constraints).
type Index struct {
	Name string `json:"name"`
	// Columns are the key columns or expressions, in order.
	Columns []string `json:"columns"`
	Unique  bool     `json:"unique,omitempty"`
	Primary bool     `json:"primary,omitempty"`
	// Valid is false for an index left INVALID by a failed CREATE INDEX
	// CONCURRENTLY (or a partitioned index not yet attached everywhere).
	Valid     bool   `json:"valid"`
	Method    string `json:"method"`
	Predicate string `json:"predicate,omitempty"`
}

// Trigger is a user-defined trigger (internal and cloned partition triggers
// are left out).
type Trigger struct {
	Name string `json:"name"`
	// Timing is "BEFORE", "AFTER" or "INSTEAD OF".
	Timing string `json:"timing"`
	// Events are among INSERT, UPDATE, DELETE, TRUNCATE, in that order.
	Events []string `json:"events"`
	// ForEachRow is false for statement-level triggers.
	ForEachRow bool `json:"for_each_row"`
	// Function is the qualified trigger function.
	Function string `json:"function"`
	// Enabled is "origin" (the default), "always", "replica" or "disabled":
	// "always" fires even under session_replication_role = replica.
	Enabled    string `json:"enabled"`
	Definition string `json:"definition"`
}

// Policy is a row-level security policy.
type Policy struct {
	Name       string `json:"name"`
	Permissive bool   `json:"permissive"`
	// Command is "all", "select", "insert", "update" or "delete".
	Command string   `json:"command"`
	Roles   []string `json:"roles"`
	Using   string   `json:"using,omitempty"`
	Check   string   `json:"check,omitempty"`
}

// QualifiedName returns the table's schema-qualified name, quoted where
// needed, for messages and reports.
func (t *Table) QualifiedName() string { return ident.Display(t.Schema, t.Name) }

// Column returns the column called name, or nil.
func (t *Table) Column(name string) *Column {
	for _, c := range t.Columns {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Table returns the table schema.name, or nil.
func (d *Database) Table(schema, name string) *Table {
	for _, t := range d.Tables {
		if t.Schema == schema && t.Name == name {
			return t
		}
	}
	return nil
}

// Stats are the volatile facts about tables: they change with the data, not
// the schema, so they live outside Database.
type Stats struct {
	// Tables maps a qualified name (as Table.QualifiedName) to its stats.
	Tables map[string]TableStats `json:"tables"`
}

// TableStats are planner estimates, not exact counts.
type TableStats struct {
	// RowEstimate is pg_class.reltuples (summed over partitions); -1 when
	// the table was never analysed.
	RowEstimate int64 `json:"row_estimate"`
	// TotalBytes is pg_total_relation_size (summed over partitions).
	TotalBytes int64 `json:"total_bytes"`
}
