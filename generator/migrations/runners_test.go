package migrations

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-migrate/migrate/v4"
	migratepgx "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx", for goose
	"github.com/pressly/goose/v3"

	"github.com/warden-sql/warden/internal/fileset"
	"github.com/warden-sql/warden/internal/pgtest"
	"github.com/warden-sql/warden/internal/runnertest"
	"github.com/warden-sql/warden/internal/verifyrun"
	"github.com/warden-sql/warden/policy"
)

// runner applies a format's files to a database the way a real migration
// runner does: through the runner's own library or binary where it can run
// here, else by sending the files exactly as the runner sends them.
type runner struct {
	name   string
	format string
	// up applies every migration; down undoes every one, last first.
	up, down func(t *testing.T, r *run)
	// bookkeeping drops the runner's own tables, which are not part of
	// the catalog warden restores.
	// Every runner runs: one that cannot be had fails the test rather
	// than skipping it.
	bookkeeping string
}

// run is one runner's files and database.
type run struct {
	dir   string // the generated files, as they would be committed
	url   string
	files fileset.Set
	steps []Step
	base  uint // the policy's base version
}

var runners = []runner{
	{
		name: "goose", format: policy.FormatGoose,
		up:          func(t *testing.T, r *run) { gooseRun(t, r, true) },
		down:        func(t *testing.T, r *run) { gooseRun(t, r, false) },
		bookkeeping: "DROP TABLE goose_db_version",
	},
	{
		name: "golang-migrate", format: policy.FormatGolangMigrate,
		up:          func(t *testing.T, r *run) { golangMigrateRun(t, r, true) },
		down:        func(t *testing.T, r *run) { golangMigrateRun(t, r, false) },
		bookkeeping: "DROP TABLE schema_migrations",
	},
	{
		name: "psql", format: policy.FormatPsql,
		up:   func(t *testing.T, r *run) { psqlRun(t, r, "up.psql") },
		down: func(t *testing.T, r *run) { psqlRun(t, r, "down.psql") },
	},
	{
		// Each file as one simple-protocol query (one implicit
		// transaction), as the brief for the Supabase format puts it and
		// as the SQL editor sends a script.
		name: "supabase-simple", format: policy.FormatSupabase,
		up:   func(t *testing.T, r *run) { supabaseRun(t, r, "supabase/migrations/", false) },
		down: func(t *testing.T, r *run) { supabaseRun(t, r, "rollback/", false) },
	},
	{
		// The Supabase CLI itself: `supabase migration up --db-url`, which
		// applies supabase/migrations to any PostgreSQL (no Docker needed
		// for a remote database). It has no down migrations; the rollback
		// files are applied as the SQL editor or psql would.
		name: "supabase-cli", format: policy.FormatSupabase,
		up:          supabaseCLIUp,
		down:        func(t *testing.T, r *run) { supabaseRun(t, r, "rollback/", false) },
		bookkeeping: "DROP SCHEMA supabase_migrations CASCADE",
	},
	{
		// The Go Supabase CLI's way (pkg/migration, MigrationFile.ExecBatch):
		// the file split into statements, sent as one pipelined batch of
		// extended-protocol queries with the history INSERT at its end,
		// under a single Sync: one implicit transaction.
		name: "supabase-cli-batch", format: policy.FormatSupabase,
		up:          func(t *testing.T, r *run) { supabaseRun(t, r, "supabase/migrations/", true) },
		down:        func(t *testing.T, r *run) { supabaseRun(t, r, "rollback/", false) },
		bookkeeping: "DROP SCHEMA supabase_migrations CASCADE",
	},
}

// TestRunners applies the example app's migrations, with data, through
// every format's runner: up all, then the migrated database holds (no NULL
// tenant column, immutability, and the committed generated verification
// tests pass); down all, then the catalog is the baseline's; up again, and
// it holds again.
func TestRunners(t *testing.T) {
	verifyBin := buildVerify(t)
	for _, rn := range runners {
		for _, layout := range []string{policy.LayoutStep, policy.LayoutGrouped} {
			t.Run(rn.name+"/"+layout, func(t *testing.T) {
				t.Parallel()
				testRunner(t, rn, layout, verifyBin)
			})
		}
	}
}

// testRunner is one runner's part of TestRunners, in one layout.
func testRunner(t *testing.T, rn runner, layout, verifyBin string) {
	{
		{
			start := time.Now()
			e := loadExample(t, 500)
			units := e.steps
			if layout == policy.LayoutGrouped {
				units = Group(e.steps, rn.format)
			}
			laid, err := Layout(units, rn.format, e.pol.Migrations.Version)
			if err != nil {
				t.Fatal(err)
			}
			files := laid.Set
			var base uint
			if _, err := fmt.Sscan(e.pol.Migrations.Version, &base); err != nil {
				t.Fatal(err)
			}
			r := &run{dir: t.TempDir(), url: e.url, files: files, steps: units, base: base}
			if _, err := fileset.Write(r.dir, files); err != nil {
				t.Fatal(err)
			}
			baseline := e.schemaDump(t)
			timed := func(what string, f func(t *testing.T, r *run)) {
				t.Helper()
				s := time.Now()
				f(t, r)
				t.Logf("%s: %s in %v", rn.name, what, time.Since(s).Round(time.Millisecond))
			}

			timed("up", rn.up)
			assertMigrated(t, e)
			runVerify(t, verifyBin, e.url)

			timed("down", rn.down)
			if rn.bookkeeping != "" {
				pgtest.Exec(t, pgtest.Connect(t, e.url), rn.bookkeeping)
			}
			if diff := cmp.Diff(baseline, e.schemaDump(t)); diff != "" {
				t.Errorf("down did not restore the catalog (-baseline +after down):\n%s", diff)
			}

			timed("up again", rn.up)
			assertMigrated(t, e)
			runVerify(t, verifyBin, e.url)
			t.Logf("%s: %d files, whole test %v", rn.name, len(files), time.Since(start).Round(time.Millisecond))
		}
	}
}

// assertMigrated checks, on a fresh connection (the catalog changed under
// any older one), that every scoped row has its org and that the tenant
// column cannot change.
func assertMigrated(t *testing.T, e *example) {
	t.Helper()
	ctx := context.Background()
	conn := pgtest.Connect(t, e.url)
	checked := 0
	for _, tp := range e.plan.Scoped {
		var nulls, rows, real int64
		q := fmt.Sprintf(`SELECT count(*) FILTER (WHERE "org_id" IS NULL), count(*), count(*) FILTER (WHERE "org_id" <> %s) FROM %s`, defaultOrgLit, quoted(tp))
		if err := conn.QueryRow(ctx, q).Scan(&nulls, &rows, &real); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
		if nulls != 0 {
			t.Errorf("%s: %d of %d rows without org_id", tp.Name(), nulls, rows)
		}
		if real == 0 {
			// No row of a real org (a row of the default org may leave it).
			continue
		}
		checked++
		func() {
			tx, err := conn.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(ctx)
			if _, err := tx.Exec(ctx, `INSERT INTO public.organizations (id, name) VALUES ('b0000000-0000-0000-0000-00000000000b', 'other') ON CONFLICT DO NOTHING`); err != nil {
				t.Fatal(err)
			}
			_, err = tx.Exec(ctx, fmt.Sprintf(`UPDATE %s SET org_id = 'b0000000-0000-0000-0000-00000000000b' WHERE ctid = (SELECT ctid FROM %s WHERE org_id <> %s LIMIT 1)`, quoted(tp), quoted(tp), defaultOrgLit))
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || pe.Code != ImmutableSQLState {
				t.Errorf("%s: changing org_id: got %v, want SQLSTATE %s", tp.Name(), err, ImmutableSQLState)
			}
		}()
	}
	if checked == 0 {
		t.Error("no scoped table has rows: the immutability check proved nothing")
	}
}

// verifyPackage holds the example app's generated verification tests, as
// committed (warden check in CI keeps them current).
const verifyPackage = "github.com/warden-sql/warden/generated/verify"

// buildVerify compiles the generated verification tests once, into a test
// binary that every runner's database is checked with.
func buildVerify(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "verify.test")
	if out, err := exec.Command("go", "test", "-c", "-o", bin, verifyPackage).CombinedOutput(); err != nil {
		t.Fatalf("compiling %s: %v\n%s", verifyPackage, err, out)
	}
	return bin
}

// runVerify runs the generated verification tests against url: every one
// must pass, none may skip.
func runVerify(t *testing.T, bin, url string) {
	t.Helper()
	out, code := verifyrun.Run(t, bin, url)
	if code != 0 {
		t.Fatalf("the generated verification tests failed (exit %d):\n%s", code, out)
	}
	if strings.Contains(out, "--- SKIP") || !strings.Contains(out, "--- PASS") {
		t.Fatalf("the generated verification tests skipped or ran nothing:\n%s", out)
	}
}

// gooseRun applies (or undoes) every migration with goose's Go library,
// over database/sql and pgx's stdlib driver, as `goose -dir migrations
// postgres URL up|reset` does. It also checks how goose split each file:
// the statements it executed are the step's statements, none cut short or
// merged across, and a NO TRANSACTION step is one statement.
func gooseRun(t *testing.T, r *run, up bool) {
	t.Helper()
	ctx := context.Background()
	db, err := sql.Open("pgx", r.url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rec := &statementRecorder{}
	p, err := goose.NewProvider(goose.DialectPostgres, db, os.DirFS(filepath.Join(r.dir, "migrations")),
		goose.WithDisableGlobalRegistry(true), goose.WithVerbose(true), goose.WithSlog(slog.New(rec)))
	if err != nil {
		t.Fatal(err)
	}
	var results []*goose.MigrationResult
	if up {
		results, err = p.Up(ctx)
	} else {
		results, err = p.DownTo(ctx, 0)
	}
	if err != nil {
		t.Fatalf("goose: %v", err)
	}
	if len(results) != len(r.steps) {
		t.Errorf("goose ran %d migrations for %d steps", len(results), len(r.steps))
	}
	direction := map[bool]string{true: "up", false: "down"}[up]
	executed := rec.bySource(direction)
	for i, s := range r.steps {
		source := path.Base(stepFile(t, r.files, "migrations/", i))
		var got []string
		for _, stmt := range executed[source] {
			got = append(got, statementTexts(stmt)...)
		}
		want, noTx := statementTexts(s.Up), s.NoTransaction
		if !up {
			want, noTx = statementTexts(s.Down), s.DownNoTransaction
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("goose %s split %s differently from PostgreSQL (-want +got):\n%s", direction, source, diff)
		}
		blocks := s.UpBlocks
		if !up {
			blocks = s.DownBlocks
		}
		if len(s.Members) > 0 {
			// A composite's blocks go one per statement: a transaction
			// block whole, so one connection runs its BEGIN and COMMIT.
			if len(executed[source]) != len(blocks) {
				t.Errorf("goose %s sent %s, a composite of %d blocks, as %d statements", direction, source, len(blocks), len(executed[source]))
			}
			continue
		}
		if noTx && len(executed[source]) > 1 {
			t.Errorf("goose %s sent %s, which must not run in a transaction, as %d statements", direction, source, len(executed[source]))
		}
	}
}

// statementRecorder is a slog.Handler keeping goose's "executing statement"
// records: the exact statements it sends, per file and direction.
type statementRecorder struct {
	mu    sync.Mutex
	stmts []recordedStatement
}

type recordedStatement struct{ source, direction, statement string }

func (h *statementRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *statementRecorder) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *statementRecorder) WithGroup(string) slog.Handler            { return h }

func (h *statementRecorder) Handle(_ context.Context, rec slog.Record) error {
	if rec.Message != "executing statement" {
		return nil
	}
	var s recordedStatement
	rec.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "source":
			s.source = a.Value.String()
		case "direction":
			s.direction = a.Value.String()
		case "statement":
			s.statement = a.Value.String()
		}
		return true
	})
	h.mu.Lock()
	h.stmts = append(h.stmts, s)
	h.mu.Unlock()
	return nil
}

func (h *statementRecorder) bySource(direction string) map[string][]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string][]string{}
	for _, s := range h.stmts {
		if s.direction == direction {
			out[s.source] = append(out[s.source], s.statement)
		}
	}
	return out
}

// stepFile returns the name of step i's file under prefix: versioned
// names sort in step order.
func stepFile(t *testing.T, files fileset.Set, prefix string, i int) string {
	t.Helper()
	var names []string
	for name := range files {
		if strings.HasPrefix(name, prefix) && !strings.HasSuffix(name, ".down.sql") {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names[i]
}

// golangMigrateRun applies (or undoes) every migration with golang-migrate's
// Go library: the iofs source on the migrations folder and the pgx/v5
// database driver, as `migrate -path migrations -database pgx5://... up|down`
// does. The driver sends each file in one Exec.
func golangMigrateRun(t *testing.T, r *run, up bool) {
	t.Helper()
	src, err := iofs.New(os.DirFS(r.dir), "migrations")
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("pgx", r.url)
	if err != nil {
		t.Fatal(err)
	}
	drv, err := migratepgx.WithInstance(db, &migratepgx.Config{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := migrate.NewWithInstance("iofs", src, "pgx5", drv)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close() // closes db too
	if up {
		err = m.Up()
	} else {
		err = m.Down()
	}
	if err != nil {
		t.Fatalf("golang-migrate: %v", err)
	}
	version, dirty, err := m.Version()
	switch {
	case up && (err != nil || dirty || version != r.base+uint(len(r.steps)-1)):
		t.Errorf("golang-migrate after up: version %d, dirty %v, %v", version, dirty, err)
	case !up && !errors.Is(err, migrate.ErrNilVersion):
		t.Errorf("golang-migrate after down: version %d, dirty %v, %v; want no version", version, dirty, err)
	}
}

// psqlRun runs a psql script with the psql binary, as the up.psql header
// says to.
func psqlRun(t *testing.T, r *run, script string) {
	t.Helper()
	cmd := exec.Command("psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", filepath.Join(r.dir, "psql", script), r.url)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("psql -f %s: %v\n%s", script, err, out)
	}
}

// supabaseRun sends every file under prefix, in name order, to one
// connection: as one simple-protocol query each, or, with cliBatch, as the
// Supabase CLI does.
func supabaseRun(t *testing.T, r *run, prefix string, cliBatch bool) {
	t.Helper()
	ctx := context.Background()
	conn := pgtest.Connect(t, r.url)
	if cliBatch {
		// The CLI creates its history table before the first migration.
		pgtest.Exec(t, conn, `CREATE SCHEMA IF NOT EXISTS supabase_migrations;
CREATE TABLE IF NOT EXISTS supabase_migrations.schema_migrations (version text NOT NULL PRIMARY KEY, statements text[], name text)`)
	}
	var names []string
	for name := range r.files {
		if strings.HasPrefix(name, prefix) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	if prefix == "rollback/" {
		// Rollback files are named by the version they undo: newest first.
		slices.Reverse(names)
	}
	for _, name := range names {
		sql := string(r.files[name])
		if !cliBatch {
			if _, err := conn.Exec(ctx, sql); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			continue
		}
		batch := &pgconn.Batch{}
		for _, stmt := range statementTexts(sql) {
			batch.ExecParams(stmt, nil, nil, nil, nil)
		}
		version, rest, _ := strings.Cut(path.Base(name), "_")
		batch.ExecParams(`INSERT INTO supabase_migrations.schema_migrations (version, name) VALUES ($1, $2)`,
			[][]byte{[]byte(version), []byte(strings.TrimSuffix(rest, ".sql"))}, nil, nil, nil)
		if _, err := conn.PgConn().ExecBatch(ctx, batch).ReadAll(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

// supabaseCLIUp runs `supabase migration up` on the run's supabase/
// folder. What the CLI (2.117.0) sends, seen on the wire: per file RESET
// ALL, then the file's statements as one pipeline of extended-protocol
// queries ending with the INSERT into supabase_migrations.schema_migrations
// and a single Sync (one implicit transaction); a file whose one statement
// cannot run in a transaction block (CREATE INDEX CONCURRENTLY) is sent
// alone as a simple query instead, its history INSERT after it.
func supabaseCLIUp(t *testing.T, r *run) {
	t.Helper()
	bin, err := runnertest.SupabaseCLI()
	if err != nil {
		t.Fatal(err)
	}
	// The CLI refuses a URL without a host; the host query parameter (the
	// socket directory) still decides where it connects.
	url := strings.Replace(r.url, "@/", "@localhost/", 1)
	cmd := exec.Command(bin, "migration", "up", "--db-url", url, "--workdir", r.dir)
	// No telemetry and no update check: both would go to the network.
	// HOME keeps its profile and telemetry files out of the user's.
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "SUPABASE_TELEMETRY_DISABLED=true", "SUPABASE_NO_UPDATE_NOTIFIER=true", "DO_NOT_TRACK=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("supabase migration up: %v\n%s", err, out)
	}
	var applied int
	if err := pgtest.Connect(t, r.url).QueryRow(context.Background(), `SELECT count(*) FROM supabase_migrations.schema_migrations`).Scan(&applied); err != nil {
		t.Fatal(err)
	}
	if applied != len(r.steps) {
		t.Errorf("the Supabase CLI recorded %d migrations for %d steps:\n%s", applied, len(r.steps), out)
	}
}

// TestNoTransactionStepsAlone shows, on the server the suite runs, why a
// concurrent index build or a CALL of a procedure that commits must be
// alone in its file (or, in the Supabase CLI's batch, its first statement):
// after another statement in one simple-protocol query (an implicit
// transaction block) PostgreSQL refuses both, and in one pipelined batch
// the index build.
func TestNoTransactionStepsAlone(t *testing.T) {
	ctx := context.Background()
	conn := pgtest.Connect(t, pgtest.NewDB(t))
	pgtest.Exec(t, conn, `CREATE TABLE t (c int); CREATE TABLE history (v text);
CREATE PROCEDURE commits() LANGUAGE plpgsql AS $$ BEGIN INSERT INTO history VALUES ('p'); COMMIT; END $$`)
	refused := func(what, code string, err error) {
		t.Helper()
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != code {
			t.Errorf("%s: got %v, want SQLSTATE %s", what, err, code)
		}
	}
	batch := func(stmts ...string) error {
		b := &pgconn.Batch{}
		for _, s := range stmts {
			b.ExecParams(s, nil, nil, nil, nil)
		}
		_, err := conn.PgConn().ExecBatch(ctx, b).ReadAll()
		return err
	}
	simple := func(sql string) error {
		_, err := conn.Exec(ctx, sql)
		return err
	}

	// 25001 active_sql_transaction; 2D000 invalid_transaction_termination.
	refused("index build, simple query, second statement", "25001", simple("SET lock_timeout = '2s';\nCREATE INDEX CONCURRENTLY i1 ON t (c);"))
	refused("index build, CLI batch, second statement", "25001", batch("SET lock_timeout = '2s'", "CREATE INDEX CONCURRENTLY i2 ON t (c)", "INSERT INTO history VALUES ('x')"))
	refused("CALL, simple query, second statement", "2D000", simple("SET lock_timeout = '2s';\nCALL commits();"))

	// Alone they work, and so does the CLI's history INSERT after them:
	// they commit before the next statement starts. In a pipeline (no
	// transaction block, only an implicit transaction) the CALL works
	// after another statement too, committing that statement with it: the
	// file is then no longer all or nothing, which is why it stays alone.
	for what, err := range map[string]error{
		"CALL, CLI batch, second":          batch("SET lock_timeout = '2s'", "CALL commits()", "INSERT INTO history VALUES ('x')"),
		"index build, simple query, alone": simple("CREATE INDEX CONCURRENTLY i3 ON t (c);"),
		"index build, CLI batch, first":    batch("CREATE INDEX CONCURRENTLY i4 ON t (c)", "INSERT INTO history VALUES ('x')"),
		"CALL, simple query, alone":        simple("CALL commits();"),
		"CALL, CLI batch, first":           batch("CALL commits()", "INSERT INTO history VALUES ('x')"),
	} {
		if err != nil {
			t.Errorf("%s: %v", what, err)
		}
	}
}
