package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/warden-sql/warden/internal/pgtemp"
	"github.com/warden-sql/warden/internal/pgtest"
	"github.com/warden-sql/warden/introspect"
	"github.com/warden-sql/warden/policy"
)

var (
	embeddedOnce sync.Once
	embeddedOut  result
)

// embeddedDefault is `warden inspect` on the embedded default, run once and
// shared by the tests that compare other sources with it.
func embeddedDefault(t *testing.T) string {
	t.Helper()
	embeddedOnce.Do(func() {
		cleanEnv(t)
		embeddedOut = warden(t, "inspect", "--policy", testPolicy)
	})
	wantOK(t, embeddedOut)
	return embeddedOut.stdout
}

func TestInspectEmbeddedDefault(t *testing.T) {
	cleanEnv(t)
	tmp := scratchTmp(t)
	first := warden(t, "inspect", "--policy", testPolicy)
	wantOK(t, first)
	second := warden(t, "--policy", testPolicy, "inspect") // global flag before the command
	wantOK(t, second)
	if first.stdout != second.stdout {
		t.Fatalf("two runs differ:\n%s", cmp.Diff(first.stdout, second.stdout))
	}
	if !json.Valid([]byte(first.stdout)) {
		t.Fatalf("output is not valid JSON:\n%.2000s", first.stdout)
	}
	db, err := introspect.ReadSnapshot([]byte(first.stdout))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"calls", "call_logs", "organizations", "user_credits", "LeadScores"} {
		if db.Table("public", name) == nil {
			t.Errorf("public.%s missing from the model", name)
		}
	}
	if db.Table("auth", "users") != nil {
		t.Error("auth.users is in the model, but the policy governs only public")
	}
	if strings.Contains(first.stdout, "row_estimate") {
		t.Error("default output carries row estimates; they belong under --stats only")
	}
	// The throwaway server and its files are gone once the command returns.
	assertEmptyDir(t, tmp)
}

// TestQuickStart runs the README's first command, `warden inspect` with the
// repository's own policy.yaml, so the quick start cannot silently break.
func TestQuickStart(t *testing.T) {
	cleanEnv(t)
	r := warden(t, "inspect", "--policy", "../../policy.yaml")
	wantOK(t, r)
	db, err := introspect.ReadSnapshot([]byte(r.stdout))
	if err != nil {
		t.Fatal(err)
	}
	if db.Table("public", "calls") == nil || db.Table("public", "organizations") == nil {
		t.Errorf("public.calls or public.organizations missing: %d tables", len(db.Tables))
	}
}

// TestInspectSources checks that every way of naming a database gives the
// very bytes the embedded default gives for the same schema.
func TestInspectSources(t *testing.T) {
	want := embeddedDefault(t)
	cleanEnv(t)
	dbURL := exampleDB(t)

	t.Run("flag", func(t *testing.T) {
		r := warden(t, "inspect", "--policy", testPolicy, "--database-url", dbURL)
		wantOK(t, r)
		if r.stdout != want {
			t.Errorf("--database-url output differs from the embedded default:\n%s", cmp.Diff(want, r.stdout))
		}
	})
	t.Run("flag before the command beats DATABASE_URL", func(t *testing.T) {
		t.Setenv("DATABASE_URL", fmt.Sprintf("postgres://nobody@127.0.0.1:%d/none", closedPort(t)))
		r := warden(t, "--database-url", dbURL, "inspect", "--policy", testPolicy)
		wantOK(t, r)
		if r.stdout != want {
			t.Errorf("output differs from the embedded default:\n%s", cmp.Diff(want, r.stdout))
		}
	})
	t.Run("flag after the command beats the one before", func(t *testing.T) {
		r := warden(t, "--policy", "missing.yaml", "inspect", "--policy", testPolicy, "--database-url", dbURL)
		wantOK(t, r)
		if r.stdout != want {
			t.Errorf("output differs from the embedded default:\n%s", cmp.Diff(want, r.stdout))
		}
	})
	t.Run("DATABASE_URL", func(t *testing.T) {
		t.Setenv("DATABASE_URL", dbURL)
		r := warden(t, "inspect", "--policy", testPolicy)
		wantOK(t, r)
		if r.stdout != want {
			t.Errorf("DATABASE_URL output differs from the embedded default:\n%s", cmp.Diff(want, r.stdout))
		}
	})
	t.Run("PG variables", func(t *testing.T) {
		u, err := url.Parse(dbURL)
		if err != nil {
			t.Fatal(err)
		}
		t.Setenv("PGHOST", u.Query().Get("host"))
		t.Setenv("PGPORT", u.Query().Get("port"))
		t.Setenv("PGUSER", u.User.Username())
		t.Setenv("PGDATABASE", strings.TrimPrefix(u.Path, "/"))
		t.Setenv("PGSSLMODE", "disable")
		r := warden(t, "inspect", "--policy", testPolicy)
		wantOK(t, r)
		if r.stdout != want {
			t.Errorf("PG* output differs from the embedded default:\n%s", cmp.Diff(want, r.stdout))
		}
	})
	t.Run("schema flag without a policy", func(t *testing.T) {
		r := warden(t, "inspect", "--policy", "does-not-exist.yaml", "--database-url", dbURL, "--schema", "auth")
		wantOK(t, r)
		db, err := introspect.ReadSnapshot([]byte(r.stdout))
		if err != nil {
			t.Fatal(err)
		}
		if db.Table("auth", "users") == nil || db.Table("public", "calls") != nil {
			t.Errorf("--schema auth: got schemas %v with %d tables", db.Schemas, len(db.Tables))
		}
	})
}

// TestInspectOutStatsSnapshot writes a snapshot with --out --stats, checks
// that the stats sit apart from the model, and reads it back with
// --snapshot: no database involved, same model bytes.
func TestInspectOutStatsSnapshot(t *testing.T) {
	want := embeddedDefault(t)
	cleanEnv(t)
	dbURL := exampleDB(t)
	conn := pgtest.Connect(t, dbURL)
	pgtest.Exec(t, conn, `INSERT INTO public.organizations (id, name) VALUES ('a0000000-0000-0000-0000-000000000001', 'Default'); ANALYZE`)

	dir := t.TempDir()
	out := filepath.Join(dir, "snapshot.json")
	r := warden(t, "inspect", "--policy", testPolicy, "--database-url", dbURL, "--stats", "--out", out)
	if r.code != 0 || r.stdout != "" || !strings.HasPrefix(r.stderr, "wrote "+out) {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		t.Fatal(err)
	}
	var stats introspect.Stats
	if err := json.Unmarshal(top["stats"], &stats); err != nil {
		t.Fatalf("no stats object: %v", err)
	}
	if got := stats.Tables["public.organizations"].RowEstimate; got != 1 {
		t.Errorf("public.organizations row estimate %d, want 1", got)
	}
	if _, ok := stats.Tables["public.calls"]; !ok {
		t.Error("public.calls has no stats")
	}
	// Without the stats key, the file is the plain model.
	delete(top, "stats")
	var plain map[string]json.RawMessage
	if err := json.Unmarshal([]byte(want), &plain); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(normalize(t, plain), normalize(t, top)); diff != "" {
		t.Errorf("model part of --stats output differs (-want +got):\n%s", diff)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("--out left temporary files: %v", entries)
	}

	// Read back, with no database at all: an unreachable DATABASE_URL would
	// fail if it were used.
	t.Setenv("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
	r = warden(t, "inspect", "--policy", testPolicy, "--snapshot", out)
	wantOK(t, r)
	if r.stdout != want {
		t.Errorf("--snapshot output differs from the embedded default:\n%s", cmp.Diff(want, r.stdout))
	}
	r = warden(t, "inspect", "--policy", testPolicy, "--snapshot", out, "--stats")
	wantOK(t, r)
	if !bytes.Equal([]byte(r.stdout), data) {
		t.Errorf("--snapshot --stats does not reproduce the file:\n%s", cmp.Diff(string(data), r.stdout))
	}
}

func normalize(t *testing.T, m map[string]json.RawMessage) map[string]any {
	t.Helper()
	out := map[string]any{}
	for k, v := range m {
		var x any
		if err := json.Unmarshal(v, &x); err != nil {
			t.Fatal(err)
		}
		out[k] = x
	}
	return out
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// writePolicy writes a policy.yaml (and extra files) into a fresh directory
// and returns its path.
func writePolicy(t *testing.T, text string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const policyTail = `tenant:
  table: public.organizations
  default_org: a0000000-0000-0000-0000-000000000001
migrations:
  version: 20250110000000
`

func TestInspectUnreachable(t *testing.T) {
	cleanEnv(t)
	port := closedPort(t)
	r := warden(t, "inspect", "--policy", testPolicy,
		"--database-url", fmt.Sprintf("postgres://alice:s3cret-pw@127.0.0.1:%d/app", port))
	wantError(t, r, 2, fmt.Sprintf("cannot connect to PostgreSQL at 127.0.0.1:%d", port), "connection refused", "is the server running?")
	if strings.Contains(r.stderr, "s3cret-pw") {
		t.Errorf("password printed: %s", r.stderr)
	}

	// The same through the PG* variables.
	t.Setenv("PGHOST", "127.0.0.1")
	t.Setenv("PGPORT", fmt.Sprint(port))
	t.Setenv("PGPASSWORD", "s3cret-pw")
	r = warden(t, "inspect", "--policy", testPolicy)
	wantError(t, r, 2, fmt.Sprintf("127.0.0.1:%d", port), "is the server running?")
	if strings.Contains(r.stderr, "s3cret-pw") {
		t.Errorf("password printed: %s", r.stderr)
	}
}

func TestInspectInvalidURL(t *testing.T) {
	cleanEnv(t)
	r := warden(t, "inspect", "--policy", testPolicy, "--database-url", "postgres://alice:s3cret-pw@127.0.0.1:99999999/app")
	wantError(t, r, 2, "invalid database URL postgres://alice:xxxxx@127.0.0.1:99999999/app", "port")
	if strings.Contains(r.stderr, "s3cret-pw") {
		t.Errorf("password printed: %s", r.stderr)
	}
}

// TestInspectAuthFailure uses a second throwaway server that checks
// passwords (the shared one trusts every local connection).
func TestInspectAuthFailure(t *testing.T) {
	cleanEnv(t)
	ctx := context.Background()
	srv, err := pgtemp.Start(ctx, pgtemp.Options{AuthMethod: "scram-sha-256"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	if err := srv.CreateDatabase(ctx, "app", ""); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, srv.URL("app"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = conn.Exec(ctx, `CREATE ROLE alice LOGIN PASSWORD 'right-pw'`)
	conn.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	as := func(user, pw string) string {
		return fmt.Sprintf("postgres://%s:%s@/app?host=%s&port=%d&sslmode=disable", user, pw, srv.Dir(), srv.Port())
	}

	r := warden(t, "inspect", "--policy", testPolicy, "--database-url", as("alice", "wrong-pw"))
	wantError(t, r, 2, `authentication failed for user "alice"`, srv.Dir(), "password")
	if strings.Contains(r.stderr, "wrong-pw") {
		t.Errorf("password printed: %s", r.stderr)
	}

	// The right password gets in: the failure above was the password.
	r = warden(t, "inspect", "--policy", testPolicy, "--database-url", as("alice", "right-pw"))
	wantOK(t, r)

	// A role that does not exist (SQLSTATE 28000).
	r = warden(t, "inspect", "--policy", testPolicy, "--database-url", as("mallory", "any-pw"))
	wantError(t, r, 2, `authentication failed for user "mallory"`)
}

func TestInspectDatabaseDoesNotExist(t *testing.T) {
	cleanEnv(t)
	u, err := url.Parse(pgtest.NewDB(t))
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/no_such_database"
	r := warden(t, "inspect", "--policy", testPolicy, "--database-url", u.String())
	wantError(t, r, 2, `database "no_such_database" does not exist`)
}

func TestInspectMissingSchema(t *testing.T) {
	cleanEnv(t)
	dbURL := exampleDB(t)
	r := warden(t, "inspect", "--policy", testPolicy, "--database-url", dbURL, "--schema", "public", "--schema", "no_such_schema")
	wantError(t, r, 2, `schema "no_such_schema" does not exist`)

	// From the policy, on the embedded default.
	p := writePolicy(t, "version: 1\nschemas: [public, billing]\nschema_files: [s.sql]\n"+policyTail,
		map[string]string{"s.sql": "create table public.organizations (id uuid primary key);\n"})
	r = warden(t, "inspect", "--policy", p)
	wantError(t, r, 2, `schema "billing" does not exist`, "embedded PostgreSQL")
}

func TestInspectNoBinaries(t *testing.T) {
	cleanEnv(t)
	t.Setenv(pgtemp.BinDirEnv, t.TempDir())
	r := warden(t, "inspect", "--policy", testPolicy)
	wantError(t, r, 2, "no PostgreSQL server binaries found", "DATABASE_URL")
}

func TestInspectPolicyError(t *testing.T) {
	cleanEnv(t)
	p := writePolicy(t, "version: 1\nschemas: [public]\ntenant:\n  table: public.organizations\n  default_org: not-a-uuid\nmigrations:\n  version: 20250110000000\n", nil)
	r := warden(t, "inspect", "--policy", p)
	wantError(t, r, 2, p+":5:16: tenant.default_org:", `"not-a-uuid"`)

	r = warden(t, "inspect", "--policy", filepath.Join(t.TempDir(), "missing.yaml"))
	wantError(t, r, 2, "missing.yaml", "cannot read policy file")
}

// TestInspectSchemaFileError checks that a schema file PostgreSQL rejects
// is named with the line of the error.
func TestInspectSchemaFileError(t *testing.T) {
	cleanEnv(t)
	tmp := scratchTmp(t)
	p := writePolicy(t, "version: 1\nschemas: [public]\nschema_files: [good.sql, bad.sql]\n"+policyTail, map[string]string{
		"good.sql": "create table public.organizations (id uuid primary key);\n",
		"bad.sql":  "-- a comment\ncreate table public.a (id int);\n\ncreate table public.b (id int,\n  name txet);\n",
	})
	r := warden(t, "inspect", "--policy", p)
	wantError(t, r, 2, filepath.Join(filepath.Dir(p), "bad.sql")+":5: ", `type "txet" does not exist`)
	assertEmptyDir(t, tmp)
}

func TestInspectOutMissingDir(t *testing.T) {
	cleanEnv(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "missing", "snapshot.json")
	start := time.Now()
	r := warden(t, "inspect", "--policy", testPolicy, "--out", out)
	wantError(t, r, 2, "--out "+out, "does not exist")
	if _, err := os.Stat(filepath.Dir(out)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s was created", filepath.Dir(out))
	}
	assertEmptyDir(t, dir)
	// Checked before any database work, so it fails fast.
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("took %v: the output directory should be checked before starting PostgreSQL", d)
	}
}

func TestUsageErrors(t *testing.T) {
	cleanEnv(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"inspect", "--no-such-flag"}, "flag provided but not defined: -no-such-flag"},
		{[]string{"--no-such-flag", "inspect"}, "flag provided but not defined: -no-such-flag"},
		{[]string{"inspect", "extra"}, `unexpected argument "extra"`},
		{[]string{"no-such-command"}, `unknown command "no-such-command"`},
	} {
		r := warden(t, tc.args...)
		wantError(t, r, 2, tc.want)
	}
	r := warden(t)
	if r.code != 2 || !strings.Contains(r.stdout, "inspect") || r.stderr != "warden: no command given\n" {
		t.Errorf("no command: exit %d, stderr %q", r.code, r.stderr)
	}
	r = warden(t, "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "inspect") {
		t.Errorf("--help: exit %d, stdout %q", r.code, r.stdout)
	}
}

// TestInterrupted cancels the context (as SIGINT does through main's
// signal.NotifyContext) while the throwaway server is starting, and once it
// runs: warden exits 130 and leaves no server files behind either way.
func TestInterrupted(t *testing.T) {
	for _, tc := range []struct {
		name string
		when string // glob under TMPDIR whose appearance triggers the signal
	}{
		{"starting", "warden-pg-*"},
		{"running", "warden-pg-*/.s.PGSQL.*"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cleanEnv(t)
			tmp := scratchTmp(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() {
				for ctx.Err() == nil {
					if m, _ := filepath.Glob(filepath.Join(tmp, tc.when)); len(m) > 0 {
						cancel()
						return
					}
					time.Sleep(time.Millisecond)
				}
			}()
			r := wardenCtx(t, ctx, "inspect", "--policy", testPolicy)
			wantError(t, r, 130, "interrupted")
			assertEmptyDir(t, tmp)
		})
	}
}

func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, 0},
		{failed(errors.New("drift")), 1},
		{fmt.Errorf("wrapped: %w", failed(errors.New("drift"))), 1},
		{usageErrorf("bad"), 2},
		{&policy.Error{Msg: "bad"}, 2},
		{pgtemp.ErrNoBinaries, 2},
		{errors.New("anything else"), 2},
		{fmt.Errorf("x: %w", context.Canceled), 130},
	} {
		if got := exitCode(tc.err); got != tc.want {
			t.Errorf("exitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

// TestSnapshotStaleWhenSchemaFilesChange: a snapshot read from the
// policy's schema files records their sums; plan, generate and check on
// it fail (exit 1, a verdict like drift) once a file changed, naming the
// file and the command that refreshes the snapshot; refreshed, it shows
// the drift the stale one hid.
func TestSnapshotStaleWhenSchemaFilesChange(t *testing.T) {
	cleanEnv(t)
	schema := "CREATE TABLE public.organizations (id uuid PRIMARY KEY, name text NOT NULL);\n"
	pol := writePolicy(t, "version: 1\nschemas: [public]\nschema_files: [schema.sql]\n"+policyTail, map[string]string{"schema.sql": schema})
	dir := filepath.Dir(pol)
	snap := filepath.Join(dir, "schema.json")
	inspect := func() {
		t.Helper()
		if r := warden(t, "inspect", "--policy", pol, "--out", snap); r.code != 0 {
			t.Fatalf("inspect: exit %d\n%s", r.code, r.stderr)
		}
	}
	inspect()
	data, err := os.ReadFile(snap)
	if err != nil || !strings.Contains(string(data), `"name": "schema.sql"`) {
		t.Fatalf("the snapshot records no sum of schema.sql (%v):\n%s", err, data)
	}
	out := filepath.Join(dir, "out")
	wantOK(t, warden(t, "generate", "--policy", pol, "--snapshot", snap, "--out", out))
	wantOK(t, warden(t, "check", "--policy", pol, "--snapshot", snap, "--out", out))

	if err := os.WriteFile(filepath.Join(dir, "schema.sql"), []byte(schema+"CREATE TABLE public.notes (id int);\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"check", "--out", out}, {"plan"}, {"generate", "--out", out}} {
		wantError(t, warden(t, append(args, "--policy", pol, "--snapshot", snap)...), 1,
			"snapshot "+snap+" is stale", "(schema.sql)", "warden inspect --out "+snap)
	}
	// Refreshed, the snapshot shows what the stale one hid: the output is
	// not current for the changed schema.
	inspect()
	if r := warden(t, "check", "--policy", pol, "--snapshot", snap, "--out", out); r.code != 1 || !strings.Contains(r.stderr, "is not current") {
		t.Errorf("check on the refreshed snapshot: exit %d, want 1 naming the drift\n%s", r.code, r.stderr)
	}
}
