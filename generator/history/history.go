// Package history keeps the migration history stable across regenerations.
//
// Migration runners (the Supabase CLI, goose, golang-migrate) track what
// they applied by version, and never look at a file again once applied. So
// a regeneration after a schema or policy change must keep every version,
// name and byte warden emitted before, and only append. The ledger,
// warden.sum beside the output, records every migration warden emitted: its
// version, its step, its files and their checksums, and a seal over all of
// it so a hand edit of the ledger is seen.
//
// Reconcile lays the current steps out against the ledger:
//   - a recorded step keeps its version and must render the same bytes;
//   - a new step gets a version after the highest recorded, in step order
//     (the dependency order);
//   - a recorded step whose bytes would change is appended under a new
//     version when its kind can be applied again over the old one
//     (migrations.StepKind.Reemit: CREATE OR REPLACE functions and
//     triggers, read-only checks); any other change, and a step that is no
//     longer planned (a table leaving scope), is refused with the ways out,
//     unless Options.Rewrite says the recorded set was never applied;
//   - the files of older versions are carried over from disk unchanged,
//     after their checksums are checked: an edited or deleted one is
//     refused too. (A current version is rendered again with its recorded
//     bytes, so generate restores a hand edit and check shows it as a diff.)
package history

import (
	"bufio"
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"

	"github.com/warden-sql/warden/generator/migrations"
	"github.com/warden-sql/warden/internal/fileset"
	"github.com/warden-sql/warden/policy"
)

// FileName is the ledger's path in the output directory.
const FileName = "warden.sum"

// Ledger is the record of every migration warden emitted into one output
// directory.
type Ledger struct {
	// Format is the runner format the files were laid out in.
	Format string
	// Layout is policy.LayoutGrouped or policy.LayoutStep (a ledger written
	// before grouping existed has no layout line: step).
	Layout  string
	Entries []Entry
}

// Entry is one emitted migration: a version of a step.
type Entry struct {
	Version int64
	// Step is the step's name, or a composite's label (migrations.Compose).
	Step string
	// Members are the steps a composite holds, nil for one step.
	Members []string
	// Up is the file that applies it; Down the file that undoes it, the
	// zero FileSum when the format has none for it.
	Up, Down         FileSum
	UpNoTx, DownNoTx bool
}

// FileSum is a file's path in the output directory and the SHA-256 of its
// bytes, in hex.
type FileSum struct{ Path, Sum string }

// Sum returns the SHA-256 of data in hex.
func Sum(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// Bytes renders the ledger: a header, one line per entry in version order,
// and a seal line over everything before it.
func (l *Ledger) Bytes() []byte {
	var b bytes.Buffer
	b.WriteString(fileset.HeaderSQL + "\n")
	b.WriteString("-- The migrations warden has emitted: version, step, files and SHA-256.\n")
	b.WriteString("-- Regenerating keeps every recorded version and byte and only appends;\n")
	b.WriteString("-- warden check fails when a recorded file or this ledger was edited.\n")
	fmt.Fprintf(&b, "format %s\n", l.Format)
	if l.Layout == policy.LayoutGrouped {
		// Absent in a step ledger, which stays byte for byte what it was
		// before grouping existed.
		fmt.Fprintf(&b, "layout %s\n", l.Layout)
	}
	for _, e := range l.Entries {
		fmt.Fprintf(&b, "%d %s up=%s:%s", e.Version, e.Step, e.Up.Path, e.Up.Sum)
		if len(e.Members) > 0 {
			fmt.Fprintf(&b, " members=%s", strings.Join(e.Members, ","))
		}
		if e.Down.Path != "" {
			fmt.Fprintf(&b, " down=%s:%s", e.Down.Path, e.Down.Sum)
		}
		var notx []string
		if e.UpNoTx {
			notx = append(notx, "up")
		}
		if e.DownNoTx {
			notx = append(notx, "down")
		}
		if len(notx) > 0 {
			fmt.Fprintf(&b, " notx=%s", strings.Join(notx, ","))
		}
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "seal %s\n", Sum(b.Bytes()))
	return b.Bytes()
}

// Parse reads a ledger written by Bytes. It fails, naming the line, on
// anything else, and when the seal does not match: the ledger was edited.
func Parse(data []byte) (*Ledger, error) {
	// A CRLF checkout (git on Windows) is the same ledger.
	data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	i := bytes.LastIndex(bytes.TrimSuffix(data, []byte("\n")), []byte("\nseal "))
	if i < 0 {
		return nil, fmt.Errorf("%s: no seal line; the ledger was cut short or written by hand", FileName)
	}
	body, seal := data[:i+1], strings.TrimSpace(string(data[i+len("\nseal "):]))
	if seal != Sum(body) {
		return nil, fmt.Errorf("%s: the seal does not match its contents: the ledger was edited by hand; restore it from version control (git checkout -- %s)", FileName, FileName)
	}
	l := &Ledger{Layout: policy.LayoutStep}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(line, "--") || line == "" {
			continue
		}
		if f, ok := strings.CutPrefix(line, "format "); ok {
			l.Format = f
			continue
		}
		if f, ok := strings.CutPrefix(line, "layout "); ok {
			if f != policy.LayoutGrouped && f != policy.LayoutStep {
				return nil, fmt.Errorf("%s:%d: layout %q: want %s or %s", FileName, n, f, policy.LayoutGrouped, policy.LayoutStep)
			}
			l.Layout = f
			continue
		}
		e, err := parseEntry(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", FileName, n, err)
		}
		if len(l.Entries) > 0 && e.Version <= l.Entries[len(l.Entries)-1].Version {
			return nil, fmt.Errorf("%s:%d: version %d is not after the previous line's", FileName, n, e.Version)
		}
		l.Entries = append(l.Entries, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", FileName, err)
	}
	if l.Format == "" {
		return nil, fmt.Errorf("%s: no format line", FileName)
	}
	return l, nil
}

func parseEntry(line string) (Entry, error) {
	fields := strings.Fields(line)
	if len(fields) < 3 {
		return Entry{}, fmt.Errorf("%q is not <version> <step> up=<path>:<sha256> ...", line)
	}
	v, err := strconv.ParseInt(fields[0], 10, 64)
	if err != nil {
		return Entry{}, fmt.Errorf("version %q is not a number", fields[0])
	}
	e := Entry{Version: v, Step: fields[1]}
	for _, f := range fields[2:] {
		key, val, _ := strings.Cut(f, "=")
		switch key {
		case "up", "down":
			i := strings.LastIndexByte(val, ':')
			if i < 0 || len(val)-i-1 != 64 {
				return Entry{}, fmt.Errorf("%s=%q: want <path>:<sha256>", key, val)
			}
			fs := FileSum{Path: val[:i], Sum: val[i+1:]}
			if key == "up" {
				e.Up = fs
			} else {
				e.Down = fs
			}
		case "members":
			e.Members = strings.Split(val, ",")
			if len(e.Members) < 2 || slices.Contains(e.Members, "") {
				return Entry{}, fmt.Errorf("members=%q: want two or more step names", val)
			}
		case "notx":
			for _, d := range strings.Split(val, ",") {
				switch d {
				case "up":
					e.UpNoTx = true
				case "down":
					e.DownNoTx = true
				default:
					return Entry{}, fmt.Errorf("notx=%q: want up, down or up,down", val)
				}
			}
		default:
			return Entry{}, fmt.Errorf("unknown field %q", f)
		}
	}
	if e.Up.Path == "" {
		return Entry{}, fmt.Errorf("%q has no up file", line)
	}
	return e, nil
}

// Options tune Reconcile.
type Options struct {
	// Rewrite says the recorded migrations were never applied anywhere:
	// the history is laid out again from the base version, as a first
	// generation (changed steps rewritten, dropped steps gone), instead of
	// being refused.
	Rewrite bool
	// Floor is the highest version of a migration in the runner's folder
	// that warden did not write (0 for none): appended versions go above it.
	Floor int64
	// Layout is the policy's migrations.layout: "" takes the recorded
	// history's (grouped for a new one); a value that differs from the
	// recorded one is refused.
	Layout string
}

// ReadFile reads a file of the output directory by its slash path; it
// returns an error satisfying errors.Is(err, fs.ErrNotExist) when there is
// none.
type ReadFile func(path string) ([]byte, error)

// Error lists why the recorded history cannot be kept as it is. It is a
// verdict (the schema or policy changed in a way a human must decide), not
// a malfunction.
type Error struct{ Problems []string }

func (e *Error) Error() string {
	return fmt.Sprintf("the recorded migration history (%s) cannot be kept:\n  %s", FileName, strings.Join(e.Problems, "\n  "))
}

// Reconcile lays steps out in format against the prior ledger (nil: no
// history yet, versions count up from baseVersion) and returns the files
// (kept older versions and the new ledger included) and the new ledger.
//
// A recorded migration is a unit: one step, or, in the grouped layout, a
// composite of several (migrations.Compose). A unit stays current while it
// is the newest record of each of its members and renders the same bytes;
// when it would change and every member's kind can be re-emitted, its
// members are appended again, as new steps are: grouped in the grouped
// layout, one by one in the step layout.
func Reconcile(steps []migrations.Step, format, baseVersion string, prior *Ledger, read ReadFile, opts Options) (*migrations.Files, *Ledger, error) {
	if format == "" {
		format = migrations.RunnerNames()[0]
	}
	if prior == nil || opts.Rewrite {
		// Never applied: lay everything out again as a first generation,
		// in plan order, so no step runs before one it needs. The layout is
		// the policy's, else the recorded one's, else grouped.
		layout := opts.Layout
		if layout == "" && prior != nil {
			layout = prior.Layout
		}
		if layout == "" {
			layout = policy.LayoutGrouped
		}
		prior = &Ledger{Format: format, Layout: layout}
	}
	if prior.Format != format {
		return nil, nil, &Error{Problems: []string{fmt.Sprintf(
			"the recorded migrations are in the %s format, not %s: generate with --format %s, or move %s and the files aside to start a new history in %s",
			prior.Format, format, prior.Format, FileName, format)}}
	}
	if opts.Layout != "" && opts.Layout != prior.Layout {
		return nil, nil, &Error{Problems: []string{fmt.Sprintf(
			"the recorded migrations use the %s layout, not %s: drop migrations.layout from the policy (the recorded layout is kept), or move %s and the files aside to start a new history",
			prior.Layout, opts.Layout, FileName)}}
	}
	grouped := prior.Layout == policy.LayoutGrouped

	latest := map[string]int64{}   // the newest recorded version holding each step
	earliest := map[string]int64{} // the first version each step was recorded under
	next, err := migrations.Versions(baseVersion, 1)
	if err != nil {
		return nil, nil, err
	}
	// New versions go after everything recorded, and after the highest
	// migration of the runner's folder that is not warden's (an app's own
	// migration written after warden's): runners that only move forward
	// (golang-migrate) would never apply a version below it.
	nextVersion := max(next[0], opts.Floor+1)
	for _, e := range prior.Entries {
		for _, m := range e.Steps() {
			latest[m] = e.Version
			if _, ok := earliest[m]; !ok {
				earliest[m] = e.Version
			}
		}
		nextVersion = max(nextVersion, e.Version+1)
	}
	kinds := map[migrations.Kind]migrations.StepKind{}
	for _, k := range migrations.Kinds() {
		kinds[k.Kind] = k
	}
	planned := map[string]int{}
	for i, s := range steps {
		planned[s.Name] = i
	}
	// at is step i as laid out at version v. A version appended over one
	// recorded earlier undoes nothing: the undo of the step's first
	// version undoes the step, and undoing the whole step at the newer
	// version would take away what the older versions still hold (the
	// setup's functions, which every policy depends on).
	at := func(i int, v int64) migrations.Step {
		s := steps[i]
		if first, ok := earliest[s.Name]; ok && v > first {
			s.Down, s.DownNoTransaction = "", false
		}
		return s
	}

	// The units recorded last for all their members, rendered again as
	// recorded, to compare bytes: the version is in the file names only,
	// never in the contents.
	var problems, changed, gone []string
	var cands []migrations.Step
	var candEntries []Entry
	for _, e := range prior.Entries {
		members := e.Steps()
		newest, missing := true, []string{}
		for _, m := range members {
			newest = newest && latest[m] == e.Version
			if _, ok := planned[m]; !ok {
				missing = append(missing, m)
			}
		}
		if !newest {
			continue
		}
		if len(missing) > 0 {
			if !opts.Rewrite {
				gone = append(gone, fmt.Sprintf("%s (%s)", strings.Join(missing, ", "), e.Up.Path))
			}
			continue
		}
		var ms []migrations.Step
		for _, m := range members {
			ms = append(ms, at(planned[m], e.Version))
		}
		u := migrations.Compose(ms, format)
		u.Name = e.Step // the recorded label names its files
		cands = append(cands, u)
		candEntries = append(candEntries, e)
	}
	probeVersions := make([]int64, len(cands))
	for i, e := range candEntries {
		probeVersions[i] = e.Version
	}
	probe, err := migrations.LayoutVersions(cands, format, probeVersions, nil)
	if err != nil {
		return nil, nil, err
	}
	units := make([]migrations.Step, 0, len(cands))
	versions := make([]int64, 0, len(cands))
	current := map[int64]bool{}
	covered := map[string]bool{}
	recordedBytes := fileset.Set{} // recorded files kept over a comment-only change
	for i, u := range cands {
		e := candEntries[i]
		keep := sameBytes(probe, u.Name, e)
		if !keep {
			if files, ok := sameStatements(probe, u.Name, e, read); ok {
				// Only comments changed (a reason reworded, a linter's
				// ignore comment): what was applied is what would be
				// applied now, so the recorded files stay, byte for byte.
				for p, data := range files {
					recordedBytes[p] = data
				}
				keep = true
			}
		}
		if keep {
			units, versions = append(units, u), append(versions, e.Version)
			current[e.Version] = true
			for _, m := range e.Steps() {
				covered[m] = true
			}
			continue
		}
		reemit := true
		for _, m := range e.Steps() {
			reemit = reemit && kinds[steps[planned[m]].Kind].Reemit
		}
		if !reemit {
			changed = append(changed, fmt.Sprintf("%s (%s)", u.Name, e.Up.Path))
		}
		// A re-emitted unit's members are appended below; the recorded
		// version is kept.
	}
	if len(changed) > 0 {
		problems = append(problems, fmt.Sprintf(
			"%d recorded step(s) would change: %s. If they were applied anywhere, keep them: undo the change to the schema or policy, or write the change as a migration of your own after them; if the recorded migrations were never applied, regenerate with --rewrite",
			len(changed), strings.Join(changed, ", ")))
	}
	if len(gone) > 0 {
		problems = append(problems, fmt.Sprintf(
			"%d recorded step(s) are no longer planned (a table left scope, or was renamed): %s. warden never deletes an applied migration: put the table back in scope; or undo them with their down files and regenerate with --rewrite; or, if the recorded migrations were never applied, regenerate with --rewrite",
			len(gone), strings.Join(gone, ", ")))
	}

	// Everything else is appended: new steps, and those of re-emitted
	// units, in plan order, grouped as the layout says.
	pool := make([]migrations.Step, 0, len(steps)-len(covered))
	for i, s := range steps {
		if !covered[s.Name] {
			pool = append(pool, at(i, nextVersion))
		}
	}
	if grouped {
		pool = migrations.Group(pool, format)
	}
	for _, u := range pool {
		units, versions = append(units, u), append(versions, nextVersion)
		nextVersion++
	}

	// Every entry not current any more keeps its files exactly.
	var kept []migrations.Kept
	var keptEntries []Entry
	keptFiles := fileset.Set{}
	for _, e := range prior.Entries {
		if current[e.Version] {
			continue // laid out again below, byte for byte
		}
		for _, f := range []FileSum{e.Up, e.Down} {
			if f.Path == "" {
				continue
			}
			data, err := read(f.Path)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				problems = append(problems, fmt.Sprintf("recorded file %s (step %s, version %d) was deleted: restore it from version control", f.Path, e.Step, e.Version))
			case err != nil:
				return nil, nil, err
			case Sum(data) != f.Sum && Sum(bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))) != f.Sum:
				// (A CRLF checkout, as git makes on Windows, is no edit.)
				problems = append(problems, fmt.Sprintf("recorded file %s (step %s, version %d) was edited: restore it from version control; an applied migration is never changed", f.Path, e.Step, e.Version))
			default:
				keptFiles[f.Path] = data
			}
		}
		kept = append(kept, migrations.Kept{Version: e.Version, Up: e.Up.Path, Down: e.Down.Path, UpNoTx: e.UpNoTx, DownNoTx: e.DownNoTx})
		keptEntries = append(keptEntries, e)
	}
	if len(problems) > 0 {
		return nil, nil, &Error{Problems: problems}
	}

	laid, err := migrations.LayoutVersions(units, format, versions, kept)
	if err != nil {
		return nil, nil, err
	}
	// The recorded versions laid out again have their recorded bytes (the
	// comparison above): generate writes them back over a hand edit, and
	// check shows the edit as a diff. Only the kept files, which are not
	// rendered any more, are checked against the disk here.
	for p, data := range keptFiles {
		if _, dup := laid.Set[p]; dup {
			return nil, nil, fmt.Errorf("history: %s is both a kept and a new file", p)
		}
		laid.Set[p] = data
	}
	for p, data := range recordedBytes {
		if _, ok := laid.Set[p]; !ok {
			return nil, nil, fmt.Errorf("history: recorded file %s is not laid out again", p)
		}
		laid.Set[p] = data
	}

	next2 := &Ledger{Format: format, Layout: prior.Layout, Entries: keptEntries}
	for i, u := range units {
		e := Entry{Version: versions[i], Step: u.Name, Members: u.Members, UpNoTx: u.NoTransaction}
		up := laid.Up[u.Name]
		e.Up = FileSum{Path: up, Sum: Sum(laid.Set[up])}
		if down, ok := laid.Down[u.Name]; ok && down != up {
			e.Down = FileSum{Path: down, Sum: Sum(laid.Set[down])}
			e.DownNoTx = u.DownNoTransaction
		}
		next2.Entries = append(next2.Entries, e)
	}
	slices.SortFunc(next2.Entries, func(a, b Entry) int { return cmp.Compare(a.Version, b.Version) })
	laid.Set[FileName] = next2.Bytes()
	return laid, next2, nil
}

// Steps are the names of the steps entry e records: its members, or its
// one step.
func (e Entry) Steps() []string {
	if len(e.Members) > 0 {
		return e.Members
	}
	return []string{e.Step}
}

// sameBytes reports whether step name laid out in probe has the recorded
// entry's bytes.
func sameBytes(probe *migrations.Files, name string, e Entry) bool {
	up := probe.Up[name]
	if Sum(probe.Set[up]) != e.Up.Sum {
		return false
	}
	down, ok := probe.Down[name]
	if !ok || down == up {
		return e.Down.Path == ""
	}
	return e.Down.Path != "" && Sum(probe.Set[down]) == e.Down.Sum
}

// sameStatements reports whether the recorded files of entry e (read from
// disk, and matching their recorded sums) differ from step name as laid out
// in probe only in comment lines, and returns them by path. Anything else,
// a recorded file that is missing or edited included, is a change.
func sameStatements(probe *migrations.Files, name string, e Entry, read ReadFile) (fileset.Set, bool) {
	pairs := []struct {
		rendered string
		rec      FileSum
	}{{probe.Up[name], e.Up}}
	if down, ok := probe.Down[name]; ok && down != probe.Up[name] {
		pairs = append(pairs, struct {
			rendered string
			rec      FileSum
		}{down, e.Down})
	} else if e.Down.Path != "" {
		return nil, false
	}
	out := fileset.Set{}
	for _, p := range pairs {
		if p.rec.Path == "" || p.rec.Path != p.rendered {
			return nil, false
		}
		data, err := read(p.rec.Path)
		if err != nil || Sum(data) != p.rec.Sum {
			return nil, false
		}
		if withoutComments(data) != withoutComments(probe.Set[p.rendered]) {
			return nil, false
		}
		out[p.rec.Path] = data
	}
	return out, true
}

// withoutComments is SQL text without its whole-line "--" comments (but
// goose's "-- +goose" annotations) and blank lines: what is left is what
// runs. (A line starting with "--" inside
// a string literal would count as a comment too; warden's templates put
// none there.)
func withoutComments(data []byte) string {
	var b strings.Builder
	for _, line := range strings.Split(string(bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))), "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "--") && !strings.HasPrefix(t, "-- +goose") {
			continue // goose's annotations steer how it runs the file
		}
		b.WriteString(strings.TrimRight(line, " \t"))
		b.WriteByte('\n')
	}
	return b.String()
}
