package main

import (
	"context"
	"fmt"
	"os"

	"github.com/warden-sql/warden/bench"
)

// B4Result is warden check's wall time on the example app.
type B4Result struct {
	Check Command `json:"check"`
	// Output is the last run's verdict line, so a drifting tree is visible
	// beside its timing.
	Output string `json:"output"`
}

// b4 times `warden check` from the repository root with no database: the
// embedded default (initdb, start, load schema/*.sql, introspect, stop)
// plus classification, rendering and the comparison with generated/.
// The in-memory generation benchmark is the Go benchmark BenchmarkGenerate
// (go test -run '^$' -bench . -benchmem ./bench).
func (e *env) b4(ctx context.Context) error {
	fmt.Println("== B4 warden check on the example app (embedded default)")
	res := B4Result{Check: Command{Name: "warden check"}}
	for i := 0; i < 3; i++ {
		r, stderr, err := timed(ctx, e.cfg.repo, e.warden, "check")
		if err != nil {
			return err
		}
		res.Check.Runs = append(res.Check.Runs, r)
		res.Output = stderr
	}
	res.Check.finish()
	var rows [][]string
	for i, r := range res.Check.Runs {
		rows = append(rows, []string{fmt.Sprint(i + 1), Secs(r.Wall), mib(r.MaxRSS), fmt.Sprint(r.Exit)})
	}
	bench.Table(os.Stdout, e.cfg.md, []string{"run", "wall", "max RSS", "exit"}, rows)
	fmt.Printf("median %s", Secs(res.Check.Median))
	if res.Check.Runs[0].Exit != 0 {
		fmt.Printf(" (exit %d: generated/ is not current in this tree: %s)", res.Check.Runs[0].Exit, firstLine(res.Output))
	}
	fmt.Print("\n\n")
	return e.save("b4.json", res)
}

func firstLine(s string) string {
	for i, c := range s {
		if c == '\n' {
			return s[:i]
		}
	}
	return s
}
