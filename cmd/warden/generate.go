package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/warden-sql/warden/generator/classify"
	"github.com/warden-sql/warden/generator/history"
	"github.com/warden-sql/warden/generator/migrations"
	"github.com/warden-sql/warden/generator/output"
	"github.com/warden-sql/warden/internal/fileset"
	"github.com/warden-sql/warden/introspect"
	"github.com/warden-sql/warden/policy"
)

const flagOut = "out"

func outFlag() cli.Flag {
	return &cli.StringFlag{Name: flagOut, Usage: "output `DIR` (default: generated/ beside the policy file)"}
}

func formatFlag() cli.Flag {
	return &cli.StringFlag{Name: "format", Usage: "migration `FORMAT`: supabase, goose, golang-migrate or psql (default: the policy's migrations.format)"}
}

var formats = migrations.RunnerNames()

// outDir is --out, else generated/ in the policy file's directory, so the
// command works from any working directory.
func outDir(c *cli.Context, pol *policy.Policy) string {
	if d := c.String(flagOut); d != "" {
		return d
	}
	return filepath.Join(pol.Dir, "generated")
}

func generateCommand() *cli.Command {
	return &cli.Command{
		Name:      "generate",
		Usage:     "write the migrations, verification tests and REPORT.md",
		UsageText: "warden generate [--out DIR] [--database-url URL | --snapshot FILE]",
		Description: "Reads the schema, classifies every table against the policy and writes the generated files,\n" +
			"all or nothing: every file is rendered in memory first, and the output directory changes only\n" +
			"when all of them succeeded. Files warden generated before and no longer generates are removed;\n" +
			"files that are not warden's are never touched. Exit 1 when tables are unclassified or ambiguous.",
		Flags: []cli.Flag{outFlag(), formatFlag(),
			&cli.BoolFlag{Name: "rewrite", Usage: "rewrite recorded migrations that changed or are no longer planned, instead of refusing: only when they were never applied anywhere"},
		},
		Action: runGenerate,
	}
}

// renderAll loads the policy and schema and renders every output file.
func renderAll(c *cli.Context) (*policy.Policy, fileset.Set, error) {
	format := c.String("format")
	if format != "" && !slices.Contains(formats, format) {
		return nil, nil, usageErrorf("--format %q: choose one of %s", format, strings.Join(formats, ", "))
	}
	pol, s, err := loadSchema(c, false)
	if err != nil {
		return nil, nil, err
	}
	if format != "" {
		pol.Migrations.Format = format
	}
	plan := classify.Classify(s.DB, pol)
	for _, w := range plan.Warnings {
		fmt.Fprintf(c.App.ErrWriter, "warden: warning: %s\n", w)
	}
	if err := planVerdict(plan); err != nil {
		return nil, nil, err
	}
	h, err := readHistory(outDir(c, pol))
	if err != nil {
		return nil, nil, err
	}
	h.Rewrite = c.Bool("rewrite")
	h.Floor = ownMigrationsFloor(outDir(c, pol), pol.Migrations.Format)
	files, err := output.RenderHistory(plan, s.DB, h)
	var he *history.Error
	if errors.As(err, &he) {
		return nil, nil, failed(err)
	}
	if err != nil {
		return nil, nil, err
	}
	return pol, files, nil
}

// stepPaths maps each step to its file as the output directory's recorded
// history lays it out, so status and backfill name the files that are
// really there after appends; nil (the first generation's layout) when the
// directory has no ledger or does not match the schema any more.
func stepPaths(c *cli.Context, pol *policy.Policy, plan *classify.Plan, db *introspect.Database) map[string]string {
	h, err := readHistory(outDir(c, pol))
	if err != nil || h.Prior == nil {
		return nil
	}
	if f := pol.Migrations.Format; f != "" && f != h.Prior.Format {
		// Files of another format than the recorded one were asked for
		// (--format): name them as a first generation lays them out.
		return nil
	}
	steps, err := migrations.Steps(plan, db)
	if err != nil {
		return nil
	}
	paths := map[string]string{}
	if laid, _, err := history.Reconcile(steps, pol.Migrations.Format, pol.Migrations.Version, h.Prior, h.Read, history.Options{Layout: pol.Migrations.Layout}); err == nil {
		paths = laid.Up
	} else {
		// The history cannot be kept as it is (generate says why): name
		// the recorded files below, and a step not recorded by its name,
		// never a file of a layout the history does not use.
		for _, s := range steps {
			paths[s.Name] = s.Name
		}
	}
	// A step re-emitted at a later version is first applied by its
	// earliest file: that is the one to name in "apply X first", since a
	// runner applies everything before it too.
	earliest := map[string]int64{}
	for _, e := range h.Prior.Entries {
		for _, m := range e.Steps() {
			if v, ok := earliest[m]; (!ok || e.Version < v) && e.Up.Path != "" {
				earliest[m] = e.Version
				paths[m] = e.Up.Path
			}
		}
	}
	return paths
}

// ownMigrationsFloor is the highest version among the migrations in the
// runner's folder of dir that warden did not write (their names lack
// "_warden_"), 0 for none: the app's own migrations, after which appended
// versions must go.
func ownMigrationsFloor(dir, format string) int64 {
	r, ok := migrations.RunnerOf(format)
	if !ok || r.Name == policy.FormatPsql {
		return 0 // psql/ holds warden's files only
	}
	entries, err := os.ReadDir(filepath.Join(dir, filepath.FromSlash(r.Dir)))
	if err != nil {
		return 0
	}
	var floor int64
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.Contains(name, "_warden_") {
			continue
		}
		digits, _, ok := strings.Cut(name, "_")
		if v, err := strconv.ParseInt(digits, 10, 64); ok && err == nil {
			floor = max(floor, v)
		}
	}
	return floor
}

// readHistory reads the ledger of the output directory dir, if it has one,
// and gives the renderer read access to the files it records.
func readHistory(dir string) (output.History, error) {
	read := func(p string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, filepath.FromSlash(p))) }
	data, err := read(history.FileName)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		// No history yet; an output path that is not a directory is
		// reported by the write or the check, in their words.
		return output.History{Read: read}, nil
	}
	if err != nil {
		return output.History{}, err
	}
	prior, err := history.Parse(data)
	if err != nil {
		return output.History{}, failed(fmt.Errorf("%s: %w", dir, err))
	}
	return output.History{Prior: prior, Read: read}, nil
}

func runGenerate(c *cli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	pol, files, err := renderAll(c)
	if err != nil {
		return err
	}
	dir := outDir(c, pol)
	res, err := fileset.Write(dir, files)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "generated %d files in %s: %d written, %d unchanged, %d removed\n",
		len(files), dir, len(res.Written), len(res.Unchanged), len(res.Removed))
	return nil
}

func checkCommand() *cli.Command {
	return &cli.Command{
		Name:      "check",
		Usage:     "fail when the generated files on disk are not current",
		UsageText: "warden check [--out DIR] [--json] [--database-url URL | --snapshot FILE]",
		Description: "Regenerates in memory and compares with the files on disk: changed files (with a unified\n" +
			"diff), missing files and stale files (warden's, no longer generated) are reported.\n" +
			"Exit 0 when current, 1 on any drift or unclassified table. CI runs it.",
		Flags: []cli.Flag{
			outFlag(),
			formatFlag(),
			&cli.BoolFlag{Name: "json", Usage: "print the drift report as JSON"},
			&cli.BoolFlag{Name: "stat", Usage: "name the drifted files only (changed, missing, stale), no diffs"},
		},
		Action: runCheck,
	}
}

func runCheck(c *cli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	pol, files, err := renderAll(c)
	if err != nil {
		return err
	}
	dir := outDir(c, pol)
	drift, err := fileset.Check(dir, files)
	if err != nil {
		return err
	}
	fix := fixCommand(c)
	if !c.Bool("json") && len(drift.Missing) == len(files) && len(drift.Changed) == 0 && len(drift.Stale) == 0 {
		// Nothing generated there at all: a wrong --out or a first run.
		// One line says so better than a diff of every file.
		return failed(fmt.Errorf("%s holds none of the %d generated files (a wrong --out, or never generated?); run %s", dir, len(files), fix))
	}
	if c.Bool("json") {
		data, err := json.MarshalIndent(drift, "", "  ")
		if err != nil {
			return err
		}
		if _, err := c.App.Writer.Write(append(data, '\n')); err != nil {
			return err
		}
	} else if drift.Empty() {
		fmt.Fprintf(c.App.Writer, "OK: %s is current (%d files)\n", dir, len(files))
	} else if c.Bool("stat") {
		for _, group := range []struct {
			what  string
			files []fileset.FileDrift
		}{{"changed", drift.Changed}, {"missing", drift.Missing}, {"stale", drift.Stale}} {
			for _, f := range group.files {
				fmt.Fprintf(c.App.Writer, "%s\t%s\n", group.what, f.Path)
			}
		}
	} else if err := drift.Format(c.App.Writer); err != nil {
		return err
	}
	if !drift.Empty() {
		return failed(fmt.Errorf("%s is not current: %d changed, %d missing, %d stale; run %s and commit the result",
			dir, len(drift.Changed), len(drift.Missing), len(drift.Stale), fix))
	}
	return nil
}

// fixCommand is the generate command that brings the output current, with
// the flags this run was given, so it can be pasted as it is.
func fixCommand(c *cli.Context) string {
	cmd := "warden generate"
	for _, name := range []string{flagPolicy, flagOut, "format", flagSnapshot} {
		if v := globalString(c, name); v != "" && (name != flagPolicy || v != "policy.yaml") {
			cmd += " --" + name + " " + shellQuote(v)
		}
	}
	return "`" + cmd + "`"
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
