// Package tiers writes down the layers of warden's data path and which way
// imports may run between them:
//
//	catalog → model → classify → render → files → operate
//
// A package may import packages of its own tier or of a lower one, never of
// a higher one, so the data path reads one way. TestTiers checks every
// package of the module against this table with `go list`; a new package
// must be given a tier here before the test passes.
package tiers

// Tier is a layer of the module, lowest first.
type Tier int

// The tiers, lowest first.
const (
	// Helpers are small packages with one job and no knowledge of the
	// migration: quoting, the generated file set, the throwaway server.
	Helpers Tier = iota
	// Inputs read what warden starts from: the catalog (introspect), the
	// policy, the database source, and the example application.
	Inputs
	// Plan classifies every table against the policy.
	Plan
	// Renderers turn the plan into files: SQL migrations, Go verification
	// tests, REPORT.md, and the assembler of all three.
	Renderers
	// Operations act on a live database with the plan: status, backfill.
	Operations
	// Commands are the CLI.
	Commands
	// Outside are benchmarks, reliability suites and generated output:
	// they may import anything and nothing may import them.
	Outside
)

// Of maps each package of the module (path relative to the module) to its
// tier.
var Of = map[string]Tier{
	"internal/ident":      Helpers,
	"internal/fileset":    Helpers,
	"internal/pgtemp":     Helpers,
	"internal/pgtest":     Helpers,
	"internal/citustest":  Helpers,
	"internal/golden":     Helpers,
	"internal/runnertest": Helpers,
	"internal/verifyrun":  Helpers,
	"internal/tiers":      Helpers,
	"templates":           Helpers,

	"introspect":             Inputs,
	"policy":                 Inputs,
	"internal/dbsource":      Inputs,
	"exampleapp/exampledata": Inputs,
	"exampleapp/exampledb":   Inputs,

	"generator/classify": Plan,

	"generator/migrations": Renderers,
	"generator/history":    Renderers,
	"generator/report":     Renderers,
	"generator/verify":     Renderers,
	"generator/verify/kit": Renderers,
	"generator/output":     Renderers,
	"generator/starter":    Renderers,

	"operate/status":            Operations,
	"operate/status/statustest": Operations,
	"operate/backfill":          Operations,

	"cmd/warden": Commands,

	"bench":                 Outside,
	"bench/cmd/wardenbench": Outside,
	"reliability":           Outside,
	"reliability/citus":     Outside,
	"generated/verify":      Outside,
}
