// Package exampledb builds test databases holding an application's schema
// (a policy's schema_files) and, optionally, exampledata rows: the one
// place tests get "the example app in a fresh database".
//
// The schema and data go into a pgtest template database once per test
// package run and set of inputs; every test then gets its own copy, which
// costs a file copy instead of a reload.
package exampledb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/warden-sql/warden/exampleapp/exampledata"
	"github.com/warden-sql/warden/internal/pgtest"
	"github.com/warden-sql/warden/policy"
)

// Template returns the name of a template database holding pol's schema
// files, loaded in order as one simple-protocol batch each (as psql -f and
// the embedded default load them), then the rows data describes (none when
// data is nil) and ANALYZE.
func Template(t testing.TB, pol *policy.Policy, data *exampledata.Options) string {
	t.Helper()
	h := sha256.New()
	for _, f := range pol.SchemaFiles {
		fmt.Fprintf(h, "%s\x00", f.Path)
	}
	if data != nil {
		fmt.Fprintf(h, "%+v", *data)
	}
	name := "example_" + hex.EncodeToString(h.Sum(nil))[:12]
	return pgtest.Template(t, name, func(ctx context.Context, conn *pgx.Conn) error {
		return Load(ctx, conn, pol, data)
	})
}

// Load loads pol's schema files into the database of conn, in order, as
// one simple-protocol batch each, then the rows data describes (none when
// data is nil) and ANALYZE: what Template puts in its template, for a
// database the test made itself (a Citus coordinator).
func Load(ctx context.Context, conn *pgx.Conn, pol *policy.Policy, data *exampledata.Options) error {
	for _, f := range pol.SchemaFiles {
		sql, err := os.ReadFile(f.Path)
		if err != nil {
			return err
		}
		if _, err := conn.Exec(ctx, string(sql)); err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
	}
	if data == nil {
		return nil
	}
	if err := exampledata.Fill(ctx, conn, *data); err != nil {
		return err
	}
	_, err := conn.Exec(ctx, "ANALYZE")
	return err
}

// New returns the URL of a fresh copy of Template(t, pol, data), dropped
// when the test ends.
func New(t testing.TB, pol *policy.Policy, data *exampledata.Options) string {
	t.Helper()
	return pgtest.NewDBFrom(t, Template(t, pol, data))
}

// Rows is shorthand for exampledata options with rows rows in the largest
// tables and the other sizes at their defaults.
func Rows(rows int) *exampledata.Options {
	return &exampledata.Options{RowsPerTable: rows}
}
