package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/warden-sql/warden/internal/dbsource"
	"github.com/warden-sql/warden/introspect"
)

func inspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "print the schema model (JSON) as read from the database",
		UsageText: "warden inspect [--out FILE] [--stats] [--schema NAME]... [--database-url URL | --snapshot FILE]",
		Description: "Reads the tables of the policy's schemas (or --schema) and prints the model as JSON:\n" +
			"the same schema always gives the same bytes, so the output can be committed and diffed.\n" +
			"With no database given, a throwaway PostgreSQL is loaded with the policy's schema_files.\n" +
			"The file written by --out can be read back by other commands with --snapshot FILE.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Usage: "write the JSON to `FILE` (atomically) instead of standard output"},
			&cli.BoolFlag{Name: "stats", Usage: `add row estimates and sizes, under a separate top-level "stats" key`},
			&cli.StringSliceFlag{Name: "schema", Usage: "inspect schema `NAME` instead of the policy's schemas (repeatable)"},
		},
		Action: runInspect,
	}
}

func runInspect(c *cli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	out := c.String("out")
	if out != "" {
		if err := checkOutputDir("out", out); err != nil {
			return err
		}
	}
	schemas := c.StringSlice("schema")
	opts := sourceOptions(c, nil)
	// The policy supplies the schemas and the embedded default's schema
	// files; with --schema and a database or snapshot it is not needed, so
	// inspect works on any database without a policy.yaml.
	if len(schemas) == 0 || opts.Kind() == dbsource.KindEmbedded {
		pol, err := loadPolicy(c)
		if err != nil {
			return err
		}
		opts = sourceOptions(c, pol)
	}
	if len(schemas) > 0 {
		opts.Schemas = schemas
	}
	opts.Stats = c.Bool("stats")
	opts.Sizes = opts.Stats
	s, err := dbsource.Load(c.Context, opts)
	if err != nil {
		return err
	}
	if opts.Stats && s.Stats == nil {
		fmt.Fprintf(c.App.ErrWriter, "warden: note: %s has no stats; printing the model without them\n", s.Source)
	}
	// A snapshot file records the schema files it was read from, so that
	// reading it later can tell when they changed; the model printed on
	// stdout is the model alone, whatever its source.
	var files []introspect.SchemaFileSum
	if out != "" {
		files = s.SchemaFiles
	}
	data, err := introspect.MarshalSnapshot(s.DB, s.Stats, files...)
	if err != nil {
		return err
	}
	if out == "" {
		_, err = c.App.Writer.Write(data)
		return err
	}
	if err := writeFileAtomic(out, data); err != nil {
		return err
	}
	fmt.Fprintf(c.App.ErrWriter, "wrote %s: %d tables of %s, from %s\n", out, len(s.DB.Tables), strings.Join(s.DB.Schemas, ", "), s.Source)
	return nil
}
