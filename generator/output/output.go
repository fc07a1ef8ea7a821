// Package output renders everything `warden generate` writes, in memory:
// the migration files in the policy's format, the rollback files, the Go
// verification tests and REPORT.md. Nothing is written here; the caller
// hands the set to fileset.Write (all or nothing) or fileset.Check (drift).
package output

import (
	"fmt"

	"github.com/warden-sql/warden/generator/classify"
	"github.com/warden-sql/warden/generator/migrations"
	"github.com/warden-sql/warden/generator/report"
	"github.com/warden-sql/warden/generator/verify"
	"github.com/warden-sql/warden/internal/fileset"
	"github.com/warden-sql/warden/introspect"
)

// Render classifies db against the plan's policy and renders every output
// file. It fails, naming the tables, when the plan has problems
// (unclassified or ambiguous tables): nothing is generated from a plan that
// has not been decided.
func Render(plan *classify.Plan, db *introspect.Database) (fileset.Set, error) {
	if err := plan.Err(); err != nil {
		return nil, &PlanError{Plan: plan}
	}
	steps, err := migrations.Steps(plan, db)
	if err != nil {
		return nil, err
	}
	pol := plan.Policy
	laid, err := migrations.Layout(steps, pol.Migrations.Format, pol.Migrations.Version)
	if err != nil {
		return nil, err
	}
	files := laid.Set
	for _, extra := range renderers {
		out, err := extra(plan)
		if err != nil {
			return nil, err
		}
		for path, data := range out {
			if _, dup := files[path]; dup {
				return nil, fmt.Errorf("output: %s rendered twice", path)
			}
			files[path] = data
		}
	}
	return files, nil
}

// PlanError is returned when the plan has problems; exit code 1 territory
// (a verdict about the schema and policy, not a malfunction).
type PlanError struct{ Plan *classify.Plan }

func (e *PlanError) Error() string { return e.Plan.Err().Error() }

// renderers produce the files beside the migrations, each at fixed paths
// relative to the output directory.
var renderers = []func(*classify.Plan) (map[string][]byte, error){
	func(p *classify.Plan) (map[string][]byte, error) {
		data, err := report.Render(p)
		return map[string][]byte{"REPORT.md": data}, err
	},
	func(p *classify.Plan) (map[string][]byte, error) {
		return verify.Files(p, verify.DefaultPackage)
	},
}
