package main

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/warden-sql/warden/generator/migrations"
	"github.com/warden-sql/warden/internal/golden"
	"github.com/warden-sql/warden/operate/status/statustest"
)

// repoPolicy is the repository's own policy: the example app with its 43
// scoped tables, as the status and backfill tests migrate it.
const repoPolicy = "../../policy.yaml"

// exampleRows sizes the example data of the status and backfill tests.
const exampleRows = 200

// TestStatusNeedsLiveDatabase: without a database warden status does not
// start the throwaway server (it would always report nothing done) and
// says what it needs; a snapshot is refused as well.
func TestStatusNeedsLiveDatabase(t *testing.T) {
	cleanEnv(t)
	for _, args := range [][]string{
		{"status", "--policy", repoPolicy},
		{"status", "--policy", repoPolicy, "--snapshot", "snapshot.json"},
	} {
		r := warden(t, args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, "needs a live database") {
			t.Errorf("warden %s: exit %d, stderr %q; want 2 and \"needs a live database\"", strings.Join(args, " "), r.code, r.stderr)
		}
		if r.stdout != "" {
			t.Errorf("warden %s: stdout %q", strings.Join(args, " "), r.stdout)
		}
	}
}

// TestStatusCommand runs warden status on example databases part-way and
// all the way through the migration: the report (golden, text and JSON)
// and the deploy gate's exit codes.
func TestStatusCommand(t *testing.T) {
	cleanEnv(t)
	partial := statustest.Load(t, repoPolicy, exampleRows)
	partial.Apply(t, statustest.Through(migrations.PhaseBackfill))
	complete := statustest.Load(t, repoPolicy, exampleRows)
	complete.Apply(t, nil)

	r := warden(t, "status", "--policy", repoPolicy, "--database-url", partial.URL)
	if r.code != exitOK {
		t.Fatalf("status: exit %d\n%s", r.code, r.stderr)
	}
	golden.File(t, filepath.Join("testdata", "status/phase3.txt"), []byte(r.stdout))

	r = warden(t, "status", "--json", "--policy", repoPolicy, "--database-url", partial.URL)
	if r.code != exitOK {
		t.Fatalf("status --json: exit %d\n%s", r.code, r.stderr)
	}
	golden.File(t, filepath.Join("testdata", "status/phase3.json"), []byte(r.stdout))
	var doc struct {
		Complete bool `json:"complete"`
		Phases   []struct {
			Phase  string `json:"phase"`
			Status string `json:"status"`
		} `json:"phases"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Complete || len(doc.Phases) != 6 || doc.Phases[1].Status != "done" || doc.Phases[2].Status != "pending" {
		t.Errorf("status --json: %+v", doc)
	}

	// The deploy gate: 1 on a partial migration, naming the next action.
	r = warden(t, "status", "--require-complete", "--policy", repoPolicy, "--database-url", partial.URL)
	if r.code != exitFailed || !strings.Contains(r.stderr, "not complete: 2/6 phases done; next: apply supabase/migrations/") {
		t.Errorf("status --require-complete on a partial migration: exit %d, stderr %q", r.code, r.stderr)
	}
	r = warden(t, "status", "--require-complete", "--estimate", "--policy", repoPolicy, "--database-url", complete.URL)
	if r.code != exitOK || !strings.Contains(r.stdout, "Total progress: 6/6 phases complete (100%)") {
		t.Errorf("status --require-complete on a complete migration: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// --format names the files in the format the user generated.
	r = warden(t, "status", "--format", "psql", "--policy", repoPolicy, "--database-url", partial.URL)
	if r.code != exitOK || !regexp.MustCompile(`Next action: apply psql/2025011000\d{4}_not_null_check_agent_configurations\+42_more\.sql and `).MatchString(r.stdout) {
		t.Errorf("status --format psql: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = warden(t, "status", "--format", "flyway", "--policy", repoPolicy, "--database-url", partial.URL)
	if r.code != exitUsage || !strings.Contains(r.stderr, `--format "flyway": choose one of`) {
		t.Errorf("status --format flyway: exit %d\n%s", r.code, r.stderr)
	}

	// DATABASE_URL works as the flag does.
	t.Setenv("DATABASE_URL", complete.URL)
	r = warden(t, "status", "--require-complete", "--policy", repoPolicy)
	if r.code != exitOK {
		t.Errorf("status with DATABASE_URL: exit %d\n%s", r.code, r.stderr)
	}
}
