package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInit drafts a policy for the example app from its schema files: the
// tenant, users and membership tables are found, tables with an owner or a
// path are scoped, and what needs a person is left open so that plan fails
// naming exactly those. init never overwrites.
func TestInit(t *testing.T) {
	cleanEnv(t)
	dir := t.TempDir()
	pol := filepath.Join(dir, "policy.yaml")
	abs := func(p string) string {
		a, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	args := []string{"init", "--policy", pol, "--version", "20250110000000",
		"--schema-file", abs("../../exampleapp/schema/auth.sql"), "--schema-file", abs("../../exampleapp/schema/app.sql")}
	r := warden(t, args...)
	wantOK(t, r)
	data, err := os.ReadFile(pol)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, want := range []string{
		"table: public.organizations", "table: auth.users", "table: public.organization_members",
		"primary_column: is_primary", "  - public.calls   # ownership column user_id",
		"  - public.call_logs   # foreign-key path public.call_logs(call_id) → public.calls(user_id)",
		"#   public.user_credits (ownership column user_id)", "  - public.subscription_plans",
		"schema_files:", "OPEN",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the drafted policy lacks %q:\n%s", want, text)
		}
	}
	if !strings.Contains(r.stdout, "16 open question(s)") {
		t.Errorf("init said: %s", r.stdout)
	}
	// plan fails on the open questions, and only on them.
	r = warden(t, "plan", "--policy", pol)
	if r.code != 1 {
		t.Fatalf("plan on the draft: exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"public.user_credits", "public.campaign_leads: 2 sources", "public.voicemail_audit_log: its org comes only from nullable sources", "public.dnc_list: its org comes only from nullable sources"} {
		if !strings.Contains(r.stdout+r.stderr, want) {
			t.Errorf("plan does not name %q", want)
		}
	}
	// Never overwrites.
	r = warden(t, args...)
	if r.code != 2 || !strings.Contains(r.stderr, "already exists") {
		t.Errorf("init over an existing policy: exit %d, %s", r.code, r.stderr)
	}
	if after, _ := os.ReadFile(pol); string(after) != text {
		t.Error("init changed an existing policy")
	}
	// No schema to read: one line, exit 2.
	r = warden(t, "init", "--policy", filepath.Join(dir, "other.yaml"))
	if r.code != 2 || !strings.Contains(r.stderr, "no schema to read") {
		t.Errorf("init with no schema: exit %d, %s", r.code, r.stderr)
	}
}

// TestInitOwnUsersTable: a Rails-style app with its own users table and an
// accounts tenant keyed by bigint: init finds both, writes the key type and
// a session request context, and the drafted policy plans with no problem.
func TestInitOwnUsersTable(t *testing.T) {
	cleanEnv(t)
	dir := t.TempDir()
	schema := filepath.Join(dir, "schema.sql")
	os.WriteFile(schema, []byte(`
create table accounts (id bigserial primary key, name text not null);
create table users (id bigserial primary key, email text not null, raw_app_meta_data jsonb);
create table account_users (account_id bigint not null references accounts, user_id bigint not null references users, created_at timestamptz not null default now());
create table projects (id bigserial primary key, user_id bigint not null references users, title text);
create table tasks (id bigserial primary key, project_id bigint not null references projects);
create table countries (code text primary key);
create table audit_events (id bigserial primary key, actor bigint not null references users, action text);
`), 0o644)
	pol := filepath.Join(dir, "policy.yaml")
	r := warden(t, "init", "--policy", pol, "--version", "20250110000000", "--schema-file", schema)
	wantOK(t, r)
	data, _ := os.ReadFile(pol)
	for _, want := range []string{"table: public.accounts", "table: public.users", "table: public.account_users", "user_column: user_id", "org_column: account_id",
		"  - public.projects   # ownership column user_id", "  - public.tasks   # foreign-key path", "  - public.countries", "type: bigint", "default_org: 1000000000", "kind: session",
		// Its only link to a user is a foreign key to the users table
		// under no owner-like name: scoped by it, never drafted global.
		"  # Other columns that reference the users table:\n  - column: actor", "  - public.audit_events   # ownership column actor"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("the drafted policy lacks %q:\n%s", want, data)
		}
	}
	if strings.Contains(string(data), "  - public.audit_events\n") {
		t.Errorf("a table referencing the users table is drafted global:\n%s", data)
	}
	if strings.Contains(string(data), "# OPEN:") {
		t.Errorf("the drafted policy has open questions for an app warden supports:\n%s", data)
	}
	wantOK(t, warden(t, "plan", "--policy", pol))
}

// TestInitLeavesTenantValuesOpen: a tenant table with a NOT NULL column the
// default org row needs gets no made-up value (an empty string would pass
// for an answer): plan fails naming the column until one is written.
func TestInitLeavesTenantValuesOpen(t *testing.T) {
	cleanEnv(t)
	dir := t.TempDir()
	schema := filepath.Join(dir, "schema.sql")
	os.WriteFile(schema, []byte(`
create table organizations (id uuid primary key, name text not null, slug text not null unique);
create table users (id uuid primary key);
create table notes (id bigserial primary key, user_id uuid not null references users);
`), 0o644)
	pol := filepath.Join(dir, "policy.yaml")
	wantOK(t, warden(t, "init", "--policy", pol, "--version", "20250110000000", "--schema-file", schema))
	data, _ := os.ReadFile(pol)
	if !strings.Contains(string(data), "default_org_values: {}   # OPEN") || strings.Contains(string(data), `slug: ""`) {
		t.Errorf("the draft gives the default org a made-up slug:\n%s", data)
	}
	wantError(t, warden(t, "plan", "--policy", pol), 2, "tenant.default_org_values", "NOT NULL column slug")
	os.WriteFile(pol, []byte(strings.Replace(string(data), "default_org_values: {}", "default_org_values: {slug: unassigned}", 1)), 0o644)
	if r := warden(t, "plan", "--policy", pol); r.code != 0 {
		t.Errorf("plan with the value given: exit %d\n%s", r.code, r.stderr)
	}
}
