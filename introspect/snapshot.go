package introspect

// The snapshot file format: the model as JSON, the one thing warden reads
// and writes about a schema without a database. This file owns it.

import (
	"encoding/json"
	"errors"
	"fmt"
)

// MarshalIndent returns the canonical JSON snapshot: two-space indented,
// newline terminated. The same Database always gives the same bytes.
func (d *Database) MarshalIndent() ([]byte, error) {
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// SchemaFileSum is one schema file a snapshot was read from (through the
// embedded server), by its name as the policy's schema_files gives it and
// the SHA-256 of its bytes then: a snapshot whose files changed since is
// stale, and the commands reading it say so.
type SchemaFileSum struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
}

// MarshalSnapshot is the snapshot file `warden inspect` writes: the model
// exactly as MarshalIndent gives it, plus, only when stats are given, a
// "stats" key beside it, and, only when the model was read from schema
// files, a "schema_files" key with their sums. Keeping the volatile numbers
// under their own key (and out by default) means a committed snapshot
// changes only when the schema does; ReadSnapshot reads the file either
// way.
func MarshalSnapshot(db *Database, stats *Stats, files ...SchemaFileSum) ([]byte, error) {
	if stats == nil && len(files) == 0 {
		return db.MarshalIndent()
	}
	b, err := json.MarshalIndent(struct {
		*Database
		Stats       *Stats          `json:"stats,omitempty"`
		SchemaFiles []SchemaFileSum `json:"schema_files,omitempty"`
	}{db, stats, files}, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// ReadSnapshot decodes a snapshot written by MarshalSnapshot (or
// MarshalIndent), so that generation can run without a database. Errors say
// what is wrong in the file's terms (a byte offset, a field), not in Go's.
func ReadSnapshot(data []byte) (*Database, error) {
	db, _, err := ReadSnapshotStats(data)
	return db, err
}

// ReadSnapshotStats is ReadSnapshot that also returns the stats the file
// holds (nil when it was written without them).
func ReadSnapshotStats(data []byte) (*Database, *Stats, error) {
	db, stats, _, err := ReadSnapshotFull(data)
	return db, stats, err
}

// ReadSnapshotFull is ReadSnapshotStats that also returns the schema files
// the snapshot was read from, with their sums then (none for a snapshot
// of a database).
func ReadSnapshotFull(data []byte) (*Database, *Stats, []SchemaFileSum, error) {
	var d struct {
		Database
		Stats       *Stats          `json:"stats"`
		SchemaFiles []SchemaFileSum `json:"schema_files"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, nil, nil, fmt.Errorf("reading snapshot: %s; it should be the JSON written by warden inspect --out FILE", snapshotReason(err))
	}
	if d.Tables == nil && d.Schemas == nil {
		return nil, nil, nil, fmt.Errorf("reading snapshot: no schemas and no tables; it should be the JSON written by warden inspect --out FILE")
	}
	return &d.Database, d.Stats, d.SchemaFiles, nil
}

// snapshotReason describes a JSON decoding error without Go type names.
func snapshotReason(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("not valid JSON at byte %d (%v)", syntax.Offset, syntax)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return fmt.Sprintf("the file holds a JSON %s where an object with \"schemas\" and \"tables\" belongs", typ.Value)
		}
		return fmt.Sprintf("field %q holds a JSON %s, which is not what inspect writes there", typ.Field, typ.Value)
	case err.Error() == "unexpected end of JSON input":
		return "the file is empty or cut short (unexpected end of JSON input)"
	}
	return err.Error()
}
