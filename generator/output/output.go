// Package output renders everything `warden generate` writes, in memory:
// the migration files in the policy's format, the rollback files, the Go
// verification tests and REPORT.md. Nothing is written here; the caller
// hands the set to fileset.Write (all or nothing) or fileset.Check (drift).
package output

import (
	"fmt"
	"io/fs"

	"github.com/warden-sql/warden/generator/classify"
	"github.com/warden-sql/warden/generator/history"
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
//
// With no history (a first generation), versions count up from the
// policy's base version; see RenderHistory for later ones.
func Render(plan *classify.Plan, db *introspect.Database) (fileset.Set, error) {
	return RenderHistory(plan, db, History{})
}

// History is what an output directory already holds: the ledger of the
// migrations emitted into it, and a way to read its recorded files.
type History struct {
	// Prior is the ledger on disk; nil when there is none yet.
	Prior *history.Ledger
	// Read reads a file of the output directory (the recorded files that
	// are kept as they are).
	Read history.ReadFile
	// Rewrite says the recorded migrations were never applied: the history
	// is laid out again (history.Options.Rewrite).
	Rewrite bool
	// Floor is the highest version of the app's own migrations in the
	// runner's folder (history.Options.Floor).
	Floor int64
}

// RenderHistory is Render against the history of an output directory:
// recorded migrations keep their versions and bytes, new ones are appended
// (generator/history).
func RenderHistory(plan *classify.Plan, db *introspect.Database, h History) (fileset.Set, error) {
	if err := plan.Err(); err != nil {
		return nil, &PlanError{Plan: plan}
	}
	// The files beside the migrations depend on the plan alone: they are
	// rendered while the migrations are, on the CPUs those leave idle in
	// their serial parts (history, layout).
	extras := make(chan extraFiles, 1)
	go func() { extras <- renderExtras(plan) }()
	steps, err := migrations.Steps(plan, db)
	if err != nil {
		<-extras
		return nil, err
	}
	pol := plan.Policy
	read := h.Read
	if read == nil {
		read = func(string) ([]byte, error) { return nil, fs.ErrNotExist }
	}
	laid, _, err := history.Reconcile(steps, pol.Migrations.Format, pol.Migrations.Version, h.Prior, read, history.Options{Rewrite: h.Rewrite, Floor: h.Floor, Layout: pol.Migrations.Layout})
	x := <-extras
	if err != nil {
		return nil, err
	}
	if x.err != nil {
		return nil, x.err
	}
	files := laid.Set
	for _, out := range x.sets {
		for path, data := range out {
			if _, dup := files[path]; dup {
				return nil, fmt.Errorf("output: %s rendered twice", path)
			}
			files[path] = data
		}
	}
	return files, nil
}

// extraFiles is what the renderers produced, in their order, or the first
// renderer's error.
type extraFiles struct {
	sets []map[string][]byte
	err  error
}

func renderExtras(plan *classify.Plan) extraFiles {
	var x extraFiles
	for _, extra := range renderers {
		out, err := extra(plan)
		if err != nil {
			return extraFiles{err: err}
		}
		x.sets = append(x.sets, out)
	}
	return x
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
