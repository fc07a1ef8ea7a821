package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/warden-sql/warden/generator/starter"
	"github.com/warden-sql/warden/internal/dbsource"
	"github.com/warden-sql/warden/introspect"
)

func initCommand() *cli.Command {
	return &cli.Command{
		Name:      "init",
		Usage:     "draft a starter policy.yaml from the schema",
		UsageText: "warden init [--policy FILE] [--schema NAME ...] [--schema-file FILE ...] [--database-url URL | --snapshot FILE]",
		Description: "Reads the schema (a database, a snapshot, or --schema-file SQL files loaded into a throwaway\n" +
			"server) and writes a policy for review: the tenant, users and membership tables it recognises,\n" +
			"the ownership columns in use, and a decision for every table with a comment saying why. What it\n" +
			"cannot decide is marked OPEN and left so that warden plan fails on it until answered.\n" +
			"Never overwrites a file: exit 2 when the policy file exists.",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "schema", Usage: "govern schema `NAME` (repeatable; default public)"},
			&cli.StringSliceFlag{Name: "schema-file", Usage: "load SQL `FILE` into the throwaway server (repeatable, in order); recorded as schema_files"},
			&cli.StringFlag{Name: "version", Usage: "migrations.version, 14 `DIGITS` (default: today at 000000)"},
		},
		Action: runInit,
	}
}

func runInit(c *cli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	path := globalString(c, flagPolicy)
	if path == "" {
		path = "policy.yaml"
	}
	if _, err := os.Stat(path); err == nil {
		return usageErrorf("%s already exists: warden init never overwrites a policy (remove it, or give --policy another path)", path)
	} else if !errors.Is(err, os.ErrNotExist) {
		return usageErrorf("%s: %v", path, err)
	}
	if err := checkOutputDir("policy", path); err != nil {
		return err
	}
	schemas := c.StringSlice("schema")
	if len(schemas) == 0 {
		schemas = []string{"public"}
	}
	version := c.String("version")
	if version == "" {
		version = time.Now().UTC().Format("20060102") + "000000"
	}
	var files []string
	for _, f := range c.StringSlice("schema-file") {
		abs, err := filepath.Abs(f)
		if err != nil {
			return usageErrorf("--schema-file %s: %v", f, err)
		}
		files = append(files, abs)
	}
	opts := dbsource.Options{URL: globalString(c, flagDatabaseURL), Snapshot: globalString(c, flagSnapshot), SchemaFiles: files}
	if opts.Kind() == dbsource.KindEmbedded && len(files) == 0 {
		return usageErrorf("no schema to read: give --database-url (or DATABASE_URL, the PG* variables), --snapshot, or --schema-file FILE for each SQL file of the schema")
	}
	db, err := readForInit(c, opts, schemas)
	if err != nil {
		return err
	}
	// schema_files are relative to the policy's directory.
	var rel []string
	for _, f := range files {
		r, err := filepath.Rel(filepath.Dir(mustAbs(path)), f)
		if err != nil {
			r = f
		}
		rel = append(rel, filepath.ToSlash(r))
	}
	res, err := starter.Draft(db, starter.Options{Schemas: schemas, SchemaFiles: rel, Version: version, PolicyPath: mustAbs(path)})
	if err != nil {
		return failed(err)
	}
	if err := writeFileAtomic(path, res.YAML); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "wrote %s: %d open question(s) to answer; then run warden plan --policy %s\n", path, len(res.Open), path)
	for _, q := range res.Open {
		fmt.Fprintf(c.App.Writer, "  OPEN %s\n", q)
	}
	return nil
}

// readForInit reads the governed schemas and, when the database has it,
// Supabase's auth schema, where the users table lives.
func readForInit(c *cli.Context, opts dbsource.Options, schemas []string) (*introspect.Database, error) {
	opts.Schemas = append(append([]string(nil), schemas...), "auth")
	s, err := dbsource.Load(c.Context, opts)
	var missing *dbsource.SchemaError
	if errors.As(err, &missing) {
		opts.Schemas = schemas
		s, err = dbsource.Load(c.Context, opts)
	}
	if err != nil {
		return nil, err
	}
	return s.DB, nil
}

func mustAbs(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return abs
}
