package report

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/warden-sql/warden/exampleapp/exampledb"
	"github.com/warden-sql/warden/generator/classify"
	"github.com/warden-sql/warden/generator/migrations"
	"github.com/warden-sql/warden/internal/fileset"
	"github.com/warden-sql/warden/internal/golden"
	"github.com/warden-sql/warden/internal/pgtest"
	"github.com/warden-sql/warden/introspect"
	"github.com/warden-sql/warden/policy"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// inspect loads the policy's schema files (or sql, when given) into a
// fresh database and reads it back.
func inspect(t *testing.T, pol *policy.Policy, sql string) *introspect.Database {
	t.Helper()
	var url string
	if sql == "" {
		url = exampledb.New(t, pol, nil)
	} else {
		url = pgtest.NewDB(t)
	}
	conn := pgtest.Connect(t, url)
	if sql != "" {
		pgtest.Exec(t, conn, sql)
	}
	db, err := introspect.Inspect(context.Background(), conn, pol.Schemas)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func render(t *testing.T, p *classify.Plan) []byte {
	t.Helper()
	out, err := Render(p)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestExampleReport renders the example app's REPORT.md. The policy is
// loaded once by a relative and once by an absolute path: the report must
// not depend on where warden runs.
func TestExampleReport(t *testing.T) {
	rel, err := policy.Load("../../policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	absPath, err := filepath.Abs("../../policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	abs, err := policy.Load(absPath)
	if err != nil {
		t.Fatal(err)
	}
	db := inspect(t, rel, "")
	out := render(t, classify.Classify(db, rel))
	golden.File(t, filepath.Join("testdata", "example.md"), out)

	if first, _, _ := strings.Cut(string(out), "\n"); first != fileset.HeaderMarkdown {
		t.Errorf("first line %q, want %q", first, fileset.HeaderMarkdown)
	}
	if again := render(t, classify.Classify(db, rel)); !bytes.Equal(out, again) {
		t.Error("two renders of the same plan differ")
	}
	if other := render(t, classify.Classify(db, abs)); !bytes.Equal(out, other) {
		t.Errorf("the report depends on the policy path:\n%s", cmp.Diff(string(out), string(other)))
	}
	for _, bad := range []string{"../", filepath.Dir(absPath)} {
		if strings.Contains(string(out), bad) {
			t.Errorf("report contains %q", bad)
		}
	}
	// The discovery in a migration report's terms.
	for _, want := range []string{
		"43 tables require `org_id` (30 direct, 13 inherited); excluded: `user_credits`, `user_subscriptions`, `customers`",
		"| `campaign_leads` | inherited | parent `campaigns` via `campaign_id` | yes |",
		"- `voicemail_audit_log`: nullable `public.voicemail_audit_log` (call_id)",
		"| `user_credits` | excluded | `exclude[0]` at `policy.yaml:",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

// smallPolicy exercises what the example does not: no membership table,
// two schemas, a forced class, unclassified tables as warnings, a
// rejected ownership-named column, ON DELETE RESTRICT, a pause and a
// statement timeout.
const smallPolicy = `version: 1
schemas: [public, billing]
tenant:
  table: public.orgs
  on_delete: restrict
  default_org: a0000000-0000-0000-0000-000000000001
  default_org_name: Everyone | legacy
ownership:
  - column: owner_id
  - column: user_id
  - column: created_by
    require_fk: false
scope: [calls, call_notes, billing.invoices, tasks, transfers]
exclude: [profiles]
tables:
  billing.refunds:
    class: global
  transfers:
    via: calls
  call_notes:
    null_parent: default_org
critical: [calls, billing.invoices]
unclassified: warn
backfill:
  batch_size: 1000
  pause: 250ms
migrations:
  format: goose
  version: "20250110000000"
  lock_timeout: 500ms
  statement_timeout: 30s
`

const smallSchema = `
create schema auth;
create table auth.users (id uuid primary key);
create schema billing;
create table public.orgs (id uuid primary key);
create table public.profiles (user_id uuid primary key references auth.users);
create table public.calls (id uuid primary key, user_id uuid not null references auth.users, owner_id text);
create table public.call_notes (id uuid primary key, call_id uuid references public.calls);
create table public.tasks (id uuid primary key, created_by text not null);
create table public.transfers (id uuid primary key, user_id uuid references auth.users, call_id uuid not null references public.calls);
create table billing.invoices (id uuid primary key, user_id uuid not null references auth.users);
create table billing.refunds (id uuid primary key, invoice_id uuid not null references billing.invoices);
create table public.drafts (id uuid primary key, user_id uuid references auth.users);
create table public.regions (code text primary key);
create table public.audit (id bigint primary key, org_id uuid references public.orgs);
`

func TestSmallReport(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "warden.yaml")
	if err := os.WriteFile(path, []byte(smallPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	pol, err := policy.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	plan := classify.Classify(inspect(t, pol, smallSchema), pol)
	out := render(t, plan)
	golden.File(t, filepath.Join("testdata", "small.md"), out)
	if strings.Contains(string(out), dir) {
		t.Errorf("report contains the policy's directory %s", dir)
	}
	if len(plan.Warnings) == 0 {
		t.Error("expected warnings for the unclassified table")
	}
}

func TestRenderRefusesProblems(t *testing.T) {
	pol, err := policy.Parse("policy.yaml", []byte(`version: 1
schemas: [public]
tenant:
  table: orgs
  default_org: a0000000-0000-0000-0000-000000000001
migrations:
  version: "20250110000000"
scope: [things]
`))
	if err != nil {
		t.Fatal(err)
	}
	db := inspect(t, pol, "create table orgs (id uuid primary key); create table things (id int primary key);")
	_, err = Render(classify.Classify(db, pol))
	if err == nil || !strings.Contains(err.Error(), "public.things: listed in scope (policy.yaml:8:9)") {
		t.Errorf("Render error = %v, want the plan's problems", err)
	}
	if _, err := Render(&classify.Plan{}); err == nil {
		t.Error("Render accepted a plan without a policy")
	}
}

// TestEveryKindSaysWhatItDoes: the Files section has a line for every step
// kind; a new kind without one fails here.
func TestEveryKindSaysWhatItDoes(t *testing.T) {
	for _, k := range migrations.Kinds() {
		if kindDoes[k.Kind] == "" {
			t.Errorf("step kind %s has no line in kindDoes", k.ID)
		}
	}
}
