// Package bench holds warden's benchmark harness (issue 8): a synthetic
// catalog of any size (SQL, policy and in-memory model from one
// description), a fixed-arrival-rate write load with latency counted from
// each transaction's scheduled start, latency statistics and a hand-written
// SVG latency chart.
//
// The benchmarks themselves run from the main package
// bench/cmd/wardenbench (bench/run.sh runs them all) and from the Go
// benchmarks in this package (go test -run '^$' -bench . ./bench), never as
// part of go test ./...: the tests here are small and quick, and check that
// the harness measures what it says (the in-memory model is the catalog the
// CLI reads, the statistics and the chart are right).
//
// Results and how to reproduce them: docs/BENCHMARKS.md.
package bench
