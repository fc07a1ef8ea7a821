package migrations

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/warden-sql/warden/internal/fileset"
	"github.com/warden-sql/warden/policy"
)

// Layout places steps into files for one migration runner's format.
//
// Every file starts with the generated-file header. Versions count up from
// the policy's base version, one per step, so the same plan always yields
// the same names (never the clock). A step that must run outside a
// transaction block (NoTransaction, DownNoTransaction) is one statement
// alone in its file in every format; Layout refuses a step that is not,
// because each runner below would otherwise wrap it in a transaction.
//
// The formats, by the runner that applies them:
//
//   - supabase: supabase/migrations/<version>_warden_<name>.sql, the
//     Supabase CLI's folder and names. The CLI sends a file's statements as
//     one pipelined batch with its history INSERT (an implicit
//     transaction), where a concurrent index build works only as the first
//     statement (and a committing CALL anywhere, but commits the
//     statements before it); it has no down migrations, so the
//     undo scripts are plain files, rollback/<version>_undo_<name>.sql,
//     named by the version they undo and run newest first.
//   - goose: migrations/<version>_warden_<name>.sql (goose -dir migrations),
//     with -- +goose Up and -- +goose Down sections. goose runs a file in a
//     transaction unless it says -- +goose NO TRANSACTION, which it does
//     when either direction must not run in one. goose splits a section into
//     statements at lines ending in a semicolon, so a statement with such a
//     line inside it (a DO block, a function body) is wrapped in
//     -- +goose StatementBegin / StatementEnd.
//   - golang-migrate: migrations/<version>_warden_<name>.up.sql and
//     .down.sql (migrate -path migrations). Its PostgreSQL drivers send a
//     whole file in one Exec, which PostgreSQL runs as one implicit
//     transaction. A step with nothing to undo still gets a down file, a
//     comment, so every version has its pair. The drivers' x-multi-statement
//     option must stay off: it splits a file at every semicolon, inside
//     function bodies and DO blocks too.
//   - psql: psql/<version>_<name>.sql and psql/undo/<version>_<name>.sql
//     (the same version for a step and its undo), run in version order by
//     psql/up.psql and psql/down.psql (newest first):
//     psql -X -v ON_ERROR_STOP=1 -f psql/up.psql "$DATABASE_URL".
//     The scripts wrap each file in BEGIN/COMMIT, except the files that
//     must not run in a transaction block, because psql itself would send
//     a file's statements one by one, each committed on its own.
func Layout(steps []Step, format, baseVersion string) (*Files, error) {
	versions, err := Versions(baseVersion, len(steps))
	if err != nil {
		return nil, err
	}
	return LayoutVersions(steps, format, versions, nil)
}

// LayoutFirst is the first generation's layout of steps, as generate
// writes it when no history is recorded: grouped (see Group) unless the
// layout is policy.LayoutStep.
func LayoutFirst(steps []Step, format, layout, baseVersion string) (*Files, error) {
	if layout != policy.LayoutStep {
		if format == "" {
			format = RunnerNames()[0]
		}
		steps = Group(steps, format)
	}
	return Layout(steps, format, baseVersion)
}

// Versions returns base, base+1, ... one per step: the versions of a first
// generation, before any history is recorded.
func Versions(baseVersion string, n int) ([]int64, error) {
	base, err := strconv.ParseInt(baseVersion, 10, 64)
	if err != nil || len(baseVersion) != 14 {
		return nil, fmt.Errorf("migrations: base version %q is not 14 digits", baseVersion)
	}
	out := make([]int64, n)
	for i := range out {
		out[i] = base + int64(i)
	}
	return out, nil
}

// Kept is a migration emitted earlier and kept as it is on disk (an older
// version of a step that was re-emitted): LayoutVersions does not render
// it, but lists it in the runner scripts that name every file (psql).
type Kept struct {
	Version          int64
	Up, Down         string // paths; Down is "" when the step had nothing to undo
	UpNoTx, DownNoTx bool
}

// LayoutVersions is Layout with each step's version given (versions[i] is
// steps[i]'s; they must be distinct) and the kept files of earlier versions
// to list beside them.
func LayoutVersions(steps []Step, format string, versions []int64, kept []Kept) (*Files, error) {
	if len(versions) != len(steps) {
		return nil, fmt.Errorf("migrations: %d versions for %d steps", len(versions), len(steps))
	}
	for _, s := range steps {
		if err := checkAlone(s); err != nil {
			return nil, err
		}
	}
	r, ok := RunnerOf(format)
	if !ok {
		return nil, fmt.Errorf("migrations: unknown format %q (want %s)", format, strings.Join(RunnerNames(), ", "))
	}
	out := &Files{Set: fileset.Set{}, Up: map[string]string{}, Down: map[string]string{}}
	version := func(i int) string { return strconv.FormatInt(versions[i], 10) }
	if err := r.layout(out, steps, version); err != nil {
		return nil, err
	}
	if r.scripts != nil {
		r.scripts(out, steps, versions, kept)
	}
	// A composite's members are found by their own names too: status and
	// backfill name the file that holds a step.
	for _, s := range steps {
		for _, m := range s.Members {
			if p, ok := out.Up[s.Name]; ok {
				out.Up[m] = p
			}
			if p, ok := out.Down[s.Name]; ok {
				out.Down[m] = p
			}
		}
	}
	return out, nil
}

// Files are the migration files of one runner format, and where each step
// went.
type Files struct {
	// Set maps each file's path (relative to the output directory) to its
	// contents, header included.
	Set fileset.Set
	// Up maps a step's name to the file that applies it; Down to the file
	// that undoes it, for the steps that have one in this format (the same
	// file as Up in goose; every step in golang-migrate, which pairs them).
	Up, Down map[string]string
}

// put adds a file, and records it as step's up or down file.
func (f *Files) put(path string, data []byte, up, down string) {
	f.Set[path] = data
	if up != "" {
		f.Up[up] = path
	}
	if down != "" {
		f.Down[down] = path
	}
}

// Runner is one migration runner's format: its name in the policy's
// migrations.format and how it lays the steps out in files.
type Runner struct {
	// Name is the policy's value for the format.
	Name string
	// Dir is the folder, relative to the output directory, the runner
	// reads the migrations from.
	Dir string
	// layout places the steps into out, the i-th step at version(i).
	layout func(out *Files, steps []Step, version func(int) string) error
	// scripts, where the format has them, writes the runner scripts that
	// name every migration file, kept ones included, in version order.
	scripts func(out *Files, steps []Step, versions []int64, kept []Kept)
}

// runners is the registry of formats, the default first.
var registry = []Runner{
	{Name: policy.FormatSupabase, Dir: "supabase/migrations", layout: layoutSupabase},
	{Name: policy.FormatGoose, Dir: "migrations", layout: layoutGoose},
	{Name: policy.FormatGolangMigrate, Dir: "migrations", layout: layoutGolangMigrate},
	{Name: policy.FormatPsql, Dir: "psql", layout: layoutPsql, scripts: psqlScripts},
}

// RunnerOf returns the runner of a format name; "" is the default.
func RunnerOf(format string) (Runner, bool) {
	if format == "" {
		return registry[0], true
	}
	for _, r := range registry {
		if r.Name == format {
			return r, true
		}
	}
	return Runner{}, false
}

// RunnerNames are the format names, the default first.
func RunnerNames() []string {
	var out []string
	for _, r := range registry {
		out = append(out, r.Name)
	}
	return out
}

// nothingToUndo is the down script of a step with no down, where the format
// needs one anyway.
const nothingToUndo = "-- Nothing to undo for this step.\n"

// checkAlone returns an error when a direction that must run outside a
// transaction block is more than one statement: every runner would send
// such a file as one implicit transaction (or as separate statements with
// no transaction around the rest), and CREATE INDEX CONCURRENTLY or a CALL
// that commits would fail there.
func checkAlone(s Step) error {
	if len(s.Members) > 0 {
		// A composite's blocks each run in their own explicit transaction
		// (Compose), or alone: such a block must be one statement.
		// Only those blocks are split: tokenizing every block cost a
		// noticeable share of generate at thousands of tables.
		for _, blocks := range [][]string{s.UpBlocks, s.DownBlocks} {
			for _, blk := range blocks {
				if strings.HasPrefix(blk, "BEGIN;\n") {
					continue
				}
				if n := len(splitStatements(blk)); n != 1 {
					return fmt.Errorf("migrations: step %s holds a block that must run outside a transaction but has %d statements, not one", s.Name, n)
				}
			}
		}
		return nil
	}
	for _, d := range []struct {
		dir  string
		sql  string
		noTx bool
	}{{"up", s.Up, s.NoTransaction}, {"down", s.Down, s.DownNoTransaction}} {
		if !d.noTx {
			continue
		}
		if n := len(splitStatements(d.sql)); n > 1 {
			return fmt.Errorf("migrations: step %s (%s) must run outside a transaction but has %d statements, not one", s.Name, d.dir, n)
		}
	}
	return nil
}

func layoutSupabase(out *Files, steps []Step, version func(int) string) error {
	for i, s := range steps {
		out.put(fmt.Sprintf("supabase/migrations/%s_warden_%s.sql", version(i), s.Name), sqlFile(s.Up), s.Name, "")
	}
	// The Supabase CLI has no down migrations: the rollback scripts are
	// plain files named by the version they undo, run newest first.
	for i, s := range steps {
		if s.Down == "" {
			continue
		}
		out.put(fmt.Sprintf("rollback/%s_undo_%s.sql", version(i), s.Name), sqlFile(s.Down+"\n"), "", s.Name)
	}
	return nil
}

func layoutGoose(out *Files, steps []Step, version func(int) string) error {
	for i, s := range steps {
		noTx := s.NoTransaction || s.DownNoTransaction
		var b strings.Builder
		if noTx {
			// The annotation is per file, both directions: goose has no way
			// to run only one of them outside a transaction.
			b.WriteString("-- +goose NO TRANSACTION\n")
		}
		for _, d := range []struct {
			head   string
			sql    string
			noTx   bool
			blocks []string
		}{
			{"-- +goose Up\n", s.Up, s.NoTransaction, s.UpBlocks},
			{"\n-- +goose Down\n", s.Down, s.DownNoTransaction, s.DownBlocks},
		} {
			b.WriteString(d.head)
			if len(s.Members) > 0 {
				body, err := gooseBlocks(d.blocks)
				if err != nil {
					return fmt.Errorf("migrations: goose layout of step %s: %w", s.Name, err)
				}
				if body == "" {
					body = nothingToUndo
				}
				b.WriteString(body)
				continue
			}
			body, err := gooseSection(d.sql)
			if err != nil {
				return fmt.Errorf("migrations: goose layout of step %s: %w", s.Name, err)
			}
			if body != "" && !strings.HasSuffix(body, "\n") {
				body += "\n"
			}
			switch {
			case strings.TrimSpace(body) == "":
				b.WriteString(nothingToUndo)
			case noTx && !d.noTx && len(splitStatements(d.sql)) > 1:
				// The file is NO TRANSACTION for the other direction's
				// sake; goose would run these statements one by one, each
				// committed alone, so the transaction is spelled out.
				b.WriteString("BEGIN;\n" + body + "COMMIT;\n")
			default:
				b.WriteString(body)
			}
		}
		down := ""
		if s.Down != "" {
			down = s.Name
		}
		out.put(fmt.Sprintf("migrations/%s_warden_%s.sql", version(i), s.Name), sqlFile(b.String()), s.Name, down)
	}
	return nil
}

func layoutGolangMigrate(out *Files, steps []Step, version func(int) string) error {
	for i, s := range steps {
		name := fmt.Sprintf("migrations/%s_warden_%s", version(i), s.Name)
		out.put(name+".up.sql", sqlFile(s.Up), s.Name, "")
		down := nothingToUndo
		if s.Down != "" {
			down = s.Down + "\n"
		}
		// Every version has its pair, so the down file is the step's even
		// when it undoes nothing.
		out.put(name+".down.sql", sqlFile(down), "", s.Name)
	}
	return nil
}

func layoutPsql(out *Files, steps []Step, version func(int) string) error {
	for i, s := range steps {
		out.put(fmt.Sprintf("psql/%s_%s.sql", version(i), s.Name), sqlFile(s.Up), s.Name, "")
		if s.Down != "" {
			out.put(fmt.Sprintf("psql/undo/%s_%s.sql", version(i), s.Name), sqlFile(s.Down+"\n"), "", s.Name)
		}
	}
	return nil
}

// psqlScripts writes psql/up.psql and psql/down.psql: every migration file,
// kept ones included, in version order (down: newest first).
func psqlScripts(out *Files, steps []Step, versions []int64, kept []Kept) {
	type entry struct {
		version          int64
		up, down         string
		upNoTx, downNoTx bool
	}
	var all []entry
	for i, s := range steps {
		all = append(all, entry{versions[i], out.Up[s.Name], out.Down[s.Name], s.NoTransaction, s.DownNoTransaction})
	}
	for _, k := range kept {
		all = append(all, entry{k.Version, k.Up, k.Down, k.UpNoTx, k.DownNoTx})
	}
	slices.SortFunc(all, func(a, b entry) int { return cmp.Compare(a.version, b.version) })
	include := func(b *strings.Builder, path string, noTx bool) {
		rel := strings.TrimPrefix(path, "psql/")
		if noTx {
			fmt.Fprintf(b, "\\ir %s\n", rel)
		} else {
			fmt.Fprintf(b, "BEGIN;\n\\ir %s\nCOMMIT;\n", rel)
		}
	}
	const preamble = "-- Each file runs in its own transaction, except the ones that must not run\n" +
		"-- in a transaction block (concurrent index builds, batched backfills).\n" +
		"-- Stop at the first error: the failed file's transaction is rolled back and\n" +
		"-- every file before it stays applied; fix the cause and run this again\n" +
		"-- (every file can be applied twice).\n" +
		"\\set ON_ERROR_STOP on\n"
	var up, down strings.Builder
	up.WriteString("-- Applies every migration in order:\n" +
		"--   psql -X -v ON_ERROR_STOP=1 -f psql/up.psql \"$DATABASE_URL\"\n" + preamble)
	down.WriteString("-- Undoes every migration, last first:\n" +
		"--   psql -X -v ON_ERROR_STOP=1 -f psql/down.psql \"$DATABASE_URL\"\n" + preamble)
	for _, e := range all {
		include(&up, e.up, e.upNoTx)
	}
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].down != "" {
			include(&down, all[i].down, all[i].downNoTx)
		}
	}
	out.put("psql/up.psql", sqlFile(up.String()), "", "")
	out.put("psql/down.psql", sqlFile(down.String()), "", "")
}

func sqlFile(body string) []byte {
	// One allocation and one copy of body: at thousands of tables the
	// string concatenation and conversion of the obvious form copied every
	// file twice.
	b := make([]byte, 0, len(fileset.HeaderSQL)+1+len(body))
	b = append(b, fileset.HeaderSQL...)
	b = append(b, '\n')
	return append(b, body...)
}

// gooseSection returns sql as the body of a goose Up or Down section: the
// same text, with -- +goose StatementBegin / StatementEnd around each
// statement that goose's splitter would cut short. It fails on a line goose
// would read as an annotation (a comment containing "+goose").
//
// goose (v3, internal/sqlparser) reads a section line by line and ends a
// statement at the first line whose last word before any "--" ends with a
// semicolon, whatever quoting that line is inside; comment lines before a
// statement are dropped. Between StatementBegin and StatementEnd it sends
// the lines as they are, as one statement.
func gooseSection(sql string) (string, error) {
	for _, line := range strings.Split(sql, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "--") && strings.Contains(line, "+goose") {
			return "", fmt.Errorf("line %q would be read by goose as an annotation", line)
		}
	}
	stmts := splitStatements(sql)
	if len(stmts) == 0 {
		return sql, nil
	}
	var b strings.Builder
	pos := 0 // sql[:pos] is written
	for k := 0; k < len(stmts); {
		// A group is the statements that end on one line, with the
		// comments and blank lines before them; goose sees it as one
		// statement when it is not cut short.
		m := k
		end, sameLine := afterStatement(sql, stmts[m].end)
		for sameLine && m+1 < len(stmts) {
			m++
			end, sameLine = afterStatement(sql, stmts[m].end)
		}
		first := strings.LastIndexByte(sql[:stmts[k].start], '\n') + 1
		lead, body := sql[pos:first], sql[first:end]
		if !strings.HasSuffix(body, "\n") {
			body += "\n"
		}
		b.WriteString(lead)
		if gooseCuts(body) {
			b.WriteString("-- +goose StatementBegin\n" + body + "-- +goose StatementEnd\n")
		} else {
			b.WriteString(body)
		}
		pos, k = end, m+1
	}
	rest := sql[pos:]
	if rest != "" && !strings.HasSuffix(rest, "\n") {
		rest += "\n"
	}
	b.WriteString(rest)
	return b.String(), nil
}

// gooseBlocks is a composite's section for goose, whose file is NO
// TRANSACTION: a block that is a transaction (BEGIN ... COMMIT) is sent as
// one statement between StatementBegin and StatementEnd, so its BEGIN,
// body and COMMIT reach one connection in one round trip (goose sends the
// statements of such a file through a connection pool, one by one); a
// block that must run alone is laid out as a section of its own.
func gooseBlocks(blocks []string) (string, error) {
	var b strings.Builder
	for i, blk := range blocks {
		if i > 0 {
			b.WriteString("\n")
		}
		if !strings.HasPrefix(blk, "BEGIN;\n") {
			body, err := gooseSection(blk)
			if err != nil {
				return "", err
			}
			b.WriteString(strings.TrimRight(body, "\n") + "\n")
			continue
		}
		for _, line := range strings.Split(blk, "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "--") && strings.Contains(line, "+goose") {
				return "", fmt.Errorf("line %q would be read by goose as an annotation", line)
			}
		}
		b.WriteString("-- +goose StatementBegin\n" + blk + "\n-- +goose StatementEnd\n")
	}
	return b.String(), nil
}

// gooseCuts reports whether goose's splitter would not take body, the lines
// of one group of statements, as exactly one statement: a line before the
// last ends in a semicolon, or the last does not.
func gooseCuts(body string) bool {
	lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	for i, line := range lines {
		if gooseEndsStatement(line) {
			return i != len(lines)-1
		}
	}
	return true
}

// gooseEndsStatement is goose's test for the end of a statement: the last
// whitespace-separated word before the first word starting with "--" ends
// with a semicolon.
func gooseEndsStatement(line string) bool {
	prev := ""
	for _, w := range strings.Fields(line) {
		if strings.HasPrefix(w, "--") {
			break
		}
		prev = w
	}
	return strings.HasSuffix(prev, ";")
}

// span is one statement of a script: sql[start:end], from its first
// significant character to its terminating semicolon (or the end of the
// script when the last statement has none).
type span struct{ start, end int }

// splitStatements splits a PostgreSQL script into statements at top-level
// semicolons, as the server's lexer sees them: not inside quoted strings
// ('...', E'...' with backslash escapes), quoted identifiers, dollar-quoted
// bodies or comments (-- and nested /* */). Comments and white space
// between statements belong to none. It does not know SQL-standard
// function bodies (BEGIN ATOMIC ... END), which warden does not generate.
func splitStatements(sql string) []span {
	var out []span
	start := -1
	for i := 0; i < len(sql); {
		if j, ok := skipSpaceOrComment(sql, i); ok {
			i = j
			continue
		}
		c := sql[i]
		if c == ';' {
			if start >= 0 {
				out = append(out, span{start, i + 1})
				start = -1
			}
			i++
			continue
		}
		if start < 0 {
			start = i
		}
		switch {
		case c == '\'':
			i = skipString(sql, i, i > 0 && (sql[i-1] == 'E' || sql[i-1] == 'e') && (i < 2 || !identChar(sql[i-2])))
		case c == '"':
			i = skipString(sql, i, false)
		case c == '$' && (i == 0 || !identChar(sql[i-1])):
			if tag := dollarTag(sql[i:]); tag != "" {
				if j := strings.Index(sql[i+len(tag):], tag); j >= 0 {
					i += len(tag) + j + len(tag)
				} else {
					i = len(sql)
				}
			} else {
				i++
			}
		default:
			i++
		}
	}
	if start >= 0 {
		out = append(out, span{start, len(sql)})
	}
	return out
}

// skipSpaceOrComment returns the position after the white space character
// or comment at sql[i], and false when there is none.
func skipSpaceOrComment(sql string, i int) (int, bool) {
	switch {
	case strings.IndexByte(" \t\n\r\f\v", sql[i]) >= 0:
		return i + 1, true
	case strings.HasPrefix(sql[i:], "--"):
		if j := strings.IndexByte(sql[i:], '\n'); j >= 0 {
			return i + j, true
		}
		return len(sql), true
	case strings.HasPrefix(sql[i:], "/*"):
		depth := 0
		for j := i; j < len(sql); {
			switch {
			case strings.HasPrefix(sql[j:], "/*"):
				depth++
				j += 2
			case strings.HasPrefix(sql[j:], "*/"):
				depth--
				j += 2
				if depth == 0 {
					return j, true
				}
			default:
				j++
			}
		}
		return len(sql), true
	}
	return i, false
}

// afterStatement returns where the line of a statement ending at end ends
// (after its newline, and after any comment that follows the statement on
// that line), and whether another statement starts on the same line first.
func afterStatement(sql string, end int) (int, bool) {
	for i := end; i < len(sql); {
		switch c := sql[i]; {
		case c == '\n':
			return i + 1, false
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v' || c == ';':
			// An empty statement (a stray semicolon) is nothing.
			i++
		default:
			j, ok := skipSpaceOrComment(sql, i)
			if !ok {
				return i, true
			}
			i = j
		}
	}
	return len(sql), false
}

// skipString returns the position after the quoted string or identifier
// starting at sql[i] (its quote character doubled inside it; a backslash
// escapes the next character in an E'...' string).
func skipString(sql string, i int, backslash bool) int {
	q := sql[i]
	for j := i + 1; j < len(sql); j++ {
		switch sql[j] {
		case '\\':
			if backslash {
				j++
			}
		case q:
			if j+1 < len(sql) && sql[j+1] == q {
				j++
				continue
			}
			return j + 1
		}
	}
	return len(sql)
}

// dollarTag returns the dollar-quote opening s ("$$" or "$tag$"), or "".
func dollarTag(s string) string {
	for j := 1; j < len(s); j++ {
		c := s[j]
		switch {
		case c == '$':
			return s[:j+1]
		case identChar(c) && !(j == 1 && c >= '0' && c <= '9'):
		default:
			return ""
		}
	}
	return ""
}

// identChar reports whether c can be part of an unquoted identifier (or a
// dollar-quote tag): letters, digits, underscore, $ and any non-ASCII byte.
func identChar(c byte) bool {
	return c == '_' || c == '$' || c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}
