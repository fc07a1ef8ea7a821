package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/warden-sql/warden/internal/dbsource"
	"github.com/warden-sql/warden/policy"
)

// commands lists warden's commands in the order `warden --help` shows them.
//
// To add a command, write its constructor in its own file (e.g. plan.go:
// func planCommand() *cli.Command) and list it below. Constructors must
// build fresh values on every call: run builds a new App per invocation
// (tests call run many times, some in parallel) and urfave/cli flags carry
// parse state. The global flags (--policy, --database-url, --snapshot) are
// added to every command by newApp, so do not declare them again; read them
// with globalString, or let loadSchema do it. Return failed(err) for a
// verdict (drift, failed verification, unclassified tables: exit 1); any
// other error exits 2.
func commands() []*cli.Command {
	return []*cli.Command{
		inspectCommand(),
		// ---- register further commands here, in this order: ----
		planCommand(),
		generateCommand(),
		checkCommand(),
		statusCommand(),
		backfillCommand(),
		initCommand(),
		versionCommand(),
	}
}

// Exit codes, as documented in README.md ("Exit codes").
const (
	exitOK          = 0
	exitFailed      = 1   // drift, failed verification, unclassified tables
	exitUsage       = 2   // bad usage or config, connection errors, missing binaries, any other error
	exitInterrupted = 130 // SIGINT/SIGTERM (128 + SIGINT, as shells report it)
)

// exitError attaches an exit code to an error. A nil err exits with code
// silently, for commands that have already printed what went wrong.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// failed marks err as a verdict rather than a malfunction: exit code 1.
// check uses it for drift, generate and check for unclassified tables.
func failed(err error) error { return &exitError{code: exitFailed, err: err} }

// usageErrorf reports bad usage: exit code 2.
func usageErrorf(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// exitCode maps an error returned by a command to the process exit code.
// Only an explicit failed(...) gives 1: a verdict must never be confused
// with warden being unable to do its job, which is 2 whatever the cause
// (policy errors, connection errors, missing binaries, I/O).
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var e *exitError
	if errors.As(err, &e) {
		return e.code
	}
	if errors.Is(err, context.Canceled) {
		return exitInterrupted
	}
	return exitUsage
}

// run is the whole CLI, callable in-process: args exclude the program name.
// It never exits the process; main does, with the returned code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := newApp(stdin, stdout, stderr)
	err := app.RunContext(ctx, append([]string{app.Name}, args...))
	if err == nil {
		return exitOK
	}
	if ctx.Err() != nil {
		// Whatever the command returned, the cause is the signal.
		fmt.Fprintln(stderr, "warden: interrupted")
		return exitInterrupted
	}
	printError(stderr, err)
	return exitCode(err)
}

// printError prints err as "warden: <message>". Multi-line messages (a
// server log tail from pgtemp) keep the first line as the message and
// indent the rest beneath it.
func printError(w io.Writer, err error) {
	msg := strings.TrimSpace(err.Error())
	if msg == "" {
		return
	}
	msg = strings.TrimPrefix(msg, "warden: ")
	lines := strings.Split(msg, "\n")
	fmt.Fprintf(w, "warden: %s\n", lines[0])
	for _, l := range lines[1:] {
		fmt.Fprintf(w, "  %s\n", l)
	}
}

// Names of the global flags.
const (
	flagPolicy      = "policy"
	flagDatabaseURL = "database-url"
	flagSnapshot    = "snapshot"
)

// globalFlags are accepted before the command (root) and after it (copies
// added to every command). Only the root copies carry defaults and
// environment variables, so that globalString can tell an explicit value
// after the command from the fallback.
func globalFlags(root bool) []cli.Flag {
	policyFlag := &cli.StringFlag{Name: flagPolicy, Usage: "policy `FILE` (default policy.yaml)"}
	urlFlag := &cli.StringFlag{Name: flagDatabaseURL, Usage: "PostgreSQL connection `URL` (default $DATABASE_URL, then the PG* variables, then a throwaway server loaded with the policy's schema_files)"}
	snapFlag := &cli.StringFlag{Name: flagSnapshot, Usage: "read the schema model from snapshot `FILE` (written by inspect --out) instead of a database"}
	if root {
		policyFlag.Usage = "policy `FILE`"
		policyFlag.Value = "policy.yaml"
		urlFlag.Usage = "PostgreSQL connection `URL` (else the PG* variables, else a throwaway server loaded with the policy's schema_files)"
		urlFlag.EnvVars = []string{"DATABASE_URL"}
	}
	return []cli.Flag{policyFlag, urlFlag, snapFlag}
}

// globalString returns the value of a global flag: given after the
// command, else before it, else from the environment or default.
func globalString(c *cli.Context, name string) string {
	var root *cli.Context
	for _, x := range c.Lineage() {
		if x.Command == nil {
			continue // the bare context urfave/cli wraps around ours
		}
		root = x
		for _, n := range x.LocalFlagNames() {
			if n == name {
				return x.String(name)
			}
		}
	}
	if root == nil {
		return ""
	}
	return root.String(name)
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:  "warden",
		Usage: "move a PostgreSQL app from user_id ownership to org_id ownership, with reviewed, generated migrations",
		Description: "warden reads the schema (from --database-url, DATABASE_URL, the PG* variables or, with none,\n" +
			"a throwaway PostgreSQL loaded with the policy's schema_files), classifies every table against\n" +
			"policy.yaml and generates the migrations and their verification tests.\n\n" +
			"Exit codes: 0 ok, 1 drift / failed verification / unclassified tables, 2 bad usage, config,\n" +
			"connection or missing PostgreSQL binaries, 130 interrupted.",
		Flags:       append(globalFlags(true), &cli.BoolFlag{Name: "version", Usage: "print warden's version and exit"}),
		Commands:    commands(),
		Reader:      stdin,
		Writer:      stdout,
		ErrWriter:   stderr,
		HideVersion: true,
		// The default handler calls os.Exit for cli.ExitCoder errors; run
		// maps errors to exit codes itself and must return to its caller.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError:   onUsageError,
		Action: func(c *cli.Context) error {
			if c.Bool("version") {
				fmt.Fprintln(c.App.Writer, versionString())
				return nil
			}
			if c.NArg() > 0 {
				var names []string
				for _, cmd := range c.App.Commands {
					names = append(names, cmd.Name)
				}
				if s := suggest(c.Args().First(), names); s != "" {
					return usageErrorf("unknown command %q: did you mean %q? (run warden --help)", c.Args().First(), s)
				}
				return usageErrorf("unknown command %q (run warden --help)", c.Args().First())
			}
			_ = cli.ShowAppHelp(c)
			return usageErrorf("no command given")
		},
	}
	for _, cmd := range app.Commands {
		prepare(cmd)
	}
	return app
}

// prepare gives every command the global flags it does not define itself
// and the usage-error handler, so that bad flags exit 2 with one line
// instead of printing help to stdout.
func prepare(cmd *cli.Command) {
	if cmd.OnUsageError == nil {
		cmd.OnUsageError = onUsageError
	}
	for _, f := range globalFlags(false) {
		if hasFlag(cmd, f.Names()[0]) {
			continue
		}
		if liveOnly[cmd.Name] {
			// These commands refuse a snapshot and the throwaway server
			// (they need a database that is being migrated): their help
			// offers neither. --snapshot stays accepted, for its error.
			switch sf := f.(*cli.StringFlag); sf.Name {
			case flagSnapshot:
				sf.Hidden = true
			case flagDatabaseURL:
				sf.Usage = "`URL` of the live database (default $DATABASE_URL, then the PG* variables; never a throwaway server)"
			}
		}
		cmd.Flags = append(cmd.Flags, f)
	}
	for _, sub := range cmd.Subcommands {
		prepare(sub)
	}
}

// liveOnly are the commands that work on a live database only.
var liveOnly = map[string]bool{"status": true, "backfill": true}

func hasFlag(cmd *cli.Command, name string) bool {
	for _, f := range cmd.Flags {
		for _, n := range f.Names() {
			if n == name {
				return true
			}
		}
	}
	return false
}

func onUsageError(c *cli.Context, err error, _ bool) error {
	help := "warden --help"
	if c.Command != nil && c.Command.Name != "" {
		help = "warden " + c.Command.Name + " --help"
	}
	return usageErrorf("%v (see %s)", err, help)
}

// noArgs rejects positional arguments for commands that take none.
func noArgs(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageErrorf("%s: unexpected argument %q (see warden %s --help)", c.Command.Name, c.Args().First(), c.Command.Name)
	}
	return nil
}

// loadPolicy loads the policy file named by --policy. Its errors are
// *policy.Error values carrying file:line:col.
func loadPolicy(c *cli.Context) (*policy.Policy, error) {
	return policy.Load(globalString(c, flagPolicy))
}

// sourceOptions builds the dbsource options the global flags select. pol
// supplies the schemas and, for the embedded default, the schema files; it
// may be nil when the caller sets Schemas itself.
func sourceOptions(c *cli.Context, pol *policy.Policy) dbsource.Options {
	o := dbsource.Options{
		URL:      globalString(c, flagDatabaseURL),
		Snapshot: globalString(c, flagSnapshot),
	}
	if pol != nil {
		o.Schemas = pol.Schemas
		for _, f := range pol.SchemaFiles {
			o.SchemaFiles = append(o.SchemaFiles, f.Path)
			o.SchemaFileNames = append(o.SchemaFileNames, f.Name)
		}
	}
	return o
}

// loadSchema loads the policy and reads the schema it governs from the
// source the global flags select (snapshot, URL, PG* variables or the
// embedded default), with row estimates when stats is set. plan, generate
// and check start here; everything it starts is stopped before it returns.
func loadSchema(c *cli.Context, stats bool) (*policy.Policy, *dbsource.Schema, error) {
	pol, err := loadPolicy(c)
	if err != nil {
		return nil, nil, err
	}
	opts := sourceOptions(c, pol)
	opts.Stats = stats
	s, err := dbsource.Load(c.Context, opts)
	var stale *dbsource.StaleSnapshotError
	if errors.As(err, &stale) {
		// A verdict, like drift: the committed snapshot is not current.
		return nil, nil, failed(err)
	}
	if err != nil {
		return nil, nil, err
	}
	return pol, s, nil
}

// checkOutputDir fails early, before any database work, when the directory
// that is to receive path does not exist.
func checkOutputDir(flag, path string) error {
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return usageErrorf("--%s %s: directory %s does not exist", flag, path, dir)
	case err != nil:
		return usageErrorf("--%s %s: %v", flag, path, err)
	case !st.IsDir():
		return usageErrorf("--%s %s: %s is not a directory", flag, path, dir)
	}
	return nil
}

// writeFileAtomic writes data to path through a temporary file in the same
// directory and a rename, so that readers (and an interrupted run) see
// either the old file or the complete new one, never half of it.
func writeFileAtomic(path string, data []byte) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
