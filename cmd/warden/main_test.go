package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warden-sql/warden/exampleapp/exampledb"
	"github.com/warden-sql/warden/internal/dbsource"
	"github.com/warden-sql/warden/internal/pgtest"
	"github.com/warden-sql/warden/policy"
)

// TestMain gives the package one real PostgreSQL server for the tests that
// connect by URL; the embedded-default tests start their own through warden.
func TestMain(m *testing.M) { pgtest.Main(m) }

// testPolicy is the minimal policy of testdata/, loading the example app's
// exampleapp/schema/auth.sql and exampleapp/schema/app.sql.
const testPolicy = "testdata/policy.yaml"

// result is one in-process run of the CLI.
type result struct {
	code           int
	stdout, stderr string
}

// warden runs the CLI in-process, as main would, with args (no program name).
func warden(t *testing.T, args ...string) result {
	t.Helper()
	return wardenCtx(t, context.Background(), args...)
}

func wardenCtx(t *testing.T, ctx context.Context, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(ctx, args, strings.NewReader(""), &out, &errb)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// cleanEnv clears every variable that would point warden at a database, so
// that a developer's DATABASE_URL or PGHOST cannot change what a test runs
// against.
func cleanEnv(t *testing.T) {
	t.Helper()
	t.Setenv("DATABASE_URL", "")
	for _, v := range dbsource.EnvVars {
		t.Setenv(v, "")
	}
}

// scratchTmp points TMPDIR at a fresh directory so a test can check that
// the throwaway server left nothing behind. The server may run as an
// unprivileged user, which must be able to reach it.
func scratchTmp(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("TMPDIR", dir)
	return dir
}

func assertEmptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("%s left behind in %s", e.Name(), dir)
	}
}

// exampleDB returns the URL of a fresh database holding the example app's
// schema, loaded the way the embedded default loads it.
func exampleDB(t *testing.T) string {
	t.Helper()
	pol, err := policy.Load("../../policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return exampledb.New(t, pol, nil)
}

// wantOK fails the test unless r succeeded with nothing on stderr.
func wantOK(t *testing.T, r result) {
	t.Helper()
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

// wantError fails the test unless r exited with code and printed exactly
// one line, "warden: ...", containing every one of want.
func wantError(t *testing.T, r result, code int, want ...string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit code %d, want %d; stderr:\n%s", r.code, code, r.stderr)
	}
	if !strings.HasPrefix(r.stderr, "warden: ") || strings.Count(r.stderr, "\n") != 1 || !strings.HasSuffix(r.stderr, "\n") {
		t.Errorf("stderr is not one \"warden: ...\" line:\n%s", r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr %q does not contain %q", r.stderr, w)
		}
	}
	if r.stdout != "" && code != 0 {
		t.Errorf("stdout not empty on error:\n%.500s", r.stdout)
	}
}

func TestVersionAndDidYouMean(t *testing.T) {
	cleanEnv(t)
	for _, args := range [][]string{{"version"}, {"--version"}} {
		r := warden(t, args...)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "warden ") || strings.Count(r.stdout, "\n") != 1 {
			t.Errorf("%v: exit %d, stdout %q", args, r.code, r.stdout)
		}
	}
	r := warden(t, "genrate")
	if r.code != 2 || !strings.Contains(r.stderr, `did you mean "generate"?`) {
		t.Errorf("a misspelt command: exit %d, stderr %q", r.code, r.stderr)
	}
	r = warden(t, "frobnicate")
	if r.code != 2 || strings.Contains(r.stderr, "did you mean") {
		t.Errorf("a command like none: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestHelpOffersOnlyWhatACommandAccepts: status and backfill need a live
// database, so their help offers neither --snapshot nor the throwaway
// server; generate's help offers both. A --snapshot given anyway is still
// refused with its one-line reason.
func TestHelpOffersOnlyWhatACommandAccepts(t *testing.T) {
	cleanEnv(t)
	for _, cmd := range []string{"status", "backfill"} {
		r := warden(t, cmd, "--help")
		if r.code != 0 || strings.Contains(r.stdout, "--snapshot") || strings.Contains(r.stdout, "then a throwaway server") || !strings.Contains(r.stdout, "never a throwaway server") {
			t.Errorf("%s --help (exit %d) offers what it refuses:\n%s", cmd, r.code, r.stdout)
		}
		wantError(t, warden(t, cmd, "--policy", "../../policy.yaml", "--snapshot", "x.json"), 2, cmd+" needs a live database, not a snapshot")
	}
	r := warden(t, "generate", "--help")
	if !strings.Contains(r.stdout, "--snapshot") || !strings.Contains(r.stdout, "throwaway server") {
		t.Errorf("generate --help lacks --snapshot or the throwaway server:\n%s", r.stdout)
	}
}
