package policy

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const fullFile = "testdata/full.yaml"

func fat(line, col int) Pos { return Pos{File: fullFile, Line: line, Column: col} }

func ref(schema, name string, pos Pos, key string) TableRef {
	return TableRef{Schema: schema, Name: name, Pos: pos, Key: key}
}

// TestLoadFull loads a policy that sets every key and compares the whole
// result, positions included, so that any change in decoding shows up.
func TestLoadFull(t *testing.T) {
	got, err := Load(fullFile)
	if err != nil {
		t.Fatal(err)
	}
	via := ref("public", "campaigns", fat(46, 10), "tables[public.campaign_leads].via")
	want := &Policy{
		File:    fullFile,
		Dir:     "testdata",
		Version: 1,
		Schemas: []string{"public", "Sales Data"},
		SchemaFiles: []SchemaFile{
			{Name: "schema/auth.sql", Path: filepath.Join("testdata", "schema", "auth.sql"), Pos: fat(5, 5)},
			{Name: "schema/app.sql", Path: filepath.Join("testdata", "schema", "app.sql"), Pos: fat(6, 5)},
		},
		Tenant: Tenant{
			Table:          ref("public", "organizations", fat(9, 10), "tenant.table"),
			Key:            "id",
			Column:         "org_id",
			Type:           "uuid",
			OnDelete:       "set null",
			DefaultOrg:     "a0000000-0000-0000-0000-00000000000f",
			DefaultOrgName: "Acme",
			Pos:            fat(9, 3),
		},
		Context: RequestContext{Kind: ContextSupabase, Claim: []string{"app_metadata", "org_id"}, Pos: fat(2, 1)},
		Users:   Users{Table: ref("auth", "users", fat(18, 10), "users.table"), Key: "id"},
		Ownership: []OwnershipColumn{
			{Column: "user_id", RequireFK: true, Pos: fat(22, 5)},
			{Column: "owner_id", RequireFK: true, Pos: fat(23, 5)},
			{Column: "created_by", RequireFK: false, Pos: fat(24, 5)},
		},
		Membership: &Membership{
			Table:         ref("public", "organization_members", fat(28, 10), "membership.table"),
			UserColumn:    "member_id",
			OrgColumn:     "org_id",
			PrimaryColumn: "is_primary",
			OrderColumn:   "created_at",
		},
		Scope: []TableRef{
			ref("public", "calls", fat(35, 5), "scope[0]"),
			ref("public", "call_logs", fat(36, 5), "scope[1]"),
		},
		Exclude: []TableRef{
			ref("public", "user_credits", fat(38, 5), "exclude[0]"),
			ref("public", "user_subscriptions", fat(39, 5), "exclude[1]"),
		},
		Global: []TableRef{
			ref("public", "subscription_plans", fat(41, 5), "global[0]"),
			ref("Sales Data", "Price List", fat(42, 5), "global[1]"),
		},
		Tables: []Override{
			{Table: ref("public", "campaign_leads", fat(45, 3), "tables[public.campaign_leads]"), Via: &via},
			{Table: ref("public", "LeadScores", fat(47, 3), `tables[public."LeadScores"]`), Class: ClassDirect},
		},
		Critical: []TableRef{
			ref("public", "call_logs", fat(51, 5), "critical[0]"),
			ref("public", "calls", fat(52, 5), "critical[1]"),
		},
		Unclassified: UnclassifiedWarn,
		Backfill:     Backfill{BatchSize: 1000, Pause: 250 * time.Millisecond, OrgIndex: OrgIndexAfterBackfill},
		Migrations: Migrations{
			Format:           FormatGoose,
			Version:          "20250110000000",
			LockTimeout:      1500 * time.Millisecond,
			StatementTimeout: time.Minute,
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Load(%s) mismatch (-want +got):\n%s", fullFile, diff)
	}
}

const minimal = `# only the required keys
version: 1
schemas: [public]
tenant:
  table: organizations
  default_org: a0000000-0000-0000-0000-000000000001
migrations:
  version: "20250110000000"
`

// TestDefaults checks every default of docs/policy-format.md.
func TestDefaults(t *testing.T) {
	got, err := Parse("p.yaml", []byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	root := Pos{File: "p.yaml", Line: 2, Column: 1}
	want := &Policy{
		File:        "p.yaml",
		Dir:         ".",
		Version:     1,
		Schemas:     []string{"public"},
		SchemaFiles: []SchemaFile{},
		Tenant: Tenant{
			Table:          TableRef{Schema: "public", Name: "organizations", Pos: Pos{"p.yaml", 5, 10}, Key: "tenant.table"},
			Key:            "id",
			Column:         "org_id",
			Type:           "uuid",
			OnDelete:       "cascade",
			DefaultOrg:     "a0000000-0000-0000-0000-000000000001",
			DefaultOrgName: "Default organization",
			Pos:            Pos{"p.yaml", 5, 3},
		},
		Context:      RequestContext{Kind: ContextSupabase, Claim: []string{"app_metadata", "org_id"}, Pos: root},
		Users:        Users{Table: TableRef{Schema: "auth", Name: "users", Pos: root, Key: "users.table"}, Key: "id"},
		Ownership:    []OwnershipColumn{{Column: "user_id", RequireFK: true, Pos: root, Implied: true}},
		Scope:        []TableRef{},
		Exclude:      []TableRef{},
		Global:       []TableRef{},
		Tables:       []Override{},
		Critical:     []TableRef{},
		Unclassified: UnclassifiedError,
		Backfill:     Backfill{BatchSize: 5000, OrgIndex: OrgIndexBeforeBackfill},
		Migrations:   Migrations{Format: FormatSupabase, Version: "20250110000000", LockTimeout: 2 * time.Second, StatementTimeout: time.Minute},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults mismatch (-want +got):\n%s", diff)
	}
}

// TestRepoPolicy loads the repository's own policy.yaml, so the example
// and the validator cannot drift apart.
func TestRepoPolicy(t *testing.T) {
	const path = "../policy.yaml"
	if _, err := Load(path); err != nil {
		t.Fatal(err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/does-not-exist.yaml")
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Load: got %v (%T), want *Error", err, err)
	}
	if e.Pos.File != "testdata/does-not-exist.yaml" {
		t.Errorf("Pos.File = %q", e.Pos.File)
	}
}

func TestOverride(t *testing.T) {
	p, err := Load(fullFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		schema, name, class, via string
		ok                       bool
	}{
		{"public", "user_credits", ClassExcluded, "", true},
		{"Sales Data", "Price List", ClassGlobal, "", true},
		{"public", "LeadScores", ClassDirect, "", true},
		{"public", "campaign_leads", "", "public.campaigns", true},
		{"public", "leadscores", "", "", false},
		{"public", "calls", "", "", false}, // critical is not a decision
	} {
		o, ok := p.Override(TableRef{Schema: tc.schema, Name: tc.name})
		via := ""
		if o.Via != nil {
			via = o.Via.String()
		}
		if ok != tc.ok || o.Class != tc.class || via != tc.via {
			t.Errorf("Override(%s.%s) = %q via %q, %v; want %q via %q, %v", tc.schema, tc.name, o.Class, via, ok, tc.class, tc.via, tc.ok)
		}
	}
}

func TestErrorHelpers(t *testing.T) {
	r := TableRef{Schema: "public", Name: "Lead Scores", Pos: Pos{"policy.yaml", 12, 5}, Key: "exclude[1]"}
	e := r.Errorf("table %s does not exist in the database", r)
	if got, want := e.Error(), `policy.yaml:12:5: exclude[1]: table public."Lead Scores" does not exist in the database`; got != want {
		t.Errorf("TableRef.Errorf:\n got %s\nwant %s", got, want)
	}
	if e.Value != `public."Lead Scores"` {
		t.Errorf("Value = %q", e.Value)
	}
	e = &Error{Pos: Pos{File: "policy.yaml", Line: 3}, Msg: "boom 1"}
	if got, want := e.Error(), "policy.yaml:3: boom 1"; got != want {
		t.Errorf("Error without key: got %q, want %q", got, want)
	}
	if got := (Pos{File: "x.yaml"}).String(); got != "x.yaml" {
		t.Errorf("Pos without line: %q", got)
	}
}

// TestContextsAndKeyTypes decodes the request contexts and the non-uuid
// tenant keys with their canonical default org values.
func TestContextsAndKeyTypes(t *testing.T) {
	tenant := func(typ, org string) string {
		return "tenant:\n  table: orgs\n  type: " + typ + "\n  default_org: " + org +
			"\n  default_org_values: {slug: default, seats: 5, active: true}\nmigrations:\n  version: 20250110000000\n"
	}
	cases := []struct {
		name, yaml string
		org        string
		ctx        RequestContext
	}{
		{"session bigint", head + tenant("bigint", "007") + "request_context:\n  kind: session\n  roles: [app_user]\n",
			"7", RequestContext{Kind: ContextSession, Setting: "app.org_id", Roles: []string{"app_user"}}},
		{"jwt text", head + tenant("text", "org_default") + "request_context:\n  kind: jwt\n",
			"org_default", RequestContext{Kind: ContextJWT, Claim: []string{"org_id"}}},
		{"jwt claim path", head + tenant("integer", "1") + "request_context:\n  kind: jwt\n  claim: [\"https://example.com/claims\", tenant]\n",
			"1", RequestContext{Kind: ContextJWT, Claim: []string{"https://example.com/claims", "tenant"}}},
		{"jwt dotted path", head + tenant("integer", "1") + "request_context:\n  kind: jwt\n  claim: app_metadata.tenant\n",
			"1", RequestContext{Kind: ContextJWT, Claim: []string{"app_metadata", "tenant"}}},
		{"session setting", head + tenant("uuid", "A0000000-0000-0000-0000-000000000001") + "request_context:\n  kind: session\n  setting: myapp.current_org\n",
			"a0000000-0000-0000-0000-000000000001", RequestContext{Kind: ContextSession, Setting: "myapp.current_org"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Parse("p.yaml", []byte(c.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if p.Tenant.DefaultOrg != c.org {
				t.Errorf("default org %q, want %q", p.Tenant.DefaultOrg, c.org)
			}
			want := []ColumnValue{{"slug", "default", Pos{}}, {"seats", "5", Pos{}}, {"active", "true", Pos{}}}
			if diff := cmp.Diff(want, p.Tenant.DefaultOrgValues, cmpopts.IgnoreFields(ColumnValue{}, "Pos")); diff != "" {
				t.Errorf("default_org_values (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(c.ctx, p.Context, cmpopts.IgnoreFields(RequestContext{}, "Pos")); diff != "" {
				t.Errorf("request_context (-want +got):\n%s", diff)
			}
		})
	}
}
