package bench

import (
	"context"
	"fmt"
	"os"

	"github.com/jackc/pgx/v5"

	"github.com/warden-sql/warden/exampleapp/exampledata"
	"github.com/warden-sql/warden/generator/classify"
	"github.com/warden-sql/warden/generator/migrations"
	"github.com/warden-sql/warden/introspect"
	"github.com/warden-sql/warden/policy"
)

// LoadExample loads the policy's schema files into an empty database and
// fills it with the example data (exampleapp/exampledata), rows in its
// largest tables.
func LoadExample(ctx context.Context, conn *pgx.Conn, pol *policy.Policy, rows int) error {
	for _, f := range pol.SchemaFiles {
		sql, err := os.ReadFile(f.Path)
		if err != nil {
			return err
		}
		if _, err := conn.Exec(ctx, string(sql)); err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
	}
	return exampledata.Fill(ctx, conn, exampledata.Options{RowsPerTable: rows})
}

// Migration is warden's plan and generated steps for a live database.
type Migration struct {
	DB    *introspect.Database
	Plan  *classify.Plan
	Steps []migrations.Step
}

// PlanMigration introspects the database, classifies it against pol and
// renders the steps, as warden generate does.
func PlanMigration(ctx context.Context, conn *pgx.Conn, pol *policy.Policy) (*Migration, error) {
	db, err := introspect.Inspect(ctx, conn, pol.Schemas)
	if err != nil {
		return nil, err
	}
	plan := classify.Classify(db, pol)
	if err := plan.Err(); err != nil {
		return nil, err
	}
	steps, err := migrations.Steps(plan, db)
	if err != nil {
		return nil, err
	}
	return &Migration{DB: db, Plan: plan, Steps: steps}, nil
}
