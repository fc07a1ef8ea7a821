package main

import (
	"github.com/urfave/cli/v2"

	"github.com/warden-sql/warden/generator/classify"
)

func planCommand() *cli.Command {
	return &cli.Command{
		Name:      "plan",
		Usage:     "show how every table is classified, and why",
		UsageText: "warden plan [--json] [--database-url URL | --snapshot FILE]",
		Description: "Classifies every table of the policy's schemas: its class (tenant root, direct, inherited,\n" +
			"excluded, global, already scoped, unclassified), the reason (the ownership column, or the\n" +
			"foreign-key path hop by hop), the row estimate and the critical flag, then a summary in the\n" +
			"terms of a migration report. Exit 1 when a table is unclassified or ambiguous, naming what the policy must say.",
		Flags:  []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print the plan as JSON"}},
		Action: runPlan,
	}
}

func runPlan(c *cli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	pol, s, err := loadSchema(c, true)
	if err != nil {
		return err
	}
	plan := classify.Classify(s.DB, pol)
	// A policy that names tables the database lacks is reported alone: a
	// classification against the wrong policy would only mislead.
	if err := plan.ConfigErr(); err != nil {
		return err
	}
	if c.Bool("json") {
		data, err := classify.PlanJSON(plan, s.Stats)
		if err != nil {
			return err
		}
		if _, err := c.App.Writer.Write(data); err != nil {
			return err
		}
	} else if err := classify.WritePlanText(c.App.Writer, plan, s.Stats); err != nil {
		return err
	}
	return planVerdict(plan)
}

// planVerdict maps a plan's problems to an exit: a policy that names
// tables the database does not have is a configuration error (2); tables
// still waiting for a decision (unclassified, ambiguous) are a verdict (1).
func planVerdict(plan *classify.Plan) error {
	if err := plan.ConfigErr(); err != nil {
		return err
	}
	if err := plan.Err(); err != nil {
		return failed(err)
	}
	return nil
}
