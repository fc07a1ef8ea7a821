package history

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/golang-migrate/migrate/v4"
	migratepgx "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/google/go-cmp/cmp"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx", for goose
	"github.com/pressly/goose/v3"

	"github.com/warden-sql/warden/generator/classify"
	"github.com/warden-sql/warden/generator/migrations"
	"github.com/warden-sql/warden/internal/fileset"
	"github.com/warden-sql/warden/internal/pgtest"
	"github.com/warden-sql/warden/internal/runnertest"
	"github.com/warden-sql/warden/introspect"
	"github.com/warden-sql/warden/policy"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const dayOnePolicy = `version: 1
schemas: [public]
tenant:
  table: orgs
  default_org: a0000000-0000-0000-0000-000000000001
  default_org_name: Default organization
scope: [calls, call_logs]
tables:
  calls: {when_null: default_org}
migrations:
  version: "20250110000000"
`

const dayOneSchema = `
CREATE SCHEMA auth;
CREATE TABLE auth.users (id uuid PRIMARY KEY, raw_app_meta_data jsonb NOT NULL DEFAULT '{}');
INSERT INTO auth.users (id) VALUES ('00000000-0000-0000-0000-0000000000a1');
CREATE TABLE public.orgs (id uuid PRIMARY KEY, name text NOT NULL);
CREATE TABLE public.calls (id uuid PRIMARY KEY, user_id uuid REFERENCES auth.users, status text);
INSERT INTO public.calls VALUES ('c0000000-0000-0000-0000-000000000001', '00000000-0000-0000-0000-0000000000a1', 'x');
CREATE TABLE public.call_logs (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  call_id uuid NOT NULL REFERENCES public.calls, event text);
INSERT INTO public.call_logs (call_id, event) VALUES ('c0000000-0000-0000-0000-000000000001', 'e');
`

// dayTwoPolicy scopes the table the app added on the second day; its
// ownerless rows take the default org.
var dayTwoPolicy = strings.NewReplacer("scope: [calls, call_logs]", "scope: [calls, call_logs, tags]",
	"  calls: {when_null: default_org}\n", "  calls: {when_null: default_org}\n  tags: {when_null: default_org}\n").Replace(dayOnePolicy)

// The second day: a table the app added, now in scope, and one it created
// already carrying org_id (warden finishes it: foreign key, index, NOT
// NULL, immutability, row-level security).
const dayTwoSchema = `
CREATE TABLE public.tags (id int PRIMARY KEY, user_id uuid REFERENCES auth.users, tag text);
INSERT INTO public.tags VALUES (1, '00000000-0000-0000-0000-0000000000a1', 't'), (2, NULL, 'ownerless');
CREATE TABLE public.notes (id int PRIMARY KEY, org_id uuid, body text);
INSERT INTO public.notes VALUES (1, 'a0000000-0000-0000-0000-000000000001', 'n');
`

// stepsOf reads the catalog of url and plans the steps for policy text.
func stepsOf(t *testing.T, url, text string) []migrations.Step {
	t.Helper()
	pol, err := policy.Parse("policy.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	db, err := introspect.Inspect(context.Background(), pgtest.Connect(t, url), pol.Schemas)
	if err != nil {
		t.Fatal(err)
	}
	plan := classify.Classify(db, pol)
	steps, err := migrations.Steps(plan, db)
	if err != nil {
		t.Fatal(err)
	}
	return steps
}

func readDir(dir string) ReadFile {
	return func(p string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, filepath.FromSlash(p))) }
}

// applied is what a runner applied in one run: the versions.
type historyRunner struct {
	format string
	// up applies what the runner has not applied yet and returns the
	// versions it applied.
	up func(t *testing.T, dir, url string) []int64
}

var historyRunners = []historyRunner{
	{migrations.RunnerNames()[0], supabaseCLIUp},   // supabase, with the real CLI
	{migrations.RunnerNames()[1], gooseUp},         // goose
	{migrations.RunnerNames()[2], golangMigrateUp}, // golang-migrate
}

// supabaseCLIUp runs `supabase migration up` (the real CLI, which applies
// supabase/migrations to any PostgreSQL) and returns the versions its
// history table gained.
func supabaseCLIUp(t *testing.T, dir, url string) []int64 {
	t.Helper()
	bin, err := runnertest.SupabaseCLI()
	if err != nil {
		t.Fatal(err)
	}
	conn := pgtest.Connect(t, url)
	versions := func() map[int64]bool {
		out := map[int64]bool{}
		var exists bool
		if err := conn.QueryRow(context.Background(), `SELECT to_regclass('supabase_migrations.schema_migrations') IS NOT NULL`).Scan(&exists); err != nil || !exists {
			return out
		}
		rows, err := conn.Query(context.Background(), `SELECT version FROM supabase_migrations.schema_migrations`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			var n int64
			fmt.Sscan(v, &n)
			out[n] = true
		}
		return out
	}
	before := versions()
	// The CLI refuses a URL without a host; the host query parameter (the
	// socket directory) still decides where it connects.
	cmd := exec.Command(bin, "migration", "up", "--db-url", strings.Replace(url, "@/", "@localhost/", 1), "--workdir", dir)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "SUPABASE_TELEMETRY_DISABLED=true", "SUPABASE_NO_UPDATE_NOTIFIER=true", "DO_NOT_TRACK=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("supabase migration up: %v\n%s", err, out)
	}
	var applied []int64
	for v := range versions() {
		if !before[v] {
			applied = append(applied, v)
		}
	}
	return applied
}

// TestRunnersApplyOnlyTheAppendedFiles: day one is generated and applied
// with the real runner; a table then enters scope and the set is
// regenerated against the ledger. No file of day one changes, and the
// runner, which tracks versions, applies exactly the appended versions,
// after which the new table is migrated like the others.
func TestRunnersApplyOnlyTheAppendedFiles(t *testing.T) {
	for _, rn := range historyRunners {
		for _, layout := range []string{policy.LayoutStep, policy.LayoutGrouped} {
			t.Run(rn.format+"/"+layout, func(t *testing.T) {
				t.Parallel()
				appendedOnly(t, rn, layout)
			})
		}
	}
}

// appendedOnly is TestRunnersApplyOnlyTheAppendedFiles for one runner and
// layout.
func appendedOnly(t *testing.T, rn historyRunner, layout string) {
	{
		{
			url := pgtest.NewDB(t)
			conn := pgtest.Connect(t, url)
			pgtest.Exec(t, conn, dayOneSchema)
			dir := t.TempDir()

			steps1 := stepsOf(t, url, dayOnePolicy)
			laid1, ledger1, err := Reconcile(steps1, rn.format, "20250110000000", nil, readDir(dir), Options{Layout: layout})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := fileset.Write(dir, laid1.Set); err != nil {
				t.Fatal(err)
			}
			if got := rn.up(t, dir, url); len(got) != len(ledger1.Entries) {
				t.Fatalf("day one: applied %d versions for %d recorded", len(got), len(ledger1.Entries))
			}
			if layout == policy.LayoutGrouped && len(ledger1.Entries) >= len(steps1) {
				t.Errorf("grouped: %d files for %d steps", len(ledger1.Entries), len(steps1))
			}

			pgtest.Exec(t, conn, dayTwoSchema)
			steps2 := stepsOf(t, url, dayTwoPolicy)
			prior, err := Parse(ledger1.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			laid2, ledger2, err := Reconcile(steps2, rn.format, "20250110000000", prior, readDir(dir), Options{})
			if err != nil {
				t.Fatal(err)
			}
			for p, data := range laid1.Set {
				if p == FileName {
					continue
				}
				if string(laid2.Set[p]) != string(data) {
					t.Errorf("day two changed or dropped %s", p)
				}
			}
			if _, err := fileset.Write(dir, laid2.Set); err != nil {
				t.Fatal(err)
			}
			last := ledger1.Entries[len(ledger1.Entries)-1].Version
			want := map[int64]bool{}
			for _, e := range ledger2.Entries {
				if e.Version > last {
					want[e.Version] = true
				}
			}
			got := rn.up(t, dir, url)
			if len(got) != len(want) {
				t.Errorf("day two: applied %v, want the %d appended versions", got, len(want))
			}
			for _, v := range got {
				if !want[v] {
					t.Errorf("day two: applied version %d, which is not appended", v)
				}
			}
			var nulls int
			var notNull bool
			if err := conn.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM public.tags WHERE org_id IS NULL),
				(SELECT attnotnull FROM pg_attribute WHERE attrelid = 'public.tags'::regclass AND attname = 'org_id')`).Scan(&nulls, &notNull); err != nil {
				t.Fatal(err)
			}
			if nulls != 0 || !notNull {
				t.Errorf("public.tags after day two: %d rows without org_id, NOT NULL %v", nulls, notNull)
			}
			var rls bool
			if err := conn.QueryRow(context.Background(), `SELECT c.relrowsecurity, a.attnotnull FROM pg_class c
				JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'org_id' WHERE c.oid = 'public.notes'::regclass`).Scan(&rls, &notNull); err != nil {
				t.Fatal(err)
			}
			if !rls || !notNull {
				t.Errorf("public.notes, created with org_id, after day two: row-level security %v, NOT NULL %v; want it finished", rls, notNull)
			}
		}
	}
}

// TestParseRefusesAnEditedLedger: the seal catches any edit, and a ledger
// that is not one is named as such.
func TestParseRefusesAnEditedLedger(t *testing.T) {
	l := &Ledger{Format: "goose", Entries: []Entry{{Version: 20250110000000, Step: "setup",
		Up: FileSum{Path: "migrations/20250110000000_warden_setup.sql", Sum: Sum([]byte("x"))}, UpNoTx: true}}}
	data := l.Bytes()
	back, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if string(back.Bytes()) != string(data) {
		t.Errorf("round trip changed the ledger:\n%s\n%s", data, back.Bytes())
	}
	edited := strings.Replace(string(data), "20250110000000 setup", "20250110000001 setup", 1)
	if _, err := Parse([]byte(edited)); err == nil || !strings.Contains(err.Error(), "edited by hand") {
		t.Errorf("an edited ledger: %v", err)
	}
	if _, err := Parse([]byte("hello\n")); err == nil {
		t.Error("a file that is no ledger was accepted")
	}
}

func gooseUp(t *testing.T, dir, url string) []int64 {
	t.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, os.DirFS(filepath.Join(dir, "migrations")), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	results, err := p.Up(context.Background())
	if err != nil {
		t.Fatalf("goose up: %v", err)
	}
	var out []int64
	for _, r := range results {
		out = append(out, r.Source.Version)
	}
	return out
}

func golangMigrateUp(t *testing.T, dir, url string) []int64 {
	t.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	before := appliedVersion(t, db)
	src, err := iofs.New(os.DirFS(dir), "migrations")
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
	defer m.Close()
	if err := m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		t.Fatalf("golang-migrate up: %v", err)
	}
	// golang-migrate keeps only the last version: the applied ones are the
	// files between the version before and the version after.
	after, _, err := m.Version()
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Join(dir, "migrations"))
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for _, e := range entries {
		var v int64
		if !strings.HasSuffix(e.Name(), ".up.sql") {
			continue
		}
		if _, err := fmt.Sscan(strings.SplitN(e.Name(), "_", 2)[0], &v); err != nil {
			t.Fatal(err)
		}
		if v > before && v <= int64(after) {
			out = append(out, v)
		}
	}
	return out
}

// appliedVersion is golang-migrate's recorded version, -1 before any.
func appliedVersion(t *testing.T, db *sql.DB) int64 {
	t.Helper()
	var v int64
	err := db.QueryRow("SELECT version FROM schema_migrations").Scan(&v)
	if err != nil {
		if strings.Contains(err.Error(), "does not exist") || errors.Is(err, sql.ErrNoRows) {
			return -1
		}
		t.Fatal(err)
	}
	return v
}

// TestAppendedVersionsUndoNothingAndRewriteStartsOver: a step re-emitted
// over a recorded version gets no down (the undo of its first version
// undoes it; undoing the whole setup at the newer version would drop what
// older versions' policies depend on); --rewrite lays everything out from
// the base version again, in plan order; appended versions go above the
// app's own migrations in the runner's folder.
func TestAppendedVersionsUndoNothingAndRewriteStartsOver(t *testing.T) {
	for _, layout := range []string{policy.LayoutStep, policy.LayoutGrouped} {
		t.Run(layout, func(t *testing.T) { appendedUndoNothing(t, layout) })
	}
}

func appendedUndoNothing(t *testing.T, layout string) {
	url := pgtest.NewDB(t)
	pgtest.Exec(t, pgtest.Connect(t, url), dayOneSchema)
	dir := t.TempDir()
	const format = "goose"
	steps1 := stepsOf(t, url, dayOnePolicy)
	_, ledger1, err := Reconcile(steps1, format, "20250110000000", nil, readDir(dir), Options{Layout: layout})
	if err != nil {
		t.Fatal(err)
	}
	laid1, _, _ := Reconcile(steps1, format, "20250110000000", nil, readDir(dir), Options{Layout: layout})
	if _, err := fileset.Write(dir, laid1.Set); err != nil {
		t.Fatal(err)
	}
	pgtest.Exec(t, pgtest.Connect(t, url), dayTwoSchema)
	steps2 := stepsOf(t, url, dayTwoPolicy)
	const own = 20250110000500 // the app's own migration, after warden's
	laid2, ledger2, err := Reconcile(steps2, format, "20250110000000", ledger1, readDir(dir), Options{Floor: own, Layout: layout})
	if err != nil {
		t.Fatal(err)
	}
	last1 := ledger1.Entries[len(ledger1.Entries)-1].Version
	reemitted := 0
	for _, e := range ledger2.Entries {
		if e.Version > last1 && e.Version <= own {
			t.Errorf("step %s appended at %d, not above the app's own %d", e.Step, e.Version, own)
		}
		if e.Step == "backfill_check" && e.Version > last1 {
			reemitted++
			body := string(laid2.Set[e.Up.Path])
			if _, down, _ := strings.Cut(body, "-- +goose Down\n"); !strings.Contains(down, "Nothing to undo") {
				t.Errorf("re-emitted %s has a down section:\n%s", e.Up.Path, down)
			}
		}
	}
	if reemitted != 1 {
		t.Errorf("backfill_check re-emitted %d times, want once", reemitted)
	}
	// Regenerating against the new ledger changes nothing (the re-emitted
	// version's empty down is its recorded bytes).
	if _, again, err := Reconcile(steps2, format, "20250110000000", ledger2, func(p string) ([]byte, error) {
		if data, ok := laid2.Set[p]; ok {
			return data, nil
		}
		return nil, os.ErrNotExist
	}, Options{Floor: own, Layout: layout}); err != nil || string(again.Bytes()) != string(ledger2.Bytes()) {
		t.Errorf("a second reconcile changed the ledger (%v)", err)
	}
	// --rewrite: a first generation again, setup at the base version.
	_, fresh, err := Reconcile(steps2, format, "20250110000000", ledger2, readDir(dir), Options{Rewrite: true, Layout: layout})
	if err != nil {
		t.Fatal(err)
	}
	units := steps2
	if layout == policy.LayoutGrouped {
		units = migrations.Group(steps2, format)
	}
	if len(fresh.Entries) != len(units) {
		t.Errorf("rewrite: %d entries for %d units", len(fresh.Entries), len(units))
	}
	for i, e := range fresh.Entries {
		if i < len(units) && (e.Version != 20250110000000+int64(i) || e.Step != units[i].Name) {
			t.Errorf("rewrite: entry %d is %d %s, want %d %s", i, e.Version, e.Step, 20250110000000+int64(i), units[i].Name)
		}
	}
}

// TestCommentOnlyChangeKeepsRecordedBytes: a recorded step whose new
// rendering differs only in comment lines (a reworded reason, a linter's
// ignore comment) keeps its recorded files byte for byte and gets no new
// version, in every format, goose's annotations counting as content; a
// change to a statement is still refused.
func TestCommentOnlyChangeKeepsRecordedBytes(t *testing.T) {
	url := pgtest.NewDB(t)
	pgtest.Exec(t, pgtest.Connect(t, url), dayOneSchema)
	steps := stepsOf(t, url, dayOnePolicy)
	var target int
	for i, s := range steps {
		if s.Kind == migrations.KindSetNotNull { // not re-emittable
			target = i
			break
		}
	}
	for _, format := range migrations.RunnerNames() {
		t.Run(format, func(t *testing.T) {
			dir := t.TempDir()
			laid1, ledger1, err := Reconcile(steps, format, "20250110000000", nil, readDir(dir), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := fileset.Write(dir, laid1.Set); err != nil {
				t.Fatal(err)
			}
			commented := slices.Clone(steps)
			commented[target].Up = "-- a reason, reworded\n-- squawk-ignore some-rule\n" + commented[target].Up
			laid2, ledger2, err := Reconcile(commented, format, "20250110000000", ledger1, readDir(dir), Options{})
			if err != nil {
				t.Fatalf("a comment-only change is refused: %v", err)
			}
			if len(ledger2.Entries) != len(ledger1.Entries) {
				t.Errorf("a comment-only change appended versions: %d entries, want %d", len(ledger2.Entries), len(ledger1.Entries))
			}
			for p, data := range laid1.Set {
				if !bytes.Equal(laid2.Set[p], data) {
					t.Errorf("%s changed over a comment-only change", p)
				}
			}
			changed := slices.Clone(steps)
			changed[target].Up = strings.Replace(changed[target].Up, "SET LOCAL lock_timeout", "SET LOCAL statement_timeout = '1s';\nSET LOCAL lock_timeout", 1)
			if _, _, err := Reconcile(changed, format, "20250110000000", ledger1, readDir(dir), Options{}); err == nil {
				t.Error("a new statement in a recorded step is kept as if it were a comment")
			}
		})
	}
}

// TestGroupedHistory: in the grouped layout a recorded composite is kept
// byte for byte while its members render the same; when one of them
// changes and the kind can be re-emitted, every member is appended again
// as a composite of its own, above the recorded versions; a change to a
// composite of another kind is refused naming it; the ledger records the
// layout and the members, and a policy asking for the other layout is
// refused.
func TestGroupedHistory(t *testing.T) {
	url := pgtest.NewDB(t)
	pgtest.Exec(t, pgtest.Connect(t, url), dayOneSchema)
	dir := t.TempDir()
	const format = "goose"
	steps1 := stepsOf(t, url, dayOnePolicy)
	laid1, ledger1, err := Reconcile(steps1, format, "20250110000000", nil, readDir(dir), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ledger1.Layout != policy.LayoutGrouped {
		t.Errorf("a new history's layout is %q, want grouped", ledger1.Layout)
	}
	if _, err := fileset.Write(dir, laid1.Set); err != nil {
		t.Fatal(err)
	}
	back, err := Parse(ledger1.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ledger1, back); diff != "" {
		t.Errorf("ledger round trip (-written +read):\n%s", diff)
	}
	fills1 := entriesHolding(ledger1, "fill_trigger_calls")
	if len(fills1) != 1 || len(fills1[0].Members) != 2 {
		t.Fatalf("day one: fill triggers recorded as %+v, want one composite of calls and call_logs", fills1)
	}

	// call_logs' fill trigger changes (one more statement): the
	// fill-trigger composite is appended again, both members.
	edit := func(name string) []migrations.Step {
		out := slices.Clone(steps1)
		for i := range out {
			if out[i].Name == name {
				out[i].Up += "\nSELECT 1;"
				return out
			}
		}
		t.Fatalf("no step %s", name)
		return nil
	}
	laid2, ledger2, err := Reconcile(edit("fill_trigger_call_logs"), format, "20250110000000", ledger1, readDir(dir), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for p, data := range laid1.Set {
		if p != FileName && string(laid2.Set[p]) != string(data) {
			t.Errorf("a recorded file changed: %s", p)
		}
	}
	fills2 := entriesHolding(ledger2, "fill_trigger_calls")
	last1 := ledger1.Entries[len(ledger1.Entries)-1].Version
	if len(fills2) != 2 || fills2[1].Version <= last1 || !slices.Equal(fills2[1].Members, fills1[0].Members) {
		t.Errorf("after the change the fill triggers are recorded as %+v, want the day-one composite and the same members appended after %d", fills2, last1)
	}
	if body := string(laid2.Set[fills2[1].Up.Path]); !strings.Contains(body, "-- +goose NO TRANSACTION") || strings.Count(body, "-- +goose StatementBegin\nBEGIN;") != 2 {
		t.Errorf("the appended composite is not two transactions in a NO TRANSACTION file:\n%s", body)
	}

	// A composite that cannot be re-emitted (add_column) is refused by name.
	_, _, err = Reconcile(edit("add_org_id_call_logs"), format, "20250110000000", ledger1, readDir(dir), Options{})
	var herr *Error
	if !errors.As(err, &herr) || !strings.Contains(err.Error(), "add_org_id_calls+1_more") {
		t.Errorf("a changed add_column composite: %v, want a refusal naming add_org_id_calls+1_more", err)
	}

	// --rewrite keeps a recorded history's layout unless the policy names one.
	_, stepLedger, err := Reconcile(steps1, format, "20250110000000", nil, readDir(dir), Options{Layout: policy.LayoutStep})
	if err != nil {
		t.Fatal(err)
	}
	if _, again, err := Reconcile(steps1, format, "20250110000000", stepLedger, readDir(dir), Options{Rewrite: true}); err != nil || again.Layout != policy.LayoutStep {
		t.Errorf("--rewrite of a step history: layout %q (%v), want step", again.Layout, err)
	}

	// The policy may not switch layouts under a recorded history.
	_, _, err = Reconcile(steps1, format, "20250110000000", ledger1, readDir(dir), Options{Layout: policy.LayoutStep})
	if !errors.As(err, &herr) || !strings.Contains(err.Error(), "grouped layout, not step") {
		t.Errorf("layout: step over a grouped history: %v", err)
	}
}

// entriesHolding are the entries of l that record step, oldest first.
func entriesHolding(l *Ledger, step string) []Entry {
	var out []Entry
	for _, e := range l.Entries {
		if e.Step == step || slices.Contains(e.Members, step) {
			out = append(out, e)
		}
	}
	return out
}
