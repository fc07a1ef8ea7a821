package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/warden-sql/warden/generator/classify"
	"github.com/warden-sql/warden/internal/dbsource"
	"github.com/warden-sql/warden/introspect"
	"github.com/warden-sql/warden/operate/status"
	"github.com/warden-sql/warden/policy"
)

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "measure how far a live database is through the migration, per table and phase",
		UsageText: "warden status [--json] [--estimate] [--require-complete] [--format FORMAT] [--database-url URL]",
		Description: "Reads the live database (--database-url, DATABASE_URL or the PG* variables; never a throwaway\n" +
			"server, which would have nothing migrated) and reports, for every table the policy scopes, the\n" +
			"tenant column, its NULL count, the FK (validated?), the index (valid?), the fill trigger, NOT NULL,\n" +
			"the immutability trigger and row-level security; then the OVERALL PROGRESS table: each\n" +
			"phase's status, tables done, what blocks it and the next file or command to run.\n\n" +
			"Read-only: one READ ONLY transaction with a short lock_timeout. NULL counts are exact (a scan of\n" +
			"each table); --estimate reads them from the planner statistics instead, for huge tables.\n" +
			"--require-complete exits 1 unless every phase is done: a deploy gate.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print the report as JSON"},
			&cli.BoolFlag{Name: "estimate", Usage: "estimate NULL counts from pg_stats instead of counting"},
			&cli.BoolFlag{Name: "require-complete", Usage: "exit 1 unless every phase is done"},
			formatFlag(),
		},
		Action: runStatus,
	}
}

func runStatus(c *cli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	pol, err := loadLivePolicy(c)
	if err != nil {
		return err
	}
	conn, db, plan, err := livePlan(c, pol)
	if err != nil {
		return err
	}
	defer conn.Close(c.Context)
	r, err := status.Measure(c.Context, conn.Conn, plan, status.Options{Estimate: c.Bool("estimate"), DB: db, Paths: stepPaths(c, pol, plan, db)})
	if err != nil {
		return err
	}
	if c.Bool("json") {
		data, err := r.JSON()
		if err != nil {
			return err
		}
		if _, err := c.App.Writer.Write(data); err != nil {
			return err
		}
	} else if err := r.WriteText(c.App.Writer); err != nil {
		return err
	}
	if c.Bool("require-complete") && !r.Complete {
		return failed(fmt.Errorf("the migration is not complete: %d/%d phases done; next: %s", r.PhasesDone, len(r.Phases), r.Next))
	}
	return nil
}

// loadLivePolicy loads the policy, with --format (as given to generate)
// replacing its migrations.format, so next actions name the files the user
// generated.
func loadLivePolicy(c *cli.Context) (*policy.Policy, error) {
	format := c.String("format")
	if format != "" && !slices.Contains(formats, format) {
		return nil, usageErrorf("--format %q: choose one of %s", format, strings.Join(formats, ", "))
	}
	pol, err := loadPolicy(c)
	if err != nil {
		return nil, err
	}
	if format != "" {
		pol.Migrations.Format = format
	}
	return pol, nil
}

// liveConn connects to the database the global flags name, refusing the
// embedded default and snapshots: status and backfill operate on the
// database being migrated, and a throwaway server loaded with the schema
// files would always look untouched.
func liveConn(c *cli.Context, pol *policy.Policy) (*dbsource.Conn, error) {
	opts := sourceOptions(c, pol)
	switch opts.Kind() {
	case dbsource.KindEmbedded:
		return nil, usageErrorf("%s needs a live database: set --database-url, DATABASE_URL or the PG* variables (warden does not start a throwaway server for it: nothing would be migrated there)", c.Command.Name)
	case dbsource.KindSnapshot:
		return nil, usageErrorf("%s needs a live database, not a snapshot (%s): drop --snapshot and set --database-url, DATABASE_URL or the PG* variables", c.Command.Name, opts.Snapshot)
	}
	return dbsource.Connect(c.Context, opts)
}

// livePlan connects and classifies the live database against the policy,
// the plan the migration files were generated from. Unclassified or
// ambiguous tables are a verdict (exit 1), as for generate.
func livePlan(c *cli.Context, pol *policy.Policy) (*dbsource.Conn, *introspect.Database, *classify.Plan, error) {
	conn, err := liveConn(c, pol)
	if err != nil {
		return nil, nil, nil, err
	}
	db, err := introspect.Inspect(c.Context, conn.Conn, pol.Schemas)
	if err != nil {
		conn.Close(c.Context)
		if c.Context.Err() != nil {
			return nil, nil, nil, c.Context.Err()
		}
		return nil, nil, nil, fmt.Errorf("reading the schema of %s: %w", conn.Source, err)
	}
	plan := classify.Classify(db, pol)
	for _, w := range plan.Warnings {
		fmt.Fprintf(c.App.ErrWriter, "warden: warning: %s\n", w)
	}
	if err := planVerdict(plan); err != nil {
		conn.Close(c.Context)
		return nil, nil, nil, err
	}
	return conn, db, plan, nil
}
