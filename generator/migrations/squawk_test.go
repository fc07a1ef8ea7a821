package migrations

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/warden-sql/warden/generator/classify"
	"github.com/warden-sql/warden/internal/runnertest"
	"github.com/warden-sql/warden/introspect"
	"github.com/warden-sql/warden/policy"
)

// TestSquawkClean lints the example's migrations in every format, down
// files included, with squawk (the migration linter teams run in CI):
// no warning. What squawk flags that is safe as generated (an idempotent
// statement, SET NOT NULL after a validated check, the concurrent builds
// that must stay alone in their files) carries squawk's own ignore comment
// with the reason on the line above. A file with a bare ADD COLUMN is
// flagged, so the linter is really at work.
func TestSquawkClean(t *testing.T) {
	bin, err := runnertest.Squawk()
	if err != nil {
		t.Fatal(err)
	}
	lint := func(paths []string) (string, bool) {
		cmd := exec.Command(bin, append([]string{"--pg-version=15.0"}, paths...)...)
		cmd.Env = append(os.Environ(), "NO_COLOR=1")
		out, err := cmd.CombinedOutput()
		return string(out), err == nil
	}
	bad := filepath.Join(t.TempDir(), "bad.sql")
	if err := os.WriteFile(bad, []byte("ALTER TABLE t ADD COLUMN c uuid;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, ok := lint([]string{bad}); ok || !strings.Contains(out, "require-statement-timeout") {
		t.Fatalf("squawk passes a bare ADD COLUMN:\n%s", out)
	}

	// The example's policy turns statement_timeout off for its recorded
	// history; an adoption gets the default, which is what is linted.
	e := loadExample(t, 10)
	pol := *e.pol
	pol.Migrations.StatementTimeout = time.Minute
	db, err := introspect.Inspect(context.Background(), e.conn, pol.Schemas)
	if err != nil {
		t.Fatal(err)
	}
	steps, err := Steps(classify.Classify(db, &pol), db)
	if err != nil {
		t.Fatal(err)
	}
	for _, run := range formatsAndLayouts(RunnerNames()) {
		format := run.format + "/" + run.layout
		laid, err := LayoutFirst(steps, run.format, run.layout, baseVersion)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		var paths []string
		for name, data := range laid.Set {
			if !strings.HasSuffix(name, ".sql") {
				continue
			}
			path := filepath.Join(dir, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			paths = append(paths, path)
		}
		if out, ok := lint(paths); !ok {
			t.Errorf("%s: squawk warns about %d files:\n%s", format, len(paths), out)
		}
	}
}

// formatsAndLayouts is every runner format in every layout.
func formatsAndLayouts(formats []string) []struct{ format, layout string } {
	var out []struct{ format, layout string }
	for _, layout := range policy.Layouts {
		for _, f := range formats {
			out = append(out, struct{ format, layout string }{f, layout})
		}
	}
	return out
}
