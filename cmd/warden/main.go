// Command warden reads a PostgreSQL schema, classifies its tables against
// policy.yaml and generates the migrations that move an application from
// user-owned rows (user_id) to org-owned rows (org_id). See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// Ctrl-C and SIGTERM cancel the context instead of killing the process,
	// so that a throwaway PostgreSQL started for the embedded default is
	// always stopped and its files removed on the way out.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, restore the default behaviour: a second
		// Ctrl-C kills warden at once (the server follows via Pdeathsig).
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
